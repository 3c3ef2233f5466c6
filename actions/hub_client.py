"""A small HTTP client for the hub's bot API (docs/hub-api.md, "Bot side")."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import aiohttp

from actions.settings import Settings

__all__ = ["HubClient", "HubError"]


class HubError(RuntimeError):
    """The hub could not be reached (status None), or refused the request (its HTTP status)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class HubClient:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"X-Candor-Service-Token": self._settings.service_token}
        timeout = aiohttp.ClientTimeout(total=self._settings.hub_timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout, headers=headers) as session,
                session.request(method, f"{self._settings.hub_url}{path}", json=body) as response,
            ):
                payload = await response.json(content_type=None)
                if response.status >= 400:
                    raise HubError(f"hub answered {response.status} to {method} {path}: {payload}", response.status)
                if not isinstance(payload, dict):
                    raise HubError(f"hub answered {method} {path} with {type(payload).__name__}, not an object")
                return payload
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise HubError(f"hub unreachable for {method} {path}: {error!r}") from error

    async def context(self, sender: str) -> dict[str, Any]:
        """Customer, open incident and recorded compensation of a conversation."""
        return await self._request("GET", f"/api/bot/conversations/{quote(sender, safe='')}/context")

    async def escalate(self, sender: str, escalation: dict[str, Any]) -> dict[str, Any]:
        """Queue the conversation for a person; answers position and expected wait."""
        return await self._request("POST", f"/api/bot/conversations/{quote(sender, safe='')}/escalate", escalation)

    async def record_apology(self, sender: str, problem: str, text: str, incident_id: str | None) -> dict[str, Any]:
        """Record an apology the bot sent (the agents' ledger, the supervisors' sameness figure)."""
        body = {"problem": problem, "text": text, "incident_id": incident_id}
        return await self._request("POST", f"/api/bot/conversations/{quote(sender, safe='')}/apologies", body)

    async def record_compensation(self, offer: dict[str, Any]) -> dict[str, Any]:
        """Record an offer; answers the one already recorded for that customer and incident, if any."""
        return await self._request("POST", "/api/bot/compensations", offer)

    async def answer_compensation(self, compensation_id: int, sender: str, answer: str, amount: str) -> dict[str, Any]:
        """The customer accepts or declines ("accepted" | "declined") the offer shown at `amount`; answers the
        updated record. HubError with status 409 when the offer changed since (or cannot take that answer)."""
        body = {"sender": sender, "answer": answer, "amount": amount}
        return await self._request("POST", f"/api/bot/compensations/{int(compensation_id)}/answer", body)
