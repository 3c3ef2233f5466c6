"""The action server's configuration, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["Settings", "SettingsError", "policy_file", "settings"]

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    hub_url: str
    service_token: str
    policy_file: Path
    hub_timeout: float

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
        token = env.get("CANDOR_SERVICE_TOKEN", "")
        if len(token) < 16:
            raise SettingsError("CANDOR_SERVICE_TOKEN must be set to the hub's service token (16+ characters)")
        try:
            timeout = float(env.get("CANDOR_HUB_TIMEOUT", "5"))
        except ValueError as error:
            raise SettingsError(f"CANDOR_HUB_TIMEOUT must be a number of seconds: {error}") from None
        return cls(
            hub_url=env.get("CANDOR_HUB_URL", "http://127.0.0.1:8000").rstrip("/"),
            service_token=token,
            policy_file=policy_file(env),
            hub_timeout=timeout,
        )


def policy_file(env: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """The compensation policy this process applies: CANDOR_POLICY_FILE, else policy/compensation.yml."""
    return Path(env.get("CANDOR_POLICY_FILE", ROOT / "policy" / "compensation.yml"))


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this process, read at first use."""
    return Settings.from_env()
