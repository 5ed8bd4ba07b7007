"""``runstream run`` and ``runstream executions …``: start, list, inspect and steer executions.

On a terminal the answers are tables; otherwise (or with ``--json``) they are JSON in
the API's own shape, one value per line, ready for ``jq``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from runstream.cli.console import is_tty, print_json, run, stderr, stdout
from runstream.cli.follow import Consolidated, Follower, Types, follow_and_exit
from runstream.cli.options import DEFAULT_ORG, ApiKey, Json, Org, Url, json_value
from runstream.cli.view import STATUS_STYLE, compact
from runstream.client import DEFAULT_URL, Client
from runstream.errors import UnknownKind
from runstream.model import Snapshot, Status

T = TypeVar("T")

ExecutionId = Annotated[str, typer.Argument(help="Workflow or task execution id.")]

app = typer.Typer(
    name="executions",
    help="List, inspect and steer executions on the server.",
    no_args_is_help=True,
)


def _call(url: str, org: str, api_key: str | None, action: Callable[[Client], Awaitable[T]]) -> T:
    async def call() -> T:
        async with Client(url, org, api_key=api_key) as client:
            return await action(client)

    return run(call())


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _status(status: Status | str) -> str:
    return f"[{STATUS_STYLE.get(str(status), '')}]{status}[/]"


def show(snapshot: Snapshot, *, json: bool) -> None:
    """Print a snapshot: JSON off a terminal, a summary on one."""
    if json or not is_tty():
        print_json(snapshot.to_json())
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row(str(snapshot.type), f"{escape(snapshot.kind)}  {snapshot.id}")
    grid.add_row("status", _status(snapshot.status))
    grid.add_row("created", f"{_when(snapshot.created_at)}  updated {_when(snapshot.updated_at)}")
    if snapshot.parent_id:
        grid.add_row("parent", snapshot.parent_id)
    grid.add_row("input", escape(compact(snapshot.input, 200)))
    if snapshot.status is Status.COMPLETED:
        grid.add_row("output", escape(compact(snapshot.output, 200)))
    if snapshot.error:
        grid.add_row("error", f"[red]{escape(snapshot.error)}[/]")
    for task in snapshot.tasks:
        attempts = f"attempt {task.execution_count}/{task.max_retries + 1}"
        note = f"  [red]{escape(task.error)}[/]" if task.error else ""
        grid.add_row("task", f"{escape(task.kind)}  {_status(task.status)}  {attempts}{note}")
    for key, value in snapshot.state.items():
        grid.add_row("state", f"{escape(key)} = {escape(compact(value))}")
    for promise in snapshot.promises:
        grid.add_row("promise", f"{escape(promise.name)}  {promise.status}")
    for child in snapshot.children:
        grid.add_row("child", f"{escape(child.kind)}  {child.id}  {_status(child.status)}")
    grid.add_row("last id", str(snapshot.last_seq))
    stdout.print(grid)


def start(
    kind: Annotated[str, typer.Argument(help="Workflow or task to start.")],
    input: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            envvar="RUNSTREAM_INPUT",
            help='The argument, as JSON (\'{"topic": "otters"}\', \'"text"\', 3), or @file.json.',
        ),
    ] = None,
    task: Annotated[
        bool, typer.Option("--task", envvar="RUNSTREAM_TASK", help="Start a standalone task.")
    ] = False,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", envvar="RUNSTREAM_FOLLOW", help="Follow it to its end."),
    ] = False,
    consolidated: Consolidated = False,
    types: Types = None,
    json: Json = False,
    url: Url = DEFAULT_URL,
    org: Org = DEFAULT_ORG,
    api_key: ApiKey = None,
) -> None:
    """Start a workflow or task and print its id (with --follow: watch it and exit as `follow`).

    A name that is no workflow starts the task of that name, so `runstream run assistant
    --input '"Fix the tests"' --follow` follows a Claude Code session as a conversation.
    """
    value = json_value(input, "--input") if input is not None else None

    async def begin(client: Client) -> Snapshot:
        if task:
            return await client.start_task(kind, value)
        try:
            return await client.start(kind, value)
        except UnknownKind:
            try:  # a task's name (a Claude Code task, say) needs no --task
                return await client.start_task(kind, value)
            except UnknownKind:
                raise UnknownKind(kind) from None

    snapshot = _call(url, org, api_key, begin)
    if not follow:
        if json:
            print_json(snapshot.to_json())
        else:
            print(snapshot.id)
        if is_tty():
            stderr.print(f"[dim]follow it with:[/] runstream follow {snapshot.id}", soft_wrap=True)
        return
    stderr.print(f"[dim]started {escape(kind)}[/] {snapshot.id}")
    follower = Follower(
        Client(url, org, api_key=api_key),
        snapshot.id,
        types=types,
        consolidated=consolidated,
        json_lines=json or not is_tty(),
    )
    follow_and_exit(follower, cancel=False)


@app.command("list")
def list_executions(
    status: Annotated[
        Status | None,
        typer.Option(
            "--status", envvar="RUNSTREAM_STATUS", case_sensitive=False, help="Only this status."
        ),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", envvar="RUNSTREAM_KIND", help="Only this kind.")
    ] = None,
    task: Annotated[
        bool,
        typer.Option("--task", envvar="RUNSTREAM_TASK", help="List standalone task executions."),
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", envvar="RUNSTREAM_LIMIT", min=1, max=1000, help="Page size.")
    ] = 20,
    cursor: Annotated[
        str | None,
        typer.Option("--cursor", envvar="RUNSTREAM_CURSOR", help="Next page (printed below)."),
    ] = None,
    json: Json = False,
    url: Url = DEFAULT_URL,
    org: Org = DEFAULT_ORG,
    api_key: ApiKey = None,
) -> None:
    """List executions, newest first."""
    page = _call(
        url,
        org,
        api_key,
        lambda c: c.list_executions(
            task=task, status=status, kind=kind, limit=limit, cursor=cursor
        ),
    )
    if json or not is_tty():
        for snapshot in page.items:
            print_json(snapshot.summary_json())
    else:
        table = Table(box=None, header_style="bold dim")
        table.add_column("id", no_wrap=True, min_width=36)
        table.add_column("kind")
        table.add_column("status", no_wrap=True)
        table.add_column("created", no_wrap=True)
        for s in page.items:
            table.add_row(s.id, escape(s.kind), _status(s.status), _when(s.created_at))
        stdout.print(table if page.items else "[dim]no executions[/]")
    if page.next_cursor:
        stderr.print(
            f"[dim]more:[/] runstream executions list --cursor {page.next_cursor}", soft_wrap=True
        )


@app.command()
def get(
    execution_id: ExecutionId,
    json: Json = False,
    url: Url = DEFAULT_URL,
    org: Org = DEFAULT_ORG,
    api_key: ApiKey = None,
) -> None:
    """Show an execution: status, input, output, tasks, state, promises, children."""
    show(_call(url, org, api_key, lambda c: c.get(execution_id)), json=json)


@app.command()
def events(
    execution_id: ExecutionId,
    after: Annotated[
        int, typer.Option("--after", envvar="RUNSTREAM_AFTER", min=0, help="Start after this seq.")
    ] = 0,
    limit: Annotated[
        int, typer.Option("--limit", envvar="RUNSTREAM_LIMIT", min=1, max=1000, help="At most.")
    ] = 1000,
    url: Url = DEFAULT_URL,
    org: Org = DEFAULT_ORG,
    api_key: ApiKey = None,
) -> None:
    """Print stored events as JSON lines, with every field (taskId, attempt, ts)."""
    page = _call(url, org, api_key, lambda c: c.events(execution_id, after=after, limit=limit))
    for event in page.items:
        print_json(event.to_json())
    if page.has_more:
        stderr.print(
            f"[dim]more:[/] runstream executions events {execution_id} --after {page.next_after}"
        )


@app.command()
def cancel(
    execution_id: ExecutionId,
    reason: Annotated[
        str | None, typer.Option("--reason", envvar="RUNSTREAM_REASON", help="Why.")
    ] = None,
    json: Json = False,
    url: Url = DEFAULT_URL,
    org: Org = DEFAULT_ORG,
    api_key: ApiKey = None,
) -> None:
    """Cancel an execution with its tasks, timers and children (idempotent)."""
    show(_call(url, org, api_key, lambda c: c.cancel(execution_id, reason)), json=json)


@app.command()
def retry(
    execution_id: ExecutionId,
    reason: Annotated[
        str | None, typer.Option("--reason", envvar="RUNSTREAM_REASON", help="Why.")
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", envvar="RUNSTREAM_FOLLOW", help="Follow the new run to its end."
        ),
    ] = False,
    json: Json = False,
    url: Url = DEFAULT_URL,
    org: Org = DEFAULT_ORG,
    api_key: ApiKey = None,
) -> None:
    """Run a FAILED execution again from where it failed, keeping what succeeded.

    Prints the retry's number (JSON off a terminal); with --follow, watches the new run
    from the retry on and exits as `follow` does.
    """

    async def request(client: Client) -> tuple[Snapshot, int]:
        failed = await client.get(execution_id)
        return failed, await client.retry(execution_id, reason)

    failed, attempt = _call(url, org, api_key, request)
    # The failed log was closed, so the retry's events start right after its last seq.
    after = str(failed.last_seq)
    if not follow:
        if json or not is_tty():
            print_json({"id": failed.id, "attempt": attempt})
        else:
            stdout.print(f"retry {attempt} of {escape(failed.kind)} {failed.id} requested")
            stderr.print(
                f"[dim]follow it with:[/] runstream follow {failed.id} --after {after}",
                soft_wrap=True,
            )
        return
    stderr.print(f"[dim]retry {attempt} of {escape(failed.kind)}[/] {failed.id}")
    follower = Follower(
        Client(url, org, api_key=api_key), failed.id, after=after, json_lines=json or not is_tty()
    )
    follow_and_exit(follower, cancel=False)


@app.command()
def send(
    execution_id: ExecutionId,
    message: Annotated[str, typer.Argument(help="The message as JSON, or @file.json.")],
    text: Annotated[
        bool,
        typer.Option("--text", envvar="RUNSTREAM_TEXT", help="Send MESSAGE as a plain string."),
    ] = False,
    url: Url = DEFAULT_URL,
    org: Org = DEFAULT_ORG,
    api_key: ApiKey = None,
) -> None:
    """Send a message to a workflow's ctx.receive() or a running Claude Code session (use
    --text for plain text); prints the message id."""
    value: Any = message if text else json_value(message, "MESSAGE")
    print(_call(url, org, api_key, lambda c: c.send_message(execution_id, value)))


@app.command()
def resolve(
    execution_id: ExecutionId,
    name: Annotated[str, typer.Argument(help="The promise's name.")],
    value: Annotated[str, typer.Argument(help="Its value as JSON, or @file.json.")] = "null",
    json: Json = False,
    url: Url = DEFAULT_URL,
    org: Org = DEFAULT_ORG,
    api_key: ApiKey = None,
) -> None:
    """Resolve a workflow's promise (the first settlement wins)."""
    resolved = json_value(value, "VALUE")
    show(
        _call(url, org, api_key, lambda c: c.resolve_promise(execution_id, name, resolved)),
        json=json,
    )


@app.command()
def reject(
    execution_id: ExecutionId,
    name: Annotated[str, typer.Argument(help="The promise's name.")],
    error: Annotated[str, typer.Argument(help="Why; the workflow sees PromiseRejected.")],
    json: Json = False,
    url: Url = DEFAULT_URL,
    org: Org = DEFAULT_ORG,
    api_key: ApiKey = None,
) -> None:
    """Reject a workflow's promise."""
    show(_call(url, org, api_key, lambda c: c.reject_promise(execution_id, name, error)), json=json)
