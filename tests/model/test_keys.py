from __future__ import annotations

import base64

import pytest

from runstream.model.keys import check_org, key_hash, key_id_of, key_matches, new_key


def test_a_new_key_carries_its_id_and_256_random_bits() -> None:
    made = [new_key() for _ in range(200)]
    assert len({key for _, key in made}) == len({key_id for key_id, _ in made}) == 200
    for key_id, key in made:
        assert key.startswith(f"rs_{key_id}_") and key_id_of(key) == key_id
        secret = key.removeprefix(f"rs_{key_id}_")
        assert len(base64.urlsafe_b64decode(secret + "=")) == 32


@pytest.mark.parametrize(
    "text",
    [
        "",
        "rs_",
        "rs_0123456789abcdef",
        "rs_0123456789ABCDEF_" + "a" * 43,
        "rs_0123456789abcdef_" + "a" * 42,
        "xx_0123456789abcdef_" + "a" * 43,
        " rs_0123456789abcdef_" + "a" * 43,
        "eyJhbGciOiJIUzI1NiJ9.e30.x",
    ],
)
def test_malformed_keys_have_no_id(text: str) -> None:
    assert key_id_of(text) is None


def test_only_the_hash_is_compared() -> None:
    _, key = new_key()
    stored = key_hash(key)
    assert len(stored) == 32 and key.encode() not in stored
    assert key_matches(key, stored)
    assert not key_matches(key[:-1] + ("a" if key[-1] != "a" else "b"), stored)
    assert not key_matches(key, b"")


@pytest.mark.parametrize("org", ["acme", "ACME-corp.eu_1", "ü" * 200])
def test_orgs(org: str) -> None:
    assert check_org(org) == org


@pytest.mark.parametrize("org", ["", "a/b", "a b", "x" * 201, "tab\there"])
def test_bad_orgs(org: str) -> None:
    with pytest.raises(ValueError, match="organisation"):
        check_org(org)
