"""What ``runstream serve`` serves for the dashboard: the page, every module it imports
(all from this server, nothing from elsewhere), and the kinds the Start form offers."""

from __future__ import annotations

import re

import httpx

from runstream.api.dashboard import STATIC

from .conftest import Served

_IMPORT = re.compile(
    r"""(?:import|export)[^'"]*?from\s+["'](\.[^"']+)["']|import\s+["'](\.[^"']+)["']"""
)


def test_the_page_and_all_its_modules_are_served_from_here(served: Served) -> None:
    page = httpx.get(served.url + "/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assets = re.findall(r'(?:href|src)="([^"]+)"', page.text)
    assert "dashboard/app.js" in assets
    todo, seen = [a for a in assets if not a.startswith("#")], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        reply = httpx.get(f"{served.url}/{path}")
        assert reply.status_code == 200, path
        assert "://" not in reply.text.replace("http://www.w3.org/2000/svg", ""), path
        if path.endswith(".js"):
            assert reply.headers["content-type"].startswith("text/javascript"), path
            base = path.rsplit("/", 1)[0]
            for match in _IMPORT.finditer(reply.text):
                relative = match.group(1) or match.group(2)
                todo.append(_join(base, relative))
    on_disk = {f"dashboard/{p.relative_to(STATIC)}" for p in STATIC.rglob("*") if p.is_file()}
    seen.add("dashboard/index.html")  # served at /
    assert seen == on_disk, "every shipped file is used, and every used file is shipped"


def _join(base: str, relative: str) -> str:
    parts = base.split("/")
    for piece in relative.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def test_kinds_lists_the_apps_workflows_and_tasks(served: Served) -> None:
    reply = httpx.get(served.url + "/api/orgs/default/kinds")
    assert reply.status_code == 200
    kinds = reply.json()
    workflows = {k["name"]: k["description"] for k in kinds["workflows"]}
    assert set(workflows) == {"showcase", "summarize", "write", "review"}
    assert workflows["showcase"] == "The demo workflow; ``request`` may hold a ``topic``."
    assert "fetch_quotes" in {k["name"] for k in kinds["tasks"]}
