"""A small keep-alive HTTP/1.1 client on asyncio streams, for the JSON endpoints.

The load generator shares two cores with the server, so it must cost little: no
general-purpose client, just a pool of persistent connections that writes a request
and reads a ``Content-Length`` (or chunked) answer. Connections idle for longer than
uvicorn's keep-alive timeout are not reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import orjson

IDLE_REUSE_S = 3.0
"""Reuse a pooled connection only if it was used this recently (uvicorn closes at 5 s)."""


class HttpError(RuntimeError):
    """An answer with an unexpected status."""

    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:300]!r}")
        self.status = status


class _Connection:
    __slots__ = ("reader", "used_at", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used_at = time.monotonic()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class HttpClient:
    """Requests to one ``host:port``, at most ``size`` at once."""

    def __init__(
        self, host: str, port: int, *, size: int = 64, headers: dict[str, str] | None = None
    ) -> None:
        self.host = host
        self.port = port
        self._headers = headers or {}
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Connection] = []
        self._host_header = f"{host}:{port}".encode()

    async def request(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Send one request; returns the status and the body."""
        async with self._slots:
            conn = await self._connection()
            try:
                status, payload, keep = await self._exchange(
                    conn, method, path, body, self._headers | (headers or {})
                )
            except BaseException:
                conn.close()
                raise
            if keep:
                conn.used_at = time.monotonic()
                self._idle.append(conn)
            else:
                conn.close()
            return status, payload

    async def json(
        self, method: str, path: str, body: Any = None, *, expect: tuple[int, ...] = (200, 201)
    ) -> Any:
        """Send one request and decode its JSON answer; raises ``HttpError`` otherwise."""
        status, payload = await self.request(method, path, body)
        if status not in expect:
            raise HttpError(method, path, status, payload)
        return orjson.loads(payload)

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()

    async def _connection(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if now - conn.used_at < IDLE_REUSE_S and not conn.reader.at_eof():
                return conn
            conn.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return _Connection(reader, writer)

    async def _exchange(
        self,
        conn: _Connection,
        method: str,
        path: str,
        body: Any,
        headers: dict[str, str] | None,
    ) -> tuple[int, bytes, bool]:
        data = b"" if body is None else orjson.dumps(body)
        head = [f"{method} {path} HTTP/1.1".encode(), b"Host: " + self._host_header]
        if body is not None:
            head.append(b"Content-Type: application/json")
        if data or method in ("POST", "PUT", "PATCH"):
            head.append(b"Content-Length: %d" % len(data))
        for name, value in (headers or {}).items():
            head.append(f"{name}: {value}".encode())
        conn.writer.write(b"\r\n".join(head) + b"\r\n\r\n" + data)
        raw = await conn.reader.readuntil(b"\r\n\r\n")
        status, fields = parse_head(raw)
        if fields.get("transfer-encoding", "").lower() == "chunked":
            payload = await _read_chunked(conn.reader)
        else:
            length = int(fields.get("content-length", "0"))
            payload = await conn.reader.readexactly(length) if length else b""
        keep = fields.get("connection", "").lower() != "close"
        return status, payload, keep


def parse_head(raw: bytes) -> tuple[int, dict[str, str]]:
    """The status code and the lower-cased header fields of a response head."""
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"not an HTTP response: {lines[0]!r}")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    return int(parts[1]), fields


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        body += await reader.readexactly(size + 2)
        del body[-2:]
