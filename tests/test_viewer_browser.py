"""`sessionkit serve` in a real browser: Chromium (Debian's package) driven by Playwright.

The browser is ``/usr/bin/chromium`` (or ``$SESSIONKIT_CHROMIUM``); Playwright downloads none.
Screenshots go to ``test-output/viewer/``. Deselect with ``-m "not browser"`` where there is no
Chromium; CI installs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

from sessionkit.storage import SQLiteStore
from sessionkit.testing.conformance import conformance_stream
from tests.test_viewer import HOSTILE, hostile_events
from tests.viewing import ROOT, Expected, example_events, record, served, serving

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("SESSIONKIT_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "test-output" / "viewer"
# As a sandboxed root process on a machine without network: no sandbox, no background traffic.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), (
        f"no Chromium at {CHROMIUM}: install Debian's chromium package, set "
        "SESSIONKIT_CHROMIUM, or deselect these tests with -m 'not browser'"
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="module")
def example_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served(tmp_path_factory.mktemp("browser") / "example.db", example_events()) as address:
        yield address


def rows(page: Page) -> list[str]:
    found: list[str] = page.eval_on_selector_all(
        "tr[data-seq]", "rows => rows.map(r => r.dataset.event)"
    )
    return found


def test_show_only_sessions(page: Page, example_url: str) -> None:
    """The list, then "Show only sessions": one row per session, by its first event."""
    expected = Expected(example_events())
    page.goto(example_url + "/")
    assert len(rows(page)) == min(50, len(expected.accepted))
    page.screenshot(path=SHOTS / "list.png")
    page.get_by_label("Show only sessions").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**only_sessions=1**")
    starts = [a.event.id for a in reversed(expected.accepted) if a.started]
    assert rows(page) == starts[:50]
    page.screenshot(path=SHOTS / "only-sessions.png")


def test_the_filters_work_from_the_keyboard(page: Page, example_url: str) -> None:
    """Tab to the checkbox, Space, Enter: the same filter without a mouse."""
    page.goto(example_url + "/")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "only_sessions":
            break
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    page.wait_for_url("**only_sessions=1**")
    assert page.get_by_label("Show only sessions").is_checked()


def test_the_thread_of_ticket_4417(page: Page, example_url: str) -> None:
    """Opened from the list: its tree in depth-first feed order, each node nested as deep as
    its depth, and the way back."""
    expected = Expected(example_events())
    session = next(s for s in expected.sessions if s.id == "ticket-4417")
    page.goto(example_url + "/?only_sessions=1&user=ivan")
    page.get_by_role("link", name="ticket-4417").click()
    page.wait_for_url("**/sessions/ticket-4417**")
    nodes = page.eval_on_selector_all(
        "li.node",
        """nodes => nodes.map(n => [Number(n.dataset.depth), n.dataset.event,
            (function up(e, k) { return e ? up(e.parentElement, k + (e.tagName === 'OL')) : k;
            })(n, 0)])""",
    )
    walked = [[d, n.event.id, d + 1] for root in session.roots for d, n in root.walk()]
    assert nodes == walked
    assert max(depth for depth, _, _ in nodes) >= 2
    page.screenshot(path=SHOTS / "session.png", full_page=True)
    page.get_by_role("link", name="← Back to the list").click()
    page.wait_for_url(lambda url: url.endswith("/?user=ivan&only_sessions=1"))


def test_paging_through_a_larger_store(page: Page, tmp_path: Path) -> None:
    events = conformance_stream(1200, seed=3)
    record(tmp_path / "big.db", events)
    expected = [a.event.id for a in Expected(events).accepted]
    seen: list[str] = []
    with SQLiteStore(tmp_path / "big.db", readonly=True) as store, serving(store) as base:
        page.goto(base + "/?order=oldest")
        while True:
            seen += rows(page)
            following = page.locator("a[rel=next]")
            if following.count() == 0:
                break
            following.click()
            page.wait_for_load_state()
    assert seen == expected


def test_hostile_content_stays_text(page: Page, tmp_path: Path) -> None:
    """Nothing from a log runs: no dialog opens, no script sets a global, no element is made;
    the text shows literally, control characters as escapes."""
    record(tmp_path / "hostile.db", hostile_events())
    dialogs: list[str] = []

    def opened(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", opened)
    with SQLiteStore(tmp_path / "hostile.db", readonly=True) as store, serving(store) as base:
        page.goto(base + "/")
        links = page.eval_on_selector_all(
            "td.session a", "links => links.map(a => a.getAttribute('href'))"
        )
        shown = page.inner_text("main")
        page.screenshot(path=SHOTS / "hostile.png")
        for link in links:
            page.goto(base + link)
            assert page.evaluate("window.pwned") is None
            assert page.locator("main script, main img, main b, main iframe").count() == 0
    assert dialogs == []
    assert HOSTILE[0] in shown  # the script, as text
    assert "\\u202e" in shown and "\u202e" not in shown


def test_a_phone_screen_needs_no_sideways_scrolling(browser: Browser, example_url: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        for path, name in (("/", "phone-list.png"), ("/sessions/ticket-4417", "phone-session.png")):
            page.goto(example_url + path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=SHOTS / name)
    finally:
        context.close()
