"""scripts/models.py and the gate of scripts/compare_models.py: which model serves, and what promotion refuses.

Model files here are small stand-ins (the registry reads only their names and SHA-256); tests/e2e/test_trainers_loop.py
promotes and rolls back real models on a real Rasa server."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from compare_models import judge, read_gate  # noqa: E402

from models import Refused, adopt, promote, read_registry, rollback, serving_model, sha256  # noqa: E402


@pytest.fixture()
def no_rasa() -> Iterator[str]:
    """A URL where nothing listens (a bound port that never listens: connections are refused, no one else gets it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


class Rasa:
    """Rasa's model API as the promotion uses it: PUT /model answers `status` and keeps what it was asked to load."""

    def __init__(self, status: int) -> None:
        self.status, self.loaded = status, []

    def __enter__(self) -> str:
        rasa = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/model" and rasa.status == 204:
                    rasa.loaded.append(Path(body["model_file"]).name)
                self.send_response(rasa.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def model(models: Path, name: str) -> Path:
    path = models / f"{name}.tar.gz"
    path.write_bytes(name.encode() * 100)
    return path


def report(folder: Path, serving: Path, candidate: Path, passed: bool = True) -> Path:
    folder.mkdir(parents=True)
    checks = [{"metric": "request_human_recall", "passed": passed}]
    figures: dict[str, Any] = {
        "serving": {"model": serving.name, "sha256": sha256(serving)},
        "candidate": {"model": candidate.name, "sha256": sha256(candidate)},
        "gate": {"passed": passed, "checks": checks},
    }
    (folder / "figures.json").write_text(json.dumps(figures))
    return folder


def test_promotion_needs_a_passed_report_of_exactly_these_two_models(tmp_path: Path, no_rasa: str) -> None:
    models = tmp_path / "models"
    models.mkdir()
    base, candidate, other = model(models, "candor-a"), model(models, "candor-b"), model(models, "candor-c")
    assert adopt(models, base, "test") == "serving: candor-a.tar.gz (the first model, registered)"
    assert adopt(models, candidate, "test").endswith("(registered already)")  # adopting never replaces

    with pytest.raises(Refused, match="needs the comparison report"):
        promote(models, candidate, None, no_rasa, "test")
    with pytest.raises(Refused, match="no comparison report"):
        promote(models, candidate, tmp_path / "nowhere", no_rasa, "test")
    with pytest.raises(Refused, match="did not pass the gate \\(request_human_recall"):
        promote(models, candidate, report(tmp_path / "failed", base, candidate, passed=False), no_rasa, "test")
    with pytest.raises(Refused, match="compares another candidate"):
        promote(models, candidate, report(tmp_path / "other", base, other), no_rasa, "test")
    with pytest.raises(Refused, match="compares the candidate with candor-c"):
        promote(models, candidate, report(tmp_path / "stale", other, candidate), no_rasa, "test")
    assert serving_model(models) == base  # nothing changed

    said = promote(models, candidate, report(tmp_path / "ok", base, candidate), no_rasa, "test")
    assert said.startswith("promoted candor-b.tar.gz (replacing candor-a.tar.gz); nothing listens at")
    assert serving_model(models) == candidate
    with pytest.raises(Refused, match="serves already"):
        promote(models, candidate, report(tmp_path / "again", candidate, candidate), no_rasa, "test")

    assert rollback(models, no_rasa, "test").startswith("rolled back to candor-a.tar.gz (from candor-b.tar.gz)")
    assert serving_model(models) == base
    with pytest.raises(Refused, match="nothing to roll back to"):
        rollback(models, no_rasa, "test")
    history = read_registry(models)["history"]
    assert [(e["action"], e["model"], e["replaced"]) for e in history] == [
        ("adopt", "candor-a.tar.gz", None),
        ("promote", "candor-b.tar.gz", "candor-a.tar.gz"),
        ("rollback", "candor-a.tar.gz", "candor-b.tar.gz"),
    ]


def test_the_running_rasa_server_loads_what_is_promoted_and_a_refusal_changes_nothing(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    base, candidate = model(models, "candor-a"), model(models, "candor-b")
    adopt(models, base, "test")
    passed = report(tmp_path / "ok", base, candidate)
    with Rasa(400) as url, pytest.raises(Refused, match=r"refused candor-b\.tar\.gz: 400"):
        promote(models, candidate, passed, url, "test")
    assert serving_model(models) == base and len(read_registry(models)["history"]) == 1
    rasa = Rasa(204)
    with rasa as url:
        assert promote(models, candidate, passed, url, "test").endswith(
            f"the Rasa server at {url} now serves candor-b.tar.gz"
        )
        rollback(models, url, "test")
    assert rasa.loaded == ["candor-b.tar.gz", "candor-a.tar.gz"]


def test_rollbacks_undo_promotions_one_by_one_and_never_go_forward(tmp_path: Path, no_rasa: str) -> None:
    models = tmp_path / "models"
    models.mkdir()
    a, b, c = model(models, "candor-a"), model(models, "candor-b"), model(models, "candor-c")
    adopt(models, a, "test")
    promote(models, b, report(tmp_path / "ab", a, b), no_rasa, "test")
    promote(models, c, report(tmp_path / "bc", b, c), no_rasa, "test")
    promote(models, a, report(tmp_path / "ca", c, a), no_rasa, "test")  # the first model, promoted again
    served = []
    for _ in range(3):
        rollback(models, no_rasa, "test")
        served.append(serving_model(models).name)  # type: ignore[union-attr]
    assert served == ["candor-c.tar.gz", "candor-b.tar.gz", "candor-a.tar.gz"]
    with pytest.raises(Refused, match="nothing to roll back to"):
        rollback(models, no_rasa, "test")


def test_a_registered_model_whose_file_changed_or_went_is_not_served(tmp_path: Path, no_rasa: str) -> None:
    models = tmp_path / "models"
    models.mkdir()
    a, b = model(models, "candor-a"), model(models, "candor-b")
    adopt(models, a, "test")
    promote(models, b, report(tmp_path / "ab", a, b), no_rasa, "test")
    a.unlink()
    with pytest.raises(Refused, match=r"candor-a\.tar\.gz is gone"):
        rollback(models, no_rasa, "test")
    b.write_bytes(b"retrained in place")
    with pytest.raises(Refused, match="not the file that was registered"):
        serving_model(models)


def test_a_model_outside_the_models_folder_is_not_promoted(tmp_path: Path, no_rasa: str) -> None:
    models = tmp_path / "models"
    models.mkdir()
    adopt(models, model(models, "candor-a"), "test")
    stray = model(tmp_path, "candor-x")
    with pytest.raises(Refused, match="is not in"):
        promote(models, stray, None, no_rasa, "test")


def test_the_gate_allows_the_drops_it_names_and_no_more() -> None:
    gate = read_gate(ROOT / "policy" / "model-gate.yml")
    assert gate["request_human_recall"] == 0.0 and gate["intent_macro_f1"] > 0
    serving = {metric: 0.9 for metric in gate if not metric.startswith("shared_")}  # measured without ../shared/data
    within = {**serving, "intent_macro_f1": 0.9 - gate["intent_macro_f1"], "frustration_auc": 0.95}
    verdict = judge(serving, within, gate)
    assert verdict["passed"]
    assert {c["metric"] for c in verdict["checks"] if "skipped" in c} == {m for m in gate if m.startswith("shared_")}
    one_request_missed = {**within, "request_human_recall": 0.89}
    failed = judge(serving, one_request_missed, gate)
    assert not failed["passed"]
    assert [c["metric"] for c in failed["checks"] if c.get("passed") is False] == ["request_human_recall"]
    with pytest.raises(SystemExit, match="the gate names 'recal'"):
        judge(serving, within, {**gate, "recal": 0.0})  # a name it does not know is an error, not a pass
