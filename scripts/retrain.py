"""One command from reviewed data to a measured candidate: train a model on the project's current data, then compare
it with the serving model on the same test files (scripts/compare_models.py) and say whether it may be promoted.

    make retrain        # = .venv-bot/bin/python scripts/retrain.py

The candidate is `models/candor-<hash of the training inputs>.tar.gz` (trained unless it exists; models are never
overwritten), the serving model the one `models/serving.json` names (scripts/models.py). The report goes to
`var/reports/<candidate>/report.md`. Exit status: 0 when the candidate passed the gate (the command to promote it is
printed) or when there is nothing to compare (the serving model was trained on this very data), 3 when it did
not pass, 1 on an error. Nothing is promoted here: promotion is a separate, explicit step.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from compare_models import GATE_FAILED, compare, markdown  # noqa: E402

from models import Refused, serving_model  # noqa: E402


def candidate_name(project: Path) -> str:
    return subprocess.run(  # noqa: S603 (our own script)
        [str(ROOT / "scripts" / "model-name"), str(project)], check=True, capture_output=True, text=True
    ).stdout.strip()


def train(project: Path, name: str) -> Path:
    """models/<name>.tar.gz in the project, trained now unless it exists."""
    model = project / "models" / f"{name}.tar.gz"
    if model.exists():
        print(f"candidate {model.name}: trained already")
        return model
    print(f"training the candidate {model.name} ...", flush=True)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    rasa = Path(sys.executable).parent / "rasa"
    subprocess.run(  # noqa: S603 (the bot environment's rasa, fixed arguments)
        [str(rasa), "train", "--quiet", "--out", "models", "--fixed-model-name", name],
        cwd=project,
        env=environment,
        check=True,
    )
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT, help="the bot's project folder (default: this one)")
    parser.add_argument("--shared", type=Path, default=(ROOT.parent / "shared" / "data").resolve())
    parser.add_argument("--limit", type=int, default=300, help="rows sampled from each shared file (default 300)")
    args = parser.parse_args(argv)
    project = args.project.resolve()
    models = project / "models"
    try:
        serving = serving_model(models)
    except Refused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    if serving is None:
        print(
            "error: no model is registered as serving (models/serving.json): `make run` registers the one it starts "
            "with, or register one: python scripts/models.py adopt models/<name>.tar.gz",
            file=sys.stderr,
        )
        return 1
    name = candidate_name(project)
    if serving.name == f"{name}.tar.gz":
        print(f"{serving.name} serves already and was trained on this very data: nothing to compare")
        return 0
    try:
        candidate = train(project, name)
    except subprocess.CalledProcessError as error:
        print(f"error: training failed ({error})", file=sys.stderr)
        return 1
    out = project / "var" / "reports" / name
    result = compare(serving, candidate, project, out, project / "policy" / "model-gate.yml", args.shared, args.limit)
    print(markdown(result))
    print(f"report: {out / 'report.md'}")
    if not result["gate"]["passed"]:
        print("the candidate is worse than the serving model on the gate: not promotable")
        return GATE_FAILED
    models_script = ROOT / "scripts" / "models.py"
    print(f"to promote it: {sys.executable} {models_script} --models {models} promote {candidate} --report {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
