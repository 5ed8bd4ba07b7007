"""What the commands print and how they end: consoles, JSON lines, exit codes, error messages.

Errors a user can cause (a bad flag, an unknown id, a server that is not running) end
the command with one ``error:`` line on stderr and an exit code from ``ExitCode``,
never with a stack trace.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from enum import IntEnum
from typing import Any, NoReturn, TypeVar

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from runstream.client import ApiError, ServerUnavailable
from runstream.errors import ExecutionNotFound, InvalidState, RunstreamError, UnknownKind
from runstream.model import Status

T = TypeVar("T")

stdout = Console(highlight=False)
"""Human-readable output (print URLs with ``soft_wrap=True`` so they stay copyable)."""
stderr = Console(stderr=True, highlight=False)
"""Progress notes, hints and errors; keeps stdout clean for JSON lines."""


class ExitCode(IntEnum):
    """Exit statuses of every command (documented in ``docs/cli.md``)."""

    OK = 0
    """Done; for ``follow`` and ``run --follow``: the execution completed."""
    FAILED = 1
    """The execution failed (or the command failed for a reason not listed below)."""
    USAGE = 2
    """Bad flags or input, or a request the server refused as malformed or out of place."""
    CANCELLED = 3
    """The execution was cancelled."""
    NOT_FOUND = 4
    """No such execution (in this org), or no such workflow or task kind."""
    UNAVAILABLE = 5
    """The server could not be reached or failed."""
    INTERRUPTED = 130
    """Ctrl-C: the command stopped; a followed execution keeps running."""


def exit_code(status: Status) -> ExitCode:
    """The exit code that reports how an execution ended."""
    if status is Status.COMPLETED:
        return ExitCode.OK
    return ExitCode.CANCELLED if status is Status.CANCELLED else ExitCode.FAILED


def is_tty() -> bool:
    """True when stdout is a terminal (live views) rather than a pipe or file (JSON lines)."""
    return sys.stdout.isatty()


def print_json(value: Any) -> None:
    """Write one JSON value as one line on stdout, at once."""
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")
    sys.stdout.flush()


def fail(message: str, code: ExitCode) -> NoReturn:
    """End the command with ``error: message`` on stderr."""
    stderr.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed: its callbacks and socket writes cost about half of
    asyncio's, which is what fanning one event out to many streams spends its time on."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; runstream errors end it with a message and an exit code."""
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            return runner.run(coroutine)
    except (ExecutionNotFound, UnknownKind) as exc:
        fail(str(exc), ExitCode.NOT_FOUND)
    except ServerUnavailable as exc:
        fail(str(exc), ExitCode.UNAVAILABLE)
    except ApiError as exc:
        hint = " (give an API key: --api-key or RUNSTREAM_API_KEY)" if exc.status == 401 else ""
        fail(
            f"the server answered {exc.status}: {exc.message}{hint}",
            ExitCode.UNAVAILABLE if exc.status >= 500 else ExitCode.USAGE,
        )
    except InvalidState as exc:
        fail(str(exc), ExitCode.USAGE)
    except RunstreamError as exc:
        fail(str(exc), ExitCode.FAILED)
