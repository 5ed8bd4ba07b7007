"""What the scripted model server says: replies, and their OpenAI wire encodings.

A ``Reply`` is one model response — text deltas, tool calls whose arguments arrive in
fragments, usage, or an error status — and a ``Script`` picks the reply for each request.
The encoders turn a reply into the bodies OpenAI's two HTTP APIs send: chat-completions
chunks (``openai-chat:`` models) and Responses API events (``openai:`` models), streamed
or whole. They are pure functions; ``model_server`` puts them on the wire.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

Api = Literal["chat", "responses"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call in a reply."""

    name: str
    """The tool's name."""
    arguments: Sequence[str] = ("{}",)
    """The argument JSON, in the fragments to stream it in."""
    id: str = ""
    """The call id; ``call_<n>`` when empty."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted model response."""

    text: Sequence[str] = ()
    """Text deltas, each sent as its own chunk."""
    tool_calls: Sequence[ToolCall] = ()
    """Tool calls, after the text."""
    delay: float = 0.0
    """Seconds between deltas (text deltas and argument fragments), kept on a fixed
    schedule from the start of the response so long streams hold their rate."""
    input_tokens: int = 12
    output_tokens: int | None = None
    """Reported output tokens; the number of deltas when ``None``."""
    status: int = 200
    """An HTTP error status (>= 400) makes this an error reply with ``error`` as message:
    the response's status, or an error inside the stream with ``fail_after``."""
    error: str = "scripted error"
    fail_after: int | None = None
    """With an error ``status``: stream this many deltas, then report the error in-stream."""
    cut_after: int | None = None
    """Drop the connection after this many deltas, without finishing the response."""

    @property
    def deltas(self) -> int:
        return len(self.text) + sum(len(call.arguments) for call in self.tool_calls)

    @property
    def full_text(self) -> str:
        return "".join(self.text)

    def usage(self) -> tuple[int, int]:
        """(input tokens, output tokens)."""
        out = self.deltas if self.output_tokens is None else self.output_tokens
        return self.input_tokens, out


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """A request the server received."""

    api: Api
    body: dict[str, Any]
    received_at: float = field(default_factory=time.time)
    """``time.time()`` on arrival."""

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    def tool_outputs(self) -> list[str]:
        """The tool results the client sent back to the model, in order."""
        if self.api == "chat":
            items = self.body.get("messages") or []
            return [_text(m.get("content")) for m in items if m.get("role") == "tool"]
        items = self.body.get("input") or []
        if not isinstance(items, list):
            return []
        return [
            _text(item.get("output"))
            for item in items
            if isinstance(item, dict) and item.get("type") == "function_call_output"
        ]

    def prompt(self) -> str:
        """The text of the last user message."""
        if self.api == "chat":
            users = [m for m in self.body.get("messages") or [] if m.get("role") == "user"]
            return _text(users[-1].get("content")) if users else ""
        items = self.body.get("input")
        if isinstance(items, str):
            return items
        users = [i for i in items or [] if isinstance(i, dict) and i.get("role") == "user"]
        return _text(users[-1].get("content")) if users else ""


def _text(content: Any) -> str:
    """Text of a message content: a string, or a list of parts with ``text``."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else orjson.dumps(content).decode()


Script = Callable[[ModelRequest], Reply]
"""Chooses the reply to each request."""


def scripted(*steps: Reply | Script) -> Script:
    """A script that answers the n-th request with the n-th step (a reply, or a function
    of the request); requests beyond the last step get a 500 saying so."""
    remaining = iter(steps)

    def respond(request: ModelRequest) -> Reply:
        step = next(remaining, None)
        if step is None:
            return Reply(
                status=500, error=f"the script has no reply for request to {request.model}"
            )
        return step if isinstance(step, Reply) else step(request)

    return respond


def words(text: str) -> list[str]:
    """Split text into word deltas (each word with the whitespace after it); joined they
    give the text back."""
    return re.findall(r"\S+\s*|\s+", text)


_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}


def error_body(reply: Reply) -> dict[str, Any]:
    """The JSON error body OpenAI sends with an error status."""
    kind = "server_error" if reply.status >= 500 else "invalid_request_error"
    code = _CODES.get(reply.status, "server_error" if reply.status >= 500 else None)
    return {"error": {"message": reply.error, "type": kind, "param": None, "code": code}}


@dataclass(frozen=True, slots=True)
class Frame:
    """One SSE frame of a streamed reply."""

    data: bytes
    """The frame's bytes, ready to send."""
    delta: bool
    """Whether it carries a delta (paced and counted for ``cut_after``)."""


def _sse(payload: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + orjson.dumps(payload) + b"\n\n"


class Encoder:
    """Encodes replies for one server; ids are unique per server."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def _call_ids(self, reply: Reply) -> list[str]:
        return [call.id or self._id("call") for call in reply.tool_calls]

    # -- chat completions ------------------------------------------------------------
    def chat_completion(self, reply: Reply, model: str) -> dict[str, Any]:
        """A whole (non-streamed) ``chat.completion``."""
        message: dict[str, Any] = {"role": "assistant", "content": reply.full_text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": "".join(call.arguments)},
                }
                for call, call_id in zip(reply.tool_calls, self._call_ids(reply), strict=True)
            ]
        return {
            "id": self._id("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(reply)}],
            "usage": _chat_usage(reply),
        }

    def chat_stream(self, reply: Reply, model: str, include_usage: bool) -> Iterator[Frame]:
        """``chat.completion.chunk`` frames, then ``[DONE]``."""
        base = {
            "id": self._id("chatcmpl"),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return _sse(base | {"choices": [choice]})

        yield Frame(chunk({"role": "assistant", "content": ""}), False)
        for text in reply.text:
            yield Frame(chunk({"content": text}), True)
        for index, (call, call_id) in enumerate(
            zip(reply.tool_calls, self._call_ids(reply), strict=True)
        ):
            for n, fragment in enumerate(call.arguments):
                entry: dict[str, Any] = {"index": index, "function": {"arguments": fragment}}
                if n == 0:
                    entry |= {"id": call_id, "type": "function"}
                    entry["function"]["name"] = call.name
                yield Frame(chunk({"tool_calls": [entry]}), True)
        yield Frame(chunk({}, _finish(reply)), False)
        if include_usage:
            yield Frame(_sse(base | {"choices": [], "usage": _chat_usage(reply)}), False)
        yield Frame(b"data: [DONE]\n\n", False)

    def chat_stream_error(self, reply: Reply) -> bytes:
        """The chunk reporting an error inside a chat-completions stream."""
        return _sse(error_body(reply))

    # -- Responses API ---------------------------------------------------------------
    def response(self, reply: Reply, model: str) -> dict[str, Any]:
        """A whole (non-streamed) Responses API ``response``."""
        items = [item for _, item in self._output_items(reply)]
        return _response(self._id("resp"), model, "completed", items, reply)

    def responses_stream(self, reply: Reply, model: str) -> Iterator[Frame]:
        """Responses API events, from ``response.created`` to ``response.completed``."""
        seq = itertools.count()
        response_id = self._id("resp")

        def event(kind: str, **fields: Any) -> bytes:
            return _sse({"type": kind, "sequence_number": next(seq), **fields}, kind)

        opening = _response(response_id, model, "in_progress", [], None)
        yield Frame(event("response.created", response=opening), False)
        yield Frame(event("response.in_progress", response=opening), False)
        done: list[dict[str, Any]] = []
        for index, (fragments, item) in enumerate(self._output_items(reply)):
            at = {"output_index": index}
            if item["type"] == "message":
                started = item | {"status": "in_progress", "content": []}
                yield Frame(event("response.output_item.added", item=started, **at), False)
                part = {"type": "output_text", "text": "", "annotations": []}
                where = {"item_id": item["id"], "content_index": 0, **at}
                yield Frame(event("response.content_part.added", part=part, **where), False)
                for text in fragments:
                    kind = "response.output_text.delta"
                    yield Frame(event(kind, delta=text, logprobs=[], **where), True)
                full = item["content"][0]
                yield Frame(
                    event("response.output_text.done", text=full["text"], logprobs=[], **where),
                    False,
                )
                yield Frame(event("response.content_part.done", part=full, **where), False)
            else:
                started = item | {"status": "in_progress", "arguments": ""}
                yield Frame(event("response.output_item.added", item=started, **at), False)
                where = {"item_id": item["id"], **at}
                for fragment in fragments:
                    kind = "response.function_call_arguments.delta"
                    yield Frame(event(kind, delta=fragment, **where), True)
                kind = "response.function_call_arguments.done"
                args = item["arguments"]
                yield Frame(event(kind, arguments=args, name=item["name"], **where), False)
            yield Frame(event("response.output_item.done", item=item, **at), False)
            done.append(item)
        closing = _response(response_id, model, "completed", done, reply)
        yield Frame(event("response.completed", response=closing), False)

    def responses_stream_error(self, reply: Reply, model: str) -> bytes:
        """The ``response.failed`` event ending a Responses stream with an error."""
        failed = _response(self._id("resp"), model, "failed", [], reply)
        failed["error"] = {"code": error_body(reply)["error"]["code"], "message": reply.error}
        return _sse(
            {"type": "response.failed", "sequence_number": 10**6, "response": failed},
            "response.failed",
        )

    def _output_items(self, reply: Reply) -> list[tuple[Sequence[str], dict[str, Any]]]:
        """Each output item with the fragments it streams in: the message, then calls."""
        items: list[tuple[Sequence[str], dict[str, Any]]] = []
        if reply.text:
            content = {"type": "output_text", "text": reply.full_text, "annotations": []}
            message = {
                "id": self._id("msg"),
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [content],
            }
            items.append((reply.text, message))
        for call, call_id in zip(reply.tool_calls, self._call_ids(reply), strict=True):
            item = {
                "id": self._id("fc"),
                "type": "function_call",
                "status": "completed",
                "call_id": call_id,
                "name": call.name,
                "arguments": "".join(call.arguments),
            }
            items.append((call.arguments, item))
        return items


def _finish(reply: Reply) -> str:
    return "tool_calls" if reply.tool_calls else "stop"


def _chat_usage(reply: Reply) -> dict[str, int]:
    prompt, completion = reply.usage()
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _response(
    response_id: str, model: str, status: str, output: list[dict[str, Any]], reply: Reply | None
) -> dict[str, Any]:
    usage = None
    if reply is not None:
        prompt, completion = reply.usage()
        usage = {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "truncation": "disabled",
        "background": False,
        "store": False,
    }
