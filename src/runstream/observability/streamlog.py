"""One structured log line when a stream opens and one when it ends, and the stream metrics.

Lines go to the ``runstream.streams`` logger with their fields in ``record.fields``;
``JsonLines`` writes them as one JSON object per line (``runstream serve`` uses it when
stderr is not a terminal), ``Readable`` as ``message key=value …``. No secret is ever a
field: keys and stream tokens never reach this module.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from runstream.observability import metrics

log = logging.getLogger("runstream.streams")

REASONS = {
    "complete": "complete",
    "client disconnected": "client_gone",
    "idle timeout": "idle",
    "maximum connection time": "max_duration",
    "client not reading": "slow_client",
    "server shutting down": "shutdown",
}
"""Metric label of each way a stream can end (keyed by ``Ending.value``)."""


@dataclass(slots=True)
class StreamStats:
    """One open stream: who it is for and what it has sent."""

    family: str
    """API family: ``native``, ``v0``, ``runs``."""
    org: str
    execution_id: str
    resume_id: str | None = None
    """The ``Last-Event-ID`` it resumed after, if any."""
    last_id: str | None = None
    """The id of the last frame sent."""
    frames: int = 0
    bytes: int = 0
    started: float = field(default_factory=time.monotonic)

    def opened(self) -> None:
        metrics.STREAMS_OPEN.labels(self.family, self.org).inc()
        metrics.STREAMS_OPENED.labels(self.family).inc()
        if self.resume_id is not None:
            metrics.STREAM_RECONNECTS.labels(self.family).inc()
        log.info("stream open", extra={"fields": self._fields()})

    def sent(self, frames: int, size: int, last_id: str | None) -> None:
        self.frames += frames
        self.bytes += size
        if last_id is not None:
            self.last_id = last_id

    def closed(self, ending: str) -> None:
        reason = REASONS.get(ending, ending)
        duration = time.monotonic() - self.started
        metrics.STREAMS_OPEN.labels(self.family, self.org).dec()
        metrics.STREAM_DURATION.labels(self.family).observe(duration)
        metrics.STREAM_ENDINGS.labels(self.family, reason).inc()
        metrics.STREAM_FRAMES.labels(self.family).inc(self.frames)
        metrics.STREAM_BYTES.labels(self.family).inc(self.bytes)
        fields = self._fields()
        fields.update(
            last_id=self.last_id,
            frames=self.frames,
            bytes=self.bytes,
            duration_s=round(duration, 3),
            reason=reason,
        )
        log.info("stream closed", extra={"fields": fields})

    def _fields(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "org": self.org,
            "execution_id": self.execution_id,
            "resume_id": self.resume_id,
        }


class JsonLines(logging.Formatter):
    """One JSON object per record: ``ts``, ``level``, ``logger``, ``message`` and fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class Readable(logging.Formatter):
    """``LEVEL logger: message key=value …`` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        pairs = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()}"
        return f"{line} {pairs}" if pairs else line


def configure(level: str = "info") -> None:
    """Send runstream's own logs to stderr: JSON lines unless stderr is a terminal."""
    logger = logging.getLogger("runstream")
    if any(getattr(h, "_runstream", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Readable() if sys.stderr.isatty() else JsonLines())
    handler._runstream = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
