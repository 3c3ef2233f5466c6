"""The store's part for the trainers' review inbox (handoff/review.py). Repository (handoff/repository.py)
includes it. Text is redacted (handoff/redaction.py) here, before it is written: the inbox never holds the
customer's personal data, only the transcript does."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handoff import models, review
from handoff.errors import BadRequest, Conflict, NotFound
from handoff.redaction import redact
from handoff.schemas import ReviewEntity, ReviewItem, ReviewLabelBody
from handoff.store_part import PAGE_MAX, StorePart

__all__ = ["ReviewStore"]

DECIDABLE = ("open", "labelled", "conflict")  # a trainer may label or discard an item in these states


def _item(row: models.ReviewItem) -> ReviewItem:
    entities = row.label_entities if row.label_entities is not None else row.entities
    return ReviewItem.model_validate(
        {
            **{column: getattr(row, column) for column in ReviewItem.model_fields if hasattr(row, column)},
            "entities": entities,
        }
    )


def _predicted(row: models.ReviewItem, prediction: review.Prediction) -> None:
    row.intent = prediction.intent
    row.confidence = prediction.confidence
    row.ranking = prediction.ranking_json()
    row.frustration_score = prediction.frustration_score
    row.frustration_level = prediction.frustration_level


class ReviewStore:
    async def add_to_review(
        self: StorePart,
        message_id: int,
        reasons: Sequence[str],
        prediction: review.Prediction | None = None,
        *,
        note: str | None = None,
        actor: str = "hub",
    ) -> ReviewItem:
        """Put a customer message in the inbox for `reasons`, redacted, with the messages before it; a message
        already there gets the new reasons (and the prediction and note, when given). An agent's flag reopens a
        discarded item. NotFound: no such message; BadRequest: not a customer's."""
        for attempt in (1, 2):
            try:
                return await _add(self, message_id, reasons, prediction, note, actor)
            except IntegrityError:  # another hub process added this message's item meanwhile: join it
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def lead_up(self: StorePart, conversation_id: int, up_to: int, count: int) -> list[int]:
        """The ids of the customer's last `count` typed messages up to `up_to` (not button payloads: "/intent")."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(models.Message.id, models.Message.text)
                .where(
                    models.Message.conversation_id == conversation_id,
                    models.Message.role == "customer",
                    models.Message.id <= up_to,
                )
                .order_by(models.Message.id.desc())
                .limit(count * 3)
            )
            typed = [id_ for id_, text in rows.all() if not review.is_payload(text)]
            return sorted(typed[:count])

    async def review_items(self: StorePart, state: str | None, after: int, limit: int) -> tuple[list[ReviewItem], int]:
        """Items with id > after (in `state`, or all), oldest first, at most `limit`; and how many are open."""
        query = select(models.ReviewItem).where(models.ReviewItem.id > after).order_by(models.ReviewItem.id)
        if state is not None:
            query = query.where(models.ReviewItem.state == state)
        async with self._sessions() as session:
            rows = await session.scalars(query.limit(min(limit, PAGE_MAX)))
            items = [_item(row) for row in rows]
            open_count = await session.scalar(
                select(func.count()).select_from(models.ReviewItem).where(models.ReviewItem.state == "open")
            )
            return items, int(open_count or 0)

    async def review_item(self: StorePart, item_id: int) -> ReviewItem:
        async with self._sessions() as session:
            row = await session.get(models.ReviewItem, item_id)
            if row is None:
                raise NotFound(f"no review item {item_id}")
            return _item(row)

    async def label_review_item(self: StorePart, item_id: int, body: ReviewLabelBody, actor: str) -> ReviewItem:
        """The trainer's intent, frustration level and entities (checked against the redacted text)."""
        async with self._transaction() as session:
            row = await _decidable(session, item_id)
            kept = row.label_entities if row.label_entities is not None else row.entities  # a relabel keeps them
            entities = body.entities if body.entities is not None else [ReviewEntity(**e) for e in kept]
            for entity in entities:
                if entity.end > len(row.text):
                    raise BadRequest(f"entities: {entity.entity} ends at {entity.end}, after the text's end")
            row.state, row.conflict = "labelled", None
            row.label_intent, row.label_frustration = body.intent, body.frustration
            row.label_entities = [entity.model_dump() for entity in entities]
            row.decided_by, row.decided_at = actor, models.utcnow()
            self._audit(
                session, actor, "review_labelled", row.conversation_id, item=item_id, intent=body.intent,
                frustration=body.frustration,
            )  # fmt: skip
            await session.flush()
            return _item(row)

    async def discard_review_item(self: StorePart, item_id: int, actor: str) -> ReviewItem:
        async with self._transaction() as session:
            row = await _decidable(session, item_id)
            row.state, row.decided_by, row.decided_at = "discarded", actor, models.utcnow()
            self._audit(session, actor, "review_discarded", row.conversation_id, item=item_id)
            await session.flush()
            return _item(row)

    async def finish_export(
        self: StorePart, exported: Sequence[int], conflicts: dict[int, str], items: Sequence[ReviewItem], actor: str
    ) -> None:
        """After an export wrote its file: its items `exported`, and the ones it did not write `conflict` with why.
        Only an item still as the export read it moves (labelled, decided at the same moment): one a trainer changed
        meanwhile stays as the trainer left it, and the next export compares it with the file again."""
        now = models.utcnow()
        read = {item.id: item.decided_at for item in items}
        async with self._transaction() as session:
            ids = [*exported, *conflicts]
            rows = await session.scalars(
                select(models.ReviewItem).where(models.ReviewItem.id.in_(ids)).with_for_update()
            )
            moved: list[int] = []
            for row in rows:
                if row.state != "labelled" or row.decided_at != read.get(row.id):
                    continue
                moved.append(row.id)
                if row.id in conflicts:
                    row.state, row.conflict = "conflict", conflicts[row.id]
                else:
                    row.state, row.exported_at = "exported", now
            self._audit(
                session, actor, "review_exported", None, exported=sorted(set(moved) - set(conflicts)),
                conflicts=sorted(set(moved) & set(conflicts)),
            )  # fmt: skip


async def _decidable(session: AsyncSession, item_id: int) -> models.ReviewItem:
    row = await session.get(models.ReviewItem, item_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no review item {item_id}")
    if row.state not in DECIDABLE:
        raise Conflict(f"review item {item_id} is {row.state}: only open, labelled or conflicting items change")
    return row


async def _add(
    store: StorePart,
    message_id: int,
    reasons: Sequence[str],
    prediction: review.Prediction | None,
    note: str | None,
    actor: str,
) -> ReviewItem:
    async with store._transaction() as session:
        row = await session.scalar(
            select(models.ReviewItem).where(models.ReviewItem.message_id == message_id).with_for_update()
        )
        if row is None:
            message = await session.get(models.Message, message_id)
            if message is None:
                raise NotFound(f"no message {message_id}")
            if message.role != "customer":
                raise BadRequest(f"message {message_id} is not a customer's: only customer messages are reviewed")
            if review.is_payload(message.text):
                raise BadRequest(f"message {message_id} is a button's payload, not words the customer typed")
            before = await session.execute(
                select(models.Message.id, models.Message.role, models.Message.text)
                .where(models.Message.conversation_id == message.conversation_id, models.Message.id < message_id)
                .order_by(models.Message.id.desc())
                .limit(review.CONTEXT_TURNS * 2)
            )
            earlier = [(int(id_), str(role), str(text)) for id_, role, text in reversed(before.all())]
            redacted = redact(message.text)
            row = models.ReviewItem(
                message_id=message_id,
                conversation_id=message.conversation_id,
                text=redacted.text,
                entities=[e._asdict() for e in redacted.entities],
                context=[
                    {"role": role, "text": redact(text).text}
                    for role, text in review.context_before(earlier, message_id)
                ],
                reasons=review.merged([], reasons),
                note=redact(note).text if note else None,
                state="open",
                created_at=models.utcnow(),
            )
            if prediction is not None:
                _predicted(row, prediction)
            session.add(row)
            store._audit(
                session, actor, "review_added", message.conversation_id, message=message_id, reasons=row.reasons
            )
        else:
            row.reasons = review.merged(row.reasons, reasons)
            if prediction is not None and row.intent is None:
                _predicted(row, prediction)
            if note:
                row.note = redact(note).text
            if "agent_flagged" in reasons and row.state == "discarded":  # an agent's flag asks for another look
                row.state, row.decided_by, row.decided_at = "open", None, None
                row.label_intent = row.label_frustration = row.label_entities = None
        await session.flush()
        return _item(row)
