"""The ``runstream`` command: serve apps, start and follow executions, run the demo (SPEC §8)."""

from __future__ import annotations

import typer

from runstream.cli.demo import demo
from runstream.cli.executions import app as executions
from runstream.cli.executions import start
from runstream.cli.follow import follow
from runstream.cli.keys import app as keys
from runstream.cli.serve import serve, worker
from runstream.cli.status import status

app = typer.Typer(
    name="runstream",
    help="Durable workflows whose every execution is a live, resumable event stream.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo)
app.command("serve")(serve)
app.command("worker")(worker)
app.command("run")(start)
app.command("follow")(follow)
app.command("status")(status)
app.add_typer(executions)
app.add_typer(keys)


def main() -> None:
    """Entry point of the ``runstream`` console script."""
    app()


if __name__ == "__main__":
    main()
