"""Manual retry: a workflow fails at its second task; fix the cause, retry, keep the rest.

The card is charged once: on the retry the first task's result comes from history, and
only the failed task runs again (with a fresh retry budget).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import runstream as rs

app = rs.App("retry-example")

CHARGES: list[int] = []
"""Orders the payment provider charged: what must not happen twice."""
RECEIPTS_FIXED = False
"""The bug: the receipt service is misconfigured until the "deploy" below."""


@app.task()
async def charge(ctx: rs.TaskContext, order: dict[str, Any]) -> str:
    CHARGES.append(order["id"])
    return f"ch_{order['id']}"


@app.task(retries=1, retry_policy=rs.RetryPolicy(initial_interval=0.05))
async def send_receipt(ctx: rs.TaskContext, charge_id: str) -> str:
    if not RECEIPTS_FIXED:
        raise rs.TaskError("receipt service misconfigured")
    ctx.token(f"receipt for {charge_id}")
    return f"sent {charge_id}"


@app.workflow()
async def checkout(ctx: rs.WorkflowContext, order: dict[str, Any]) -> dict[str, str]:
    charge_id = await ctx.task(charge, order)
    receipt = await ctx.task(send_receipt, charge_id)
    return {"charge": charge_id, "receipt": receipt}


async def main(db: str) -> None:
    global RECEIPTS_FIXED
    async with rs.Engine(app, store=f"sqlite:///{db}") as engine:
        handle = await engine.start(checkout, {"id": 42})
        try:
            await handle.result(timeout=30)
        except rs.ExecutionFailed as failure:
            print("failed:", failure.error)
        failed_at = (await handle.get()).last_seq  # the old terminal event's seq

        RECEIPTS_FIXED = True  # deploy the fix, then press retry
        print("retry", await engine.retry(handle.id, reason="receipt service fixed"))
        async for event in handle.stream(after=failed_at):  # the retry's events only
            print(event.seq, event.type)
        print(await handle.result())
        print("charged", len(CHARGES), "time(s)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "./retry.db"))
