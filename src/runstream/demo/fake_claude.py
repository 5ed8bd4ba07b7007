"""A stand-in for the ``claude`` CLI that speaks its stream-json protocol, offline.

    python -m runstream.demo.fake_claude [-p --output-format stream-json ...] [options]

It reads stream-json user lines on stdin (a reader thread, so messages written while a
turn runs are queued for the next one, as Claude Code does) and answers each with a
turn: an assistant text block, a ``Bash`` ``tool_use``, the user ``tool_result``, the
final assistant text, and a ``result`` line with ``total_cost_usd``. It starts with a
``system``/``init`` line, writes a note per turn to stderr, and exits when stdin is
closed and every message is answered. Claude's own flags are accepted and ignored.

A prompt ``/burst N RATE [DELAY]`` is the benchmark's load instead: after DELAY seconds,
N assistant lines at RATE lines/s, each with the text ``"<i>:<time.time() when written>"``,
then the result.

Used by the docs example, the tests and the benchmark; it needs only the standard library.

Options:
    --delay S        seconds between output lines (messages then arrive mid-turn)
    --fail           write to stderr and exit with code 2 before any result line
    --combine        answer every queued message in one turn (one ``result`` for all)
    --raw TEXT       also print TEXT as a non-JSON stdout line at the start
    --ignore-term    ignore SIGTERM (only SIGKILL stops it)
    --absorb         fold messages that arrive during a turn into that turn's answer
    --linger S       leave a process behind that holds stdout and stderr open S seconds
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

SESSION = str(uuid.uuid4())
_EOF = object()


def emit(line: Any) -> None:
    sys.stdout.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def note(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def text_of(message: dict[str, Any]) -> str:
    content = message.get("message", {}).get("content")
    if isinstance(content, list):
        return " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content)


def assistant(n: int, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "assistant",
        "message": {
            "id": f"msg_{n:04d}",
            "type": "message",
            "role": "assistant",
            "model": "fake-claude",
            "content": blocks,
            "stop_reason": None,
            "usage": {"input_tokens": 12, "output_tokens": 7},
        },
        "parent_tool_use_id": None,
        "session_id": SESSION,
    }


class Fake:
    def __init__(self, args: dict[str, Any]) -> None:
        self.delay: float = args["delay"]
        self.combine: bool = args["combine"]
        self.absorb: bool = args["absorb"]
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.turns = 0
        self.blocks = 0
        self.started = time.monotonic()

    def pause(self) -> None:
        if self.delay:
            time.sleep(self.delay)

    def turn(self, prompts: list[str]) -> None:
        self.turns += 1
        said = " | ".join(prompts)
        note(f"fake-claude: turn {self.turns}: {said[:60]}")
        if said.startswith("/burst "):
            self.flood(*(float(n) for n in said.split()[1:]))
        else:
            self.converse(said)
        if self.absorb:
            said = " | ".join([said, *(text_of(m) for m in drain(self.inbox))])
        emit(
            {
                "type": "result",
                "subtype": "success",
                "is_error": False,
                "duration_ms": int((time.monotonic() - self.started) * 1000),
                "duration_api_ms": 42,
                "num_turns": self.turns,
                "result": f"Answer: {said}",
                "session_id": SESSION,
                "total_cost_usd": round(0.0125 * self.turns, 6),
                "usage": {"input_tokens": 12 * self.turns, "output_tokens": 7 * self.turns},
            }
        )

    def converse(self, said: str) -> None:
        self.blocks += 1
        tool_id = f"toolu_{self.blocks:04d}"
        emit(assistant(self.blocks, [{"type": "text", "text": f"Looking at: {said}"}]))
        self.pause()
        command = {"command": f"echo {said!r}", "description": "Echo the request"}
        emit(
            assistant(
                self.blocks, [{"type": "tool_use", "id": tool_id, "name": "Bash", "input": command}]
            )
        )
        self.pause()
        result = {"tool_use_id": tool_id, "type": "tool_result", "content": said, "is_error": False}
        emit(
            {
                "type": "user",
                "message": {"role": "user", "content": [result]},
                "parent_tool_use_id": None,
                "session_id": SESSION,
            }
        )
        self.pause()
        emit(assistant(self.blocks, [{"type": "text", "text": f"Answer: {said}"}]))
        self.pause()

    def flood(self, count: float, rate: float, delay: float = 0.0) -> None:
        time.sleep(delay)
        start = time.monotonic()
        for i in range(int(count)):
            due = start + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            emit(assistant(i, [{"type": "text", "text": f"{i}:{time.time()!r}"}]))


def read_stdin(into: queue.Queue[Any]) -> None:
    for raw in sys.stdin:
        if raw.strip():
            into.put(json.loads(raw))
    into.put(_EOF)


def parse(argv: list[str]) -> dict[str, Any]:
    args: dict[str, Any] = {
        "delay": 0.0,
        "fail": False,
        "combine": False,
        "raw": None,
        "ignore-term": False,
        "absorb": False,
        "linger": 0.0,
    }
    flags_with_value = {"--output-format", "--input-format", "--append-system-prompt", "--model"}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--delay":
            args["delay"], i = float(argv[i + 1]), i + 1
        elif arg == "--linger":
            args["linger"], i = float(argv[i + 1]), i + 1
        elif arg == "--raw":
            args["raw"], i = argv[i + 1], i + 1
        elif arg in ("--fail", "--combine", "--ignore-term", "--absorb"):
            args[arg[2:]] = True
        elif arg == "--append-system-prompt":
            args["instructions"], i = argv[i + 1], i + 1
        elif arg in flags_with_value:
            i += 1
        i += 1
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args["ignore-term"]:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    note(f"fake-claude pid {os.getpid()}")
    emit(
        {
            "type": "system",
            "subtype": "init",
            "cwd": os.getcwd(),
            "session_id": SESSION,
            "tools": ["Bash", "Read", "Edit"],
            "mcp_servers": [],
            "model": "fake-claude",
            "permissionMode": "default",
            "apiKeySource": "none",
            "append_system_prompt": args.get("instructions"),
        }
    )
    if args["raw"]:
        sys.stdout.write(args["raw"] + "\n")
        sys.stdout.flush()
    if args["linger"]:
        # Inherits stdout and stderr, as a background job of a tool would.
        subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({args['linger']})"])
    if args["fail"]:
        note("fake-claude: cannot reach the model")
        note("fake-claude: giving up")
        return 2
    fake = Fake(args)
    threading.Thread(target=read_stdin, args=(fake.inbox,), daemon=True).start()
    while True:
        first = fake.inbox.get()
        if first is _EOF:
            return 0
        batch = [first, *(drain(fake.inbox) if fake.combine else ())]
        fake.turn([text_of(m) for m in batch])


def drain(inbox: queue.Queue[Any]) -> list[Any]:
    """The messages waiting in ``inbox`` (an end of input stays queued)."""
    waiting = []
    while not inbox.empty():
        more = inbox.get()
        if more is _EOF:
            inbox.put(_EOF)
            break
        waiting.append(more)
    return waiting


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
