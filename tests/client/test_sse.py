"""The incremental SSE parser, against hand-written bodies and the server's own framing."""

from __future__ import annotations

import pytest

from runstream.client.sse import ServerSentEvent, SSEParser
from runstream.streaming.wire.sse import comment, frame


def parse(*chunks: bytes) -> tuple[list[ServerSentEvent], SSEParser]:
    parser = SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events, parser


def test_fields_comments_and_defaults() -> None:
    body = (
        b": hello\n"
        b"retry: 2500\n\n"
        b"id: 1\nevent: token\ndata: Hi\n\n"
        b"data:no space\ndata:  two spaces\n\n"
        b"id: 7\ndata\n\n"
    )
    events, parser = parse(body)
    assert events == [
        ServerSentEvent("token", "Hi", "1"),
        ServerSentEvent("message", "no space\n two spaces", "1"),
        ServerSentEvent("message", "", "7"),
    ]
    assert parser.retry == 2500
    assert parser.last_event_id == "7"


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_line_endings(end: bytes) -> None:
    body = b"id: 3" + end + b"data: a" + end + b"data: b" + end + end
    events, _ = parse(body)
    assert events == [ServerSentEvent("message", "a\nb", "3")]


def test_every_split_of_the_body_gives_the_same_events() -> None:
    body = (
        "\ufeffid: 1\r\nevent: token\r\ndata: h\u00e9 \u2603\r\n\r\n"
        ": keep-alive\r\r"
        'id: 2\revent: data\rdata: {"a": 1}\rdata: x\r\r'
    ).encode()
    whole, _ = parse(body)
    assert [e.id for e in whole] == ["1", "2"]
    assert whole[0].data == "h\u00e9 \u2603"
    assert whole[1].data == '{"a": 1}\nx'
    for cut in range(len(body) + 1):
        assert parse(body[:cut], body[cut:])[0] == whole, cut
    assert parse(*(body[i : i + 1] for i in range(len(body))))[0] == whole


def test_a_block_with_only_an_id_moves_the_resume_point() -> None:
    events, parser = parse(b"id: 4\nevent: token\ndata: x\n\n: keep-alive\nid: 9\n\n")
    assert [e.id for e in events] == ["4"]
    assert parser.last_event_id == "9"


def test_ignored_values() -> None:
    events, parser = parse(b"retry: 1s\nid: a\0b\nunknown: field\ndata: z\n\n")
    assert parser.retry is None
    assert parser.last_event_id == ""
    # Unknown fields change nothing an EventSource sees; they are kept aside (task, attempt).
    assert events == [ServerSentEvent("message", "z", "", {"unknown": "field"})]
    events, _ = parse(b"task: t1\nattempt: 2\ndata: a\n\ndata: b\n\n")
    assert [e.fields for e in events] == [{"task": "t1", "attempt": "2"}, {}]


def test_the_byte_order_mark_is_stripped_only_at_the_start() -> None:
    events, _ = parse(b"\xef\xbb\xbfdata: a\n\n", "data: \ufeffb\n\n".encode())
    assert [e.data for e in events] == ["a", "\ufeffb"]


def test_an_unterminated_block_is_not_dispatched() -> None:
    events, _ = parse(b"id: 1\ndata: complete\n\nid: 2\ndata: cut off\n")
    assert [e.data for e in events] == ["complete"]


@pytest.mark.parametrize(
    "data",
    ["plain", "", "multi\nline\r\nwith\rall endings", "  leading spaces", "\u00e9\u2603\U0001f600"],
)
def test_round_trip_with_the_server_framing(data: str) -> None:
    body = comment("keep-alive") + frame(id="12", event="token", data=data) + frame(retry=3000)
    events, parser = parse(body)
    expected = data.replace("\r\n", "\n").replace("\r", "\n")
    assert events == [ServerSentEvent("token", expected, "12")]
    assert parser.retry == 3000
