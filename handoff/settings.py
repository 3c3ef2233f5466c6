"""The hub's configuration: one frozen Settings object, read from the environment at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROOT", "Settings", "SettingsError", "customer_token_secret"]

ROOT = Path(__file__).resolve().parent.parent
MIN_TOKEN_LENGTH = 16
MIN_SECRET_LENGTH = 32
WEEK = 7 * 86400.0


class SettingsError(RuntimeError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    database_url: str
    rasa_url: str
    rasa_timeout: float
    service_token: str
    seed_file: Path | None
    sqlite_busy_timeout: float
    customer_token_secret: str | None  # checks metadata.customer_token (handoff/customer_tokens.py)
    trust_customer_id: bool  # believe a bare metadata.customer_id (demos on one machine only)
    customer_rate: int  # messages a minute one sender may send
    address_rate: int  # requests a minute one client address may make to the customer routes
    login_rate: int  # login attempts a minute from one client address
    assignment: str  # "auto": the hub gives waiting conversations to agents; "claim": agents take them
    alertmanager_token: str | None  # Alertmanager's own bearer token; None: it uses the service token
    skills_wait: float  # seconds a conversation waits for an agent with its skills, then any agent will do
    sweep_interval: float  # seconds between the hub's rounds of time rules and routing (handoff/sweeper.py)
    agent_answer_seconds: float  # an agent given a conversation who has not written in it this long loses it
    silent_after_seconds: float  # a customer who has not answered the agent this long: unresolved-silent
    wait_alert_seconds: float  # waiting in the queue this long raises the supervisors' alert
    socket_origins: tuple[str, ...] | None  # other origins whose pages may use the socket.io channel; None: same origin
    # The trainers' review inbox (handoff/review.py): which bot turns it takes, and what a label may name.
    review_inbox: bool  # collect for the trainers: the review inbox, and agents' replies as response candidates
    review_confidence: float  # a top intent below this confidence is "low_confidence"
    review_margin: float  # the two best intents closer than this are "ambiguous"
    domain_file: Path  # the bot's domain.yml: the intents a trainer's label may name

    @property
    def monitoring_token(self) -> str:
        """The bearer token /api/alerts/... takes."""
        return self.alertmanager_token or self.service_token

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build the settings from `env` (default: the process environment); raise SettingsError."""
        env = os.environ if env is None else env
        token = env.get("CANDOR_SERVICE_TOKEN", "")
        if not token:
            raise SettingsError(
                "CANDOR_SERVICE_TOKEN is not set: set it to a shared secret of at least "
                f"{MIN_TOKEN_LENGTH} characters (the action server uses the same value)"
            )
        if len(token) < MIN_TOKEN_LENGTH:
            raise SettingsError(f"CANDOR_SERVICE_TOKEN is too short: use at least {MIN_TOKEN_LENGTH} characters")
        seed = env.get("CANDOR_SEED_FILE", str(ROOT / "handoff" / "seed" / "demo.yml"))
        return cls(
            host=env.get("CANDOR_HUB_HOST", "127.0.0.1"),
            port=_port(env, "CANDOR_HUB_PORT", 8000),
            database_url=env.get("CANDOR_DATABASE_URL") or default_database_url(),
            rasa_url=_url(env, "CANDOR_RASA_URL", "http://127.0.0.1:5005"),
            rasa_timeout=_seconds(env, "CANDOR_RASA_TIMEOUT", 5.0),
            service_token=token,
            seed_file=Path(seed) if seed else None,
            sqlite_busy_timeout=_seconds(env, "CANDOR_SQLITE_BUSY_TIMEOUT", 5.0),
            customer_token_secret=customer_token_secret(env),
            trust_customer_id=_flag(env, "CANDOR_TRUST_CUSTOMER_ID"),
            customer_rate=_per_minute(env, "CANDOR_CUSTOMER_RATE", 30),
            address_rate=_per_minute(env, "CANDOR_ADDRESS_RATE", 300),
            login_rate=_per_minute(env, "CANDOR_LOGIN_RATE", 10),
            assignment=_choice(env, "CANDOR_ASSIGNMENT", ("auto", "claim")),
            alertmanager_token=_token(env, "CANDOR_ALERTMANAGER_TOKEN"),
            skills_wait=_seconds(env, "CANDOR_SKILLS_WAIT_SECONDS", 180.0, maximum=WEEK),
            sweep_interval=_seconds(env, "CANDOR_SWEEP_INTERVAL", 15.0),
            agent_answer_seconds=_seconds(env, "CANDOR_AGENT_ANSWER_SECONDS", 120.0, maximum=WEEK),
            silent_after_seconds=_seconds(env, "CANDOR_SILENT_AFTER_SECONDS", 1800.0, maximum=WEEK),
            wait_alert_seconds=_seconds(env, "CANDOR_WAIT_ALERT_SECONDS", 300.0, maximum=WEEK),
            socket_origins=_origins(env, "CANDOR_SOCKET_ORIGINS"),
            review_inbox=_flag(env, "CANDOR_REVIEW_INBOX", default=True),
            review_confidence=_fraction(env, "CANDOR_REVIEW_CONFIDENCE", 0.6),
            review_margin=_fraction(env, "CANDOR_REVIEW_MARGIN", 0.1),
            domain_file=Path(env.get("CANDOR_DOMAIN_FILE") or ROOT / "domain.yml"),
        )

    @property
    def checks_customer_tokens(self) -> bool:
        """A conversation linked to a customer then answers only requests carrying that customer's token."""
        return self.customer_token_secret is not None and not self.trust_customer_id


def default_database_url() -> str:
    """The SQLite file under <repo>/var/, creating the folder."""
    folder = ROOT / "var"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{folder / 'hub.db'}"


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a port number (1-65535), got {raw!r}") from None
    if not 0 < port < 65536:
        raise SettingsError(f"{name} must be a port number (1-65535), got {raw!r}")
    return port


def _seconds(env: Mapping[str, str], name: str, default: float, maximum: float = 600) -> float:
    raw = env.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= maximum:
        raise SettingsError(f"{name} must be between 0 and {maximum:g} seconds, got {raw!r}")
    return value


def customer_token_secret(env: Mapping[str, str]) -> str | None:
    """CANDOR_CUSTOMER_TOKEN_SECRET, or None when unset (handoff/customer_tokens.py)."""
    raw = env.get("CANDOR_CUSTOMER_TOKEN_SECRET", "")
    if raw and len(raw) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"CANDOR_CUSTOMER_TOKEN_SECRET is too short: use at least {MIN_SECRET_LENGTH} random characters"
        )
    return raw or None


def _token(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "")
    if raw and len(raw) < MIN_TOKEN_LENGTH:
        raise SettingsError(f"{name} is too short: use at least {MIN_TOKEN_LENGTH} characters")
    return raw or None


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first by default)."""
    raw = env.get(name, choices[0]).strip().lower()
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _flag(env: Mapping[str, str], name: str, *, default: bool = False) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw not in ("0", "1", "false", "true", "no", "yes", ""):
        raise SettingsError(f"{name} must be 1 or 0, got {raw!r}")
    return default if raw == "" else raw in ("1", "true", "yes")


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number from 0 to 1, got {raw!r}") from None
    if not 0 <= value <= 1:
        raise SettingsError(f"{name} must be a number from 0 to 1, got {raw!r}")
    return value


def _per_minute(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise SettingsError(f"{name} must be a whole number of requests a minute (1-1000000), got {raw!r}")
    return int(raw)


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    """Comma-separated origins ("https://shop.example.com"), or "*" for any; unset: None."""
    raw = [part.strip().rstrip("/") for part in env.get(name, "").split(",") if part.strip()]
    for origin in raw:
        if origin != "*" and not (origin.startswith(("http://", "https://")) and "/" not in origin.split("//", 1)[1]):
            raise SettingsError(f"{name} must list origins like https://shop.example.com (or *), got {origin!r}")
    return tuple(raw) or None


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, default).strip()
    if not raw.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")
