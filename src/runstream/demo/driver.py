"""The demo's outside world: it watches the workflow's stream and answers through the HTTP API.

A person approving a draft, a service posting feedback: the ``Driver`` plays both,
using only what any client has, the event stream and the native API. ``model_script``
is the scripted model the demo's agent talks to when no real one is configured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson

from runstream.client import Client
from runstream.demo.app import APPROVAL, AWAITING_FEEDBACK
from runstream.demo.model_script import ModelRequest, Reply, Script, ToolCall, words

APPROVAL_VALUE = {"approved": True, "by": "runstream demo"}
"""What the driver resolves the approval promise with."""
FEEDBACK = {"feedback": "Ship it!"}
"""The message the driver sends once the workflow waits for feedback."""


class Driver:
    """Resolves the approval promise and sends the feedback message of one ``showcase`` run."""

    def __init__(
        self, client: Client, execution_id: str, *, say: Callable[[str], None], pause: float = 1.0
    ) -> None:
        """Args:
        client: A client of the server running the demo.
        execution_id: The ``showcase`` execution to drive.
        say: Called with a line describing each request before it is sent.
        pause: Seconds to "think" before answering, so the wait is visible.
        """
        self._client = client
        self._id = execution_id
        self._say = say
        self._pause = pause

    async def run(self) -> None:
        """Answer the workflow's waits until it ends."""
        base = f"{self._client.url}/api/orgs/{self._client.org}/workflow-executions/{self._id}"
        async with self._client.stream(self._id, types=["PROMISE_CREATED", "STATE_SET"]) as events:
            async for event in events:
                data = event.data if isinstance(event.data, dict) else {}
                if event.type == "PROMISE_CREATED" and data.get("promiseId") == APPROVAL:
                    await asyncio.sleep(self._pause)
                    body = orjson.dumps({"value": APPROVAL_VALUE}).decode()
                    self._say(f"POST {base}/promises/{APPROVAL}/resolve {body}")
                    await self._client.resolve_promise(self._id, APPROVAL, APPROVAL_VALUE)
                elif event.type == "STATE_SET" and data.get("value") == AWAITING_FEEDBACK:
                    await asyncio.sleep(self._pause / 2)
                    self._say(
                        f"POST {base}/messages {orjson.dumps({'message': FEEDBACK}).decode()}"
                    )
                    await self._client.send_message(self._id, FEEDBACK)


REVIEW = (
    "Following the house style ({style}), the draft works: it opens with what durable "
    "execution gives you and ends on streams you can resume. Ship it after one more pass."
)
"""What the scripted model answers once it has the house style."""


def model_script() -> Script:
    """The scripted model behind the demo's reviewing agent: it asks for the house style
    (a tool call whose arguments arrive in fragments), then streams a review quoting the
    tool's answer, a word every 30 ms, like a real model."""

    def respond(request: ModelRequest) -> Reply:
        styles = request.tool_outputs()
        if not styles:
            fragments = ['{"audi', 'ence": "devel', 'opers"}']
            return Reply(tool_calls=[ToolCall("house_style", fragments)], delay=0.05)
        return Reply(text=words(REVIEW.format(style=styles[-1])), delay=0.03, input_tokens=180)

    return respond
