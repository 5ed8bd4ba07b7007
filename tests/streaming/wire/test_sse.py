from __future__ import annotations

import pytest

from runstream.streaming.wire.sse import comment, frame, id_line


def test_full_frame_field_order() -> None:
    assert frame(comment="c", retry=1500, id="7", event="token", data="hi") == (
        b": c\nretry: 1500\nid: 7\nevent: token\ndata: hi\n\n"
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("a\nb", b"data: a\ndata: b\n\n"),
        ("a\r\nb", b"data: a\ndata: b\n\n"),
        ("a\rb", b"data: a\ndata: b\n\n"),
        ("a\n\r\nb\r", b"data: a\ndata: \ndata: b\ndata: \n\n"),
        ("", b"data: \n\n"),
        (" lead", b"data:  lead\n\n"),
        ("h\u00e9 \u2603", "data: h\u00e9 \u2603\n\n".encode()),
        (b'{"a":1}', b'data: {"a":1}\n\n'),
        (b"x\ny", b"data: x\ndata: y\n\n"),
    ],
)
def test_data_lines(data: str | bytes, expected: bytes) -> None:
    assert frame(data=data) == expected


def test_no_data_sends_no_data_line() -> None:
    assert frame(id="1") == b"id: 1\n\n"


def test_multi_line_comment() -> None:
    assert comment("keep-alive") == b": keep-alive\n\n"
    assert comment("a\nb") == b": a\n: b\n\n"


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\0b", "\n"])
def test_id_and_event_reject_line_breaks_and_nul(bad: str) -> None:
    with pytest.raises(ValueError, match="SSE id"):
        frame(id=bad)
    with pytest.raises(ValueError, match="SSE event"):
        frame(event=bad)
    with pytest.raises(ValueError, match="SSE id"):
        id_line(bad)


def test_id_line_prefixes_a_block() -> None:
    assert id_line("0:3,0.1:2") + frame(event="e", data="d") == frame(
        id="0:3,0.1:2", event="e", data="d"
    )


def test_negative_retry_is_rejected() -> None:
    with pytest.raises(ValueError, match="retry"):
        frame(retry=-1)
