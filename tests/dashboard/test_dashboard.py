"""The dashboard in headless Chromium against a real ``runstream serve`` of the demo app."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from .conftest import ARTIFACTS, Console, Served

SECONDS = 1000


def api(served: Served, method: str, path: str, body: Any = None) -> Any:
    """Call the native API (sync httpx: Playwright's sync API owns this thread's loop)."""
    url = f"{served.url}/api/orgs/default/workflow-executions{path}"
    reply = httpx.request(method, url, json=body, timeout=10)
    reply.raise_for_status()
    return reply.json()


def test_start_watch_resolve_and_finish_showcase(
    served: Served, page: tuple[Page, Console]
) -> None:
    browser, console = page
    browser.goto(served.url + "/")
    expect(browser.locator("form.start select")).to_contain_text("showcase")
    browser.select_option("form.start select", "workflow:showcase")
    browser.fill("form.start textarea", '{"topic": "browsers"}')
    browser.click("form.start button")
    expect(browser).to_have_url(re.compile(r"#/wf/[0-9a-f-]{36}$"))
    execution_id = browser.url.rsplit("/", 1)[1]
    view = browser.locator(f'.execution[data-id="{execution_id}"]')
    expect(view.locator(".title-kind")).to_have_text("showcase")

    # Tokens appear while the drafting task runs, and keep coming.
    draft = view.locator(".tree > .body > .tasks > .task").filter(has_text="write_draft")
    text = draft.locator(".stream-text")
    expect(text).to_contain_text("Durable", timeout=15 * SECONDS)
    first = len(text.text_content() or "")
    expect(draft).to_have_attribute("data-status", "RUNNING")
    browser.wait_for_function(
        "([el, n]) => el.textContent.length > n", arg=[text.element_handle(), first]
    )

    # The task tree completes: the flaky task shows its failed first attempt.
    tasks = view.locator(".tree > .body > .tasks > .task")
    expect(tasks).to_have_count(3, timeout=15 * SECONDS)
    for index in range(3):
        expect(tasks.nth(index)).to_have_attribute("data-status", "COMPLETED", timeout=15 * SECONDS)
    quotes = tasks.filter(has_text="fetch_quotes")
    expect(quotes.locator(".attempts")).to_contain_text("attempt 1 FAILED quotes API unavailable")
    expect(quotes.locator(".attempt")).to_have_text("attempt 2 of 4")
    expect(text).to_contain_text("resume it with Last-Event-ID.")

    # The approval promise has its own Resolve button; no name to type.
    approval = view.locator('.promise[data-promise="approval"]')
    expect(approval).to_be_visible(timeout=15 * SECONDS)
    expect(view.locator(".execution-head .pill")).to_have_text("WAITING")
    approval.locator("input.value").fill('{"by": "the browser test"}')
    approval.get_by_role("button", name="Resolve").click()
    expect(approval).to_have_count(0)
    expect(view.locator(".settled")).to_contain_text(
        'approval RESOLVED {\n  "by": "the browser test"\n}'
    )

    # The child workflow streams its summary; then the workflow waits for feedback.
    child = view.locator(".child").filter(has_text="summarize")
    expect(child.locator(".task .stream-text")).to_contain_text("Summary:", timeout=15 * SECONDS)
    expect(view.locator(".phase")).to_have_text("phase: awaiting feedback", timeout=15 * SECONDS)
    view.locator("form.message textarea").fill("Looks good")
    view.locator("form.message button").click()

    expect(view.locator(".execution-head .pill")).to_have_text("COMPLETED", timeout=15 * SECONDS)
    expect(child.locator(".child-head .pill")).to_have_text("COMPLETED")
    expect(view.locator(".facts")).to_contain_text('"feedback": "Looks good"')
    expect(view.locator(".connection")).to_have_text("ended")
    timeline = view.locator(".timeline")
    expect(timeline).to_contain_text("PROMISE_RESOLVED")
    expect(timeline.locator("li").last).to_contain_text("WORKFLOW_COMPLETED")

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard-showcase.png"
    browser.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")

    # Back on the list, the row shows the status as a word and the id's distinct end.
    browser.click("a.back")
    row = browser.locator(f'tr[data-id="{execution_id}"]')
    expect(row).to_contain_text("COMPLETED")
    expect(row).to_contain_text("showcase")
    expect(row.locator(".id-tail")).to_have_text(execution_id[-12:])
    assert console.errors == []


def test_the_list_shows_new_executions_and_status_changes_live(
    served: Served, page: tuple[Page, Console]
) -> None:
    browser, console = page
    browser.goto(served.url + "/")
    expect(browser.locator(".executions")).to_be_visible()
    started = api(served, "POST", "", {"kind": "review", "input": "a draft"})["id"]
    row = browser.locator(f'tr[data-id="{started}"]')
    expect(row).to_contain_text("WAITING", timeout=5 * SECONDS)
    expect(row).to_contain_text("review")

    api(served, "POST", f"/{started}/promises/approval/resolve", {"value": True})
    api(served, "POST", f"/{started}/messages", {"message": "fine"})
    expect(row).to_contain_text("COMPLETED", timeout=5 * SECONDS)

    row.click()
    expect(browser.locator(".execution-head .pill")).to_have_text("COMPLETED")
    expect(browser.locator(".settled")).to_contain_text("approval RESOLVED true")
    assert console.errors == []


def test_an_open_view_survives_the_server_going_away(
    served: Served, page: tuple[Page, Console]
) -> None:
    browser, console = page
    started = api(served, "POST", "", {"kind": "review", "input": "a draft"})["id"]
    browser.goto(f"{served.url}/#/wf/{started}")
    connection = browser.locator(".connection")
    expect(connection).to_have_text("live")
    expect(browser.locator('.promise[data-promise="approval"]')).to_be_visible()

    served.stop()
    expect(connection).to_have_text("reconnecting…", timeout=5 * SECONDS)
    browser.wait_for_timeout(2 * SECONDS)
    served.start()
    expect(connection).to_have_text("live", timeout=10 * SECONDS)

    browser.get_by_role("button", name="Resolve").click()
    expect(browser.locator(".settled")).to_contain_text("approval RESOLVED true")
    browser.locator("form.message textarea").fill('{"score": 5}')
    browser.locator("form.message button").click()
    expect(browser.locator(".execution-head .pill")).to_have_text("COMPLETED", timeout=10 * SECONDS)
    events = [t for t in browser.locator(".timeline .event").all_text_contents()]
    assert events.count("WORKFLOW_CREATED") == 1, "resumed, not replayed twice"
    # While the server was down, the browser logged the refused connections; nothing else.
    assert [e for e in console.errors if "ERR_CONNECTION_REFUSED" not in e] == []


def test_a_token_from_the_page_url_goes_with_every_request(
    served: Served, page: tuple[Page, Console]
) -> None:
    browser, _ = page
    started = api(served, "POST", "", {"kind": "write", "input": "tokens"})["id"]
    seen: list[tuple[str, str | None]] = []
    browser.on("request", lambda r: seen.append((r.url, r.headers.get("authorization"))))
    browser.goto(f"{served.url}/?token=tok123#/wf/{started}")
    expect(browser.locator(".execution-head .pill")).to_have_text("COMPLETED", timeout=15 * SECONDS)
    streams = [url for url, _ in seen if "/api/" in url and "/stream" in url]
    calls = [auth for url, auth in seen if url.endswith(started)]
    assert streams and all("token=tok123" in url for url in streams)
    assert calls == ["Bearer tok123"]


def test_a_failed_workflow_is_retried_from_its_view(
    stories: Served, page: tuple[Page, Console]
) -> None:
    browser, console = page
    started = api(stories, "POST", "", {"kind": "fragile"})["id"]
    browser.goto(f"{stories.url}/#/wf/{started}")
    head = browser.locator(".execution-head")
    expect(head.locator(".pill")).to_have_text("FAILED")
    expect(browser.locator(".facts")).to_contain_text("needs a fix")
    head.get_by_role("button", name="Retry").click()
    expect(head.locator(".pill")).to_have_text("COMPLETED", timeout=10 * SECONDS)
    expect(head.get_by_role("button", name="Retry")).to_be_hidden()
    task = browser.locator(".task").filter(has_text="fragile_step")
    expect(task.locator(".stream-text")).to_have_text("fixed")
    expect(task.locator(".attempts")).to_contain_text("attempt 1 FAILED needs a fix")
    expect(browser.locator(".timeline")).to_contain_text("RETRY_REQUESTED")
    assert console.errors == []
