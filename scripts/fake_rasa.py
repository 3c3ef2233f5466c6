"""A stand-in for the Rasa server's HTTP API, for pictures and tests that need a bot that answers without the real one:
every POST is answered 200 with the JSON that `answer(path, body)` returns; GETs by `get(path)` when given."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["serve", "url_of"]


def serve(answer: Callable[[str, Any], Any], get: Callable[[str], Any] | None = None) -> ThreadingHTTPServer:
    """A server on a free loopback port, in a daemon thread; `shutdown()` and `server_close()` stop it. `get`
    answers GET requests (its path, query included; None: 404), e.g. Rasa's tracker API; without it, all are 404."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = get(self.path) if get is not None else None
            data = json.dumps(found if found is not None else {"error": "not found"}).encode()
            self.send_response(200 if found is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
            data = json.dumps(answer(self.path, body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"
