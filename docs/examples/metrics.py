"""Scrape ``/metrics`` of a running server: ``python docs/examples/metrics.py``.

Starts an engine and its API on a free port, runs one workflow, then prints the figures an
operator usually watches, read the way Prometheus reads them.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

import runstream as rs
from runstream.api.server import server
from runstream.config import Settings

app = rs.App("metrics-example")


@app.task()
async def shout(ctx: rs.TaskContext, text: str) -> str:
    ctx.token(text.upper())
    return text.upper()


@app.workflow()
async def loud(ctx: rs.WorkflowContext, text: str) -> str:
    result: str = await ctx.task(shout, text)
    return result


WATCHED = (
    "runstream_executions_started_total",
    "runstream_executions_finished_total",
    "runstream_task_attempts_total",
    "runstream_queue_depth",
    "runstream_workers",
)


async def main(store: Path) -> None:
    settings = Settings(host="127.0.0.1", port=0)
    async with rs.Engine(app, store=f"sqlite:///{store}") as engine:
        api = server(engine, settings, log_level="warning", access_log=False)
        serving = asyncio.create_task(api.serve())
        while not api.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{api.port}"
        async with httpx.AsyncClient(base_url=url) as http:
            started = await http.post(
                "/api/orgs/default/workflow-executions", json={"kind": "loud", "input": "hi"}
            )
            await engine.handle(started.json()["id"]).result(timeout=10)
            text = (await http.get("/metrics")).text
        api.should_exit = True
        await serving
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in WATCHED and sample.labels.get("kind", "loud") == "loud":
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                print(f"{sample.name}{{{labels}}} {sample.value:g}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tmp) / "metrics.db"
        asyncio.run(main(target))
