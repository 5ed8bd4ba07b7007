"""API keys: what one looks like, how it is made and how a stored hash is checked (SPEC §10).

A key is ``rs_<id>_<secret>``: ``id`` is 16 hex digits, public (``keys list`` shows it,
``keys revoke`` takes it) and lets the server find the key's row; ``secret`` is 32 random
bytes (256 bits) in URL-safe base64. The store keeps only the SHA-256 of the whole key:
with that much entropy a plain hash cannot be reversed by guessing, and a slow
password hash would only cost every request time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

KEY_PREFIX = "rs_"
"""How every API key begins (stream tokens never do)."""

_KEY = re.compile(r"rs_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_ORG = re.compile(r"[^/\s]{1,200}")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored, without its secret."""

    id: str
    """Public identifier: 16 hex digits, also part of the key itself."""
    org: str
    """The organisation the key acts in."""
    name: str | None
    """What the key is for, as given to ``keys create --name``."""
    created_at: int
    """Epoch milliseconds."""
    last_used_at: int | None = None
    """Epoch milliseconds of the last accepted request (recorded at most once a minute)."""
    revoked_at: int | None = None
    """Epoch milliseconds of the revocation; None while the key is active."""

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        """The key's public fields (never the secret, never its hash)."""
        return {
            "id": self.id,
            "org": self.org,
            "name": self.name,
            "createdAtMs": self.created_at,
            "lastUsedAtMs": self.last_used_at,
            "revokedAtMs": self.revoked_at,
        }


def new_key() -> tuple[str, str]:
    """A fresh key: its public id and the key to hand to its owner once."""
    key_id = secrets.token_hex(8)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(key: str) -> str | None:
    """The public id inside a well-formed key; None when ``key`` is not shaped like one."""
    match = _KEY.fullmatch(key)
    return match.group(1) if match else None


def key_hash(key: str) -> bytes:
    """What the store keeps of a key."""
    return hashlib.sha256(key.encode()).digest()


def key_matches(key: str, stored: bytes) -> bool:
    """Whether ``key`` hashes to ``stored``, compared in constant time."""
    return hmac.compare_digest(key_hash(key), stored)


def check_org(org: str) -> str:
    """An organisation name as keys and URL paths carry it.

    Raises:
        ValueError: Empty, longer than 200 characters, or holding ``/`` or whitespace.
    """
    if not _ORG.fullmatch(org):
        raise ValueError(
            f"invalid organisation {org!r}: 1 to 200 characters, no '/' and no whitespace"
        )
    return org
