"""Pages and service routes: chat widget, agent console, trainers' review page, health, OpenAPI description."""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file, json

from handoff.openapi import document

__all__ = ["bp"]

STATIC = Path(__file__).resolve().parent.parent / "static"

bp = Blueprint("pages")


@bp.get("/")
async def widget(request: Request) -> HTTPResponse:
    return await file(STATIC / "index.html", mime_type="text/html; charset=utf-8")


@bp.get("/console")
async def console(request: Request) -> HTTPResponse:
    return await file(STATIC / "console.html", mime_type="text/html; charset=utf-8")


@bp.get("/review")
async def review(request: Request) -> HTTPResponse:
    """The trainers' review inbox (docs/trainers.md)."""
    return await file(STATIC / "review.html", mime_type="text/html; charset=utf-8")


@bp.get("/assets/socket.io.min.js")
async def socket_io_client(request: Request) -> HTTPResponse:
    """The socket.io browser client the widget loads (vendored: handoff/static/vendor/README.md)."""
    return await file(
        STATIC / "vendor" / "socket.io.min.js",
        mime_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@bp.get("/health")
async def health(request: Request) -> HTTPResponse:
    # 503 until the server has finished starting (signal handlers included): a supervisor that sends
    # SIGTERM as soon as /health says ok gets a clean stop, never a half-started process.
    if not getattr(request.app.ctx, "ready", False):
        return json({"status": "starting"}, status=503)
    return json({"status": "ok"})


@bp.get("/openapi.json")
async def openapi(request: Request) -> HTTPResponse:
    return json(document())
