"""Dashboard responsiveness in headless Chromium: 200 executions listed, and a workflow
streaming 2,000 tokens/s, measured in the browser with the performance API.

    .venv/bin/python bench/dashboard.py [--rate 2000] [--seconds 8] [--executions 200]

Prints one JSON object:

- ``list``: frame intervals (ms) on the executions list while it shows ``executions``
  rows, polls every 1.5 s and a workflow streams tokens in the background;
- ``stream``: on that workflow's view, ``emit_to_paint_ms`` (the server stamps each
  token with its emission time; measured from the oldest token of each painted batch to
  the end of the frame that painted it), ``event_to_paint_ms`` (the frame's arrival in
  the browser to that paint, as the dashboard records it), ``render_ms`` (fold + DOM
  update per frame), frame intervals, long frames (> 50 ms) and the tokens shown.

Runs ``runstream serve bench.apps:app`` on 127.0.0.1 (bench/server.py) and Debian's
``/usr/bin/chromium`` through Playwright (``make bench-dashboard`` installs it if needed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.async_api import Page, async_playwright

from bench.rawhttp import HttpClient
from bench.server import HOST, running
from bench.stats import latency_summary

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WORKFLOWS = "/api/orgs/default/workflow-executions"

# Frame intervals from requestAnimationFrame, for `ms` milliseconds.
_FRAMES = """async (ms) => {
  const gaps = [];
  let last = performance.now();
  const end = last + ms;
  await new Promise((done) => {
    const tick = (now) => {
      gaps.push(now - last);
      last = now;
      if (now < end) requestAnimationFrame(tick); else done();
    };
    requestAnimationFrame(tick);
  });
  return gaps;
}"""

# Emission-to-paint of streamed tokens ("i:epochSeconds "): watch the task's text grow and,
# after the frame that painted each growth, compare the clock with the oldest new token.
_WATCH_TOKENS = """() => {
  window.benchEmitToPaint = [];
  window.benchTokens = 0;
  new MutationObserver((mutations) => {
    let oldest = null;
    const seen = window.benchTokens;
    for (const m of mutations) {
      for (const node of m.addedNodes) {
        const pre = node.parentElement;
        const text = node.nodeType === Node.TEXT_NODE && pre?.matches(".stream-text");
        if (!text) continue;
        for (const [, index, stamp] of node.data.matchAll(/(\\d+):(\\d+\\.\\d+) /g)) {
          if (Number(index) < seen) continue;  // redrawn, not new
          window.benchTokens = Math.max(window.benchTokens, Number(index) + 1);
          oldest = Math.min(oldest ?? Infinity, parseFloat(stamp) * 1000);
        }
      }
    }
    if (oldest === null) return;
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => window.benchEmitToPaint.push(Date.now() - oldest);
      channel.port2.postMessage(null);
    });
  }).observe(document.body, { childList: true, subtree: true });
}"""


def _frames(gaps: list[float]) -> dict[str, Any]:
    summary = latency_summary(gaps[1:])
    summary["long_frames_over_50ms"] = sum(1 for g in gaps[1:] if g > 50)
    return summary


async def _start(http: HttpClient, kind: str, value: Any) -> str:
    status, body = await http.request("POST", WORKFLOWS, {"kind": kind, "input": value})
    if status != 201:
        raise RuntimeError(f"start {kind}: {status} {body[:200]!r}")
    return str(json.loads(body)["id"])


async def _measure_list(page: Page, url: str, executions: int, seconds: float) -> dict[str, Any]:
    await page.goto(url + "/")
    await page.wait_for_function(
        "(n) => document.querySelectorAll('table.executions tbody tr').length >= n",
        arg=executions,
        timeout=30_000,
    )
    rows = await page.locator("table.executions tbody tr").count()
    gaps = await page.evaluate(_FRAMES, seconds * 1000)
    return {"rows": rows, "frame_ms": _frames(gaps)}


async def _measure_stream(page: Page, url: str, workflow: str, seconds: float) -> dict[str, Any]:
    await page.goto(f"{url}/#/wf/{workflow}")
    await page.evaluate(_WATCH_TOKENS)
    gaps = await page.evaluate(_FRAMES, seconds * 1000)
    emit = await page.evaluate("window.benchEmitToPaint")
    await page.evaluate("() => new Promise((r) => setTimeout(r, 100))")
    tokens = await page.evaluate("window.benchTokens")
    metrics = await page.evaluate(
        "({e: runstreamDashboard.eventToPaint, r: runstreamDashboard.renderMs})"
    )
    return {
        "tokens_painted": tokens,
        "tokens_per_s_painted": round(tokens / seconds),
        "emit_to_paint_ms": latency_summary(emit),
        "event_to_paint_ms": latency_summary(metrics["e"]),
        "render_ms": latency_summary(metrics["r"]),
        "frame_ms": _frames(gaps),
    }


async def main(rate: int, seconds: float, executions: int) -> dict[str, Any]:
    async with running() as server:
        url = f"http://{HOST}:{server.port}"
        http = HttpClient(HOST, server.port, size=8)
        try:
            await asyncio.gather(*(_start(http, "trivial", i) for i in range(executions - 1)))
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                page = await browser.new_page(viewport={"width": 1400, "height": 1000})
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                # A workflow streams while the list is measured, and another for its view.
                spec = {"delay": 0.5, "rate": rate, "duration": seconds + 4}
                await _start(http, "tokens", spec)
                listed = await _measure_list(page, url, executions, seconds)
                streaming = await _start(http, "tokens", spec)
                stream = await _measure_stream(page, url, streaming, seconds)
                await browser.close()
        finally:
            await http.aclose()
    return {
        "parameters": {"rate": rate, "seconds": seconds, "executions": executions},
        "list": listed,
        "stream": stream,
        "page_errors": errors,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=2000, help="tokens per second")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measurement")
    parser.add_argument("--executions", type=int, default=200, help="executions listed")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.rate, args.seconds, args.executions)), indent=2))
