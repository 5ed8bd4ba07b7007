"""``agent_tokens``: a scripted model streams 5,000 tokens/s through one agent to 10 SSE clients.

The model is a real HTTP server in the harness process (``runstream.demo.model_server``)
speaking OpenAI's chat-completions stream; the agent runs in ``runstream serve`` and
reaches it through ``OPENAI_BASE_URL``. The model stamps each token's send time as it
hands it to the connection; each client stamps the bytes as they arrive, so a token's
latency is model send → SSE client (through pydantic-ai, the log and the fan-out).
SPEC bar (issue 13): every token to every client in order, p99 ≤ 50 ms.

The same is measured at a reference rate (2,000 tokens/s) to show the latency when the
CPU is not the limit.

Per-token overhead: the same unpaced stream of ``overhead_tokens`` tokens, once through
the agent in the server (no client connected; the server's CPU time, from psutil) and
once through a bare pydantic-ai ``Agent`` in a process of its own
(``python -m bench.agent_model``); the difference per token is what runstream adds.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass

import orjson
import psutil

from bench import driver
from bench.agent_model import agent_script
from bench.rawhttp import HttpClient
from bench.scenarios.base import Floor, Headline, Scenario
from bench.server import ROOT, Server, running
from bench.sse import Frame
from bench.stats import Figures, latency_summary, percentile
from runstream.demo.model_server import ModelServer


@dataclass(frozen=True)
class Params:
    clients: int = 10
    rate_per_s: float = 5000.0
    """The rate of the bar."""
    reference_rate_per_s: float = 2000.0
    """A second rate, measured the same way, to see the latency when the CPU is not the limit."""
    duration_s: float = 4.0
    delay_s: float = 1.0
    overhead_tokens: int = 20000


def params(quick: bool) -> Params:
    if quick:
        return Params(
            clients=3,
            rate_per_s=1000.0,
            reference_rate_per_s=500.0,
            duration_s=1.0,
            delay_s=0.5,
            overhead_tokens=2000,
        )
    return Params()


class Collector:
    """One client: each token's latency against its send time, and the order of indices."""

    def __init__(self, sent: list[float]) -> None:
        self.latencies_ms: list[float] = []
        self.out_of_order = 0
        self.done = False
        self._sent = sent
        self._next = 0

    def on_frame(self, frame: Frame, received: float) -> None:
        if frame.event == "token":
            index = int(frame.data)
            self.latencies_ms.append((received - self._sent[index]) * 1000)
            if index != self._next:
                self.out_of_order += 1
            self._next = index + 1
        elif driver.terminal(frame) is not None:
            self.done = True


async def wait_completed(http: HttpClient, execution_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (await driver.snapshot(http, execution_id))["status"] != "COMPLETED":
        if time.monotonic() > deadline:
            raise TimeoutError(f"agent_tokens {execution_id} did not complete")
        await asyncio.sleep(0.02)


async def through_runstream(server: Server, http: HttpClient, count: int) -> Figures:
    """The unpaced stream through the served agent: server CPU and wall time."""
    process = psutil.Process(server.pid)
    before = process.cpu_times()
    began = time.perf_counter()
    execution_id = await driver.start_workflow(
        http, "agent_tokens", {"count": count, "interval": 0.0, "delay": 0.0}
    )
    await wait_completed(http, execution_id, 120)
    wall = time.perf_counter() - began
    after = process.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    return {"cpu_s": cpu, "wall_s": wall}


async def directly(model: ModelServer, count: int) -> Figures:
    """The same stream through pydantic-ai alone, in a process of its own."""
    env = {**os.environ, "OPENAI_BASE_URL": model.url, "PYTHONPATH": str(ROOT)}
    env.pop("OPENAI_API_KEY", None)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.agent_model", str(count),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), 120)
    if child.returncode != 0:
        raise RuntimeError(f"bench.agent_model failed: {err.decode()[-2000:]}")
    figures: Figures = orjson.loads(out)
    return figures


async def followed(
    server: Server, http: HttpClient, model: ModelServer, p: Params, rate: float
) -> Figures:
    """``rate`` tokens/s for ``duration_s`` to ``clients`` SSE clients: latency and order."""
    count = int(rate * p.duration_s)
    model.sent.clear()
    spec = {"count": count, "interval": 1 / rate, "delay": p.delay_s}
    process = psutil.Process(server.pid)
    execution_id = await driver.start_workflow(http, "agent_tokens", spec)
    streams = await asyncio.gather(
        *(driver.open_stream(server, execution_id, record=True) for _ in range(p.clients))
    )
    before = process.cpu_times()
    await asyncio.wait_for(
        asyncio.gather(*(s.done for s in streams)), timeout=p.delay_s + p.duration_s + 60
    )
    after = process.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    sent = list(model.sent)
    collectors = [Collector(sent) for _ in streams]
    for stream, collector in zip(streams, collectors, strict=True):
        for frame, received in stream.recorded():
            collector.on_frame(frame, received)
    counts = [len(c.latencies_ms) for c in collectors]
    return {
        "tokens": count,
        "model_tokens_per_s": round(len(sent) / (sent[-1] - sent[0]), 1) if count > 1 else 0.0,
        "tokens_per_client_min": min(counts),
        "missing": sum(count - n for n in counts),
        "out_of_order": sum(c.out_of_order for c in collectors),
        "all_in_order": min(counts) == count and not any(c.out_of_order for c in collectors),
        "all_completed": all(c.done for c in collectors),
        "worst_client_p99_ms": round(max(percentile(c.latencies_ms, 99) for c in collectors), 3),
        # The server's CPU per token with the clients connected: agent, log and fan-out.
        "server_cpu_us_per_token": round(cpu / count * 1e6, 1),
        **latency_summary([ms for c in collectors for ms in c.latencies_ms]),
    }


def per_token(served: Figures, bare: Figures, tokens: int) -> Figures:
    """CPU and wall time per token, through runstream and through pydantic-ai alone (µs)."""
    figures = {
        "runstream_cpu_us": served["cpu_s"] / tokens * 1e6,
        "pydantic_ai_cpu_us": bare["cpu_s"] / tokens * 1e6,
        "runstream_wall_us": served["wall_s"] / tokens * 1e6,
        "pydantic_ai_wall_us": bare["wall_s"] / tokens * 1e6,
    }
    figures["overhead_cpu_us"] = figures["runstream_cpu_us"] - figures["pydantic_ai_cpu_us"]
    figures["overhead_wall_us"] = figures["runstream_wall_us"] - figures["pydantic_ai_wall_us"]
    return {key: round(value, 2) for key, value in figures.items()}


async def run(p: Params) -> Figures:
    async with ModelServer(agent_script(), record_sends=True) as model:
        async with running({"OPENAI_BASE_URL": model.url}) as server:
            http = driver.client_for(server)
            try:
                warm = await driver.start_workflow(
                    http, "agent_tokens", {"count": 10, "interval": 0.0, "delay": 0.0}
                )
                await wait_completed(http, warm, 60)
                served = await through_runstream(server, http, p.overhead_tokens)
                bar = await followed(server, http, model, p, p.rate_per_s)
                reference = await followed(server, http, model, p, p.reference_rate_per_s)
            finally:
                await http.aclose()
        bare = await directly(model, p.overhead_tokens)
    return {
        "clients": p.clients,
        **bar,
        "reference_rate": reference,
        "per_token": per_token(served, bare, p.overhead_tokens),
    }


SCENARIO = Scenario(
    name="agent_tokens",
    summary="a scripted model streams 5,000 tokens/s through one agent to 10 SSE clients",
    params=params,
    run=run,
    timeout_s=lambda p: p.delay_s + p.duration_s + 240,
    headlines=(
        Headline("model rate", "model_tokens_per_s", "tok/s"),
        Headline("p50", "p50_ms", "ms"),
        Headline("p99", "p99_ms", "ms"),
        Headline("every token in order", "all_in_order"),
        Headline("p99 at the reference rate", "reference_rate.p99_ms", "ms"),
        Headline("server CPU/token, 10 clients", "server_cpu_us_per_token", "µs"),
        Headline("runstream CPU/token", "per_token.runstream_cpu_us", "µs"),
        Headline("pydantic-ai CPU/token", "per_token.pydantic_ai_cpu_us", "µs"),
        Headline("overhead/token", "per_token.overhead_cpu_us", "µs"),
    ),
    floors=(
        Floor("all_in_order", True),
        Floor("p99_ms", 50.0),
    ),
)
