"""Settings for the server, the worker and the CLI, read from ``RUNSTREAM_*`` variables.

Only this module and the CLI read the environment; everything else takes a ``Settings``.
Durations are seconds and may be fractional (tests shorten them to milliseconds).
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

AuthMode = Literal["none", "keys"]
"""``none``: anyone who reaches the port may do anything (embedded default); ``keys``:
every API request carries an API key or a stream token (SPEC §10)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable about a runstream process (SPEC §8)."""

    store_url: str = "sqlite:///./runstream.db"
    """Where executions live: ``sqlite:///path`` or ``postgresql://…``."""
    bus_url: str | None = None
    """Wake-ups between processes (``redis://…``); the store's own (PostgreSQL
    LISTEN/NOTIFY) when unset."""
    worker: bool = True
    """Run an in-process worker next to the API."""
    concurrency: int = 100
    """Tasks and workflows one worker runs at once."""
    lease_timeout_seconds: float = 30.0
    """How long a worker's claim on a task lasts without renewal."""
    host: str = "127.0.0.1"
    """Interface the HTTP server binds to."""
    port: int = 8000
    """Port the HTTP server binds to (0 picks a free one)."""
    url: str = "http://127.0.0.1:8000"
    """Server the client commands talk to."""
    org: str = "default"
    """Organisation the client commands act in."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed by CORS; ``("*",)`` allows any, empty disables CORS."""
    heartbeat_seconds: float = 15.0
    """Interval of the ``: keep-alive`` comment on an otherwise quiet stream."""
    idle_timeout_seconds: float = 300.0
    """A stream without events for this long is closed (heartbeats do not count)."""
    max_connection_seconds: float = 600.0
    """A stream is closed after this long whatever happens; the client resumes."""
    retry_ms: int = 3000
    """Reconnection delay suggested to clients in the first ``retry:`` line."""
    send_timeout_seconds: float = 10.0
    """A client that does not accept a frame within this long is disconnected."""
    poll_ms: int = 500
    """How often (ms, 250..2000) a process sharing its store with others looks for events
    and work that no wake-up announced; also the default ``poll_ms`` of the v0 streams."""
    shutdown_timeout_seconds: float = 5.0
    """Longest wait for open connections to finish when the server stops."""
    auth: AuthMode = "none"
    """How API requests are authenticated: ``none`` or ``keys`` (docs/security.md)."""
    max_body_bytes: int = 1024 * 1024
    """Largest request body accepted (chunked bodies included); larger ones get 413."""
    max_message_bytes: int = 256 * 1024
    """Largest message (its JSON encoding) a workflow accepts; larger ones get 413."""
    max_streams: int = 10_000
    """Open streams one process serves at once; more get 429 with ``Retry-After``."""
    max_streams_per_org: int = 1_000
    """Open streams of one organisation in one process; more get 429."""
    body_timeout_seconds: float = 30.0
    """A request body of which no part arrives for this long is answered 408."""

    def __post_init__(self) -> None:
        for name in (
            "lease_timeout_seconds",
            "heartbeat_seconds",
            "idle_timeout_seconds",
            "max_connection_seconds",
            "send_timeout_seconds",
            "shutdown_timeout_seconds",
            "body_timeout_seconds",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {self.concurrency}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be within 0..65535, got {self.port}")
        if self.retry_ms < 0:
            raise ValueError(f"retry_ms must not be negative, got {self.retry_ms}")
        if not 250 <= self.poll_ms <= 2000:
            raise ValueError(f"poll_ms must be within 250..2000, got {self.poll_ms}")
        if self.auth not in ("none", "keys"):
            raise ValueError(f"auth must be none or keys, got {self.auth!r}")
        for name in ("max_body_bytes", "max_message_bytes", "max_streams", "max_streams_per_org"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``RUNSTREAM_*`` variables (and the seed 002 aliases).

        Args:
            environ: The variables to read; ``os.environ`` when omitted.

        Raises:
            ValueError: A variable holds a value of the wrong shape; the message names it.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field, name, parse in _VARIABLES:
            raw = env.get(name)
            if field in values or raw is None or not raw.strip():
                continue
            try:
                values[field] = parse(raw.strip())
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        try:
            return cls(**values)
        except ValueError as exc:
            raise ValueError(f"invalid runstream settings: {exc}") from None


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"expected an integer, got {raw!r}") from None


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"expected a number of seconds, got {raw!r}")
    return value


def _minutes(raw: str) -> float:
    return _seconds(raw) * 60


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _not(raw: str) -> bool:
    return not _bool(raw)


def _auth(raw: str) -> str:
    lowered = raw.lower()
    if lowered not in ("none", "keys"):
        raise ValueError(f"expected none or keys, got {raw!r}")
    return lowered


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(origin.strip() for origin in raw.split(",") if origin.strip())


_VARIABLES: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    # The first variable set for a field wins, so RUNSTREAM_* names come before aliases.
    ("store_url", "RUNSTREAM_STORE", str),
    ("store_url", "RUNSTREAM_STORE_URL", str),
    ("bus_url", "RUNSTREAM_BUS", str),
    ("bus_url", "RUNSTREAM_REDIS_URL", str),
    ("worker", "RUNSTREAM_WORKER", _bool),
    ("worker", "RUNSTREAM_NO_WORKER", _not),
    ("concurrency", "RUNSTREAM_CONCURRENCY", _int),
    ("lease_timeout_seconds", "RUNSTREAM_LEASE_TIMEOUT_SECONDS", _seconds),
    ("host", "RUNSTREAM_HOST", str),
    ("port", "RUNSTREAM_PORT", _int),
    ("url", "RUNSTREAM_URL", str),
    ("org", "RUNSTREAM_ORG", str),
    ("cors_origins", "RUNSTREAM_CORS_ORIGINS", _origins),
    ("heartbeat_seconds", "RUNSTREAM_STREAM_HEARTBEAT_SECONDS", _seconds),
    ("heartbeat_seconds", "STREAM_HEARTBEAT_SECONDS", _seconds),
    ("idle_timeout_seconds", "RUNSTREAM_STREAM_IDLE_TIMEOUT_SECONDS", _seconds),
    ("max_connection_seconds", "RUNSTREAM_STREAM_MAX_CONNECTION_SECONDS", _seconds),
    ("max_connection_seconds", "STREAM_MAX_CONN_MINUTES", _minutes),
    ("retry_ms", "RUNSTREAM_STREAM_RETRY_MS", _int),
    ("send_timeout_seconds", "RUNSTREAM_STREAM_SEND_TIMEOUT_SECONDS", _seconds),
    ("poll_ms", "RUNSTREAM_STREAM_POLL_MS", _int),
    ("poll_ms", "STREAM_POLL_MS_DEFAULT", _int),
    ("shutdown_timeout_seconds", "RUNSTREAM_SHUTDOWN_TIMEOUT_SECONDS", _seconds),
    ("auth", "RUNSTREAM_AUTH", _auth),
    ("max_body_bytes", "RUNSTREAM_MAX_BODY_BYTES", _int),
    ("max_message_bytes", "RUNSTREAM_MAX_MESSAGE_BYTES", _int),
    ("max_streams", "RUNSTREAM_MAX_STREAMS", _int),
    ("max_streams_per_org", "RUNSTREAM_MAX_STREAMS_PER_ORG", _int),
    ("body_timeout_seconds", "RUNSTREAM_BODY_TIMEOUT_SECONDS", _seconds),
)


def claude_command(environ: Mapping[str, str] | None = None) -> list[str] | None:
    """``RUNSTREAM_CLAUDE_COMMAND`` split as a shell would, or None when it is unset.

    It replaces the default command of every Claude Code task that does not name its own.

    Raises:
        ValueError: The value is not a valid shell-style command line; the message names it.
    """
    raw = (os.environ if environ is None else environ).get("RUNSTREAM_CLAUDE_COMMAND", "")
    if not raw.strip():
        return None
    try:
        return shlex.split(raw)
    except ValueError as exc:
        raise ValueError(f"RUNSTREAM_CLAUDE_COMMAND: {exc}") from None
