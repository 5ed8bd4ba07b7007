"""Serving streams: live fan-out of committed events (hub, consolidated), the SSE response
and the wire formats that turn stored events into bytes, one module per API family."""
