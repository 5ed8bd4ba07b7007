"""The live dashboard: a no-build ES-module page that ``runstream serve`` shows at ``/``.

Its files live in ``static/``: hand-written modules for the page and, under ``static/lib/``,
the TypeScript client (``clients/typescript/src``) compiled to JavaScript and committed, so
neither installing nor serving runstream needs Node.js. Everything is served from here;
the page loads nothing from elsewhere.
"""

from __future__ import annotations

from runstream.api.dashboard.routes import STATIC, install

__all__ = ["STATIC", "install"]
