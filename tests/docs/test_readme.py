"""The README's "Serve it, watch it" followed literally, as a newcomer would.

The ten lines are saved as ``flows.py``; every command of the section's ``bash`` blocks
runs as written, in order, in real subprocesses (``runstream`` from the virtualenv the
tests run in, as the README says). The only liberties: the port the README offers to
change (``RUNSTREAM_PORT``/``RUNSTREAM_URL``) is a free one, so curl's URL gets that
port; ``<id>`` is the id ``runstream run`` printed; ``serve`` and ``follow``, which
run until stopped or until the workflow ends, are started in the background.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BACKGROUND = ("serve", "follow")
"""Subcommands that do not end by themselves (a server; a follow waiting for approval)."""


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def commands(readme: str) -> list[list[str]]:
    lines = "".join(blocks(section(readme, "Serve it, watch it"), "bash")).splitlines()
    return [argv for line in lines if (argv := shlex.split(line, comments=True))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, "runstream serve exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("runstream serve did not start listening")


def test_serve_it_watch_it_works_as_written(tmp_path: Path) -> None:
    readme = README.read_text()
    (tmp_path / "flows.py").write_text(blocks(section(readme, "Ten lines"), "python")[0])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "RUNSTREAM_PORT": str(port),
        "RUNSTREAM_URL": f"http://127.0.0.1:{port}",
    }
    steps = commands(readme)
    assert steps[0][:2] == ["runstream", "serve"], steps
    started: dict[str, subprocess.Popen[str]] = {}
    outputs: dict[str, str] = {}
    execution_id = ""
    try:
        for argv in steps:
            argv = [
                arg.replace("<id>", execution_id).replace(":8000/", f":{port}/") for arg in argv
            ]
            if argv[0] == "runstream" and argv[1] in BACKGROUND:
                process = subprocess.Popen(
                    argv,
                    cwd=tmp_path,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                started[argv[1]] = process
                if argv[1] == "serve":
                    wait_listening(port, process)
                else:
                    time.sleep(1.0)  # the workflow now waits for approval; follow with it
                    assert process.poll() is None, "follow ended before the approval"
                continue
            done = subprocess.run(
                argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
            )
            assert done.returncode == 0, (argv, done.stdout, done.stderr)
            outputs[argv[1] if argv[0] == "runstream" else argv[0]] = done.stdout
            if argv[1] == "run":
                execution_id = done.stdout.strip()
        # The README's follow ends by itself once the workflow does.
        follow = started["follow"]
        stdout, stderr = follow.communicate(timeout=30)
        assert follow.returncode == 0, stderr
    finally:
        for process in started.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            process.communicate(timeout=15)
    events = [orjson.loads(line) for line in stdout.splitlines()]
    assert "".join(e["data"] for e in events if e["type"] == "token") == "hi "
    assert events[-1]["type"] == "WORKFLOW_COMPLETED"
    assert events[-1]["data"]["output"] == {"summary": "HI", "verdict": "ship it"}
    # curl got the same log, every event once.
    assert len(re.findall(r"^id: ", outputs["curl"], flags=re.MULTILINE)) == len(events)
    assert started["serve"].returncode == 0
