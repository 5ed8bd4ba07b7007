"""What the commands take: shared options, JSON arguments and settings.

Every option can also be set by a ``RUNSTREAM_*`` environment variable (``--help``
names it); a flag given on the command line wins over the variable.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from runstream.cli.console import ExitCode, fail
from runstream.config import Settings

Url = Annotated[
    str, typer.Option("--url", envvar="RUNSTREAM_URL", help="Base URL of the runstream server.")
]
Org = Annotated[str, typer.Option("--org", envvar="RUNSTREAM_ORG", help="Organisation to act in.")]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="RUNSTREAM_API_KEY",
        help="API key for a server run with --auth keys (prefer the variable: flags "
        "show up in the process list).",
        show_default=False,
    ),
]
Json = Annotated[
    bool,
    typer.Option(
        "--json",
        envvar="RUNSTREAM_JSON",
        help="Print JSON (one value per line) even on a terminal.",
    ),
]

DEFAULT_ORG = "default"
"""The organisation client commands act in unless told otherwise."""


def json_value(text: str, name: str) -> Any:
    """A JSON value given on the command line; ``@path`` reads it from a file.

    Raises:
        typer.BadParameter: Not JSON (the message says how to pass a string).
    """
    source = text
    if text.startswith("@"):
        try:
            source = Path(text[1:]).read_text()
        except OSError as exc:
            message = f"cannot read {text[1:]!r}: {exc.strerror}"
            raise typer.BadParameter(message, param_hint=name) from None
    try:
        return orjson.loads(source)
    except orjson.JSONDecodeError as exc:
        raise typer.BadParameter(
            f"not valid JSON ({exc}); a string needs JSON quotes, e.g. '\"hello\"'",
            param_hint=name,
        ) from None


def settings(**flags: Any) -> Settings:
    """``RUNSTREAM_*`` settings with the flags given on the command line on top."""
    try:
        base = Settings.from_env()
        return dataclasses.replace(base, **{k: v for k, v in flags.items() if v is not None})
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)
