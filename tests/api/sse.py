"""A hand-rolled HTTP/1.1 SSE client: exact bytes, no buffering, abrupt resets, no reading."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class Block:
    """One SSE block as sent, and its fields as ``EventSource`` would parse them."""

    raw: bytes
    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)


def parse_block(raw: bytes) -> Block:
    """Parse one block (WHATWG field rules; the server only uses ``\\n`` line ends)."""
    block = Block(raw)
    data: list[str] = []
    for line in raw.decode().split("\n"):
        if not line:
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            block.comments.append(value)
        elif name == "data":
            data.append(value)
        elif name == "id":
            block.id = value
        elif name == "event":
            block.event = value
        elif name == "retry":
            block.retry = int(value)
    if data:
        block.data = "\n".join(data)
    return block


class RawStream:
    """One GET on its own socket; the body is decoded from chunked encoding as it arrives."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.status = 0
        self.headers: dict[str, str] = {}
        self._body = bytearray()
        self._eof = False

    @classmethod
    async def open(
        cls,
        port: int,
        path: str,
        headers: dict[str, str] | None = None,
        *,
        receive_buffer: int | None = None,
    ) -> RawStream:
        """Connect, send the request and read the status line and headers.

        ``receive_buffer`` shrinks the socket's receive buffer (for clients that stop reading).
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        limit = receive_buffer or 2**16
        reader, writer = await asyncio.open_connection(sock=sock, limit=limit)
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        stream = cls(reader, writer)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        stream.status = int(status_line.split()[1])
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                stream.headers[name.strip().lower()] = value.strip()
        return stream

    async def body(self, timeout: float = 5.0) -> bytes:
        """The whole body (waits for its end)."""
        async with asyncio.timeout(timeout):
            while await self._more():
                pass
        return bytes(self._body)

    async def block(self, timeout: float = 5.0) -> Block | None:
        """The next complete SSE block, or None when the body ended."""
        async with asyncio.timeout(timeout):
            while (end := self._body.find(b"\n\n")) < 0:
                if not await self._more():
                    return None
        raw = bytes(self._body[: end + 2])
        del self._body[: end + 2]
        return parse_block(raw)

    async def blocks(self, timeout: float = 5.0) -> list[Block]:
        """Every block until the body ends."""
        found = []
        while (block := await self.block(timeout)) is not None:
            found.append(block)
        return found

    async def _more(self) -> bool:
        if self._eof:
            return False
        if self.headers.get("transfer-encoding") != "chunked":
            length = int(self.headers.get("content-length", "0"))
            self._body += await self._reader.readexactly(length)
            self._eof = True
            return length > 0
        size = int((await self._reader.readuntil(b"\r\n")).strip(), 16)
        chunk = await self._reader.readexactly(size + 2)
        if size == 0:
            self._eof = True
            return False
        self._body += chunk[:-2]
        return True

    def reset(self) -> None:
        """Drop the connection with a TCP RST, as a crashed client would."""
        sock = self._writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._writer.transport.abort()

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()


@contextlib.asynccontextmanager
async def connect(
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    receive_buffer: int | None = None,
) -> AsyncIterator[RawStream]:
    """``RawStream.open`` for the duration of a block."""
    stream = await RawStream.open(port, path, headers, receive_buffer=receive_buffer)
    try:
        yield stream
    finally:
        await stream.close()
