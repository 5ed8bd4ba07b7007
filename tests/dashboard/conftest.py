"""A ``runstream serve`` subprocess for the dashboard, and headless Chromium to look at it.

Chromium is Debian's ``/usr/bin/chromium`` (``make test`` installs it when missing), driven
by Playwright; Playwright's own browser download is never used.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.cli.conftest import command, environment, free_port, stop, wait_listening

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
"""Screenshots land here (git-ignored)."""


@dataclass
class Served:
    """A ``runstream serve APP`` subprocess that can be stopped and started again."""

    app: str
    port: int
    store: Path
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            command("serve", self.app, "--port", str(self.port), "--log-level", "warning"),
            env=environment(RUNSTREAM_STORE=f"sqlite:///{self.store}"),
            cwd=Path(__file__).parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        wait_listening(self.port, self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The demo app (``showcase``: tokens, a retry, a timer, a promise, a child, a message)."""
    server = Served("runstream.demo.app:app", free_port(), tmp_path / "runstream.db")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stories(tmp_path: Path) -> Iterator[Served]:
    """The test app of tests/dashboard/stories.py (a workflow to retry, among others)."""
    server = Served("stories:app", free_port(), tmp_path / "runstream.db")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API runs an event loop in this thread while it is
    # open, which the async tests that follow must not find there.
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Console:
    """What the page logged: errors fail a test unless it expects them."""

    errors: list[str] = field(default_factory=list)

    def record(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Console]]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    console = Console()
    opened.on("console", console.record)
    opened.on("pageerror", lambda error: console.errors.append(f"uncaught: {error}"))
    try:
        yield opened, console
    finally:
        context.close()
