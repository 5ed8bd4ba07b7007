"""The docs site's OpenAPI hook renders every operation, the v0 streams included."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

DOCS = Path(__file__).parents[2] / "docs"


def hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("openapi_hook", DOCS / "hooks" / "openapi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_renders_the_three_v0_streams_with_their_parameters() -> None:
    openapi = hook()
    page = openapi.render(openapi.schema())
    for family in ("workflows", "agents", "tasks"):
        heading = f"### `GET /api/v0/executions/{family}/{{exec_id}}/stream`"
        assert heading in page
        section = page.split(heading, 1)[1].split("\n### ", 1)[0]
        assert "| 200 | `text/event-stream` [V0StreamEvent](#v0streamevent) |" in section
        assert (
            "| `poll_ms` | query | integer (minimum 250, maximum 2000) \\| null | no |" in section
        )
        assert "| `events` | query |" in section and "| `Last-Event-ID` | header |" in section
        assert "```text\nid: " in section  # the example stream
    assert "### StartAccepted" in page and "### ExecutionStatus" in page


def test_every_page_under_docs_is_in_the_nav() -> None:
    nav = (DOCS.parent / "mkdocs.yml").read_text()
    pages = {
        p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if "node_modules" not in p.parts
    }
    assert {p for p in pages if f": {p}" not in nav} == set()
