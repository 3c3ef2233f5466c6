"""What a part of the store (review_store, candidate_store, supervision_store) uses of the Repository that
includes it: its sessions, its transactions and its audit trail."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["PAGE_MAX", "StorePart"]

PAGE_MAX = 200  # the most records one list read gives


class StorePart(Protocol):
    def _sessions(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    def _transaction(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    @staticmethod
    def _audit(session: AsyncSession, actor: str, action: str, conversation_id: int | None, **detail: Any) -> None: ...
