"""``WS /api/v1/workflows/{run_id}/ws``: a run's lines out, the user's messages in.

On connect the server sends every line after ``?after=N`` (default: all), then each new
line live, one text frame per line with the text the SSE stream sends. A client text
frame ``{"message": "…"}`` is queued like ``POST …/messages`` and answered with
``{"type":"ack","queue_size":n}``, or ``{"type":"error",…}`` when refused (empty,
not JSON, the run's input has ended). When the run ends the server sends
``{"type":"end",…status}`` and closes with 1000; an unknown run is closed with 4404, a
malformed id or ``after`` with 4400, and one over the stream limits with 1013; a
revoked API key ends it with 1008.

Three tasks serve a connection and the first to finish ends it: the sender (lines, each
send bounded by the send timeout; a client that stops reading is closed with 1008), the
receiver (messages; returns when the client goes away) and the shutdown watcher (1001).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from runstream import Engine
from runstream.api.auth import acting_org
from runstream.api.errors import HttpError
from runstream.api.limits import check_message, open_stream
from runstream.api.runs.lines import load_run, numbered_lines, status_of
from runstream.api.runs.stream import TEXTS
from runstream.config import Settings
from runstream.errors import ExecutionNotFound, InvalidState, TooManyStreams
from runstream.observability.streamlog import StreamStats
from runstream.streaming.registry import Slot
from runstream.streaming.wire.runs import ack, ws_end, ws_error

router = APIRouter(prefix="/api/v1/workflows", tags=["runs"])

NORMAL, GOING_AWAY, POLICY, TRY_AGAIN_LATER = 1000, 1001, 1008, 1013
UNKNOWN_RUN, BAD_PARAMETER = 4404, 4400


@router.websocket("/{run_id}/ws")
async def run_socket(websocket: WebSocket, run_id: str) -> None:
    """Lines out, messages in; see the module's docstring."""
    engine: Engine = websocket.app.state.engine
    settings: Settings = websocket.app.state.settings
    await websocket.accept()
    raw_after = websocket.query_params.get("after", "0")
    if not raw_after.isdigit() or len(raw_after) > 18:
        await websocket.close(BAD_PARAMETER, "after: expected a line number")
        return
    org = acting_org(websocket)
    try:
        snapshot = await load_run(engine, run_id, org)
        slot = open_stream(websocket)
    except HttpError as exc:
        await websocket.close(BAD_PARAMETER, exc.message[:120])
        return
    except ExecutionNotFound:
        await websocket.close(UNKNOWN_RUN, "unknown run")
        return
    except TooManyStreams as exc:
        await websocket.close(TRY_AGAIN_LATER, str(exc)[:120])
        return
    stats = StreamStats("runs", org, snapshot.id, resume_id=raw_after if raw_after != "0" else None)
    stats.opened()
    ending = "client disconnected"
    try:
        ending = await _serve(websocket, engine, settings, slot, stats, snapshot.id, int(raw_after))
    finally:
        slot.release()
        stats.closed(ending)


async def _serve(
    websocket: WebSocket,
    engine: Engine,
    settings: Settings,
    slot: Slot,
    stats: StreamStats,
    run_id: str,
    after: int,
) -> str:
    """Serve the connection; returns how it ended (``Ending`` values, for the stream log)."""
    lock = asyncio.Lock()

    async def send(text: str) -> None:
        # Lines and acks come from two tasks; one frame at a time, each bounded in time.
        async with lock, asyncio.timeout(settings.send_timeout_seconds):
            await websocket.send_text(text)

    sender = asyncio.create_task(
        _send_lines(engine, run_id, after, send, stats), name="runs-ws-lines"
    )
    receiver = asyncio.create_task(
        _receive(websocket, engine, settings, run_id, send), name="runs-ws-in"
    )
    closing = asyncio.create_task(slot.registry.wait_closing(), name="runs-ws-closing")
    revoked = asyncio.create_task(slot.wait_revoked(), name="runs-ws-revoked")
    tasks = (sender, receiver, closing, revoked)
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if receiver in done and sender not in done:
        return "client disconnected"
    if revoked in done and sender not in done:
        code, reason = POLICY, "credential revoked"
    elif closing in done and sender not in done:
        code, reason = GOING_AWAY, "server shutting down"
    elif sender.exception() is None:
        code, reason = NORMAL, "complete"
    elif isinstance(sender.exception(), TimeoutError):
        code, reason = POLICY, "client not reading"
    else:
        return "client disconnected"  # the connection failed while sending
    # A client that stops reading could hold the close frame up too.
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError, TimeoutError):
        async with asyncio.timeout(settings.send_timeout_seconds):
            await websocket.close(code, "run ended" if code == NORMAL else reason)
    return reason


async def _send_lines(
    engine: Engine, run_id: str, after: int, send: Any, stats: StreamStats
) -> None:
    lines = numbered_lines(engine, run_id, after)
    try:
        async for number, event in lines:
            text = TEXTS(event)
            await send(text.decode())
            stats.sent(1, len(text), str(number))
    finally:
        await lines.aclose()
    snapshot = await engine.get(run_id)
    await send(ws_end(await status_of(engine, snapshot)))


async def _receive(
    websocket: WebSocket, engine: Engine, settings: Settings, run_id: str, send: Any
) -> None:
    while True:
        try:
            incoming = await websocket.receive()
        except (RuntimeError, WebSocketDisconnect):
            return
        if incoming["type"] == "websocket.disconnect":
            return
        text = incoming.get("text")
        if text is None and incoming.get("bytes") is not None:
            text = incoming["bytes"].decode(errors="replace")
        reply = await _message(engine, settings, run_id, text or "")
        try:
            await send(reply)
        except (RuntimeError, WebSocketDisconnect, OSError):
            return


async def _message(engine: Engine, settings: Settings, run_id: str, text: str) -> str:
    """The answer to one client frame: an ack once the message is queued, else an error."""
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        return ws_error("invalid_parameter", 'expected a JSON object {"message": "…"}')
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message.strip():
        return ws_error("invalid_parameter", "message: must be a non-empty string")
    try:
        check_message(settings, message)
    except HttpError as exc:
        return ws_error(exc.code, exc.message)
    try:
        queued = await engine.queue_message(run_id, message)
    except InvalidState as exc:
        return ws_error("invalid_state", str(exc))
    except ExecutionNotFound as exc:  # pragma: no cover - the run existed a moment ago
        return ws_error("not_found", str(exc))
    return ack(queued.queue_size)


__all__ = ["router"]
