from __future__ import annotations

import dataclasses

import pytest

from runstream.config import _VARIABLES, Settings


def test_defaults_follow_the_spec() -> None:
    s = Settings.from_env({})
    assert s == Settings()
    assert s.store_url == "sqlite:///./runstream.db"
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert (s.heartbeat_seconds, s.idle_timeout_seconds, s.max_connection_seconds) == (
        15.0,
        300.0,
        600.0,
    )
    assert s.cors_origins == ()


def test_every_setting_has_a_variable() -> None:
    assert {field for field, _, _ in _VARIABLES} == {f.name for f in dataclasses.fields(Settings)}
    assert all(name.startswith(("RUNSTREAM_", "STREAM_")) for _, name, _ in _VARIABLES)


def test_runstream_variables_with_fractions() -> None:
    s = Settings.from_env(
        {
            "RUNSTREAM_STORE": "sqlite:////tmp/x.db",
            "RUNSTREAM_BUS": "redis://localhost",
            "RUNSTREAM_HOST": "0.0.0.0",
            "RUNSTREAM_PORT": "0",
            "RUNSTREAM_NO_WORKER": "1",
            "RUNSTREAM_STREAM_HEARTBEAT_SECONDS": "0.05",
            "RUNSTREAM_STREAM_IDLE_TIMEOUT_SECONDS": " 1.5 ",
            "RUNSTREAM_STREAM_MAX_CONNECTION_SECONDS": "2",
            "RUNSTREAM_STREAM_RETRY_MS": "250",
            "RUNSTREAM_STREAM_SEND_TIMEOUT_SECONDS": "0.2",
            "RUNSTREAM_CORS_ORIGINS": "http://a.example, http://b.example,",
        }
    )
    assert s.store_url == "sqlite:////tmp/x.db"
    assert s.bus_url == "redis://localhost"
    assert (s.host, s.port, s.worker) == ("0.0.0.0", 0, False)
    assert (s.heartbeat_seconds, s.idle_timeout_seconds, s.max_connection_seconds) == (
        0.05,
        1.5,
        2.0,
    )
    assert (s.retry_ms, s.send_timeout_seconds) == (250, 0.2)
    assert s.cors_origins == ("http://a.example", "http://b.example")


def test_seed_002_aliases() -> None:
    s = Settings.from_env(
        {
            "STREAM_HEARTBEAT_SECONDS": "3",
            "STREAM_MAX_CONN_MINUTES": "0.5",
            "STREAM_POLL_MS_DEFAULT": "750",
        }
    )
    assert (s.heartbeat_seconds, s.max_connection_seconds, s.poll_ms) == (3.0, 30.0, 750)


def test_runstream_names_win_over_aliases() -> None:
    s = Settings.from_env(
        {"STREAM_HEARTBEAT_SECONDS": "3", "RUNSTREAM_STREAM_HEARTBEAT_SECONDS": "4"}
    )
    assert s.heartbeat_seconds == 4.0


def test_blank_values_are_ignored() -> None:
    assert Settings.from_env({"RUNSTREAM_PORT": "  "}).port == 8000


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RUNSTREAM_PORT", "eighty", "RUNSTREAM_PORT: expected an integer"),
        ("RUNSTREAM_STREAM_HEARTBEAT_SECONDS", "soon", "RUNSTREAM_STREAM_HEARTBEAT_SECONDS"),
        ("RUNSTREAM_STREAM_IDLE_TIMEOUT_SECONDS", "nan", "RUNSTREAM_STREAM_IDLE_TIMEOUT"),
        ("RUNSTREAM_STREAM_MAX_CONNECTION_SECONDS", "inf", "RUNSTREAM_STREAM_MAX_CONNECTION"),
        ("RUNSTREAM_WORKER", "maybe", "RUNSTREAM_WORKER: expected true or false"),
        ("RUNSTREAM_STREAM_HEARTBEAT_SECONDS", "0", "heartbeat_seconds must be positive"),
        ("RUNSTREAM_PORT", "70000", "port must be within"),
        ("STREAM_POLL_MS_DEFAULT", "100", "poll_ms must be within 250..2000"),
        ("RUNSTREAM_STREAM_RETRY_MS", "-1", "retry_ms must not be negative"),
    ],
)
def test_bad_values_name_the_problem(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env({name: value})


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNSTREAM_ORG", "acme")
    assert Settings.from_env().org == "acme"
