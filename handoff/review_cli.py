"""The trainers' review inbox and response candidates from a shell (`python -m handoff.cli review-...`,
`response-...`; docs/trainers.md): list, show, label and discard items, accept or reject candidates, as the review
page does, and export the labelled items and accepted responses into the bot's training data and domain.

`review-export` writes `data/nlu/reviewed.yml` (handoff/nlu_export.py: no duplicates, conflicts flagged instead of
written) and adds accepted responses to `domain.yml` (handoff/response_export.py), then runs
`rasa data validate --fail-on-warnings` on the project; if validation fails, the files are put back as they were
and nothing changes state, so an export is all or nothing."""

from __future__ import annotations

import argparse
import fcntl
import os
import shlex
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol, TypeVar

import yaml

from handoff import nlu_export, response_candidates, response_export, response_flows, review
from handoff.errors import BadRequest
from handoff.repository import Repository
from handoff.schemas import ResponseCandidate, ReviewEntity, ReviewItem, ReviewLabelBody
from handoff.settings import ROOT, Settings

__all__ = ["add_commands", "run"]

COMMANDS = (
    "review-list",
    "review-show",
    "review-label",
    "review-discard",
    "review-export",
    "response-list",
    "response-show",
    "response-accept",
    "response-reject",
)
PAGE = 200  # items read at a time (the store's most)
VALIDATE_TIMEOUT = 600  # seconds; rasa data validate takes about 20 on these machines


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser("review-list", help="review inbox items (open ones by default)")
    listing.add_argument("--state", default="open", choices=[*review.STATES, "all"])
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
    export = commands.add_parser(
        "review-export",
        help="write labelled items into data/nlu/reviewed.yml, accepted responses into domain.yml; validate",
    )
    export.add_argument("--project", type=Path, default=ROOT, help="the bot's project folder (default: this one)")
    export.add_argument("--validate-command", help="the validation to run in the project (default: the bot env's rasa)")
    export.add_argument("--no-validate", action="store_true", help="write without running rasa data validate")
    responses = commands.add_parser("response-list", help="response candidates: agents' replies that worked")
    responses.add_argument("--state", default="proposed", choices=[*response_candidates.STATES, "all"])
    responses.add_argument("--limit", type=int, default=50)
    response = commands.add_parser("response-show", help="one response candidate")
    response.add_argument("candidate_id", type=int)
    accept = commands.add_parser("response-accept", help="accept a candidate as a response of the domain")
    accept.add_argument("candidate_id", type=int)
    accept.add_argument("--response", required=True, help="utter_... (an existing one gets a new variation)")
    accept.add_argument("--text", help="what the bot will say (default: the agent's reply, redacted)")
    reject = commands.add_parser("response-reject", help="never use a candidate as a bot response")
    reject.add_argument("candidate_id", type=int)
    for command in (label, discard, export, accept, reject):
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
    if args.command == "response-list":
        state = None if args.state == "all" else args.state
        found, proposed = await repository.response_candidates(state, 0, args.limit)
        lines = [candidate_line(candidate) for candidate in found] or [f"no {args.state} response candidates"]
        return "\n".join([*lines, f"({proposed} proposed in all)"])
    if args.command == "response-show":
        return candidate_shown(await repository.response_candidate(args.candidate_id))
    actor = await _trainer(repository, args.trainer)
    if args.command == "response-accept":
        text = args.text.strip() if args.text is not None else None
        accepted = await response_flows.accept(
            repository, args.candidate_id, args.response, text, settings.domain_file, actor
        )
        return f"accepted {candidate_line(accepted)}"
    if args.command == "response-reject":
        return f"rejected {candidate_line(await repository.reject_response(args.candidate_id, actor))}"
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


def candidate_line(candidate: ResponseCandidate) -> str:
    decided = f" → {candidate.response}: {candidate.accepted_text!r}" if candidate.response else ""
    worked = f"worked {candidate.worked}x ({candidate.agent})"
    return f"#{candidate.id} [{candidate.state}] {worked}{decided}  {candidate.text!r}"


def candidate_shown(candidate: ResponseCandidate) -> str:
    return "\n".join(
        [
            candidate_line(candidate),
            f"    customer: {candidate.prompt}",
            f"  > agent: {candidate.text}",
            f"    customer: {candidate.reaction}  ({candidate.reaction_intent or '-'})",
        ]
    )


async def export(repository: Repository, project: Path, validation: list[str] | None, actor: str) -> str:
    """Write the labelled items into the project's reviewed file and the accepted responses into its domain,
    validate, then mark them (docs/trainers.md). One export at a time per project (a lock on
    var/review-export.lock; another waiting would work on stale data)."""
    lock_path = project / "var" / "review-export.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"another export into {project} is running; try again when it has finished") from None
        return await _export(repository, project, validation, actor)


async def _export(repository: Repository, project: Path, validation: list[str] | None, actor: str) -> str:
    labelled = await _all(repository.review_items, "labelled")
    accepted = await _all(repository.response_candidates, "accepted")
    if not labelled and not accepted:
        return "nothing to export: no labelled items and no accepted responses"
    nlu_file, domain_file = project / nlu_export.REVIEWED_FILE, project / response_export.DOMAIN_FILE
    # Everything is worked out before anything is written: a file that cannot be read stops the export here.
    try:
        plan = nlu_export.plan_export(labelled, nlu_export.existing_examples(project / "data" / "nlu"))
        writes: dict[Path, str] = {}  # file → its new text
        if plan.write:
            kept = nlu_export.read_examples(nlu_file) if nlu_file.exists() else []
            writes[nlu_file] = nlu_export.render([*kept, *plan.write])
        responses = response_export.ResponsePlan()
        if accepted:
            domain = _read(domain_file) or ""
            responses = response_export.plan_responses(accepted, domain)
            if responses.write:
                writes[domain_file] = response_export.with_responses(domain, responses.write)
                _check_used(responses.write, domain, project)
    except yaml.YAMLError as error:
        raise ValueError(f"nothing exported: a data file is not valid YAML: {error}") from None
    before = {path: _read(path) for path in writes}  # put back if anything after the first write fails
    try:
        for path, text in writes.items():
            _replace(path, text)
        if writes and validation is not None:
            _validate(validation, project, before)
    except BaseException:  # an interrupted validation too: never leave unvalidated data behind
        _restore(before)
        raise
    report = []
    if labelled:
        await repository.finish_export(plan.exported, plan.conflicts, labelled, actor)
        report.append(
            f"exported {len(plan.exported)} item(s): {len(plan.write)} new example(s) in "
            f"{nlu_file.relative_to(project)}, {len(plan.exported) - len(plan.write)} already there"
        )
        report += [f"  conflict #{item_id}: {why}" for item_id, why in plan.conflicts.items()]
    if accepted:
        moved = await repository.finish_response_export(accepted, actor)
        report.append(
            f"exported {len(moved)} accepted response(s): {len(responses.write)} new variation(s) in "
            f"{response_export.DOMAIN_FILE}, {len(responses.exported) - len(responses.write)} already there"
        )
        report += [f"  {name}: {text!r}" for name, text in responses.write]
        changed = [c for c in accepted if c.id not in moved]
        report += [
            f"  #{c.id} was decided again while this export ran: its earlier text is in {response_export.DOMAIN_FILE} "
            f"({c.response}: {c.accepted_text!r}); remove it by hand if it should not be there"
            for c in changed
            if (c.response, c.accepted_text) in responses.write
        ]
    if writes:
        report.append("validated: rasa data validate passed" if validation is not None else "not validated")
    return "\n".join(report)


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


Read = TypeVar("Read", bound=_Identified)


async def _all(read: Callable[[str, int, int], Awaitable[tuple[list[Read], int]]], state: str) -> list[Read]:
    """Every record in `state`, a page at a time."""
    found: list[Read] = []
    while True:
        page, _ = await read(state, found[-1].id if found else 0, PAGE)
        found += page
        if len(page) < PAGE:
            return found


def _check_used(additions: list[tuple[str, str]], domain: str, project: Path) -> None:
    """BadRequest when a new response is used by no rule or story in the project's data/."""
    used: set[str] = set()
    for path in sorted((project / "data").rglob("*.yml")):
        used |= response_export.actions_in(yaml.safe_load(path.read_text(encoding="utf-8")))
    if missing := response_export.unused(additions, domain, used):
        raise BadRequest(
            f"nothing exported: {', '.join(missing)} would be a new response that no rule or story in data/ uses, "
            "so the bot would never say it. Write the rule or story that says when (e.g. data/rules/), then export "
            "again; or accept the candidate into an existing response"
        )


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    written = path.with_name(path.name + ".tmp")
    written.write_text(text, encoding="utf-8")
    written.replace(path)


def _restore(before: dict[Path, str | None]) -> None:
    for path, text in before.items():
        if text is None:
            path.unlink(missing_ok=True)
        else:
            _replace(path, text)


def _validate(command: list[str], project: Path, before: dict[Path, str | None]) -> None:
    """Run the validation in the project; BadRequest with its output when it fails (the caller puts the written
    files back)."""
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
    tail = "\n".join(output.splitlines()[-15:])
    names = " and ".join(path.name for path in before)
    was = "is as it was" if len(before) == 1 else "are as they were"
    raise BadRequest(f"validation failed, nothing exported ({names} {was}):\n{tail}")
