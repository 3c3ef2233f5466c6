"""The hub's HTTP client to the Rasa server: the REST channel, the tracker events API and the NLU's parse."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from handoff.errors import RasaUnavailable

__all__ = ["RasaClient"]


class RasaClient:
    """Talks to `rasa run --enable-api` at `base_url`; every failure becomes RasaUnavailable."""

    def __init__(self, base_url: str, timeout: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, path: str, **given: Any) -> Any:
        """The JSON Rasa answers; RasaUnavailable when it does not answer in time, fails or answers no JSON."""
        try:
            response = await self._client.request(method, path, **given)
        except httpx.TimeoutException:
            raise RasaUnavailable(f"Rasa did not answer {method} {path} in time") from None
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa unreachable for {method} {path}: {error!r}") from None
        if response.status_code >= 300:
            raise RasaUnavailable(f"Rasa answered {response.status_code} to {method} {path}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError:
            raise RasaUnavailable(f"Rasa answered {method} {path} with something that is not JSON") from None

    async def _post(self, path: str, body: Any) -> Any:
        return await self._request("POST", path, json=body)

    async def parses(self, sender: str, *, latest_only: bool) -> list[dict[str, Any]]:
        """What the NLU made of the sender's messages (parse data, with each message's metadata), newest first:
        the latest message's only (the tracker without its events: cheap), or every one the tracker holds."""
        tracker = await self._request(
            "GET",
            f"/conversations/{quote(sender, safe='')}/tracker",
            params={"include_events": "NONE" if latest_only else "ALL"},
        )
        if not isinstance(tracker, dict):
            raise RasaUnavailable("Rasa's tracker API answered something other than a tracker")
        if latest_only:
            latest = tracker.get("latest_message")
            return [latest] if isinstance(latest, dict) else []
        events = tracker.get("events") or []
        return [
            {**event["parse_data"], "metadata": event.get("metadata") or event["parse_data"].get("metadata") or {}}
            for event in reversed(events)
            if isinstance(event, dict) and event.get("event") == "user" and isinstance(event.get("parse_data"), dict)
        ]

    async def parse(self, text: str) -> dict[str, Any]:
        """What the NLU makes of `text` (`POST /model/parse`: parse data; no conversation's tracker changes)."""
        parsed = await self._post("/model/parse", {"text": text})
        if not isinstance(parsed, dict):
            raise RasaUnavailable("Rasa's parse API answered something other than parse data")
        return parsed

    async def send(self, sender: str, message: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's messages for one customer message (Rasa's REST channel); at least one, or RasaUnavailable.

        Candor's bot answers every message, so an empty answer means something failed: Rasa's REST channel
        answers `200 []` when the action server errors or does not answer."""
        answer = await self._post(
            "/webhooks/rest/webhook", {"sender": sender, "message": message, "metadata": metadata}
        )
        if not isinstance(answer, list) or not all(isinstance(m, dict) for m in answer):
            raise RasaUnavailable("Rasa's REST webhook answered something other than a list of messages")
        if not answer:  # what Rasa's REST channel answers when the action server failed: never silence
            raise RasaUnavailable("Rasa answered no message at all (the action server may have failed)")
        return answer

    async def handed_back(self, sender: str, agent: str, note: str) -> None:
        """Tell the bot that a person helped in this conversation, who, and their note for it (slots human_helped,
        handback_agent, handback_note; the bot's next answer about the problem says the note, once)."""
        await self._post(
            f"/conversations/{quote(sender, safe='')}/tracker/events",
            [
                {"event": "slot", "name": "human_helped", "value": True},
                {"event": "slot", "name": "handback_agent", "value": agent},
                {"event": "slot", "name": "handback_note", "value": note.strip() or None},
            ],
        )
