"""Which model serves, promotion and rollback: the registry `models/serving.json` (docs/trainers.md).

    python scripts/models.py status        # or `path`: the serving model's file
    python scripts/models.py promote models/candor-abc.tar.gz [--report var/reports/candor-abc] [--rasa-url URL]
    python scripts/models.py rollback [--rasa-url URL]

Models in `models/` are versioned by name (candor-<hash of the training inputs>) and never overwritten; the registry
says which one serves, with its SHA-256, and every adoption, promotion and rollback before it. `promote` takes a
model only with its comparison report (scripts/compare_models.py) against the model serving now, and only if that
report passed the gate and was made for these very two files (their SHA-256); the first model (`adopt`, which
`make run` does at its first start) needs no report. The running Rasa server is told to load the model through
its HTTP API (`PUT /model`, `rasa run --enable-api`): it swaps the model in place, and conversations go on (their
trackers are in the tracker store, not in the model). If nothing listens at --rasa-url (connection refused), the
registry is still updated and `make run` starts with that model; any other failure (a refusal, a timeout) changes
nothing. `rollback` undoes the latest promotion still standing: promotions stack, and each rollback takes one off,
never forward again. One change at a time: a lock on `models/serving.lock`.

Runs in either environment (standard library only).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = "serving.json"
LOAD_TIMEOUT = 300  # seconds Rasa may take to load a model


class Refused(Exception):
    """The promotion or rollback is not allowed, or the Rasa server did not take the model; nothing changed."""


def read_registry(models: Path) -> dict[str, Any]:
    path = models / REGISTRY
    if not path.exists():
        return {"serving": None, "history": []}
    return dict(json.loads(path.read_text(encoding="utf-8")))


def write_registry(models: Path, registry: dict[str, Any]) -> None:
    """Atomically: a crash leaves the old registry or the new one."""
    handle, name = tempfile.mkstemp(dir=models, prefix=".serving.", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as written:
        written.write(json.dumps(registry, indent=2) + "\n")
    Path(name).replace(models / REGISTRY)


@contextlib.contextmanager
def changing(models: Path) -> Iterator[dict[str, Any]]:
    """The registry, for one change at a time (an exclusive lock on models/serving.lock); the caller writes it."""
    with (models / "serving.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Refused("another promotion or rollback is running; try again when it has finished") from None
        yield read_registry(models)


def sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def stack(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries of the models standing, oldest first: adoption and promotions push, rollbacks pop."""
    standing: list[dict[str, Any]] = []
    for entry in history:
        if entry["action"] == "rollback":
            standing.pop()
        else:
            standing.append(entry)
    return standing


def checked(models: Path, entry: dict[str, Any]) -> Path:
    """The model file of a registry entry, if it is still the very file that was registered."""
    path = models / entry["model"]
    if not path.is_file():
        raise Refused(f"{path} is gone: the registry names a model that is not in {models}")
    if sha256(path) != entry["sha256"]:
        raise Refused(f"{path} is not the file that was registered (its SHA-256 changed)")
    return path


def serving_model(models: Path) -> Path | None:
    """The model the registry says serves, checked (None: nothing registered yet); Refused if its file changed."""
    standing = stack(read_registry(models)["history"])
    return checked(models, standing[-1]) if standing else None


def check_report(report: Path, serving: Path, candidate: Path) -> dict[str, Any]:
    """The comparison's figures, if they passed the gate and compare exactly these two model files."""
    figures_file = report / "figures.json"
    if not figures_file.exists():
        raise Refused(f"no comparison report at {figures_file}: run scripts/retrain.py (or compare_models.py) first")
    figures = json.loads(figures_file.read_text(encoding="utf-8"))
    if figures["candidate"]["sha256"] != sha256(candidate):
        raise Refused(f"the report compares another candidate ({figures['candidate']['model']}), not {candidate.name}")
    if figures["serving"]["sha256"] != sha256(serving):
        raise Refused(
            f"the report compares the candidate with {figures['serving']['model']}, but {serving.name} serves now: "
            "compare again"
        )
    if not figures["gate"]["passed"]:
        worse = [c["metric"] for c in figures["gate"]["checks"] if c.get("passed") is False]
        raise Refused(f"the candidate did not pass the gate ({', '.join(worse)} worse than allowed): not promoted")
    return dict(figures)


def load_in_rasa(rasa_url: str, model: Path) -> str:
    """Tell the running Rasa server to serve `model` (PUT /model); what happened, in words. Refused unless it did,
    or nothing listens there at all."""
    request = urllib.request.Request(  # noqa: S310 (the operator's Rasa URL)
        f"{rasa_url.rstrip('/')}/model",
        data=json.dumps({"model_file": str(model.resolve())}).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    try:
        with urllib.request.urlopen(request, timeout=LOAD_TIMEOUT) as response:  # noqa: S310 (the operator's URL)
            response.read()
    except urllib.error.HTTPError as error:
        raise Refused(
            f"the Rasa server at {rasa_url} refused {model.name}: {error.code} {error.read()[:300]!r}"
        ) from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, ConnectionRefusedError):
            return (
                f"nothing listens at {rasa_url}: no Rasa server runs there now; `make run` will start with {model.name}"
            )
        raise Refused(f"the Rasa server at {rasa_url} did not take {model.name}: {error.reason}") from None
    except OSError as error:  # a timeout while it loads, a reset: whether it serves the model is not known
        raise Refused(
            f"the Rasa server at {rasa_url} did not confirm {model.name} ({error}): nothing recorded"
        ) from None
    return f"the Rasa server at {rasa_url} now serves {model.name}"


def _entry(action: str, model: Path, replaced: Path | None, by: str, report: Path | None = None) -> dict[str, Any]:
    return {
        "model": model.name,
        "sha256": sha256(model),
        "action": action,
        "replaced": replaced.name if replaced else None,
        "report": str(report) if report else None,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "by": by,
    }


def _record(models: Path, registry: dict[str, Any], entry: dict[str, Any]) -> None:
    registry["history"].append(entry)
    standing = stack(registry["history"])
    registry["serving"] = standing[-1]["model"] if standing else None
    write_registry(models, registry)


def adopt(models: Path, model: Path, by: str) -> str:
    """Register `model` as serving when nothing is registered yet (`make run`'s first start); else change nothing."""
    with changing(models) as registry:
        if registry.get("serving"):
            return f"serving: {registry['serving']} (registered already)"
        if not model.is_file():
            raise Refused(f"no model file {model}")
        _record(models, registry, _entry("adopt", model, None, by))
        return f"serving: {model.name} (the first model, registered)"


def promote(models: Path, candidate: Path, report: Path | None, rasa_url: str, by: str) -> str:
    if not candidate.is_file():
        raise Refused(f"no model file {candidate}")
    if candidate.resolve().parent != models.resolve():
        raise Refused(f"{candidate} is not in {models}: models are promoted from the versioned models folder")
    with changing(models) as registry:
        serving = serving_model(models)
        if serving is not None and serving.name == candidate.name:
            raise Refused(f"{candidate.name} serves already")
        if serving is not None:
            if report is None:
                raise Refused(f"{serving.name} serves now: promoting needs the comparison report (--report)")
            check_report(report, serving, candidate)
        loaded = load_in_rasa(rasa_url, candidate)
        _record(models, registry, _entry("promote", candidate, serving, by, report))
        return f"promoted {candidate.name}{f' (replacing {serving.name})' if serving else ''}; {loaded}"


def rollback(models: Path, rasa_url: str, by: str) -> str:
    with changing(models) as registry:
        standing = stack(registry["history"])
        if len(standing) < 2:
            raise Refused("nothing to roll back to: no promotion is standing")
        current, previous = models / standing[-1]["model"], checked(models, standing[-2])
        loaded = load_in_rasa(rasa_url, previous)
        _record(models, registry, _entry("rollback", previous, current, by))
        return f"rolled back to {previous.name} (from {current.name}); {loaded}"


def status(models: Path) -> str:
    registry = read_registry(models)
    lines = [f"serving: {registry['serving'] or 'nothing registered yet'}"]
    for entry in reversed(registry["history"][-10:]):
        lines.append(
            f"  {entry['at']}  {entry['action']:<8} {entry['model']}  "
            f"(was {entry['replaced'] or '-'}, by {entry['by']})"
        )
    return "\n".join(lines)


def default_rasa_url() -> str:
    """CANDOR_RASA_URL, else the local server on CANDOR_RASA_PORT (as `make run` starts it), else :5005."""
    return os.environ.get("CANDOR_RASA_URL") or f"http://127.0.0.1:{os.environ.get('CANDOR_RASA_PORT', '5005')}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models", help="the versioned models folder")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="which model serves, and the latest changes")
    commands.add_parser("path", help="the serving model's path (nothing when none is registered)")
    adopting = commands.add_parser("adopt", help="register a model as serving if none is (make run's first start)")
    adopting.add_argument("model", type=Path)
    promoting = commands.add_parser("promote", help="make a candidate serve (with its passed comparison report)")
    promoting.add_argument("model", type=Path)
    promoting.add_argument("--report", type=Path, help="its comparison report folder (scripts/compare_models.py)")
    rolling = commands.add_parser("rollback", help="undo the latest promotion still standing")
    for command in (promoting, rolling):
        command.add_argument("--rasa-url", default=default_rasa_url())
    args = parser.parse_args(argv)
    by = os.environ.get("USER") or "unknown"
    args.models.mkdir(parents=True, exist_ok=True)
    try:
        if args.command == "status":
            print(status(args.models))
        elif args.command == "path":
            serving = serving_model(args.models)
            print(serving if serving else "")
        elif args.command == "adopt":
            print(adopt(args.models, args.model, by))
        elif args.command == "promote":
            print(promote(args.models, args.model, args.report, args.rasa_url, by))
        else:
            print(rollback(args.models, args.rasa_url, by))
    except Refused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
