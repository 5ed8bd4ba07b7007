"""What JSON may be stored: the values orjson writes back exactly as they were given.

The store encodes with orjson, which refuses integers beyond 64 bits and strings with
lone surrogates, and silently writes ``NaN``, ``Infinity`` and overflowing floats as
``null``. ``check`` finds such a value (and says where it is) before it is stored;
``loads`` parses request JSON under the same rules, so what the API accepts is what
the store keeps.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

MIN_INT = -(2**63)
"""The smallest integer orjson stores."""
MAX_INT = 2**64 - 1
"""The largest integer orjson stores."""


class UnstorableValue(ValueError):
    """A value the store cannot keep exactly; ``path`` names it, e.g. ``input.items[2]``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        """Where the value is, dotted keys and ``[index]``; empty for the value itself."""
        self.reason = reason
        """What is wrong with it."""


class _NotJson:
    """A number or constant the parser met that JSON storage cannot hold."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _float(text: str) -> float | _NotJson:
    value = float(text)
    return value if math.isfinite(value) else _NotJson(f"{text} is beyond the range of a float")


def _int(text: str) -> int | _NotJson:
    # Longer than any 64-bit integer: not converted at all (huge ones are slow, or refused).
    if len(text.lstrip("-")) > 20:
        return _NotJson(f"integer of {len(text.lstrip('-'))} digits is beyond 64 bits")
    return int(text)


def _constant(text: str) -> _NotJson:
    return _NotJson(f"{text} is not a JSON number")


def loads(raw: bytes | str) -> Any:
    """Parse request JSON under the storage rules.

    Raises:
        json.JSONDecodeError: The text is not JSON (its ``pos``, ``lineno`` and ``colno``
            say where).
        UnicodeDecodeError: The bytes are not UTF-8.
        UnstorableValue: The JSON holds a value the store cannot keep; ``path`` names it.
    """
    value = json.loads(raw, parse_float=_float, parse_int=_int, parse_constant=_constant)
    check(value)
    return value


def check(value: Any, path: str = "") -> None:
    """Raise ``UnstorableValue`` naming the first part of ``value`` that cannot be stored.

    Args:
        value: Plain JSON data: dicts with string keys, lists, strings, numbers, bools, None.
        path: The name of ``value`` itself, the prefix of every path reported.
    """
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, str):
            _check_text(where, item)
        elif isinstance(item, int):
            if not MIN_INT <= item <= MAX_INT:
                raise UnstorableValue(where, f"integer {_digits(item)} is beyond 64 bits")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise UnstorableValue(where, f"{item} is not a JSON number")
        elif isinstance(item, dict):
            for key, member in reversed(item.items()):
                if not isinstance(key, str):
                    raise UnstorableValue(where, f"object key {key!r} is not a string")
                # A key that is not UTF-8 is named with its escapes, so the path can be sent.
                name = key.encode("utf-8", "backslashreplace").decode()
                inner = f"{where}.{name}" if where else name
                _check_text(inner, key)
                stack.append((inner, member))
        elif isinstance(item, list | tuple):
            stack.extend((f"{where}[{i}]", member) for i, member in reversed(list(enumerate(item))))
        elif isinstance(item, _NotJson):
            raise UnstorableValue(where, item.reason)
        else:
            # Dataclasses, datetimes, UUIDs…: stored as orjson serialises them.
            try:
                orjson.dumps(item)
            except TypeError as exc:
                raise UnstorableValue(where, str(exc)) from None


def _check_text(where: str, text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        raise UnstorableValue(
            where, f"lone surrogate {text[exc.start]!r} at character {exc.start} is not UTF-8"
        ) from None


def _digits(number: int) -> str:
    # str() of a huge int is slow and, past 4300 digits, refused: say how big it is instead.
    return str(number) if number.bit_length() <= 128 else f"of {number.bit_length()} bits"
