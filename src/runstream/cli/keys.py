"""``runstream keys create | list | revoke``: API keys of a server run with ``--auth keys``.

The commands open the store directly (``--store`` or ``RUNSTREAM_STORE``), so they work
while servers run on it: every server sees a new or revoked key within two seconds.
``create`` prints the key once on stdout; only its SHA-256 is stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from runstream.cli.console import ExitCode, fail, is_tty, print_json, run, stderr, stdout
from runstream.cli.options import Json, settings
from runstream.model import ApiKey, Event
from runstream.model.keys import check_org, key_hash, new_key
from runstream.store import Store, open_store
from runstream.store.base import Wake

T = TypeVar("T")

app = typer.Typer(
    name="keys",
    help="Create, list and revoke API keys (for servers run with --auth keys).",
    no_args_is_help=True,
)

StoreUrl = Annotated[
    str | None,
    typer.Option(
        "--store", envvar="RUNSTREAM_STORE", help="Store URL (default: sqlite:///./runstream.db)."
    ),
]


class _Quiet:
    """A store listener for commands that run no engine."""

    def on_events(self, events: Sequence[Event]) -> None:
        pass

    def on_wake(self, what: frozenset[Wake]) -> None:
        pass


def _with_store(url: str | None, action: Callable[[Store], Awaitable[T]]) -> T:
    config = settings(store_url=url)

    async def call() -> T:
        # Not exclusive: a server may hold the embedded store; these writes are safe beside it.
        store = open_store(config.store_url, exclusive=False)
        await store.open(_Quiet())
        try:
            return await action(store)
        finally:
            await store.close()

    try:
        return run(call())
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)


def _when(ms: int | None) -> str:
    return "-" if ms is None else datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


@app.command()
def create(
    org: Annotated[str, typer.Option("--org", help="Organisation the key acts in.")],
    name: Annotated[
        str | None, typer.Option("--name", help="What the key is for (shown by `keys list`).")
    ] = None,
    store: StoreUrl = None,
    json: Json = False,
) -> None:
    """Create an API key and print it once: it cannot be shown again."""
    try:
        check_org(org)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--org") from None
    key_id, key = new_key()
    record = _with_store(store, lambda s: s.create_key(key_id, org, name, key_hash(key)))
    if json:
        print_json(record.to_json() | {"key": key})
    else:
        print(key, flush=True)
    stderr.print(
        f"[dim]key {record.id} for org {escape(org)}; store it now, it is not shown again. "
        f"Revoke it with:[/] runstream keys revoke {record.id}",
        soft_wrap=True,
    )


@app.command("list")
def list_keys(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation's keys.")] = None,
    store: StoreUrl = None,
    json: Json = False,
) -> None:
    """List keys: id, organisation, name, created, last used, revoked (never the secret)."""
    keys: list[ApiKey] = _with_store(store, lambda s: s.list_keys(org))
    if json or not is_tty():
        for key in keys:
            print_json(key.to_json())
        return
    table = Table(box=None, header_style="bold dim")
    for column in ("id", "org", "name", "created", "last used", "revoked"):
        table.add_column(column, no_wrap=column != "name")
    for key in keys:
        table.add_row(
            key.id,
            escape(key.org),
            escape(key.name or ""),
            _when(key.created_at),
            _when(key.last_used_at),
            f"[red]{_when(key.revoked_at)}[/]" if key.revoked_at else "-",
        )
    stdout.print(table if keys else "[dim]no keys[/]")


@app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`).")],
    store: StoreUrl = None,
) -> None:
    """Revoke a key; every server refuses it within two seconds."""
    record = _with_store(store, lambda s: s.revoke_key(key_id))
    if record is None:
        fail(f"no API key with id {key_id!r}", ExitCode.NOT_FOUND)
    stderr.print(f"revoked key {record.id} of org {escape(record.org)}")
