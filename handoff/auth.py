"""Credentials: agent passwords (bcrypt), agent session tokens, and the action server's service token."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from functools import cache

import bcrypt

__all__ = ["check_password", "check_password_async", "hash_password", "new_token", "service_token_ok", "token_hash"]

BCRYPT_ROUNDS = 12


def hash_password(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    """bcrypt reads at most 72 bytes of a password; both hashing and checking cut there."""
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(rounds)).decode()


def check_password(password: str, password_hash: str | None) -> bool:
    """True if `password` matches; with no hash, spends the same time and answers False."""
    candidate = password.encode()[:72]
    if password_hash is None:
        bcrypt.checkpw(candidate, _dummy_hash())
        return False
    try:
        return bcrypt.checkpw(candidate, password_hash.encode())
    except ValueError:  # not a bcrypt hash
        return False


async def check_password_async(password: str, password_hash: str | None) -> bool:
    """check_password off the event loop (bcrypt takes a quarter of a second on purpose)."""
    return await asyncio.to_thread(check_password, password, password_hash)


@cache
def _dummy_hash() -> bytes:
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(BCRYPT_ROUNDS))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Sessions are stored by the token's SHA-256, so a copy of the database holds no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


def service_token_ok(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
