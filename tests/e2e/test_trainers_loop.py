"""The trainers' loop, end to end on the real system (docs/trainers.md): a message the bot misunderstands reaches the
review inbox; a trainer labels it; an agent's reply that the customer thanked for becomes a response candidate,
which the trainer accepts; the export writes both into the bot's data and domain and `rasa data validate` passes; a
candidate model is trained and compared with the serving model (the report); promotion makes the running Rasa
server understand the message and have the accepted response; rollback brings the old model back.

It works on a copy of the bot's project (its own data/ and models/), so the repository is untouched, and trains
both models there with the same inputs but the one reviewed example: the comparison is like for like wherever it
runs. The stack's Rasa server serves the copy's models during the test and its own model again afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from stack import BOT_BIN, HUB_PYTHON, Stack

from tests.e2e.conftest import ROOT, customer_token

MISUNDERSTOOD = "vão me dar algum desconto por isto?"  # Portuguese: "will I get some discount for this?"
LABEL = "ask_compensation"
TRAINER = {"username": "tess", "password": "candor-demo-tess"}  # handoff/seed/demo.yml
AGENT = {"username": "e2e-rita", "password": "e2e-password-rita"}  # tests/e2e/conftest.py
REPLY = "I checked your account: the outage credit goes onto your next bill by itself, nothing to do on your side."
THANKED = "thank you, that's all I needed"
ACCEPTED = "The outage credit goes onto your next bill by itself; there is nothing to do on your side."


def parse(stack: Stack, text: str) -> dict[str, Any]:
    response = httpx.post(f"{stack.rasa_url}/model/parse", json={"text": text}, timeout=60)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def served_responses(stack: Stack) -> dict[str, Any]:
    """The responses of the model the Rasa server serves (its domain API)."""
    response = httpx.get(f"{stack.rasa_url}/domain", headers={"Accept": "application/json"}, timeout=60)
    response.raise_for_status()
    responses: dict[str, Any] = response.json()["responses"]
    return responses


def load_model(stack: Stack, model: Path) -> None:
    response = httpx.put(f"{stack.rasa_url}/model", json={"model_file": str(model)}, timeout=300)
    assert response.status_code == 204, response.text


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 1800
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture()
def project(tmp_path: Path, stack: Stack) -> Iterator[Path]:
    """A copy of the bot's project, what training and evaluation read; the stack's own model serves again after."""
    copy = tmp_path / "bot"
    copy.mkdir()
    for name in ("config.yml", "domain.yml"):
        shutil.copy(ROOT / name, copy / name)
    for folder in ("data", "bot", "policy"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "requirements").mkdir()
    shutil.copy(ROOT / "requirements" / "bot.txt", copy / "requirements" / "bot.txt")
    (copy / "tests" / "nlu").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "nlu" / "test_nlu.yml", copy / "tests" / "nlu" / "test_nlu.yml")
    (copy / "models").mkdir()
    try:
        yield copy
    finally:
        load_model(stack, stack.model)


def model_name(project: Path) -> str:
    named = run([str(ROOT / "scripts" / "model-name"), str(project)], ROOT)
    assert named.returncode == 0 and named.stdout.startswith("candor-"), named.stderr
    return named.stdout.strip()


def wait_for(check: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"not so after {timeout:.0f} s: {what}"
        time.sleep(0.3)
    return value


def test_a_misunderstood_message_is_reviewed_retrained_promoted_and_rolled_back(
    stack: Stack, hub: httpx.Client, project: Path
) -> None:
    bot_python, models_script = str(BOT_BIN / "python"), str(ROOT / "scripts" / "models.py")
    # The serving model of the copy: trained on its data as it is, registered, loaded by the stack's Rasa server.
    base_name = model_name(project)
    trained = run(
        [str(BOT_BIN / "rasa"), "train", "--quiet", "--out", "models", "--fixed-model-name", base_name],
        project,
        env={**_environment(), "PYTHONPATH": str(ROOT)},
    )
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    base = project / "models" / f"{base_name}.tar.gz"
    assert (
        run([bot_python, models_script, "--models", str(project / "models"), "adopt", str(base)], ROOT).returncode == 0
    )
    load_model(stack, base)
    assert parse(stack, MISUNDERSTOOD)["intent"]["name"] != LABEL, "the base model must misunderstand it"

    # A customer says it, and that the bot sounds fake: the inbox takes the second by itself (the real tracker's
    # parse); an agent flags the first, which the bot got wrong with confidence.
    sender = f"e2e-{uuid.uuid4()}"
    metadata = {"customer_token": customer_token("C-1001")}
    for text in (MISUNDERSTOOD, "why does every response sound fake?"):
        said = hub.post("/webhooks/rest/webhook", json={"sender": sender, "message": text, "metadata": metadata})
        assert said.status_code == 200 and said.json(), said.text
    tess = _login(hub, "/api/trainer/login", TRAINER)

    def fake_item() -> list[dict[str, Any]]:
        found = hub.get("/api/trainer/review", headers=tess).json()["items"]
        return [i for i in found if i["text"] == "why does every response sound fake?"]

    [fake] = wait_for(fake_item, "the 'sounds fake' message in the inbox")
    assert "sounds_fake" in fake["reasons"] and fake["intent"] and fake["frustration_level"]  # read from Rasa
    rita = _login(hub, "/api/agent/login", AGENT)
    context = hub.get(
        f"/api/bot/conversations/{sender}/context", headers={"X-Candor-Service-Token": stack.service_token}
    )
    conversation_id = context.json()["conversation_id"]
    packet = hub.get(f"/api/agent/conversations/{conversation_id}", headers=rita).json()
    message = next(m for m in packet["messages"] if m["text"] == MISUNDERSTOOD)
    flag = hub.post(
        f"/api/agent/conversations/{conversation_id}/messages/{message['id']}/flag",
        json={"note": "asks about a discount for the outage"},
        headers=rita,
    )
    assert flag.status_code == 201, flag.text
    item = flag.json()["review_item"]
    assert item["intent"] == parse(stack, MISUNDERSTOOD)["intent"]["name"]  # what the bot made of it

    # The customer asks for a person; Rita's reply gets a thank-you (the real NLU reads it), she resolves: her reply
    # is proposed as a response, redacted, and the trainer accepts it in the bot's own words.
    said = hub.post(
        "/webhooks/rest/webhook",
        json={"sender": sender, "message": "I want to talk to a person", "metadata": metadata},
    )
    assert said.status_code == 200, said.text
    wait_for(
        lambda: any(
            q["conversation_id"] == conversation_id for q in hub.get("/api/agent/queue", headers=rita).json()["mine"]
        ),
        "the conversation with Rita",
    )
    agent_path = f"/api/agent/conversations/{conversation_id}"
    assert hub.post(f"{agent_path}/messages", json={"text": REPLY}, headers=rita).status_code == 201
    thanked = hub.post("/webhooks/rest/webhook", json={"sender": sender, "message": THANKED, "metadata": metadata})
    assert thanked.status_code == 200, thanked.text
    assert hub.post(f"{agent_path}/resolve", json={"reason": "credit explained"}, headers=rita).status_code == 200

    def proposed() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = hub.get("/api/trainer/responses", headers=tess).json()["candidates"]
        return [c for c in found if c["conversation_id"] == conversation_id]

    [candidate] = wait_for(proposed, "Rita's reply as a response candidate")
    assert candidate["text"] == REPLY and candidate["reaction"] == THANKED
    assert candidate["reaction_intent"] == parse(stack, THANKED)["intent"]["name"]
    accepted = hub.post(
        f"/api/trainer/responses/{candidate['id']}/accept",
        json={"response": "utter_thank", "text": ACCEPTED},
        headers=tess,
    )
    assert accepted.status_code == 200, accepted.text

    # The trainer labels the message; the export writes it into the copy's data, the response into its domain, and
    # validates them.
    labelled = hub.post(
        f"/api/trainer/review/{item['id']}/label", json={"intent": LABEL, "frustration": "low"}, headers=tess
    )
    assert labelled.status_code == 200, labelled.text
    assert hub.post(f"/api/trainer/review/{fake['id']}/discard", headers=tess).status_code == 200
    exported = run(
        [str(HUB_PYTHON), "-m", "handoff.cli", "review-export", "--project", str(project), "--trainer", "tess"],
        ROOT,
        env=stack._env(),
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert "validated: rasa data validate passed" in exported.stdout
    reviewed = yaml.safe_load((project / "data" / "nlu" / "reviewed.yml").read_text())
    assert reviewed["nlu"] == [
        {"intent": LABEL, "metadata": {"frustration": "low"}, "examples": f"- {MISUNDERSTOOD}\n"}
    ]
    assert "1 new variation(s) in domain.yml" in exported.stdout
    assert {"text": ACCEPTED} in yaml.safe_load((project / "domain.yml").read_text())["responses"]["utter_thank"]

    # Retrain and compare: the candidate, the side-by-side report, the gate.
    retrained = run(
        # Like for like wherever it runs: the copy trains without ../shared/data, so it is compared without it too.
        [
            bot_python,
            str(ROOT / "scripts" / "retrain.py"),
            "--project",
            str(project),
            "--shared",
            str(project / "none"),
        ],
        ROOT,
        env=_environment(),
    )
    assert retrained.returncode == 0, retrained.stdout[-3000:] + retrained.stderr[-3000:]
    candidate_name = model_name(project)
    candidate, report = project / "models" / f"{candidate_name}.tar.gz", project / "var" / "reports" / candidate_name
    assert candidate.exists() and candidate_name != base_name
    figures = json.loads((report / "figures.json").read_text())
    assert figures["gate"]["passed"] and figures["serving"]["model"] == base.name
    text = (report / "report.md").read_text()
    for row in (
        "| intent_macro_f1 |",
        "| request_human_precision |",
        "| request_human_recall |",
        "| frustration_auc |",
    ):
        assert row in text
    assert f"| F1 {LABEL} |" in text and (report / "per_intent_f1.png").stat().st_size > 0

    # Promote: the running Rasa server now understands it; roll back: it does not again.
    promoted = run([bot_python, models_script, "--models", str(project / "models"), "promote", str(candidate),
                    "--report", str(report), "--rasa-url", stack.rasa_url], ROOT)  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr
    assert f"the Rasa server at {stack.rasa_url} now serves {candidate.name}" in promoted.stdout
    assert parse(stack, MISUNDERSTOOD)["intent"]["name"] == LABEL
    assert {"text": ACCEPTED} in served_responses(stack)["utter_thank"]
    rolled = run(
        [bot_python, models_script, "--models", str(project / "models"), "rollback", "--rasa-url", stack.rasa_url], ROOT
    )
    assert rolled.returncode == 0, rolled.stderr
    assert parse(stack, MISUNDERSTOOD)["intent"]["name"] != LABEL
    assert {"text": ACCEPTED} not in served_responses(stack)["utter_thank"]
    registry = json.loads((project / "models" / "serving.json").read_text())
    assert registry["serving"] == base.name
    assert [e["action"] for e in registry["history"]] == ["adopt", "promote", "rollback"]


def _environment() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def _login(hub: httpx.Client, path: str, who: dict[str, str]) -> dict[str, str]:
    response = hub.post(path, json=who)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
