"""The trainers' review inbox from a shell (`python -m handoff.cli review-...`, docs/trainers.md): list, show, label
and discard items as the review page does, and export the labelled ones into the bot's training data.

`review-export` writes `data/nlu/reviewed.yml` (handoff/nlu_export.py: no duplicates, conflicts flagged instead of
written), then runs `rasa data validate --fail-on-warnings` on the project; if validation fails, the file is put
back as it was and no item changes, so an export is all or nothing."""

from __future__ import annotations

import argparse
import fcntl
import os
import shlex
import subprocess
from pathlib import Path

from handoff import nlu_export
from handoff.errors import BadRequest
from handoff.repository import Repository
from handoff.schemas import ReviewEntity, ReviewItem, ReviewLabelBody
from handoff.settings import ROOT, Settings

__all__ = ["add_commands", "run"]

COMMANDS = ("review-list", "review-show", "review-label", "review-discard", "review-export")
PAGE = 200  # items read at a time (the store's most)
VALIDATE_TIMEOUT = 600  # seconds; rasa data validate takes about 20 on these machines


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser("review-list", help="review inbox items (open ones by default)")
    listing.add_argument("--state", default="open", help="open, labelled, discarded, exported, conflict or all")
    listing.add_argument("--limit", type=int, default=50)
    show = commands.add_parser("review-show", help="one review item with its context")
    show.add_argument("item_id", type=int)
    label = commands.add_parser("review-label", help="confirm or correct an item's intent, frustration and entities")
    label.add_argument("item_id", type=int)
    label.add_argument("--intent", required=True)
    label.add_argument("--frustration", required=True, help="none, low, medium or high")
    label.add_argument("--entity", action="append", help="START:END:NAME in the redacted text (repeat; default: kept)")
    discard = commands.add_parser("review-discard", help="leave an item out of the training data")
    discard.add_argument("item_id", type=int)
    export = commands.add_parser("review-export", help="write labelled items into data/nlu/reviewed.yml and validate")
    export.add_argument("--project", type=Path, default=ROOT, help="the bot's project folder (default: this one)")
    export.add_argument("--validate-command", help="the validation to run in the project (default: the bot env's rasa)")
    export.add_argument("--no-validate", action="store_true", help="write without running rasa data validate")
    for command in (label, discard, export):
        command.add_argument("--trainer", required=True, help="your trainer account's username (audited)")


async def run(args: argparse.Namespace, settings: Settings) -> str:
    from handoff.cli import with_store  # the CLI imports this module

    return await with_store(settings, lambda repository: _run(args, settings, repository))


async def _run(args: argparse.Namespace, settings: Settings, repository: Repository) -> str:
    if args.command == "review-list":
        state = None if args.state == "all" else args.state
        items, open_count = await repository.review_items(state, 0, args.limit)
        lines = [line(item) for item in items] or [f"no {args.state} items"]
        return "\n".join([*lines, f"({open_count} open in all)"])
    if args.command == "review-show":
        return shown(await repository.review_item(args.item_id))
    actor = await _trainer(repository, args.trainer)
    if args.command == "review-label":
        entities = [_entity(given) for given in args.entity] if args.entity else None
        body = ReviewLabelBody.model_validate(
            {"intent": args.intent, "frustration": args.frustration, "entities": entities}
        )
        nlu_export.check_label(body, settings.domain_file)
        return f"labelled {line(await repository.label_review_item(args.item_id, body, actor))}"
    if args.command == "review-discard":
        return f"discarded {line(await repository.discard_review_item(args.item_id, actor))}"
    return await export(repository, args.project, _validation(args), actor)


async def _trainer(repository: Repository, username: str) -> str:
    found = await repository.agent_credentials(username)
    if found is None or found[0].role != "trainer":
        raise ValueError(f"--trainer: {username!r} is not a trainer account (add one: add-agent --role trainer)")
    return f"trainer:{username}"


def _entity(given: str) -> dict[str, object]:
    parts = given.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or not parts[2]:
        raise ValueError(f"--entity must be START:END:NAME (e.g. 15:24:order_id), got {given!r}")
    return ReviewEntity(start=int(parts[0]), end=int(parts[1]), entity=parts[2]).model_dump()


def _validation(args: argparse.Namespace) -> list[str] | None:
    """The validation command's words, or None (--no-validate)."""
    if args.no_validate:
        return None
    if args.validate_command:
        return shlex.split(args.validate_command)
    rasa = ROOT / ".venv-bot" / "bin" / "rasa"
    if not rasa.exists():
        raise ValueError(f"no bot environment ({rasa}): run `make install`, or pass --validate-command / --no-validate")
    return [str(rasa), "data", "validate", "--fail-on-warnings"]


def line(item: ReviewItem) -> str:
    predicted = f"{item.intent} {item.confidence:.2f}" if item.intent and item.confidence is not None else "-"
    label = f" → {item.label_intent}/{item.label_frustration}" if item.label_intent else ""
    return f"#{item.id} [{item.state}] {','.join(item.reasons)}  bot: {predicted}{label}  {item.text!r}"


def shown(item: ReviewItem) -> str:
    lines = [line(item)]
    lines += [f"    {turn['role']}: {turn['text']}" for turn in item.context]
    lines.append(f"  > customer: {item.text}")
    if item.ranking:
        lines.append("  ranking: " + ", ".join(f"{r['name']} {r['confidence']:.2f}" for r in item.ranking))
    if item.frustration_level:
        lines.append(f"  frustration: {item.frustration_level} ({item.frustration_score})")
    lines += [f"  entity {e.entity}: {item.text[e.start : e.end]!r} at {e.start}-{e.end}" for e in item.entities]
    if item.note:
        lines.append(f"  agent's note: {item.note}")
    if item.conflict:
        lines.append(f"  not exported: {item.conflict}")
    return "\n".join(lines)


async def export(repository: Repository, project: Path, validation: list[str] | None, actor: str) -> str:
    """Write the labelled items into the project's reviewed file, validate, then mark them (docs/trainers.md).
    One export at a time per project (a lock on var/review-export.lock; another waiting would work on stale data)."""
    lock_path = project / "var" / "review-export.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"another export into {project} is running; try again when it has finished") from None
        return await _export(repository, project, validation, actor)


async def _export(repository: Repository, project: Path, validation: list[str] | None, actor: str) -> str:
    labelled: list[ReviewItem] = []
    while True:
        page, _ = await repository.review_items("labelled", labelled[-1].id if labelled else 0, PAGE)
        labelled += page
        if len(page) < PAGE:
            break
    if not labelled:
        return "nothing to export: no labelled items"
    out = project / nlu_export.REVIEWED_FILE
    plan = nlu_export.plan_export(labelled, nlu_export.existing_examples(project / "data" / "nlu"))
    before = out.read_text(encoding="utf-8") if out.exists() else None
    if plan.write:
        kept = nlu_export.read_examples(out) if before is not None else []
        out.parent.mkdir(parents=True, exist_ok=True)
        written = out.with_suffix(".yml.tmp")
        written.write_text(nlu_export.render([*kept, *plan.write]), encoding="utf-8")
        written.replace(out)
        if validation is not None:
            _validate(validation, project, out, before)
    await repository.finish_export(plan.exported, plan.conflicts, labelled, actor)
    report = [
        f"exported {len(plan.exported)} item(s): {len(plan.write)} new example(s) in {out.relative_to(project)}, "
        f"{len(plan.exported) - len(plan.write)} already there"
    ]
    report += [f"  conflict #{item_id}: {why}" for item_id, why in plan.conflicts.items()]
    if plan.write:
        report.append("validated: rasa data validate passed" if validation is not None else "not validated")
    return "\n".join(report)


def _validate(command: list[str], project: Path, out: Path, before: str | None) -> None:
    """Run the validation in the project; on failure put the reviewed file back and raise with its output."""
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(  # noqa: S603 (the trainer's own command, or the bot env's rasa)
            command, cwd=project, capture_output=True, text=True, timeout=VALIDATE_TIMEOUT, env=environment
        )
        failed = done.returncode != 0
        output = (done.stdout + done.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        failed, output = True, str(error)
    if not failed:
        return
    if before is None:
        out.unlink()
    else:
        out.write_text(before, encoding="utf-8")
    tail = "\n".join(output.splitlines()[-15:])
    raise BadRequest(f"validation failed, nothing exported ({out.name} is as it was):\n{tail}")
