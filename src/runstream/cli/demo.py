"""``runstream demo``: an embedded server, the sample workflow, followed live.

It serves the demo app on 127.0.0.1 (a free port unless ``--port``) with SQLite in a
temporary directory (or ``--store``), starts ``showcase``, lets the ``Driver`` answer
its promise and message through the HTTP API, and follows it with the same view as
``runstream follow`` (JSON lines when stdout is not a terminal). It prints the URLs
that show the same stream with ``curl -N`` and says how to keep the server up for them
(``--keep-serving``). It exits 0 when the workflow completed.

The workflow's agent step uses a real model when ``OPENAI_BASE_URL`` or
``OPENAI_API_KEY`` is set (``--model``, default ``openai-chat:gpt-4o-mini``), and
otherwise a scripted model server the demo starts on 127.0.0.1, and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

import runstream as rs
from runstream.cli.console import ExitCode, fail, is_tty, run, stderr, stdout
from runstream.cli.follow import Follower
from runstream.cli.options import Json
from runstream.client import Client
from runstream.config import Settings
from runstream.demo.app import DEFAULT_MODEL, with_model
from runstream.demo.driver import Driver, model_script


def demo(
    port: Annotated[
        int,
        typer.Option(
            "--port", envvar="RUNSTREAM_DEMO_PORT", min=0, max=65535, help="0 picks a free port."
        ),
    ] = 0,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            envvar="RUNSTREAM_DEMO_STORE",
            help="Store URL, e.g. sqlite:///./runstream-demo.db (default: a temporary file).",
        ),
    ] = None,
    topic: Annotated[
        str, typer.Option("--topic", envvar="RUNSTREAM_DEMO_TOPIC", help="What to write about.")
    ] = "your code",
    keep_serving: Annotated[
        bool,
        typer.Option(
            "--keep-serving",
            envvar="RUNSTREAM_DEMO_KEEP_SERVING",
            help="Keep the server up after the workflow ends (Ctrl-C stops it).",
        ),
    ] = False,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            envvar="RUNSTREAM_DEMO_MODEL",
            help="The pydantic-ai model of the agent step when OPENAI_BASE_URL or "
            "OPENAI_API_KEY is set (otherwise a scripted local model answers).",
        ),
    ] = DEFAULT_MODEL,
    json: Json = False,
) -> None:
    """Run the sample workflow on an embedded server and follow it live (about 12 s)."""
    try:
        sock = socket.create_server(("127.0.0.1", port))
    except OSError as exc:
        fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}", ExitCode.USAGE)
    real_model = bool(os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY"))
    with tempfile.TemporaryDirectory(prefix="runstream-demo-") as tmp, sock:
        store_url = store or f"sqlite:///{Path(tmp) / 'demo.db'}"
        json_lines = json or not is_tty()
        code = run(_demo(sock, store_url, topic, keep_serving, json_lines, model, real_model))
    raise typer.Exit(code)


@contextlib.asynccontextmanager
async def _agent_model(console: Console, model: str, real: bool) -> AsyncIterator[Any]:
    """The agent's model: ``model`` when one is configured, else a scripted local server."""
    if real:
        where = os.environ.get("OPENAI_BASE_URL") or "OpenAI"
        console.print(
            f"the agent step uses [bold]{escape(model)}[/] at {escape(where)}", soft_wrap=True
        )
        yield model
        return
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    from runstream.demo.model_server import ModelServer

    async with ModelServer(model_script(), name="scripted-demo") as scripted:
        console.print(
            "no OPENAI_BASE_URL or OPENAI_API_KEY set: the agent step talks to a scripted "
            f"model server the demo started at {scripted.url}",
            soft_wrap=True,
        )
        provider = OpenAIProvider(base_url=scripted.url, api_key="scripted")
        yield OpenAIChatModel("scripted-demo", provider=provider)


async def _demo(
    sock: socket.socket,
    store_url: str,
    topic: str,
    keep_serving: bool,
    json_lines: bool,
    model: str,
    real_model: bool,
) -> ExitCode:
    # FastAPI loads only in the commands that serve: client commands start twice as fast.
    from runstream.api.server import server

    port = sock.getsockname()[1]
    config = Settings(host="127.0.0.1", port=port, store_url=store_url, shutdown_timeout_seconds=1)
    console = stderr if json_lines else stdout
    url = f"http://127.0.0.1:{port}"
    async with (
        _agent_model(console, model, real_model) as agent_model,
        rs.Engine(with_model(agent_model), store=store_url) as engine,
    ):
        api = server(engine, config, log_level="warning", access_log=False)
        # The socket already listens, so requests made before uvicorn starts just queue.
        serving = asyncio.create_task(api.serve(sockets=[sock]), name="runstream-demo-server")
        try:
            async with Client(url) as client:
                started = await client.start("showcase", {"topic": topic})
                _announce(console, url, started.id, store_url, keep_serving)
                code = await _showcase(client, started.id, console, json_lines, serving)
            if keep_serving and not serving.done():
                console.print(f"still serving at {url} (Ctrl-C stops it)", soft_wrap=True)
                await serving
            elif not serving.done():
                console.print(
                    "the demo's server stops now; run `runstream demo --keep-serving` to keep "
                    "it up and try the URLs above",
                    soft_wrap=True,
                )
        finally:
            api.should_exit = True
            await serving
    return code


async def _showcase(
    client: Client,
    execution_id: str,
    console: Console,
    json_lines: bool,
    serving: asyncio.Task[None],
) -> ExitCode:
    """Follow the run while the driver answers it; stop early if the server stops."""

    def say(line: str) -> None:
        console.print(f"[dim]demo →[/] {escape(line)}", soft_wrap=True)

    driver = asyncio.create_task(Driver(client, execution_id, say=say).run())
    follower = Follower(client, execution_id, consolidated=True, json_lines=json_lines)
    following = asyncio.create_task(follower.follow())
    try:
        await asyncio.wait({following, serving}, return_when=asyncio.FIRST_COMPLETED)
        if not following.done():
            console.print("\nthe server stopped; the demo ends here.")
            return ExitCode.INTERRUPTED
        final = following.result()
        await driver
    finally:
        for task in (following, driver):
            task.cancel()
        await asyncio.gather(following, driver, return_exceptions=True)
    return follower.report(final)


def _announce(
    console: Console, url: str, execution_id: str, store_url: str, keep_serving: bool
) -> None:
    api = f"{url}/api/orgs/default/workflow-executions/{execution_id}"
    console.print(
        f"[bold]runstream demo[/]: serving {url} (store {escape(store_url)})\n"
        f"started workflow [bold]showcase[/] {execution_id}; watch it live in a browser:\n"
        f"  [bold]{url}/#/wf/{execution_id}[/]   [dim]# the dashboard (all executions: {url}/)[/]\n"
        f"or follow the same stream with:\n"
        f"  curl -N {api}/stream\n"
        f"  curl -N {api}/stream/consolidated   [dim]# with the child workflow[/]\n"
        f"  curl {api}   [dim]# snapshot[/]\n"
        f"  {url}/docs   [dim]# API docs[/]\n"
        f"  runstream follow {execution_id} --url {url}\n"
        + (
            ""
            if keep_serving
            else "[dim](they work while the demo runs; `runstream demo --keep-serving` keeps "
            "the server up afterwards)[/]\n"
        ),
        soft_wrap=True,
    )
