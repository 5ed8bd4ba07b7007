"""``runstream follow``: watch an execution live, as a view in a terminal or as JSON lines.

In a terminal the view redraws as events arrive; on a pipe each event is one JSON
line on stdout. Either way the stream resumes after a dropped connection, the exit
code says how the execution ended, and Ctrl-C detaches without cancelling it (unless
``--cancel`` is given).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.live import Live
from rich.markup import escape

from runstream.cli.console import ExitCode, exit_code, is_tty, print_json, run, stderr, stdout
from runstream.cli.options import DEFAULT_ORG, ApiKey, Json, Org, Url
from runstream.cli.view import STATUS_STYLE, FollowView, compact
from runstream.client import DEFAULT_URL, Client
from runstream.model import Snapshot, Status

Consolidated = Annotated[
    bool,
    typer.Option(
        "--consolidated",
        envvar="RUNSTREAM_CONSOLIDATED",
        help="Include the events of child workflows (ids become cursors).",
    ),
]
Types = Annotated[
    str | None,
    typer.Option(
        "--types",
        envvar="RUNSTREAM_TYPES",
        help="Comma list of SSE types, event names or prefixes: token,progress,TASK_FAILED,timer.",
    ),
]


class Follower:
    """Follows one execution to its end; remembers where it got to if interrupted."""

    def __init__(
        self,
        client: Client,
        execution_id: str,
        *,
        after: str = "0",
        types: str | None = None,
        consolidated: bool = False,
        json_lines: bool = False,
    ) -> None:
        self.client = client
        self.execution_id = execution_id
        self.last_id = after
        """The id to resume after (``--after``) when following again."""
        self._types = [t for t in (types or "").split(",") if t.strip()] or None
        self.consolidated = consolidated
        self._json_lines = json_lines

    async def follow(self) -> Snapshot:
        """Show the events until the execution ends; returns its final snapshot."""
        snapshot = await self.client.get(self.execution_id)
        stream = self.client.stream(
            self.execution_id,
            after=self.last_id,
            types=self._types,
            consolidated=self.consolidated,
            include_task=True,
        )
        async with stream:
            if self._json_lines:
                async for event in stream:
                    print_json(event.to_json())
                    self.last_id = event.id
            else:
                view = FollowView(snapshot)
                with Live(view, console=stdout, refresh_per_second=12):
                    async for event in stream:
                        view.apply(event)
                        view.reconnects = stream.reconnects
                        self.last_id = event.id
            self.last_id = stream.last_event_id or self.last_id
        return await self.client.get(self.execution_id)

    def report(self, final: Snapshot) -> ExitCode:
        """Print how the execution ended (stderr when stdout carries JSON); the exit code."""
        console = stderr if self._json_lines else stdout
        style = STATUS_STYLE.get(str(final.status), "")
        line = f"[{style}]{final.status}[/] {escape(final.kind)} {final.id}"
        if final.status is Status.COMPLETED:
            line += f"  output: {escape(compact(final.output, 200))}"
        elif final.error:
            line += f"  {escape(final.error)}"
        console.print(line, soft_wrap=True)
        return exit_code(final.status)


def follow_and_exit(follower: Follower, *, cancel: bool) -> None:
    """Run ``follower`` and end the command with the execution's exit code.

    Ctrl-C detaches (exit 130) and prints how to resume; with ``cancel`` it cancels too.
    """
    try:
        final = run(_following(follower))
    except KeyboardInterrupt:
        if cancel:
            stderr.print(f"\ndetached from {follower.execution_id}; cancelling it")
            run(_cancel(follower))
        else:
            again = f"runstream follow {follower.execution_id} --after {follower.last_id}"
            if follower.consolidated:
                again += " --consolidated"
            stderr.print(f"\ndetached; the execution keeps running. Resume with:\n  {again}")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    raise typer.Exit(follower.report(final))


async def _following(follower: Follower) -> Snapshot:
    async with follower.client:
        return await follower.follow()


async def _cancel(follower: Follower) -> None:
    following = follower.client
    async with Client(following.url, following.org, api_key=following.api_key) as client:
        await client.cancel(follower.execution_id, reason="cancelled from runstream follow")


def follow(
    execution_id: Annotated[str, typer.Argument(help="Workflow or task execution id.")],
    consolidated: Consolidated = False,
    types: Types = None,
    after: Annotated[
        str,
        typer.Option(
            "--after", envvar="RUNSTREAM_AFTER", help="Resume after this event id (or cursor)."
        ),
    ] = "0",
    cancel: Annotated[
        bool,
        typer.Option("--cancel", envvar="RUNSTREAM_CANCEL", help="Cancel the execution on Ctrl-C."),
    ] = False,
    json: Json = False,
    url: Url = DEFAULT_URL,
    org: Org = DEFAULT_ORG,
    api_key: ApiKey = None,
) -> None:
    """Follow an execution live until it ends; exit 0 if it completed, 1 failed, 3 cancelled.

    On a terminal: status, tasks with progress, streamed text and events. Otherwise (or
    with --json): one JSON event per line on stdout. Ctrl-C detaches; the execution runs on.
    """
    follower = Follower(
        Client(url, org, api_key=api_key),
        execution_id,
        after=after,
        types=types,
        consolidated=consolidated,
        json_lines=json or not is_tty(),
    )
    follow_and_exit(follower, cancel=cancel)
