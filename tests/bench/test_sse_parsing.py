"""The benchmark's raw SSE client decodes chunked bodies and frames however bytes arrive."""

from __future__ import annotations

import random

from bench.sse import Dechunker, Frame, SseParser


def _chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


BODY = [
    b"retry: 3000\n\n",
    b'id: 1\nevent: data\ndata: {"ts":1.5,"i":0}\n\n',
    b": keep-alive\n\n",
    b"id: 2\nevent: token\ndata: line one\ndata: line two\n\n"
    b"id: 3\nevent: token\ndata: 7:1.25 \n\n",
    b"id: 4\n\n",
    b": idle timeout\nretry: 3000\n\n",
]
EXPECTED = [
    Frame("1", "data", '{"ts":1.5,"i":0}'),
    Frame("2", "token", "line one\nline two"),
    Frame("3", "token", "7:1.25 "),
]


def test_any_split_gives_the_same_frames() -> None:
    wire = _chunked(BODY)
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(wire)), rng.randint(0, 20)))
        pieces = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
        dechunker, parser = Dechunker(), SseParser()
        frames: list[Frame] = []
        for piece in pieces:
            frames += parser.feed(dechunker.feed(piece))
        assert dechunker.finished
        assert frames == EXPECTED
        assert parser.last_id == "4"
        assert parser.comments == 2
