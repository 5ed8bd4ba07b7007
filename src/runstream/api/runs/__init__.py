"""The runs API (seed 001, SPEC §7.3): Claude Code runs over JSON, SSE and a WebSocket."""

from __future__ import annotations

from fastapi import APIRouter

from runstream.api.runs import control, socket, stream

router = APIRouter()
router.include_router(control.router)
router.include_router(stream.router)
router.include_router(socket.router)

__all__ = ["router"]
