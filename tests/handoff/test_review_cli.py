"""`python -m handoff.cli review-...` and `response-...`: a trainer labels items and accepts response candidates from
the shell, and exports into a copy of the bot's project, which the real `rasa data validate` (the bot environment's)
checks; a failed validation leaves everything as it was."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import yaml

from handoff.settings import ROOT
from tests.handoff.conftest import SERVICE_TOKEN
from tests.handoff.test_response_candidates import FIX, THANKS, with_ana
from tests.handoff.test_review import UNSURE, inbox, settled


def cli(hub: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CANDOR_SERVICE_TOKEN": SERVICE_TOKEN,
        "CANDOR_DATABASE_URL": hub.settings.database_url,
        "CANDOR_SEED_FILE": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "handoff.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def label(hub: Any, item_id: int, intent: str, frustration: str, *more: str) -> str:
    done = cli(
        hub, "review-label", str(item_id), "--intent", intent, "--frustration", frustration, *more, "--trainer", "tess"
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def project(tmp_path: Path) -> Path:
    """A copy of the bot's project: what an export writes into and validation reads."""
    copy = tmp_path / "bot"
    copy.mkdir()
    for name in ("domain.yml", "config.yml"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(ROOT / "data", copy / "data")
    return copy


async def items_for(hub: Any, fake_rasa: Any, texts: list[str]) -> list[dict[str, Any]]:
    tess = await hub.login("tess")
    sender = str(uuid.uuid4())
    for text in texts:
        fake_rasa.understood[text] = UNSURE
        await hub.say(sender, text)
    await settled(hub)
    return sorted(await inbox(hub, tess, wanted=len(texts)), key=lambda i: i["message_id"])


async def test_a_trainer_labels_and_exports_from_the_shell_into_validated_data(
    hub: Any, fake_rasa: Any, tmp_path: Path
) -> None:
    new, taken, dropped = await items_for(
        hub, fake_rasa, ["any news about order 99812?", "talk to me like a person", "qwerty"]
    )
    listed = cli(hub, "review-list")
    assert listed.returncode == 0, listed.stderr
    assert f"#{new['id']} [open] low_confidence,ambiguous  bot: ask_status 0.41" in listed.stdout
    shown = cli(hub, "review-show", str(new["id"]))
    assert "ranking: ask_status 0.41, report_problem 0.36" in shown.stdout
    assert "entity order_id: 'ORD-00000'" in shown.stdout

    label(hub, new["id"], "ask_status", "low")
    # The same text as an example of request_human, labelled otherwise: a conflict the export will not write.
    label(hub, taken["id"], "stop_apologizing", "medium")
    assert cli(hub, "review-discard", str(dropped["id"]), "--trainer", "tess").returncode == 0

    bot = project(tmp_path)
    exported = cli(hub, "review-export", "--project", str(bot), "--trainer", "tess")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert "1 new example(s) in data/nlu/reviewed.yml" in exported.stdout
    assert f"conflict #{taken['id']}: already an example of request_human in data/" in exported.stdout
    assert "validated: rasa data validate passed" in exported.stdout
    reviewed = yaml.safe_load((bot / "data" / "nlu" / "reviewed.yml").read_text())
    assert reviewed["nlu"] == [
        {
            "intent": "ask_status",
            "metadata": {"frustration": "low"},
            "examples": "- any news about order [ORD-00000](order_id)?\n",
        }
    ]
    states = {
        line.split()[0]: line.split()[1] for line in cli(hub, "review-list", "--state", "all").stdout.splitlines()[:-1]
    }
    assert states == {
        f"#{new['id']}": "[exported]",
        f"#{taken['id']}": "[conflict]",
        f"#{dropped['id']}": "[discarded]",
    }
    again = cli(hub, "review-export", "--project", str(bot), "--trainer", "tess")
    assert again.stdout.strip() == "nothing to export: no labelled items and no accepted responses"

    # A conflict relabelled to the intent the data has is exported as already there: no duplicate is written.
    label(hub, taken["id"], "request_human", "medium")
    third = cli(hub, "review-export", "--project", str(bot), "--trainer", "tess", "--no-validate")
    assert "exported 1 item(s): 0 new example(s)" in third.stdout and "1 already there" in third.stdout
    assert yaml.safe_load((bot / "data" / "nlu" / "reviewed.yml").read_text()) == reviewed


async def test_a_failed_validation_leaves_the_data_and_the_items_as_they_were(
    hub: Any, fake_rasa: Any, tmp_path: Path
) -> None:
    first, second = await items_for(hub, fake_rasa, ["where's my engineer", "my\x07 router\tis dead\x1b[0m again"])
    bot = project(tmp_path)
    label(hub, first["id"], "ask_status", "none")
    assert cli(hub, "review-export", "--project", str(bot), "--trainer", "tess", "--no-validate").returncode == 0
    reviewed = bot / "data" / "nlu" / "reviewed.yml"
    before = reviewed.read_text()

    # The trainer marks an entity, then relabels without naming entities: the marked one stays.
    label(hub, second["id"], "report_problem", "low", "--entity", "4:10:order_id")
    relabelled = label(hub, second["id"], "report_problem", "medium")
    assert "report_problem/medium" in relabelled
    assert "entity order_id: 'router'" in cli(hub, "review-show", str(second["id"])).stdout

    failed = cli(hub, "review-export", "--project", str(bot), "--trainer", "tess", "--validate-command", "false")
    assert failed.returncode == 1
    assert "validation failed, nothing exported (reviewed.yml is as it was)" in failed.stderr
    assert reviewed.read_text() == before  # put back: the first export's example is still there, nothing else
    assert f"#{second['id']} [labelled]" in cli(hub, "review-list", "--state", "labelled").stdout

    # Control characters the customer sent never reach the YAML (which could not hold them).
    assert cli(hub, "review-export", "--project", str(bot), "--trainer", "tess", "--no-validate").returncode == 0
    blocks = yaml.safe_load(reviewed.read_text())["nlu"]
    assert {(b["intent"], b["examples"]) for b in blocks} == {
        ("ask_status", "- where's my engineer\n"),
        ("report_problem", "- my [router](order_id) is dead(0m again\n"),
    }


async def test_the_shell_refuses_what_the_page_refuses(hub: Any, fake_rasa: Any) -> None:
    [item] = await items_for(hub, fake_rasa, ["hmm ok"])
    not_trainer = cli(hub, "review-discard", str(item["id"]), "--trainer", "ana")
    assert not_trainer.returncode == 1 and "'ana' is not a trainer account" in not_trainer.stderr
    unknown = cli(
        hub, "review-label", str(item["id"]), "--intent", "order_pizza", "--frustration", "none", "--trainer", "tess"
    )
    assert unknown.returncode == 1 and "'order_pizza' is not an intent of the bot's domain" in unknown.stderr
    bad_entity = cli(
        hub,
        "review-label",
        str(item["id"]),
        "--intent",
        "greet",
        "--frustration",
        "none",
        "--entity",
        "3-5",
        "--trainer",
        "tess",
    )
    assert bad_entity.returncode == 1 and "--entity must be START:END:NAME" in bad_entity.stderr
    missing = cli(hub, "review-show", "424242")
    assert missing.returncode == 1 and "no review item 424242" in missing.stderr


async def test_accepted_responses_go_into_the_domain_as_variations_validated(
    hub: Any, fake_rasa: Any, tmp_path: Path
) -> None:
    fake_rasa.understood["thanks!"] = THANKS
    other = "You are welcome, Marta. The line should hold now; write here if it drops again."
    await with_ana(hub, [("customer", "hello?"), ("agent", FIX), ("customer", "thanks!")])
    await with_ana(hub, [("customer", "all good now"), ("agent", other), ("customer", "thanks!")])
    listed = cli(hub, "response-list")
    assert listed.returncode == 0, listed.stderr
    fix, welcome = (line.split()[0][1:] for line in listed.stdout.splitlines()[:2])
    assert "(2 proposed in all)" in listed.stdout
    shown = cli(hub, "response-show", fix)
    assert "  > agent: [name], I have reset your line" in shown.stdout and "customer: thanks!  (thank)" in shown.stdout

    def accept(candidate: str, response: str, *text: str) -> subprocess.CompletedProcess[str]:
        return cli(hub, "response-accept", candidate, "--response", response, *text, "--trainer", "tess")

    kept = accept(welcome, "utter_thank")  # the redacted reply still says [name]
    assert kept.returncode == 1 and "[name] is a redaction placeholder" in kept.stderr
    thanks = "You're welcome. The line should hold now; write here if it drops again."
    assert accept(welcome, "utter_thank", "--text", thanks).returncode == 0
    reset = "I've reset your line from our side. Give the router two minutes and it should hold."
    assert accept(fix, "utter_line_reset", "--text", reset).returncode == 0

    # A new response that no rule or story uses is refused (the bot would never say it): nothing changes.
    bot = project(tmp_path)
    domain = (bot / "domain.yml").read_text()
    failed = cli(hub, "review-export", "--project", str(bot), "--trainer", "tess")
    assert failed.returncode == 1
    assert "utter_line_reset would be a new response that no rule or story in data/ uses" in failed.stderr
    assert (bot / "domain.yml").read_text() == domain

    # With the rule that says when to use it, both go in: one more variation of utter_thank, and the new response.
    rules = bot / "data" / "rules" / "line_reset.yml"
    rules.write_text(
        'version: "3.1"\nrules:\n  - rule: line reset\n    steps:\n      - intent: ask_status\n'
        "      - action: utter_line_reset\n"
    )
    # A failed validation puts the domain back, and the candidates stay accepted.
    invalid = cli(hub, "review-export", "--project", str(bot), "--trainer", "tess", "--validate-command", "false")
    assert invalid.returncode == 1 and "(domain.yml is as it was)" in invalid.stderr
    assert (bot / "domain.yml").read_text() == domain
    assert len(cli(hub, "response-list", "--state", "accepted").stdout.splitlines()) == 3  # two, and the count
    exported = cli(hub, "review-export", "--project", str(bot), "--trainer", "tess")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert "exported 2 accepted response(s): 2 new variation(s) in domain.yml" in exported.stdout
    assert "validated: rasa data validate passed" in exported.stdout
    responses = yaml.safe_load((bot / "domain.yml").read_text())["responses"]
    assert responses["utter_thank"] == [{"text": "You're welcome. Anything else I can check?"}, {"text": thanks}]
    assert responses["utter_line_reset"] == [{"text": reset}]
    added = set((bot / "domain.yml").read_text().splitlines()) - set(domain.splitlines())
    assert len(added) == 3 and set(domain.splitlines()) <= set((bot / "domain.yml").read_text().splitlines())
    assert "[exported]" in cli(hub, "response-show", fix).stdout
    rejected = cli(hub, "response-reject", fix, "--trainer", "tess")
    assert rejected.returncode == 1 and "it is in the domain already" in rejected.stderr
    again = cli(hub, "review-export", "--project", str(bot), "--trainer", "tess")
    assert again.stdout.strip() == "nothing to export: no labelled items and no accepted responses"


async def test_an_export_that_fails_leaves_both_files_and_every_state_as_they_were(
    hub: Any, fake_rasa: Any, tmp_path: Path
) -> None:
    [item] = await items_for(hub, fake_rasa, ["any news on my engineer?"])
    label(hub, item["id"], "ask_status", "none")
    fake_rasa.understood["thanks!"] = THANKS
    await with_ana(hub, [("customer", "hello?"), ("agent", FIX), ("customer", "thanks!")])
    candidate = cli(hub, "response-list").stdout.split()[0][1:]
    said = "I've reset your line from our side. Give the router two minutes and it should hold."
    accepted = cli(hub, "response-accept", candidate, "--response", "utter_thank", "--text", said, "--trainer", "tess")
    assert accepted.returncode == 0, accepted.stderr
    bot = project(tmp_path)
    domain, reviewed = (bot / "domain.yml").read_text(), bot / "data" / "nlu" / "reviewed.yml"

    failed = cli(hub, "review-export", "--project", str(bot), "--trainer", "tess", "--validate-command", "false")
    assert failed.returncode == 1
    assert "nothing exported (reviewed.yml and domain.yml are as they were)" in failed.stderr
    assert not reviewed.exists() and (bot / "domain.yml").read_text() == domain

    # A data file that is not YAML stops the export before it writes anything.
    (bot / "data" / "rules" / "broken.yml").write_text("rules: [\n")
    broken = cli(hub, "review-export", "--project", str(bot), "--trainer", "tess", "--no-validate")
    assert broken.returncode == 1 and "a data file is not valid YAML" in broken.stderr
    assert not reviewed.exists() and (bot / "domain.yml").read_text() == domain
    assert f"#{item['id']} [labelled]" in cli(hub, "review-list", "--state", "labelled").stdout
    assert f"#{candidate} [accepted]" in cli(hub, "response-list", "--state", "accepted").stdout
    assert cli(hub, "response-list", "--state", "bogus").returncode == 2  # argparse: not a state
