"""Clients that request a stream and never read: what they cost the server, and for how long.

Starts ``runstream serve bench.apps:app`` (``bench/server.py``), builds one execution with a
large log (``--events`` data events of ``--size`` bytes, about 9 MB by default), reads its
stream once to warm the server up, and measures the server's RSS

- ``baseline``: before the stalled clients connect;
- ``stalled_peak``: the highest RSS while ``--clients`` sockets (a 4 KiB receive buffer)
  sit on ``GET …/stream`` without reading a byte, until the server drops them;
- ``after_drop``: once the server has dropped them all and the clients closed.

It also times a snapshot request while the clients are stalled (the server must stay
responsive) and counts uvicorn's ``ASGI callable returned without completing response``
lines in the server's log. Prints one JSON object::

    .venv/bin/python bench/stalled.py
    .venv/bin/python bench/stalled.py --clients 20 --events 300 --size 30000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

import orjson

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rawhttp import HttpClient
from bench.server import HOST, Server, running

MIB = 1024 * 1024
INCOMPLETE = "ASGI callable returned without completing response"


async def _big_execution(http: HttpClient, events: int, size: int) -> str:
    status, body = await http.request(
        "POST",
        "/api/orgs/default/workflow-executions",
        {"kind": "big_log", "input": {"count": events, "size": size}},
    )
    if status != 201:
        raise RuntimeError(f"start failed: {status} {body[:200]!r}")
    execution_id: str = orjson.loads(body)["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        _, snapshot = await http.request(
            "GET", f"/api/orgs/default/workflow-executions/{execution_id}"
        )
        if orjson.loads(snapshot)["status"] == "COMPLETED":
            return execution_id
        await asyncio.sleep(0.2)
    raise RuntimeError("the big_log workflow did not complete within 120 s")


def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n\r\n".encode()


async def _read_once(port: int, path: str) -> int:
    """Read the whole stream (it ends after the terminal event); returns the bytes read."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(_request(path))
    total = 0
    try:
        while chunk := await asyncio.wait_for(reader.read(1 << 20), 30):
            total += len(chunk)
            if b"WORKFLOW_COMPLETED" in chunk[-4096:]:
                break
    finally:
        writer.close()
    return total


def _stalled_socket(port: int, path: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((HOST, port))
    sock.sendall(_request(path))
    return sock


async def _settled_rss(server: Server, seconds: float) -> int:
    """The lowest RSS seen over ``seconds`` (the allocator settles after frees)."""
    lowest = server.rss()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        lowest = min(lowest, server.rss())
    return lowest


async def measure(clients: int, events: int, size: int, send_timeout: float) -> dict[str, Any]:
    env = {"RUNSTREAM_STREAM_SEND_TIMEOUT_SECONDS": str(send_timeout)}
    async with running(env) as server:
        http = HttpClient(HOST, server.port, size=2)
        try:
            execution_id = await _big_execution(http, events, size)
            path = f"/api/orgs/default/workflow-executions/{execution_id}/stream"
            stream_bytes = await _read_once(server.port, path)
            baseline = await _settled_rss(server, 2.0)
            sockets = [_stalled_socket(server.port, path) for _ in range(clients)]
            try:
                peak = baseline
                began = time.monotonic()
                snapshot_ms: float | None = None
                # Sample until the server has let go of every stalled connection.
                while time.monotonic() - began < send_timeout + 30:
                    peak = max(peak, server.rss())
                    if snapshot_ms is None and time.monotonic() - began > 1.0:
                        asked = time.perf_counter()
                        status, _ = await asyncio.wait_for(
                            http.request(
                                "GET", f"/api/orgs/default/workflow-executions/{execution_id}"
                            ),
                            30,
                        )
                        snapshot_ms = (time.perf_counter() - asked) * 1000
                        if status != 200:
                            raise RuntimeError(f"snapshot during the stall: {status}")
                    if time.monotonic() - began > 1.0 and server.connections() <= 1:
                        break
                    await asyncio.sleep(0.1)
                dropped_after = time.monotonic() - began
            finally:
                for sock in sockets:
                    with contextlib.suppress(OSError):
                        sock.close()
            after = await _settled_rss(server, 3.0)
        finally:
            await http.aclose()
        incomplete = (server.directory / "server.log").read_text(errors="replace").count(INCOMPLETE)
        return {
            "clients": clients,
            "log_bytes": stream_bytes,
            "send_timeout_s": send_timeout,
            "rss_mib": {
                "baseline": round(baseline / MIB, 1),
                "stalled_peak": round(peak / MIB, 1),
                "after_drop": round(after / MIB, 1),
            },
            "per_stalled_client_kib": round((peak - baseline) / clients / 1024, 1),
            "dropped_within_s": round(dropped_after, 1),
            "snapshot_during_stall_ms": None if snapshot_ms is None else round(snapshot_ms, 1),
            "incomplete_response_log_lines": incomplete,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--events", type=int, default=300, help="data events in the log")
    parser.add_argument("--size", type=int, default=30_000, help="bytes per event")
    parser.add_argument("--send-timeout", type=float, default=10.0)
    args = parser.parse_args()
    result = asyncio.run(measure(args.clients, args.events, args.size, args.send_timeout))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
