"""API keys and server secrets: the rows behind authentication (SPEC §10).

A key's row holds its SHA-256, never the key. Server secrets (the signing key of stream
tokens) are created once by whichever process needs one first and shared by every
process through the store.
"""

from __future__ import annotations

import secrets

from runstream.model import ApiKey
from runstream.store.log.tx import Row, Tx

SECRET_BYTES = 32
"""Length of a new server secret (the size of an HMAC-SHA256 key)."""


def _key(row: Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        org=row["org"],
        name=row["name"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


def create_key(tx: Tx, key_id: str, org: str, name: str | None, hash: bytes) -> ApiKey:
    tx.run("insert_key", id=key_id, org=org, name=name, hash=hash, now=tx.now)
    return ApiKey(key_id, org, name, tx.now)


def find_key(tx: Tx, key_id: str) -> tuple[ApiKey, bytes] | None:
    row = tx.one("get_key", id=key_id)
    return None if row is None else (_key(row), bytes(row["hash"]))


def list_keys(tx: Tx, org: str | None) -> list[ApiKey]:
    return [_key(row) for row in tx.all("list_keys", org=org)]


def revoke_key(tx: Tx, key_id: str) -> ApiKey | None:
    tx.run("revoke_key", id=key_id, now=tx.now)
    found = find_key(tx, key_id)
    return None if found is None else found[0]


def touch_key(tx: Tx, key_id: str) -> None:
    tx.run("touch_key", id=key_id, now=tx.now)


def server_secret(tx: Tx, name: str) -> bytes:
    # Two processes may race to create it; the first insert wins and both read that one.
    tx.run("insert_secret", name=name, value=secrets.token_bytes(SECRET_BYTES), now=tx.now)
    row = tx.one("get_secret", name=name)
    assert row is not None
    return bytes(row["value"])
