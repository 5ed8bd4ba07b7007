"""Serving streams: the wire formats that turn stored events into SSE bytes."""
