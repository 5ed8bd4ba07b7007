"""Talking to the runs API of a live server: start runs, read their SSE lines, wait."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

import orjson

from ..conftest import Live, until
from ..sse import Block, RawStream

RUNS = "/api/v1/workflows"


@dataclass
class Lines:
    """What a runs stream sent: its numbered lines and the ``end`` frame."""

    blocks: list[Block]

    @property
    def lines(self) -> list[Block]:
        return [b for b in self.blocks if b.id is not None]

    @property
    def ids(self) -> list[int]:
        return [int(b.id) for b in self.lines if b.id is not None]

    @property
    def data(self) -> list[Any]:
        return [orjson.loads(b.data or "") for b in self.lines]

    @property
    def end(self) -> dict[str, Any] | None:
        ends = [b for b in self.blocks if b.event == "end"]
        assert len(ends) <= 1
        return orjson.loads(ends[0].data or "") if ends else None


async def start_run(live: Live, name: str, prompt: str) -> str:
    response = await live.http.post(f"{RUNS}/claude-code/run/{name}", json={"message": prompt})
    assert response.status_code == 201, response.text
    run_id: str = response.json()["run_id"]
    return run_id


async def post_message(live: Live, run_id: str, text: str) -> dict[str, Any]:
    response = await live.http.post(f"{RUNS}/{run_id}/messages", json={"message": text})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def read_all(stream: RawStream, timeout: float = 15.0) -> Lines:
    """Every block until the server closes the stream."""
    return Lines(await stream.blocks(timeout))


async def until_line(stream: RawStream, seen: list[Block], wanted: str) -> None:
    """Read blocks into ``seen`` until one's data contains ``wanted``."""
    while True:
        block = await stream.block(10)
        assert block is not None, f"stream ended before {wanted!r}"
        seen.append(block)
        if block.data and wanted in block.data:
            return


async def finished(live: Live, run_id: str) -> dict[str, Any]:
    """The run's status document once it has ended."""
    await live.finished(run_id)
    response = await live.http.get(f"{RUNS}/claude-code/run/{run_id}/status")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def session_pid(live: Live, run_id: str) -> int:
    """The fake CLI's pid, from the stderr line it writes first."""
    async with asyncio.timeout(10):
        async for event in live.engine.stream(run_id):
            text = event.data.get("text", "") if event.type == "log" else ""
            if text.startswith("fake-claude pid "):
                return int(text.rsplit(" ", 1)[1])
    raise AssertionError("the session never reported its pid")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def gone(pid: int, within: float) -> None:
    await until(lambda: not alive(pid), within)


def texts(lines: list[Any], kind: str) -> list[str]:
    """The text blocks of every line of ``kind`` (``assistant``)."""
    found = []
    for line in lines:
        if line.get("type") == kind:
            for block in line["message"]["content"]:
                if block.get("type") == "text":
                    found.append(block["text"])
    return found
