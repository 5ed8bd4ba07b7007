"""The store contract for API keys and server secrets, on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from runstream.errors import StoreError
from runstream.model import ApiKey, Event
from runstream.model.keys import key_hash, new_key
from runstream.store import Store, open_store
from runstream.store.base import Wake


class Quiet:
    def on_events(self, events: Sequence[Event]) -> None:
        pass

    def on_wake(self, what: frozenset[Wake]) -> None:
        pass


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = open_store(store_url)
    await s.open(Quiet())
    yield s
    await s.close()


async def test_keys_are_created_found_listed_and_revoked(store: Store) -> None:
    made = []
    for org, name in [("acme", "ci"), ("globex", None), ("acme", "deploys")]:
        key_id, key = new_key()
        record = await store.create_key(key_id, org, name, key_hash(key))
        assert (record.id, record.org, record.name, record.active) == (key_id, org, name, True)
        assert record.created_at > 0 and record.last_used_at is None
        made.append((record, key))
    (ci, ci_key), (globex, _), (deploys, _) = made
    found = await store.find_key(ci.id)
    assert found == (ci, key_hash(ci_key))
    assert await store.find_key("0" * 16) is None

    def ordered(*keys: ApiKey) -> list[ApiKey]:
        return sorted(keys, key=lambda k: (k.org, k.created_at, k.id))

    assert await store.list_keys("acme") == ordered(ci, deploys)
    assert await store.list_keys() == ordered(ci, deploys, globex)
    assert await store.list_keys("initech") == []

    await store.touch_key(ci.id)
    touched = await store.find_key(ci.id)
    assert touched is not None and touched[0].last_used_at is not None

    revoked = await store.revoke_key(ci.id)
    assert revoked is not None and not revoked.active and revoked.revoked_at is not None
    await asyncio.sleep(0.01)
    again = await store.revoke_key(ci.id)
    assert again == revoked, "revoking twice keeps the first time"
    assert await store.revoke_key("f" * 16) is None
    assert {k.id: k.active for k in await store.list_keys("acme")} == {
        ci.id: False,
        deploys.id: True,
    }


async def test_a_key_id_is_unique(store: Store) -> None:
    key_id, key = new_key()
    await store.create_key(key_id, "acme", None, key_hash(key))
    with pytest.raises(StoreError):
        await store.create_key(key_id, "globex", None, key_hash(key))
    found = await store.find_key(key_id)
    assert found is not None and found[0].org == "acme"


async def test_server_secrets_are_created_once_and_shared(store_url: str) -> None:
    first = open_store(store_url)
    await first.open(Quiet())
    try:
        # A second process on the same store (not exclusive: it runs no engine).
        second = open_store(store_url, exclusive=False)
        await second.open(Quiet())
        try:
            secrets = await asyncio.gather(
                *(s.server_secret("stream-tokens") for s in (first, second, first, second))
            )
            assert len(set(secrets)) == 1 and len(secrets[0]) == 32
            other = await second.server_secret("something-else")
            assert other != secrets[0]
        finally:
            await second.close()
    finally:
        await first.close()
    reopened = open_store(store_url)
    await reopened.open(Quiet())
    try:
        assert await reopened.server_secret("stream-tokens") == secrets[0]
    finally:
        await reopened.close()
