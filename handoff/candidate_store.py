"""The store's part for response candidates (handoff/response_candidates.py). Repository (handoff/repository.py)
includes it. Texts arrive here redacted (response_flows); the trainer's accepted text is checked before it is
stored (response_candidates.check_acceptance)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handoff import models, response_candidates
from handoff.errors import Conflict, NotFound
from handoff.schemas import ResponseCandidate
from handoff.store_part import PAGE_MAX, StorePart

__all__ = ["CandidateStore"]


def _candidate(row: models.ResponseCandidate) -> ResponseCandidate:
    return ResponseCandidate.model_validate(row, from_attributes=True)


class CandidateStore:
    async def propose_response(self: StorePart, proposal: response_candidates.Proposal) -> ResponseCandidate:
        """A new candidate for the reply, or one more time an existing one worked (the same redacted text, as
        key_of compares it; the reply that created it is not counted again)."""
        key = response_candidates.key_of(proposal.text)
        for attempt in (1, 2):
            try:
                async with self._transaction() as session:
                    row = await session.scalar(
                        select(models.ResponseCandidate).where(models.ResponseCandidate.key == key).with_for_update()
                    )
                    if row is None:
                        row = models.ResponseCandidate(
                            key=key,
                            text=proposal.text,
                            prompt=proposal.prompt,
                            reaction=proposal.reaction,
                            reaction_intent=proposal.reaction_intent,
                            message_id=proposal.message_id,
                            conversation_id=proposal.conversation_id,
                            agent=proposal.agent,
                            worked=1,
                            state="proposed",
                            created_at=models.utcnow(),
                        )
                        session.add(row)
                        self._audit(
                            session, "hub", "response_proposed", proposal.conversation_id, message=proposal.message_id
                        )
                    elif row.message_id != proposal.message_id:
                        row.worked += 1
                    await session.flush()
                    return _candidate(row)
            except IntegrityError:  # another hub process proposed the same text meanwhile: count on it
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def response_candidates(
        self: StorePart, state: str | None, after: int, limit: int
    ) -> tuple[list[ResponseCandidate], int]:
        """Candidates with id > after (in `state`, or all), oldest first, at most `limit`; and how many are
        proposed."""
        query = select(models.ResponseCandidate).where(models.ResponseCandidate.id > after)
        if state is not None:
            query = query.where(models.ResponseCandidate.state == state)
        async with self._sessions() as session:
            rows = await session.scalars(query.order_by(models.ResponseCandidate.id).limit(min(limit, PAGE_MAX)))
            found = [_candidate(row) for row in rows]
            proposed = await session.scalar(
                select(func.count())
                .select_from(models.ResponseCandidate)
                .where(models.ResponseCandidate.state == "proposed")
            )
            return found, int(proposed or 0)

    async def response_candidate(self: StorePart, candidate_id: int) -> ResponseCandidate:
        async with self._sessions() as session:
            row = await session.get(models.ResponseCandidate, candidate_id)
            if row is None:
                raise NotFound(f"no response candidate {candidate_id}")
            return _candidate(row)

    async def accept_response(
        self: StorePart, candidate_id: int, response: str, text: str, actor: str
    ) -> ResponseCandidate:
        """The trainer's decision: the candidate becomes `text` in `response`. The caller has checked both
        (response_flows.accept)."""
        async with self._transaction() as session:
            row = await _decidable(session, candidate_id)
            row.state, row.response, row.accepted_text = "accepted", response, text
            row.decided_by, row.decided_at = actor, models.utcnow()
            self._audit(
                session, actor, "response_accepted", row.conversation_id, candidate=candidate_id, response=response
            )
            await session.flush()
            return _candidate(row)

    async def reject_response(self: StorePart, candidate_id: int, actor: str) -> ResponseCandidate:
        async with self._transaction() as session:
            row = await _decidable(session, candidate_id)
            row.state, row.response, row.accepted_text = "rejected", None, None
            row.decided_by, row.decided_at = actor, models.utcnow()
            self._audit(session, actor, "response_rejected", row.conversation_id, candidate=candidate_id)
            await session.flush()
            return _candidate(row)

    async def finish_response_export(self: StorePart, read: Sequence[ResponseCandidate], actor: str) -> list[int]:
        """After an export wrote the accepted candidates it `read` into the domain: those still as it read them
        become `exported`; one a trainer changed meanwhile stays as the trainer left it. The ids moved."""
        decided = {candidate.id: candidate.decided_at for candidate in read}
        async with self._transaction() as session:
            rows = await session.scalars(
                select(models.ResponseCandidate).where(models.ResponseCandidate.id.in_(list(decided))).with_for_update()
            )
            now, moved = models.utcnow(), []
            for row in rows:
                if row.state == "accepted" and row.decided_at == decided[row.id]:
                    row.state, row.exported_at = "exported", now
                    moved.append(row.id)
            self._audit(session, actor, "responses_exported", None, exported=sorted(moved))
            return sorted(moved)


async def _decidable(session: AsyncSession, candidate_id: int) -> models.ResponseCandidate:
    row = await session.get(models.ResponseCandidate, candidate_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no response candidate {candidate_id}")
    if row.state not in response_candidates.DECIDABLE:
        raise Conflict(f"response candidate {candidate_id} is {row.state}: it is in the domain already")
    return row
