"""A raw asyncio SSE client: one ``asyncio.Protocol`` per connection, no HTTP library.

Cheap enough to hold thousands of connections and parse tens of thousands of frames a
second next to the server on a two-core machine. The receive time of a frame is taken
once per ``data_received`` call, before any parsing, so parsing cost does not inflate
the latency it measures. Uvicorn sends streaming bodies with chunked transfer encoding;
``Dechunker`` undoes it, ``SseParser`` splits the payload into blocks.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bench.rawhttp import parse_head


@dataclass(slots=True)
class Frame:
    """One dispatched SSE event."""

    id: str | None
    event: str
    data: str


FrameHandler = Callable[[Frame, float], bool]
"""Called with each frame and its receive time (``time.time()``); False aborts the stream."""


class Dechunker:
    """Incremental decoder of ``Transfer-Encoding: chunked`` bodies."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._need = 0
        self._crlf = False
        self.finished = False
        """True once the last (empty) chunk arrived."""

    def feed(self, data: bytes) -> bytes:
        """The body bytes decoded from ``data`` (and what was left over before)."""
        buffer = self._buffer
        buffer += data
        out = bytearray()
        pos = 0
        while not self.finished:
            if self._need:
                take = min(self._need, len(buffer) - pos)
                out += buffer[pos : pos + take]
                pos += take
                self._need -= take
                if self._need:
                    break
                self._crlf = True
            if self._crlf:
                if len(buffer) - pos < 2:
                    break
                pos += 2
                self._crlf = False
            end = buffer.find(b"\r\n", pos)
            if end < 0:
                break
            size = int(bytes(buffer[pos:end]).split(b";")[0], 16)
            pos = end + 2
            if size == 0:
                self.finished = True
            self._need = size
        del buffer[:pos]
        return bytes(out)


class SseParser:
    """Splits an SSE body into frames, counting comments (heartbeats) on the way."""

    def __init__(self) -> None:
        self._rest = b""
        self.comments = 0
        self.last_id: str | None = None

    def feed(self, data: bytes) -> list[Frame]:
        """Frames completed by ``data``; ``last_id`` follows id-only blocks too."""
        blocks = (self._rest + data).split(b"\n\n")
        self._rest = blocks.pop()
        frames: list[Frame] = []
        for block in blocks:
            event_id: str | None = None
            event = "message"
            data_lines: list[str] = []
            for line in block.decode().split("\n"):
                if line.startswith(":"):
                    self.comments += 1
                    continue
                name, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if name == "data":
                    data_lines.append(value)
                elif name == "id":
                    event_id = value
                elif name == "event":
                    event = value
            if event_id is not None:
                self.last_id = event_id
            if data_lines:
                frames.append(Frame(event_id or self.last_id, event, "\n".join(data_lines)))
        return frames


class SseClient(asyncio.Protocol):
    """One SSE connection: sends a GET, checks the status, hands frames to ``on_frame``.

    ``opened`` resolves with the status code once the response head arrived; ``done``
    resolves with why the stream ended: ``"end"`` (the server finished the response),
    ``"status"`` (not a 200), ``"aborted"`` (``on_frame`` or ``abort`` ended it) or
    ``"lost"`` (the connection dropped).

    With ``record=True`` the body is only stored with its arrival time while the stream
    runs and parsed afterwards (``recorded``): a client process following many streams
    then stamps every connection's bytes within microseconds of their arrival instead of
    after parsing the connections served before it in the same loop turn.
    """

    def __init__(
        self, request: bytes, on_frame: FrameHandler | None = None, *, record: bool = False
    ) -> None:
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[int] = loop.create_future()
        self.done: asyncio.Future[str] = loop.create_future()
        self.frames = 0
        """Frames dispatched so far."""
        self._request = request
        self._on_frame = on_frame
        self._head = b""
        self._dechunker: Dechunker | None = None
        self._parser = SseParser()
        self._transport: asyncio.Transport | None = None
        self._record: list[tuple[float, bytes]] | None = [] if record else None

    @property
    def heartbeats(self) -> int:
        """Comment blocks received (``: keep-alive`` and end-of-stream notes)."""
        return self._parser.comments

    @property
    def last_id(self) -> str | None:
        return self._parser.last_id

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if self.done.done():
            return
        if self._dechunker is None:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            status, fields = parse_head(self._head[: end + 4])
            data, self._head = self._head[end + 4 :], b""
            self.opened.set_result(status)
            if status != 200:
                return self._finish("status")
            if fields.get("transfer-encoding", "").lower() != "chunked":
                self.done.set_exception(RuntimeError("expected a chunked event stream"))
                return self.abort()
            self._dechunker = Dechunker()
        body = self._dechunker.feed(data)
        if self._record is not None:
            self._record.append((now, body))
            if self._dechunker.finished:
                self._finish("end")
            return
        handler = self._on_frame
        for frame in self._parser.feed(body):
            self.frames += 1
            if handler is not None and not handler(frame, now):
                return self.abort()
        if self._dechunker.finished:
            self._finish("end")

    def recorded(self) -> Iterator[tuple[Frame, float]]:
        """With ``record=True``: every frame received and when its last byte arrived."""
        parser = SseParser()
        for received, body in self._record or ():
            for frame in parser.feed(body):
                yield frame, received

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost before a response: {exc}"))
        if not self.done.done():
            self.done.set_result("lost")

    def abort(self) -> None:
        """Drop the connection at once with a TCP reset."""
        if self._transport is not None:
            sock = self._transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._transport.abort()
        self._finish("aborted")

    def close(self) -> None:
        """Close the connection politely."""
        if self._transport is not None:
            self._transport.close()
        self._finish("aborted")

    def _finish(self, why: str) -> None:
        if not self.done.done():
            self.done.set_result(why)
        if why in ("end", "status") and self._transport is not None:
            self._transport.close()


async def connect(
    host: str,
    port: int,
    path: str,
    *,
    last_event_id: str | None = None,
    on_frame: FrameHandler | None = None,
    record: bool = False,
    headers: dict[str, str] | None = None,
) -> SseClient:
    """Open a stream; await ``client.opened`` for the status and ``client.done`` for its end."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Accept: text/event-stream",
        "Cache-Control: no-cache",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if last_event_id is not None:
        lines.append(f"Last-Event-ID: {last_event_id}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: SseClient(request, on_frame, record=record), host, port
    )
    return client
