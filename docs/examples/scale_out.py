"""Scale-out on one PostgreSQL database: two API processes, two workers.

    python docs/examples/scale_out.py postgresql://postgres@127.0.0.1:5432/mydb

It runs the app of ``server.py`` (this directory) as ``runstream serve --no-worker`` twice
and ``runstream worker`` twice, starts a ``greet`` workflow through the first API, follows
its stream through the second (a worker process does the work), and stops every process
with SIGTERM, as a deployment would. Add ``redis://127.0.0.1:6379`` as a second argument
to wake processes through Redis instead of LISTEN/NOTIFY.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def launch(*args: str, store: str, bus: str | None) -> subprocess.Popen[bytes]:
    env = os.environ | {"RUNSTREAM_STORE": store, "PYTHONPATH": str(HERE)}
    if bus:
        env["RUNSTREAM_BUS"] = bus
    command = [sys.executable, "-m", "runstream.cli.main", *args]
    return subprocess.Popen(command, env=env, cwd=HERE, stderr=subprocess.DEVNULL)


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{url}/openapi.json", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main(store: str, bus: str | None = None) -> None:
    ports = [free_port(), free_port()]
    processes = [
        launch("worker", "server:app", store=store, bus=bus),
        launch("worker", "server:app", store=store, bus=bus),
        *(
            launch("serve", "server:app", "--no-worker", "--port", str(p), store=store, bus=bus)
            for p in ports
        ),
    ]
    try:
        first, second = (f"http://127.0.0.1:{p}" for p in ports)
        wait_ready(first)
        wait_ready(second)
        base = "/api/orgs/default/workflow-executions"
        started = httpx.post(f"{first}{base}", json={"kind": "greet", "input": "Ada"}).json()
        print(f"started {started['id']} through {first}, following it on {second}")
        # The stream ends after the terminal event; a dropped connection would resume with
        # Last-Event-ID on any API process.
        with httpx.stream("GET", f"{second}{base}/{started['id']}/stream", timeout=30) as sse:
            event = ""
            for line in sse.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "token":
                    print(line[6:], end="", flush=True)
                elif line.startswith("data: ") and '"WORKFLOW_COMPLETED"' in line:
                    print("\noutput:", orjson.loads(line[6:])["data"]["output"])
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)  # workers hand unfinished work back
        codes = [process.wait(30) for process in processes]
    print("exit codes:", codes)
    if any(codes):
        sys.exit(1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
