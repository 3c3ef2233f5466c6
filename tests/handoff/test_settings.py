"""handoff/settings.py: built from the environment, failing loudly on a missing or bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from handoff.settings import Settings, SettingsError

TOKEN = "a-service-token-of-20c"


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"CANDOR_SERVICE_TOKEN": TOKEN, "CANDOR_DATABASE_URL": "sqlite+aiosqlite:///x.db"})
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.rasa_url == "http://127.0.0.1:5005"
    assert settings.rasa_timeout == 5.0
    assert settings.sqlite_busy_timeout == 5.0
    assert settings.seed_file is not None and settings.seed_file.name == "demo.yml"
    assert settings.customer_token_secret is None and not settings.trust_customer_id
    assert not settings.checks_customer_tokens
    assert (settings.customer_rate, settings.address_rate, settings.login_rate) == (30, 300, 10)
    assert settings.assignment == "auto" and settings.monitoring_token == TOKEN


def test_values_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "CANDOR_SERVICE_TOKEN": TOKEN,
            "CANDOR_HUB_HOST": "0.0.0.0",
            "CANDOR_HUB_PORT": "9001",
            "CANDOR_DATABASE_URL": "postgresql+asyncpg://hub@db/hub",
            "CANDOR_RASA_URL": "http://rasa:5005/",
            "CANDOR_RASA_TIMEOUT": "2.5",
            "CANDOR_SQLITE_BUSY_TIMEOUT": "0.5",
            "CANDOR_SEED_FILE": "",
            "CANDOR_CUSTOMER_TOKEN_SECRET": "s" * 32,
            "CANDOR_CUSTOMER_RATE": "5",
            "CANDOR_ADDRESS_RATE": "50",
            "CANDOR_LOGIN_RATE": "3",
        }
    )
    assert settings.checks_customer_tokens and settings.customer_token_secret == "s" * 32
    assert (settings.customer_rate, settings.address_rate, settings.login_rate) == (5, 50, 3)
    assert settings.port == 9001 and settings.rasa_url == "http://rasa:5005" and settings.rasa_timeout == 2.5
    assert settings.sqlite_busy_timeout == 0.5
    assert settings.seed_file is None
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


@pytest.mark.parametrize("token", [None, "", "short-token"])
def test_service_token_is_required(token: str | None) -> None:
    env = {} if token is None else {"CANDOR_SERVICE_TOKEN": token}
    with pytest.raises(SettingsError, match="CANDOR_SERVICE_TOKEN"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CANDOR_HUB_PORT", "eighty"),
        ("CANDOR_HUB_PORT", "70000"),
        ("CANDOR_RASA_TIMEOUT", "soon"),
        ("CANDOR_RASA_TIMEOUT", "0"),
        ("CANDOR_SQLITE_BUSY_TIMEOUT", "five"),
        ("CANDOR_SQLITE_BUSY_TIMEOUT", "-1"),
        ("CANDOR_RASA_URL", "rasa:5005"),
        ("CANDOR_CUSTOMER_TOKEN_SECRET", "s" * 31),
        ("CANDOR_TRUST_CUSTOMER_ID", "maybe"),
        ("CANDOR_CUSTOMER_RATE", "0"),
        ("CANDOR_ADDRESS_RATE", "1.5"),
        ("CANDOR_LOGIN_RATE", "-3"),
        ("CANDOR_ALERTMANAGER_TOKEN", "short"),
        ("CANDOR_ASSIGNMENT", "round-robin"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"CANDOR_SERVICE_TOKEN": TOKEN, name: value})
