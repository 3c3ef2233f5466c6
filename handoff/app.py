"""The hub's Sanic app factory: routes, error mapping, and the store and Rasa client on app.ctx."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx
from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import BaseHTTPResponse, HTTPResponse, json

from handoff import blueprints, sweeper
from handoff.errors import HubError, TooManyRequests
from handoff.flows import Hub
from handoff.rasa_client import RasaClient
from handoff.rate_limits import Limits
from handoff.repository import Repository, create_engine
from handoff.seeding import load_seed
from handoff.settings import Settings
from handoff.socket_channel import SocketChannel
from handoff.updates import Updates

__all__ = ["REQUEST_MAX_SIZE", "create_app", "prepare_store"]

logger = logging.getLogger(__name__)

REQUEST_MAX_SIZE = 64 * 1024


async def prepare_store(repository: Repository, settings: Settings) -> None:
    """Migrate the schema to the newest revision and load the seed file (idempotent: safe at every start)."""
    revision = await repository.migrate()
    logger.info("database %s at revision %s", repository.engine.url.render_as_string(hide_password=True), revision)
    if settings.seed_file is not None:
        seed = load_seed(settings.seed_file)
        await repository.upsert_seed(seed.customers, seed.incidents, seed.agents, seed.teams)


def error_response(request: Request, exception: Exception) -> HTTPResponse:
    """Every error as {"error": ...} with the status of its kind (handoff/errors.py)."""
    if isinstance(exception, HubError):
        status, message = exception.status, exception.message
    elif isinstance(exception, SanicException):
        status, message = exception.status_code, str(exception) or "request refused"
    else:
        status, message = 500, "internal error"
    if status >= 500:
        logger.error("%s %s failed", request.method, request.path, exc_info=exception)
        if status == 500:
            message = "internal error: the hub logged the details"
    headers = {"Retry-After": str(exception.retry_after)} if isinstance(exception, TooManyRequests) else None
    return json({"error": message}, status=status, headers=headers)


async def security_headers(request: Request, response: BaseHTTPResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")


def create_app(
    settings: Settings, *, name: str = "candor_hub", rasa_transport: httpx.AsyncBaseTransport | None = None
) -> Sanic[Any, Any]:
    """The hub. Nothing is opened here: the engine and the Rasa client start with the server."""
    app: Sanic[Any, Any] = Sanic(name)
    app.config.REQUEST_MAX_SIZE = REQUEST_MAX_SIZE
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings
    for blueprint in (
        blueprints.pages,
        blueprints.customer,
        blueprints.bot,
        blueprints.agent,
        blueprints.trainer,
        blueprints.alerts,
    ):
        app.blueprint(blueprint)
    app.error_handler.add(Exception, error_response)
    app.ctx.socket = SocketChannel(app, settings.socket_origins)  # Rasa's socket.io channel at /socket.io/

    app.register_middleware(security_headers, "response")

    @app.before_server_start
    async def open_resources(app: Sanic[Any, Any]) -> None:
        updates = Updates()
        engine = create_engine(settings.database_url, busy_timeout=settings.sqlite_busy_timeout)
        repository = Repository(engine, on_messages=updates.changed)
        await prepare_store(repository, settings)
        app.ctx.hub = Hub(
            repository=repository,
            updates=updates,
            rasa=RasaClient(settings.rasa_url, settings.rasa_timeout, rasa_transport),
            settings=settings,
            limits=Limits.of(settings.customer_rate, settings.address_rate, settings.login_rate),
        )

    @app.after_server_start
    async def mark_ready(app: Sanic[Any, Any]) -> None:
        app.ctx.sweeper = asyncio.create_task(sweeper.sweep_periodically(app.ctx.hub), name="candor-sweeper")
        app.ctx.ready = True

    @app.before_server_stop
    async def stop_sweeping(app: Sanic[Any, Any]) -> None:
        await app.ctx.socket.close()
        task: asyncio.Task[None] | None = getattr(app.ctx, "sweeper", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @app.after_server_stop
    async def close_resources(app: Sanic[Any, Any]) -> None:
        hub: Hub | None = getattr(app.ctx, "hub", None)
        if hub is not None:
            await hub.finish_background()
            await hub.rasa.aclose()
            await hub.repository.close()

    return app
