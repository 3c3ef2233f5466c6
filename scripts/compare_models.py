"""Compare a candidate model with the serving one on the same test files, side by side, against the promotion gate.

Run in the bot environment (`scripts/retrain.py`, `make retrain`, runs it after training; or on its own):

    python scripts/compare_models.py --serving models/A.tar.gz --candidate models/B.tar.gz --out var/reports/B

Both models parse the same messages: the project's held-out `tests/nlu/test_nlu.yml` (never trained on), and, when
`../shared/data` exists, a fixed sample of its files (`--limit` rows each). It writes `report.md` (per-intent F1,
request_human precision and recall, frustration AUC and the rest, each with the difference), `figures.json`
(the figures, the gate's verdict and the models' digests, which `scripts/models.py promote` checks) and two plots
(per-intent F1, frustration ROC), and prints the table. The gate (`policy/model-gate.yml`, docs/trainers.md) says
how much worse each gate metric may get; the exit status is 0 when the candidate passes it, 3 when it does not.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from evaluate import FRUSTRATED, Parser, auc, binary_scores, read_csv, read_nlu_test, sample  # noqa: E402

from models import sha256  # noqa: E402

GATE_FAILED = 3
SHARED = "shared_"  # the figures measured on ../shared/data, absent without it
TEST_FILE = Path("tests") / "nlu" / "test_nlu.yml"


def measure(model: Path, project: Path, shared: Path | None, limit: int) -> dict[str, Any]:
    """The figures of one model: intents, request_human and frustration on the held-out file; request_human and
    frustration on the shared files' sample (as parsed: no cross-validation, both models alike)."""
    from sklearn.metrics import classification_report

    parser = Parser(model)
    examples = read_nlu_test(project / TEST_FILE)
    parsed = parser.parse([e["text"] for e in examples])
    truth = [e["intent"] for e in examples]
    predicted = [p["intent"]["name"] for p in parsed]
    report = classification_report(truth, predicted, labels=sorted(set(truth)), output_dict=True, zero_division=0)
    frustrated = [e["frustration"] in FRUSTRATED for e in examples]
    scores = [p["frustration"]["score"] for p in parsed]
    requests = binary_scores([t == "request_human" for t in truth], [p == "request_human" for p in predicted])
    figures: dict[str, Any] = {
        "intent_accuracy": round(sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth), 4),
        "intent_macro_f1": round(report["macro avg"]["f1-score"], 4),
        "per_intent_f1": {k: round(v["f1-score"], 4) for k, v in report.items() if k in set(truth)},
        "request_human_precision": requests["precision"],
        "request_human_recall": requests["recall"],
        "frustration_auc": auc(frustrated, scores),
        "roc": {"truth": frustrated, "scores": [round(s, 4) for s in scores]},
        "examples": len(examples),
    }
    if shared is not None and shared.is_dir():
        rows = sample(
            [r for r in read_csv(shared / "human_request.csv") if r["label"] in ("request_human", "not")], limit
        )
        decisions = [p["intent"]["name"] == "request_human" for p in parser.parse([r["text"] for r in rows])]
        shared_requests = binary_scores([r["label"] == "request_human" for r in rows], decisions)
        figures["shared_request_human_precision"] = shared_requests["precision"]
        figures["shared_request_human_recall"] = shared_requests["recall"]
        for name, label in (("complaints", "complaint"), ("goemotions", "negative_emotion")):
            rows = sample(read_csv(shared / f"{name}.csv"), limit)
            parsed_rows = parser.parse([r["text"] for r in rows])
            figures[f"shared_{name}_auc"] = auc(
                [r[label] == "1" for r in rows], [p["frustration"]["score"] for p in parsed_rows]
            )
    return figures


def read_gate(path: Path) -> dict[str, float]:
    """metric → how much lower the candidate's figure may be than the serving model's (0: not lower at all)."""
    gate = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    allowed = gate.get("max_drop")
    if not isinstance(allowed, dict) or not allowed:
        raise SystemExit(f"{path}: expected a `max_drop:` mapping of metric → allowed drop")
    return {str(metric): float(drop) for metric, drop in allowed.items()}


def judge(serving: dict[str, Any], candidate: dict[str, Any], gate: dict[str, float]) -> dict[str, Any]:
    """Each gate metric: both figures, the difference, and whether the candidate is within the allowed drop.
    A shared_* metric is skipped, and said so, when ../shared/data is absent; any other unknown name is an error."""
    checks = []
    for metric, allowed in gate.items():
        if metric not in serving or metric not in candidate:
            if not metric.startswith(SHARED):
                raise SystemExit(f"the gate names {metric!r}, which is not a figure compare_models.py measures")
            checks.append({"metric": metric, "skipped": "not measured (../shared/data is absent)"})
            continue
        difference = round(candidate[metric] - serving[metric], 4)
        checks.append(
            {
                "metric": metric,
                "serving": serving[metric],
                "candidate": candidate[metric],
                "difference": difference,
                "max_drop": allowed,
                "passed": difference >= -allowed - 1e-9,
            }
        )
    return {"passed": all(c.get("passed", True) for c in checks), "checks": checks}


def table_rows(serving: dict[str, Any], candidate: dict[str, Any]) -> list[tuple[str, float, float, float]]:
    names = [k for k, v in serving.items() if isinstance(v, (int, float)) and k != "examples"]
    rows = [(name, serving[name], candidate[name], round(candidate[name] - serving[name], 4)) for name in names]
    for intent in sorted(set(serving["per_intent_f1"]) | set(candidate["per_intent_f1"])):
        before, after = serving["per_intent_f1"].get(intent, 0.0), candidate["per_intent_f1"].get(intent, 0.0)
        rows.append((f"F1 {intent}", before, after, round(after - before, 4)))
    return rows


def markdown(result: dict[str, Any]) -> str:
    serving, candidate, verdict = result["serving"], result["candidate"], result["gate"]
    lines = [
        f"# {candidate['model']} against {serving['model']}",
        "",
        f"Made {result['at']} by scripts/compare_models.py on {result['test_file']} ({serving['figures']['examples']} "
        f"held-out examples){' and a sample of ../shared/data' if result['shared'] else ''}.",
        "",
        f"**Gate ({result['gate_file']}): {'passed' if verdict['passed'] else 'NOT passed'}.**",
        "",
        "| gate metric | serving | candidate | difference | may drop | |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for check in verdict["checks"]:
        if "skipped" in check:
            lines.append(f"| {check['metric']} | | | | | skipped: {check['skipped']} |")
        else:
            mark = "ok" if check["passed"] else "**worse**"
            lines.append(
                f"| {check['metric']} | {check['serving']:.4f} | {check['candidate']:.4f} | {check['difference']:+.4f} "
                f"| {check['max_drop']:.4f} | {mark} |"
            )
    lines += ["", "| figure | serving | candidate | difference |", "|---|---:|---:|---:|"]
    for name, before, after, difference in table_rows(serving["figures"], candidate["figures"]):
        lines.append(f"| {name} | {before:.4f} | {after:.4f} | {difference:+.4f} |")
    lines += ["", "![Per-intent F1](per_intent_f1.png)", "", "![Frustration ROC](frustration_roc.png)", ""]
    return "\n".join(lines)


def plot(result: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from sklearn.metrics import roc_curve

    serving, candidate = result["serving"], result["candidate"]
    intents = sorted(serving["figures"]["per_intent_f1"])
    x = np.arange(len(intents))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for offset, side in ((-0.2, serving), (0.2, candidate)):
        values = [side["figures"]["per_intent_f1"].get(i, 0.0) for i in intents]
        ax.bar(x + offset, values, width=0.4, label=f"{side['role']}: {side['model']}")
    ax.set_xticks(x, intents, rotation=40, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1 on the held-out file")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=2)
    fig.tight_layout()
    fig.savefig(out / "per_intent_f1.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    for side in (serving, candidate):
        roc = side["figures"]["roc"]
        fpr, tpr, _ = roc_curve(roc["truth"], roc["scores"])
        ax.plot(fpr, tpr, label=f"{side['role']} (AUC {side['figures']['frustration_auc']:.3f})")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("Frustrated (medium/high) on the held-out file")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "frustration_roc.png", dpi=110)
    plt.close(fig)


def compare(
    serving: Path, candidate: Path, project: Path, out: Path, gate_file: Path, shared: Path | None, limit: int
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    gate = read_gate(gate_file)
    sides = {}
    for role, model in (("serving", serving), ("candidate", candidate)):
        print(f"measuring the {role} model {model.name} ...", flush=True)
        sides[role] = {
            "role": role,
            "model": model.name,
            "sha256": sha256(model),
            "figures": measure(model, project, shared, limit),
        }
    result = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "test_file": str(TEST_FILE),
        "shared": bool(shared and shared.is_dir()),
        "gate_file": str(gate_file.relative_to(project)) if gate_file.is_relative_to(project) else str(gate_file),
        **sides,
        "gate": judge(sides["serving"]["figures"], sides["candidate"]["figures"], gate),
    }
    plot(result, out)
    (out / "report.md").write_text(markdown(result), encoding="utf-8")
    # Last: a promotion reads it, so it exists only with the report and plots it belongs to.
    (out / "figures.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--serving", type=Path, required=True, help="the model serving now")
    args.add_argument("--candidate", type=Path, required=True, help="the newly trained model")
    args.add_argument("--project", type=Path, default=ROOT, help="the bot's project (its tests/ and policy/)")
    args.add_argument("--out", type=Path, help="report folder (default: var/reports/<candidate>)")
    args.add_argument("--gate", type=Path, help="gate file (default: <project>/policy/model-gate.yml)")
    args.add_argument("--shared", type=Path, default=(ROOT.parent / "shared" / "data").resolve())
    args.add_argument("--limit", type=int, default=300, help="rows sampled from each shared file (default 300)")
    given = args.parse_args(argv)
    for model in (given.serving, given.candidate):
        if not model.is_file():
            raise SystemExit(f"no model file {model}")
    candidate_name = given.candidate.name.removesuffix(".tar.gz")
    out = given.out or given.project / "var" / "reports" / candidate_name
    gate = given.gate or given.project / "policy" / "model-gate.yml"
    result = compare(given.serving, given.candidate, given.project, out, gate, given.shared, given.limit)
    print(markdown(result))
    print(f"written: {out / 'report.md'} (with figures.json and the plots)")
    return 0 if result["gate"]["passed"] else GATE_FAILED


if __name__ == "__main__":
    sys.exit(main())
