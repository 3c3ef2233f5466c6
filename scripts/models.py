"""Which model serves, promotion and rollback: the registry `models/serving.json` (docs/trainers.md).

    python scripts/models.py status        # or `path`: the serving model's file
    python scripts/models.py promote models/candor-abc.tar.gz [--report var/reports/candor-abc] [--rasa-url URL]
    python scripts/models.py rollback [--rasa-url URL]

Models in `models/` are versioned by name (candor-<hash of the training inputs>) and never overwritten; the registry
says which one serves and every promotion and rollback before it. `promote` takes a model only with its comparison
report (scripts/compare_models.py) against the model serving now, and only if that report passed the gate and
was made for these very two files (their SHA-256); the first promotion, with nothing serving yet, needs no report.
The running Rasa server is told to load the model through its HTTP API (`PUT /model`, `rasa run --enable-api`):
it swaps the model in place, and conversations go on (their trackers are in the tracker store, not in the model).
If no Rasa server answers at --rasa-url, the registry is still updated and `make run` starts with that model.
`rollback` makes the model that the current one replaced when it was promoted serve again, the same way (rolling
back twice goes further back, as far as promotions go, never forward again).

Runs in either environment (standard library only).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = "serving.json"
LOAD_TIMEOUT = 300  # seconds Rasa may take to load a model


class Refused(Exception):
    """The promotion or rollback is not allowed, or the Rasa server refused the model; nothing changed."""


def registry_path(models: Path) -> Path:
    return models / REGISTRY


def read_registry(models: Path) -> dict[str, Any]:
    path = registry_path(models)
    if not path.exists():
        return {"serving": None, "history": []}
    return dict(json.loads(path.read_text(encoding="utf-8")))


def write_registry(models: Path, registry: dict[str, Any]) -> None:
    path = registry_path(models)
    written = path.with_suffix(".json.tmp")
    written.write_text(json.dumps(registry, indent=2) + "\n", encoding="utf-8")
    written.replace(path)  # atomic: a crash leaves the old registry or the new one


def serving_model(models: Path) -> Path | None:
    """The model the registry says serves (None: no registry, or nothing promoted yet)."""
    name = read_registry(models).get("serving")
    return models / name if name else None


def sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


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
    """Tell the running Rasa server to serve `model` (PUT /model); what happened, in words."""
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
    except (urllib.error.URLError, OSError) as error:
        return f"no Rasa server answered at {rasa_url} ({error}); `make run` will start with {model.name}"
    return f"the Rasa server at {rasa_url} now serves {model.name}"


def promote(models: Path, candidate: Path, report: Path | None, rasa_url: str, by: str) -> str:
    if not candidate.is_file():
        raise Refused(f"no model file {candidate}")
    if candidate.resolve().parent != models.resolve():
        raise Refused(f"{candidate} is not in {models}: models are promoted from the versioned models folder")
    registry = read_registry(models)
    serving = serving_model(models)
    if serving is not None and serving.name == candidate.name:
        raise Refused(f"{candidate.name} serves already")
    figures = None
    if serving is not None:
        if report is None:
            raise Refused(f"{serving.name} serves now: promoting needs the comparison report (--report)")
        figures = check_report(report, serving, candidate)
    loaded = load_in_rasa(rasa_url, candidate)
    registry["history"].append(
        {
            "model": candidate.name,
            "sha256": sha256(candidate),
            "action": "promote",
            "replaced": serving.name if serving else None,
            "report": str(report) if report else None,
            "gate": figures["gate"]["passed"] if figures else None,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "by": by,
        }
    )
    registry["serving"] = candidate.name
    write_registry(models, registry)
    return f"promoted {candidate.name}{f' (replacing {serving.name})' if serving else ''}; {loaded}"


def rollback(models: Path, rasa_url: str, by: str) -> str:
    registry = read_registry(models)
    current = registry.get("serving")
    # The model the current one replaced when it was promoted (a rollback is not undone by another rollback).
    previous = next(
        (e["replaced"] for e in reversed(registry["history"]) if e["model"] == current and e["action"] != "rollback"),
        None,
    )
    if current is None or previous is None:
        raise Refused("nothing to roll back to: no model served before the current one")
    model = models / previous
    if not model.is_file():
        raise Refused(f"the previous model {model} is gone from {models}")
    loaded = load_in_rasa(rasa_url, model)
    registry["history"].append(
        {
            "model": previous,
            "sha256": sha256(model),
            "action": "rollback",
            "replaced": current,
            "report": None,
            "gate": None,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "by": by,
        }
    )
    registry["serving"] = previous
    write_registry(models, registry)
    return f"rolled back to {previous} (from {current}); {loaded}"


def adopt(models: Path, model: Path, by: str) -> str:
    """Register `model` as serving when nothing is registered yet (`make run`'s first start); else change nothing."""
    registry = read_registry(models)
    if registry.get("serving"):
        return f"serving: {registry['serving']} (registered already)"
    if not model.is_file():
        raise Refused(f"no model file {model}")
    registry["history"].append(
        {
            "model": model.name,
            "sha256": sha256(model),
            "action": "adopt",
            "replaced": None,
            "report": None,
            "gate": None,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "by": by,
        }
    )
    registry["serving"] = model.name
    write_registry(models, registry)
    return f"serving: {model.name} (the first model, registered)"


def status(models: Path) -> str:
    registry = read_registry(models)
    lines = [f"serving: {registry['serving'] or 'nothing promoted yet'}"]
    for entry in reversed(registry["history"][-10:]):
        lines.append(
            f"  {entry['at']}  {entry['action']:<8} {entry['model']}  "
            f"(was {entry['replaced'] or '-'}, by {entry['by']})"
        )
    return "\n".join(lines)


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
    rolling = commands.add_parser("rollback", help="make the previous model serve again")
    for command in (promoting, rolling):
        command.add_argument("--rasa-url", default=os.environ.get("CANDOR_RASA_URL", "http://127.0.0.1:5005"))
    args = parser.parse_args(argv)
    by = os.environ.get("USER") or "unknown"
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
