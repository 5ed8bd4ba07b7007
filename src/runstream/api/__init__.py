"""The HTTP API: the native endpoints (SPEC §7.1) and the server that runs them."""

from runstream.api.app import create_app

__all__ = ["create_app"]
