"""The sample app of ``runstream demo``: one workflow that uses each feature once.

``showcase`` researches a topic (a task reporting progress and data), calls a flaky
API (a task that fails once and is retried), drafts a text (tokens, like an LLM),
has an LLM agent review it (a tool call, then the model's tokens as they arrive),
lets it rest on a durable timer, waits for an approval promise resolved through the
HTTP API, has a child workflow summarise the draft, keeps its phase in workflow
state, and waits for a feedback message sent through the API. It takes about 12 s.

The module's ``app`` has its reviewing agent use pydantic-ai's offline ``test`` model, so
``runstream serve runstream.demo.app:app`` runs anywhere; ``with_model`` gives the same app
with another model: ``runstream demo`` passes its scripted local model server, or
``DEFAULT_MODEL`` (or ``--model``) when ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` is set.

``write`` and ``review`` are short workflows to try the client and the CLI on; serve
them with ``runstream serve runstream.demo.app:app``.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import runstream as rs

app = rs.App("demo")

OFFLINE_MODEL = "test"
"""pydantic-ai's built-in test model: it calls every tool and streams a made-up answer."""
DEFAULT_MODEL = "openai-chat:gpt-4o-mini"
"""The model ``runstream demo`` uses when an OpenAI-compatible server is configured."""

APPROVAL = "approval"
"""The promise ``showcase`` waits for."""
AWAITING_FEEDBACK = "awaiting feedback"
"""The ``phase`` state value set while ``showcase`` waits for its message."""

_SOURCES = ("encyclopedia", "news archive", "forum threads", "papers", "podcast transcripts")
_DRAFT = (
    "Durable execution means {topic} survives crashes: every step is recorded, so a "
    "restarted worker replays the history and carries on where it stopped.\n"
    "Each execution is also a stream. Tokens, progress, retries, timers and promises "
    "land in one ordered log, and any client can resume it with Last-Event-ID."
)
_QUOTES = ("Make it work, then make it durable.", "A log is a promise kept.")


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text)


@app.task(retries=2)
async def research(ctx: rs.TaskContext, topic: str) -> dict[str, Any]:
    """Read a few sources, reporting progress and what each one yielded."""
    notes = []
    for i, source in enumerate(_SOURCES, 1):
        await asyncio.sleep(0.25)
        facts = len(source) % 4 + 1
        ctx.data({"source": source, "facts": facts})
        ctx.progress(i / len(_SOURCES), f"read {source}")
        notes.append(f"{facts} facts about {topic} from the {source}")
    return {"topic": topic, "notes": notes}


@app.task(
    retries=3,
    retry_policy=rs.RetryPolicy(
        initial_interval=0.5, backoff_coefficient=2.0, maximum_interval=2.0, jitter=0.0
    ),
)
async def fetch_quotes(ctx: rs.TaskContext, topic: str) -> list[str]:
    """Call a flaky quotes API: the first attempt fails, the retry succeeds."""
    ctx.progress(0.2, "calling the quotes API")
    await asyncio.sleep(0.3)
    if ctx.attempt == 1:
        ctx.error("quotes API answered 503 Service Unavailable", code="UPSTREAM_503")
        raise rs.TaskError("quotes API unavailable (503)")
    ctx.progress(1.0, "got quotes")
    return list(_QUOTES)


@app.task()
async def write_draft(ctx: rs.TaskContext, topic: str) -> str:
    """Write the draft token by token, as an LLM would stream it."""
    words = _words(_DRAFT.format(topic=topic))
    for i, word in enumerate(words, 1):
        ctx.token(word)
        ctx.progress(i / len(words))
        await asyncio.sleep(0.04)
    return "".join(words)


def house_style(audience: str) -> str:
    """The house style guide for texts written for an audience."""
    return f"for {audience}: lead with what the reader gains, keep sentences short"


@app.agent(
    model=OFFLINE_MODEL,
    instructions="You review drafts in two sentences. Check the house style first.",
    tools=[house_style],
)
async def review_draft(ctx: rs.AgentContext, draft: str) -> str:
    """Ask the model for a short review of the draft."""
    return f"Review this draft for developers:\n\n{draft}"


def with_model(model: Any) -> rs.App:
    """The demo app whose reviewing agent uses ``model`` (a model string or ``Model``)."""
    reviewer = app.get_task(review_draft).agent
    assert reviewer is not None
    other = rs.App(app.name)
    other.workflows = dict(app.workflows)
    other.tasks = {name: task for name, task in app.tasks.items() if name != reviewer.name}
    other.agent(model=model, instructions=reviewer.instructions, tools=reviewer.tools)(review_draft)
    return other


@app.task()
async def condense(ctx: rs.TaskContext, draft: str) -> str:
    """Stream a one-line summary of the draft."""
    words = ["\n\n", *_words(f"Summary: {draft.split('.')[0].strip()}.")]
    for word in words:
        ctx.token(word)
        await asyncio.sleep(0.05)
    return "".join(words).strip()


@app.workflow()
async def summarize(ctx: rs.WorkflowContext, draft: str) -> str:
    """The child workflow: summarise the draft in a task of its own."""
    summary: str = await ctx.task(condense, draft)
    return summary


@app.workflow()
async def showcase(ctx: rs.WorkflowContext, request: dict[str, Any] | None) -> dict[str, Any]:
    """The demo workflow; ``request`` may hold a ``topic``."""
    topic = str((request or {}).get("topic", "your code"))
    started = await ctx.operation("started_at", time.time)
    ctx.set_state("phase", "researching")
    notes = await ctx.task(research, topic)
    quotes = await ctx.task(fetch_quotes, topic)
    ctx.set_state("phase", "drafting")
    draft = await ctx.task(write_draft, topic)
    ctx.set_state("phase", "reviewing")
    review = await ctx.task(review_draft, draft)
    ctx.set_state("phase", "resting")
    await ctx.sleep(1.5)
    ctx.set_state("phase", "awaiting approval")
    approval = await ctx.promise(APPROVAL, timeout=120)
    ctx.set_state("phase", "summarising")
    summary = await ctx.child(summarize, draft)
    ctx.set_state("phase", AWAITING_FEEDBACK)
    feedback = await ctx.receive(timeout=120)
    ctx.set_state("phase", "done")
    ctx.data({"done": True, "notes": len(notes["notes"]), "quotes": len(quotes)})
    ctx.progress(1.0, "done")
    return {
        "topic": topic,
        "summary": summary,
        "review": review,
        "approval": approval,
        "feedback": feedback,
        "startedAt": started,
    }


@app.workflow()
async def write(ctx: rs.WorkflowContext, topic: str) -> str:
    """Only the drafting step: a short workflow to try the client and the CLI on."""
    draft: str = await ctx.task(write_draft, topic)
    return draft


@app.workflow()
async def review(ctx: rs.WorkflowContext, draft: str) -> dict[str, Any]:
    """Wait for the approval promise, then for a feedback message."""
    approval = await ctx.promise(APPROVAL, timeout=600)
    feedback = await ctx.receive(timeout=600)
    return {"draft": draft, "approval": approval, "feedback": feedback}
