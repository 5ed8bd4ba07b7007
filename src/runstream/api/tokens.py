"""Stream tokens: signed, expiring, read-only grants on one execution, for browsers (SPEC §10).

``EventSource`` cannot send an ``Authorization`` header, so a backend holding an API key
mints a token for one execution and hands it to the page, which opens
``…/stream?token=…``. A token is a JWT (PyJWT, HS256) signed with a server secret kept in
the store: every process verifies what any process minted, before and after restarts.
Only HS256 is accepted, so an unsigned (``alg: none``) or re-signed token is refused.

A token is valid until it expires, even if the key that minted it is revoked: keep
``ttlSeconds`` short.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import jwt

from runstream.model import ExecutionType, is_uuid
from runstream.store import Store
from runstream.streaming.wire.native import TypeFilter, parse_types

SECRET_NAME = "stream-tokens"
"""The server secret (``Store.server_secret``) that signs stream tokens."""
ALGORITHM = "HS256"
AUDIENCE = "runstream:stream"
ISSUER = "runstream"
MAX_TTL_SECONDS = 86_400
DEFAULT_TTL_SECONDS = 3_600


@dataclass(frozen=True, slots=True)
class StreamGrant:
    """What a valid stream token allows: reading one execution until ``expires_at``."""

    execution_id: str
    org: str
    type: ExecutionType
    """Workflow or task: the URL segment the token was minted under."""
    types: tuple[str, ...] | None
    """Event types the token is restricted to (``types=`` names); None: every type."""
    expires_at: int
    """Epoch seconds."""

    def type_filter(self) -> TypeFilter | None:
        """The restriction as a filter; None when the token allows every type."""
        return parse_types(",".join(self.types)) if self.types else None


class TokenSigner:
    """Mints and verifies stream tokens with the store's shared secret."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._secret: bytes | None = None
        self._lock = asyncio.Lock()

    async def mint(
        self,
        *,
        execution_id: str,
        org: str,
        type: ExecutionType,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        types: tuple[str, ...] | None = None,
    ) -> tuple[str, int]:
        """A token for reading one execution; returns it with its expiry (epoch seconds).

        Raises:
            ValueError: ``ttl_seconds`` is outside 1..86400 or ``types`` names an unknown type.
        """
        if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"ttlSeconds must be within 1..{MAX_TTL_SECONDS}")
        for item in types or ():
            if parse_types(item) is None:
                raise ValueError("an empty event type would allow every type; omit types")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": execution_id,
            "org": org,
            "typ": str(type),
            "iat": now,
            "exp": now + ttl_seconds,
        }
        if types:
            claims["types"] = list(types)
        return jwt.encode(claims, await self._key(), algorithm=ALGORITHM), now + ttl_seconds

    async def verify(self, token: str) -> StreamGrant | None:
        """The grant a token carries; None when it is malformed, tampered with, unsigned,
        signed otherwise or expired.

        Raises:
            StoreError: The secret could not be read.
        """
        key = await self._key()
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError:
            return None
        return _grant(claims)

    async def _key(self) -> bytes:
        if self._secret is None:
            async with self._lock:
                if self._secret is None:
                    self._secret = await self._store.server_secret(SECRET_NAME)
        return self._secret


def _grant(claims: dict[str, Any]) -> StreamGrant | None:
    """The grant of verified claims; None when a claim has the wrong shape."""
    execution_id, org, kind, types = (
        claims.get("sub"),
        claims.get("org"),
        claims.get("typ"),
        claims.get("types"),
    )
    if not (isinstance(execution_id, str) and is_uuid(execution_id) and isinstance(org, str)):
        return None
    if kind not in (ExecutionType.WORKFLOW.value, ExecutionType.TASK.value):
        return None
    if types is not None:
        if not (isinstance(types, list) and types and all(isinstance(t, str) for t in types)):
            return None
        try:
            if parse_types(",".join(types)) is None:
                return None
        except ValueError:
            return None
    return StreamGrant(
        execution_id=execution_id,
        org=org,
        type=ExecutionType(kind),
        types=tuple(types) if types else None,
        expires_at=int(claims["exp"]),
    )
