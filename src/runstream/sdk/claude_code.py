"""Claude Code tasks (SPEC §6): a ``claude`` subprocess speaking stream-json on both pipes.

One attempt is one process. The prompt goes to stdin as the first user line; every
stdout line becomes a ``claude`` event (the parsed JSON, or ``{"type": "raw", "text"}``)
and every stderr line a ``log`` event (``{"text"}``). Messages posted to the execution
arrive through ``ctx.inbox`` — the execution's own log, never a file or a poll — and are
written to stdin as further user lines, in order, each recorded ``MESSAGE_CONSUMED``.

When stdin closes: a message is *pending* from its acceptance until the ``result`` line of
the turn that answers it; a message written while a turn runs is answered by the next
turn. When a ``result`` line arrives and nothing is pending, the store is asked to close
the execution's input — atomically refused when a message was accepted meanwhile — and
stdin is closed; Claude finishes and exits, and later messages get ``InvalidState``.

The task's result is the ``result`` field of the last ``result`` line. A process that
exits without a ``result`` line fails the attempt with the last lines of its stderr.
Cancelling the attempt, or its execution ending meanwhile (a cancel is seen in the log at
once), terminates the process group: SIGTERM, then SIGKILL after ``TERMINATE_GRACE_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from runstream.config import claude_command
from runstream.errors import TaskError
from runstream.model import EventType
from runstream.sdk.inbox import Message

if TYPE_CHECKING:
    from runstream.sdk.context import TaskContext

DEFAULT_COMMAND = (
    "claude",
    "-p",
    "--output-format",
    "stream-json",
    "--input-format",
    "stream-json",
    "--verbose",
)
"""What runs when neither the task nor ``RUNSTREAM_CLAUDE_COMMAND`` names a command."""
TERMINATE_GRACE_S = 5.0
"""How long a cancelled process has between SIGTERM and SIGKILL."""
TURN_START_TIMEOUT_S = 30.0
"""After a ``result``, how long a turn that should answer lines written meanwhile has to
begin (its first stdout line) before they count as answered by the turn that just ended.
Claude Code folds queued messages into one turn; a message that reached it just before
it took the queue is answered early, and waiting for another turn would never end."""
BURST_GAP_S = 0.005
"""Reads closer together than this are a burst (see ``Session._coalesce``)."""
COALESCE_S = 0.002
"""How long the lines of a burst gather before they are stored together."""
PIPE_DRAIN_S = 2.0
"""After the process exits, how long its pipes may take to reach their end."""
STDERR_TAIL = 20
"""Stderr lines quoted in the error of an attempt that failed without a result."""
LINE_LIMIT = 64 * 1024 * 1024
"""Longest stdout or stderr line kept (a tool result can hold a whole file)."""
READ_CHUNK = 1024 * 1024
"""Most stdout bytes taken at once."""


def user_line(content: Any) -> bytes:
    """One stream-json user message, newline-terminated, as written to stdin."""
    return orjson.dumps({"type": "user", "message": {"role": "user", "content": content}}) + b"\n"


def content_of(payload: Any) -> Any:
    """The ``content`` of the user line for a posted message: a string as is, a list as
    content blocks, anything else as its JSON text."""
    if isinstance(payload, str | list):
        return payload
    return orjson.dumps(payload).decode()


def prompt_of(value: Any) -> str:
    """The prompt of a Claude Code execution's input: a string, or ``{"prompt": str}``.

    Raises:
        TaskError: Anything else, or an empty prompt (not retryable).
    """
    if isinstance(value, dict) and set(value) == {"prompt"}:
        value = value["prompt"]
    if not isinstance(value, str):
        raise TaskError('the input must be a prompt string or {"prompt": "…"}', retryable=False)
    if not value.strip():
        raise TaskError("the prompt is empty", retryable=False)
    return value


def parse_line(raw: bytes) -> Any:
    """The stored data of one stdout line: its JSON, or ``{"type": "raw", "text"}``."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"type": "raw", "text": raw.decode(errors="replace")}


@dataclass(frozen=True)
class ClaudeCode:
    """A registered Claude Code task (``app.claude_code``); calling it runs one attempt."""

    name: str
    command: tuple[str, ...] | None = None
    """The program and its arguments; None: ``RUNSTREAM_CLAUDE_COMMAND`` or the default."""
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    """Added to the inherited environment."""
    instructions: str | None = None
    """Passed as ``--append-system-prompt``."""
    turn_start_timeout: float = TURN_START_TIMEOUT_S
    """See ``TURN_START_TIMEOUT_S``."""

    @property
    def __runstream_name__(self) -> str:
        return self.name

    def argv(self) -> list[str]:
        """The command line of one attempt."""
        argv = list(self.command or claude_command() or DEFAULT_COMMAND)
        if self.instructions:
            argv += ["--append-system-prompt", self.instructions]
        return argv

    async def __call__(self, ctx: TaskContext, input: Any) -> Any:
        prompt = prompt_of(input)
        argv = self.argv()
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _ExitProtocol(LINE_LIMIT, loop),
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.cwd,
                env={**os.environ, **self.env} if self.env else None,
                # Its own process group: a cancel also stops the tools it started.
                start_new_session=True,
            )
        except OSError as exc:
            raise TaskError(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None
        process = asyncio.subprocess.Process(transport, protocol, loop)
        try:
            session = Session(ctx, process, protocol.exited, argv[0], self.turn_start_timeout)
            return await session.run(prompt)
        finally:
            transport.close()  # its pipes, even while a process it left behind holds them


class _ExitProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The pipes of ``create_subprocess_exec``, and a future set as soon as the process
    exits: ``Process.wait`` also waits for every pipe to close, which a process it left
    behind (a tool's background job) may never do."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


class Session:
    """One running process: its three pipes, the turns, and how it ends."""

    def __init__(
        self,
        ctx: TaskContext,
        process: asyncio.subprocess.Process,
        exited: asyncio.Future[None],
        program: str,
        turn_start_timeout: float,
    ) -> None:
        self._ctx = ctx
        self._process = process
        self._exited = exited
        self._program = program
        self._turn_open = False
        """A turn is running: a user line was written and its ``result`` has not come."""
        self._answered_next = 0
        """Lines written while the current turn runs; the next turn answers them."""
        self._stdin_closed = False
        self._log_ended = False
        """The execution's log ended while the process ran (it was cancelled)."""
        self._last_result: dict[str, Any] | None = None
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL)
        self._awaiting = False
        """A turn ended with lines written during it: the next turn should begin."""
        self._turn_start_timeout = turn_start_timeout
        self._last_read_at = 0.0

    async def run(self, prompt: str) -> Any:
        """Write the prompt, relay both outputs and the messages until the process exits."""
        reading = [
            asyncio.create_task(self._read_stdout(), name="claude-stdout"),
            asyncio.create_task(self._read_stderr(), name="claude-stderr"),
        ]
        feeding = None
        if self._ctx.inbox is not None:
            feeding = asyncio.create_task(self._feed(), name="claude-messages")
        try:
            await self._write(prompt)
            await asyncio.shield(self._exited)
            code = self._process.returncode
            # Its last lines may still be in the pipes; a process it left behind holding
            # them open must not keep the attempt alive.
            await asyncio.wait(reading, timeout=PIPE_DRAIN_S)
            for reader in reading:
                if reader.done() and not reader.cancelled() and (error := reader.exception()):
                    raise error
        except BaseException:
            await asyncio.shield(self._terminate())
            raise
        finally:
            for task in (*reading, feeding):
                if task is not None:
                    task.cancel()
            await asyncio.gather(*reading, *([feeding] if feeding else []), return_exceptions=True)
            self._close_stdin()
        if self._log_ended:
            # Cancelled while it ran: the log is closed, there is no result to record.
            raise asyncio.CancelledError
        if self._last_result is None:
            tail = "\n".join(self._stderr) or "(no stderr output)"
            raise TaskError(f"{self._program} exited with code {code} without a result:\n{tail}")
        return self._last_result.get("result")

    # -- stdin ---------------------------------------------------------------------------
    async def _write(self, content: Any) -> bool:
        """Write one user line; False when stdin is closed or the process is gone."""
        stdin = self._process.stdin
        if self._stdin_closed or stdin is None or stdin.is_closing():
            return False
        stdin.write(user_line(content))
        # Counted at once, so a result handled while the write drains sees it.
        if self._turn_open:
            self._answered_next += 1
        else:
            self._turn_open = True
        try:
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True

    async def _feed(self) -> None:
        """Write every message of the execution, in order, as it is accepted."""
        assert self._ctx.inbox is not None
        async for message in self._ctx.inbox.messages():
            if await self._write(content_of(message.payload)):
                await self._ctx.inbox.consumed(message)
            else:
                self._undeliverable(message)
        if not self._exited.done():
            self._log_ended = True
            await self._terminate()

    def _undeliverable(self, message: Message) -> None:
        text = f"runstream: message {message.id} not delivered: the session's stdin is closed"
        self._ctx.emit(EventType.LOG, {"text": text})

    async def _turn_ended(self, result: dict[str, Any]) -> None:
        self._last_result = result
        if self._answered_next:
            # What was written during this turn is answered by the next one; should none
            # begin within ``turn_start_timeout``, this turn answered it too.
            self._answered_next = 0
            self._awaiting = True
            return
        await self._close_if_idle()

    async def _close_if_idle(self) -> None:
        """Nothing is pending: close stdin, unless the store has a message not yet written."""
        self._turn_open = False
        inbox = self._ctx.inbox
        closed = inbox is None or await inbox.close()
        if closed and not self._turn_open:  # nothing was written while the input closed
            self._close_stdin()

    def _close_stdin(self) -> None:
        self._stdin_closed = True
        stdin = self._process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()

    # -- stdout and stderr ---------------------------------------------------------------
    async def _read_stdout(self) -> None:
        """Every line of stdout, in order; lines that arrived together are handled in one
        go (one commit for them all)."""
        assert self._process.stdout is not None
        lines = LineSplitter()
        while True:
            try:
                if self._awaiting:
                    async with asyncio.timeout(self._turn_start_timeout):
                        chunk = await self._process.stdout.read(READ_CHUNK)
                else:  # the common case: no timer to arm and cancel
                    chunk = await self._process.stdout.read(READ_CHUNK)
            except TimeoutError:
                # No turn began after all: the CLI answered every line in the turn that
                # just ended. Nothing is pending then.
                self._awaiting = False
                await self._close_if_idle()
                continue
            dropped = lines.dropped
            for raw in lines.feed(chunk) if chunk else lines.end():
                await self._line(raw)
            if lines.dropped > dropped:
                text = f"runstream: a stdout line over {LINE_LIMIT} bytes dropped"
                self._ctx.emit(EventType.LOG, {"text": text})
            if not chunk:
                return
            await self._coalesce()

    async def _line(self, raw: bytes) -> None:
        self._awaiting = False
        data = parse_line(raw)
        self._ctx.emit(EventType.CLAUDE, data)
        if isinstance(data, dict) and data.get("type") == "result":
            await self._turn_ended(data)

    async def _coalesce(self) -> None:
        """In a burst, let the next lines gather for ``COALESCE_S`` before reading on.

        The lines just read are committed and sent meanwhile; the ones behind them then go
        out together: one commit and one wake-up of each stream for several lines instead
        of one per line, which costs the server a third less CPU at 2,000 lines/s (more
        when the machine is busy). Output after a pause is read at once.
        """
        now = asyncio.get_running_loop().time()
        burst = now - self._last_read_at < BURST_GAP_S
        self._last_read_at = now
        if burst:
            await asyncio.sleep(COALESCE_S)

    async def _read_stderr(self) -> None:
        assert self._process.stderr is not None
        while (raw := await _readline(self._process.stderr, self._ctx)) is not None:
            text = raw.decode(errors="replace")
            self._stderr.append(text)
            self._ctx.emit(EventType.LOG, {"text": text})

    # -- ending --------------------------------------------------------------------------
    async def _terminate(self) -> None:
        """SIGTERM to the process group, SIGKILL after the grace period; wait for the exit."""
        if self._exited.done():
            return
        self._signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(TERMINATE_GRACE_S):
                await asyncio.shield(self._exited)
        except TimeoutError:
            self._signal(signal.SIGKILL)
            await asyncio.shield(self._exited)

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, sig)


class LineSplitter:
    """Complete, non-blank lines out of the chunks of a pipe, without their line ends; a
    line longer than ``limit`` bytes is dropped (counted in ``dropped``)."""

    def __init__(self, limit: int = LINE_LIMIT) -> None:
        self._limit = limit
        self._parts: list[bytes] = []
        """The line begun and not ended yet (kept in pieces: a long line comes in many)."""
        self._size = 0
        self._skipping = False
        self.dropped = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        first, newline, rest = chunk.partition(b"\n")
        if not newline:
            self._keep(first)
            return []
        if self._skipping:  # the end of an overlong line
            head, self._skipping = b"", False
        else:
            head = b"".join([*self._parts, first])
        *complete, partial = [head, *rest.split(b"\n")]
        self._parts, self._size = [], 0
        self._keep(partial)
        return [line.rstrip(b"\r") for line in complete if line.strip()]

    def end(self) -> list[bytes]:
        """The last line, when the pipe ended without a line end."""
        rest = b"".join(self._parts).rstrip(b"\r")
        self._parts, self._size = [], 0
        return [rest] if rest.strip() and not self._skipping else []

    def _keep(self, piece: bytes) -> None:
        if self._skipping or not piece:
            return
        self._parts.append(piece)
        self._size += len(piece)
        if self._size > self._limit:
            self._parts, self._size, self._skipping = [], 0, True
            self.dropped += 1


async def _readline(stream: asyncio.StreamReader, ctx: TaskContext) -> bytes | None:
    """The next non-blank line of a pipe without its line end; None at EOF.

    A timeout around it leaves a partly received line in the stream's buffer.
    """
    while True:
        try:
            raw = await stream.readline()
        except ValueError:
            ctx.emit(EventType.LOG, {"text": f"runstream: a line over {LINE_LIMIT} bytes dropped"})
            continue
        if not raw:
            return None
        line = raw.rstrip(b"\r\n")
        if line.strip():
            return line


__all__: Sequence[str] = ("DEFAULT_COMMAND", "ClaudeCode", "content_of", "prompt_of", "user_line")
