"""Run the API with uvicorn so that SIGTERM ends open streams promptly.

Plain uvicorn waits for every connection to finish before it stops, and an SSE
connection never finishes by itself. ``StreamingServer`` first tells open
streams to send their last frame (a comment and a ``retry:`` hint) and end,
then lets uvicorn close connections and run the lifespan shutdown. Workflows
keep running in the engine; only the streams end.

Uvicorn re-raises the signal that stopped it as soon as it has stopped, which
would kill the process before the engine closes; ``StreamingServer`` records it
in ``signals`` instead, so ``serve`` closes the engine (letting running task
attempts finish) and returns.

It also aborts connections rather than keep bytes a client does not read: a stream
whose client stopped reading asks for its connection to be dropped (the registry's
``drop`` hook) once the send timeout has passed, and any connection stuck closing with
unsent bytes for that long is aborted too, since the socket would otherwise linger
until the client reads again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import re
import socket
import time
from collections.abc import Callable, Iterator

import uvicorn
from starlette.types import Scope

from runstream import Engine
from runstream.api.app import create_app
from runstream.config import Settings
from runstream.observability import metrics, streamlog
from runstream.streaming.registry import StreamRegistry

log = logging.getLogger(__name__)


class StreamingServer(uvicorn.Server):
    """A ``uvicorn.Server`` that ends open SSE streams before waiting for connections."""

    def __init__(self, config: uvicorn.Config, streams: StreamRegistry, settings: Settings) -> None:
        super().__init__(config)
        self.streams = streams
        """The registry of the app being served."""
        streams.drop = self.drop_connection
        self._settings = settings
        self._stuck_since: dict[asyncio.BaseTransport, float] = {}
        self.signals: list[int] = []
        """Signals that stopped the server (SIGINT, SIGTERM), oldest first."""
        self.on_started: Callable[[StreamingServer], None] | None = None
        """Called once the server listens (the CLI prints its banner then)."""

    @property
    def port(self) -> int:
        """The port actually bound (useful with ``port=0``)."""
        port: int = self.servers[0].sockets[0].getsockname()[1]
        return port

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then call ``on_started`` once the sockets listen."""
        await super().startup(sockets)
        if self.started and self.on_started is not None:
            self.on_started(self)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Handle SIGINT/SIGTERM as uvicorn does, but keep them rather than re-raise them."""
        with super().capture_signals():
            try:
                yield
            finally:
                self.signals += self._captured_signals
                self._captured_signals.clear()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Tell open streams to finish, then shut down as uvicorn does."""
        self.streams.close_all()
        await super().shutdown(sockets)

    def drop_connection(self, scope: Scope) -> bool:
        """Abort the connection ``scope`` arrived on; False when it is already gone."""
        client = scope.get("client")
        for connection in self.server_state.connections:
            if client is not None and getattr(connection, "client", None) == tuple(client):
                connection.transport.abort()
                return True
        return False

    async def on_tick(self, counter: int) -> bool:
        """Uvicorn's periodic housekeeping, plus dropping stuck connections once a second."""
        if counter % 10 == 0:
            self._abort_stuck()
        return await super().on_tick(counter)

    def _abort_stuck(self) -> None:
        now = time.monotonic()
        stuck: dict[asyncio.BaseTransport, float] = {}
        for connection in self.server_state.connections:
            transport = connection.transport
            if transport.is_closing() and transport.get_write_buffer_size() > 0:
                stuck[transport] = since = self._stuck_since.get(transport, now)
                if now - since >= self._settings.send_timeout_seconds:
                    transport.abort()
        self._stuck_since = stuck


class RedactTokens(logging.Filter):
    """Hide the value of ``token=`` in access-log lines: stream tokens travel in URLs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


_TOKEN = re.compile(r"([?&]token=)[^&\s]*", re.IGNORECASE)


def exposed(host: str) -> bool:
    """True when ``host`` is reachable from other machines (not a loopback address)."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def server(
    engine: Engine, settings: Settings, *, log_level: str = "info", access_log: bool = True
) -> StreamingServer:
    """A server for the API of ``engine`` on ``settings.host:settings.port``.

    Logs a warning when it would serve other machines with auth off, and keeps stream
    tokens out of the access log.

    Args:
        engine: An engine the caller opens before serving and closes after.
        settings: Bind address, stream timing, CORS, auth, limits and shutdown timeout.
        log_level: Uvicorn's log level.
        access_log: Log one line per request.
    """
    app = create_app(engine, settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=access_log,
        ws_max_size=settings.max_body_bytes,
        # Uvicorn takes whole seconds; streams themselves end at once on shutdown.
        timeout_graceful_shutdown=max(1, math.ceil(settings.shutdown_timeout_seconds)),
        # A WebSocket fans the same lines out to every client; compressing them again for
        # each connection cost more CPU than all the SSE streams of a run together.
        ws_per_message_deflate=False,
    )
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())
    if settings.auth == "none" and exposed(settings.host):
        log.warning(
            "auth is off and the server binds %s: anyone who can reach it can read and "
            "steer every execution; use --auth keys (docs/security.md)",
            settings.host,
        )
    return StreamingServer(config, app.state.streams, settings)


async def serve(
    engine: Engine,
    settings: Settings,
    *,
    log_level: str = "info",
    access_log: bool = True,
    on_started: Callable[[StreamingServer], None] | None = None,
) -> None:
    """Open the engine, serve its API until SIGINT or SIGTERM, then close the engine.

    Returns normally after a signal: the shutdown was the graceful one asked for.

    Args:
        engine: The engine to open (its worker runs when it was made with ``worker=True``).
        settings: As for ``server``.
        log_level: Uvicorn's log level.
        access_log: Log one line per request.
        on_started: Called once the store is open and the server listens.
    """
    streamlog.configure(log_level)
    try:
        async with engine:
            running = server(engine, settings, log_level=log_level, access_log=access_log)
            running.on_started = on_started
            await running.serve()
    finally:
        metrics.process_exited()
