"""``runstream serve`` and ``runstream worker``: run an app's engine, with or without the API.

``APP`` is ``module:attribute`` naming an ``rs.App``, imported from the current
directory or ``PYTHONPATH``. Settings come from ``RUNSTREAM_*`` variables (see
``runstream.config``), the flags given here on top.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import sys
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.markup import escape

import runstream as rs
from runstream.cli.console import ExitCode, fail, run, stderr
from runstream.cli.options import settings
from runstream.config import Settings

if TYPE_CHECKING:
    from runstream.api.server import StreamingServer

AppSpec = Annotated[
    str,
    typer.Argument(
        help="The app as module:attribute, e.g. myproject.flows:app.", envvar="RUNSTREAM_APP"
    ),
]
Store = Annotated[
    str | None,
    typer.Option(
        "--store", envvar="RUNSTREAM_STORE", help="Store URL (default: sqlite:///./runstream.db)."
    ),
]
Bus = Annotated[
    str | None,
    typer.Option(
        "--bus",
        envvar="RUNSTREAM_BUS",
        help="Redis URL (redis://host:port): wake-ups between processes sharing PostgreSQL "
        "(default: LISTEN/NOTIFY) and, for serve, text chunks on stream:tokens:<id>.",
    ),
]
LeaseTimeout = Annotated[
    float | None,
    typer.Option(
        "--lease-timeout",
        envvar="RUNSTREAM_LEASE_TIMEOUT_SECONDS",
        min=0.001,
        help="Seconds a worker's claim on a task lasts without renewal (default: 30).",
    ),
]
Concurrency = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        envvar="RUNSTREAM_CONCURRENCY",
        min=1,
        help="Workflows and tasks run at once (default: 100).",
    ),
]


def load_app(spec: str) -> rs.App:
    """Import the ``rs.App`` named by ``module:attribute`` (the current directory first).

    Raises:
        typer.BadParameter: The spec is malformed, the module cannot be found, or the
            attribute is missing or not an ``rs.App``.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise typer.BadParameter(f"expected module:attribute, e.g. flows:app, not {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise typer.BadParameter(
                f"no module named {exc.name!r} in the current directory or on PYTHONPATH"
            ) from None
        raise typer.BadParameter(f"importing {module_name!r} failed: {exc}") from None
    found: object = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise typer.BadParameter(f"module {module_name!r} has no attribute {attribute!r}")
        found = getattr(found, part)
    if not isinstance(found, rs.App):
        raise typer.BadParameter(f"{spec} is a {type(found).__name__}, not a runstream App")
    return found


def shown(url: str) -> str:
    """A URL fit for the terminal: markup escaped, any password hidden."""
    parts = urlsplit(url)
    if parts.password:
        host = parts.netloc.rpartition("@")[2]
        url = urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
    return escape(url)


def engine_for(app: rs.App, config: Settings) -> rs.Engine:
    """The engine ``serve`` and ``worker`` run, as ``config`` describes it."""
    try:
        return rs.Engine(
            app,
            store=config.store_url,
            worker=config.worker,
            concurrency=config.concurrency,
            lease_timeout=config.lease_timeout_seconds,
            bus=config.bus_url,
            poll_interval=config.poll_ms / 1000,
        )
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)


def serve(
    app: AppSpec,
    store: Store = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host", envvar="RUNSTREAM_HOST", help="Interface to bind (default: 127.0.0.1)."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            envvar="RUNSTREAM_PORT",
            min=0,
            max=65535,
            help="Port to bind (default: 8000).",
        ),
    ] = None,
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            envvar="RUNSTREAM_WORKER",
            help="Run a worker in the server process (default: --worker).",
        ),
    ] = None,
    concurrency: Concurrency = None,
    bus: Bus = None,
    lease_timeout: LeaseTimeout = None,
    auth: Annotated[
        str | None,
        typer.Option(
            "--auth",
            envvar="RUNSTREAM_AUTH",
            help="none: no credentials (default; bind 127.0.0.1 only) or keys: every "
            "request needs an API key (`runstream keys create`) or a stream token.",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", envvar="RUNSTREAM_LOG_LEVEL", help="Uvicorn's log level.")
    ] = "info",
) -> None:
    """Serve the HTTP API of APP (with an embedded worker unless --no-worker)."""
    # FastAPI loads only in the commands that serve: client commands start twice as fast.
    from runstream.api.server import serve as serve_api

    if auth is not None and auth.lower() not in ("none", "keys"):
        raise typer.BadParameter(f"expected none or keys, not {auth!r}", param_hint="--auth")
    config = settings(
        store_url=store,
        host=host,
        port=port,
        worker=worker,
        concurrency=concurrency,
        bus_url=bus,
        lease_timeout_seconds=lease_timeout,
        auth=auth.lower() if auth else None,
    )
    engine = engine_for(load_app(app), config)

    def banner(server: StreamingServer) -> None:
        # Only once the store is open and the port bound: a refused start prints no banner.
        base = f"http://{config.host}:{server.port}"
        stderr.print(
            f"[bold]runstream[/] serving [bold]{escape(app)}[/] on {base} "
            f"(store {shown(config.store_url)}, worker {'on' if config.worker else 'off'}, "
            f"auth {config.auth}{', bus ' + shown(config.bus_url) if config.bus_url else ''}); "
            f"API docs at {base}/docs"
        )

    run(serve_api(engine, config, log_level=log_level.lower(), on_started=banner))


def worker(
    app: AppSpec,
    store: Store = None,
    concurrency: Concurrency = None,
    bus: Bus = None,
    lease_timeout: LeaseTimeout = None,
) -> None:
    """Run a worker for APP on a shared store, without HTTP, until SIGINT or SIGTERM.

    SIGTERM: claim nothing more, let running tasks finish, hand the rest back, exit 0.
    """
    config = settings(
        store_url=store,
        concurrency=concurrency,
        worker=True,
        bus_url=bus,
        lease_timeout_seconds=lease_timeout,
    )
    engine = engine_for(load_app(app), config)
    run(_work(engine, config))


async def _work(engine: rs.Engine, config: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with engine:
            stderr.print(
                f"[bold]runstream[/] worker {engine.worker_id} running "
                f"{escape(engine.app.name)} on {shown(config.store_url)}"
                f"{' (bus ' + shown(config.bus_url) + ')' if config.bus_url else ''}; "
                "Ctrl-C stops it"
            )
            await stop.wait()
            stderr.print("stopping: letting running tasks finish, handing back the rest")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
