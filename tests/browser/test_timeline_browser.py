"""The timeline in a real browser: htmx swaps, pushed URLs, Back, keyboard, no errors."""

import contextlib
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

TIMELINE = "/cases/musk-v-openai/timeline/"


def event_rows(page: Page):
    return page.locator("#timeline li.event")


def mark_document(page: Page) -> None:
    """Tag the window: the tag survives htmx swaps but not a full page load."""
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__noReload === true")


def test_filter_by_party_narrows_the_list_without_reload_and_back_restores_it(
    page: Page, demo_server, console_errors
):
    page.goto(demo_server + TIMELINE)
    first_count = event_rows(page).count()
    count_text = page.locator("#result-count").inner_text()
    mark_document(page)

    page.locator("summary", has_text="Parties").click()
    page.get_by_label("Shivon Zilis", exact=True).check()

    expect(page).to_have_url(re.compile(r"party=shivon-zilis"))
    expect(page.locator("#result-count")).not_to_have_text(count_text)
    assert_not_reloaded(page)
    narrowed = event_rows(page).count()
    assert 0 < narrowed < first_count
    assert "Shivon Zilis" in page.locator("#timeline li.event").first.inner_text()

    page.go_back()
    expect(page).to_have_url(re.compile(r"/timeline/$"))
    expect(event_rows(page)).to_have_count(first_count)


def test_filter_by_claim_then_back_and_forward(page: Page, demo_server, console_errors):
    page.goto(demo_server + TIMELINE)
    first_count = event_rows(page).count()
    mark_document(page)

    page.locator("summary", has_text="Claims").click()
    page.get_by_label("Breach of charitable trust (Federal action)", exact=True).check()

    expect(page).to_have_url(re.compile(r"claim=federal-breach-of-charitable-trust"))
    assert_not_reloaded(page)
    titles = page.locator("#timeline .event-title").all_inner_texts()
    assert "Advisory jury: claims time-barred; judge adopts" in titles
    assert len(titles) < first_count

    page.go_back()
    expect(event_rows(page)).to_have_count(first_count)
    page.go_forward()
    expect(page).to_have_url(re.compile(r"claim=federal-breach-of-charitable-trust"))
    expect(event_rows(page)).to_have_count(len(titles))


def test_reloading_a_filtered_url_shows_the_same_list(
    page: Page, demo_server, console_errors
):
    page.goto(demo_server + TIMELINE + "?kind=verdict&kind=ruling")
    rows = event_rows(page).count()
    page.reload()
    expect(event_rows(page)).to_have_count(rows)
    assert page.get_by_label("Verdict").is_checked()


def test_expanding_an_event_shows_its_testimony_in_place(
    page: Page, demo_server, console_errors
):
    page.goto(demo_server + TIMELINE + "?q=distillation+admission")
    mark_document(page)
    row = page.locator("#event-2026-04-30-cross-examination-distillation-admission")

    row.locator("summary", has_text="Details").click()

    card = row.locator(".event-card")
    expect(card).to_contain_text("Partly.")
    expect(card).to_contain_text("William Savitt")
    expect(card.get_by_role("link", name="Permalink to this event")).to_be_visible()
    assert_not_reloaded(page)


def test_clicking_an_overview_bar_narrows_to_that_month(
    page: Page, demo_server, console_errors
):
    page.goto(demo_server + TIMELINE)
    mark_document(page)

    page.locator('a.bar[data-month="2026-05"]').click()

    expect(page).to_have_url(re.compile(r"from=2026-05&to=2026-05"))
    assert_not_reloaded(page)
    expect(page.get_by_label("From")).to_have_value("2026-05")
    dates = page.locator("#timeline .event-date").all_inner_texts()
    assert dates and all("May 2026" in d for d in dates)


def test_switching_to_lanes_keeps_the_other_filters(
    page: Page, demo_server, console_errors
):
    page.goto(demo_server + TIMELINE + "?key=1")
    mark_document(page)

    page.get_by_label("Lanes", exact=True).check()

    expect(page).to_have_url(re.compile(r"key=1.*layout=lanes|layout=lanes.*key=1"))
    expect(page.locator("svg.lanes-svg")).to_be_visible()
    assert_not_reloaded(page)
    assert page.locator("svg.lanes-svg circle").count() == page.evaluate(
        "document.querySelectorAll('svg.lanes-svg circle').length"
    )
    page.get_by_label("One lane per claim").check()
    expect(page.locator("svg.lanes-svg .lane-label").first).to_be_visible()
    expect(page).to_have_url(re.compile(r"lanes=claim"))


def test_load_more_appends_the_next_page(page: Page, demo_server, console_errors):
    page.goto(demo_server + TIMELINE)
    first = event_rows(page).count()
    url = page.url

    page.get_by_role("link", name="Load more events").click()

    expect(event_rows(page)).to_have_count(first + min(25, 67 - first))
    assert page.url == url


def test_filters_work_from_the_keyboard_alone(page: Page, demo_server, console_errors):
    page.goto(demo_server + TIMELINE)
    mark_document(page)

    page.keyboard.press("Tab")  # skip link
    search = page.get_by_label("Search")
    while not search.evaluate("el => el === document.activeElement"):
        page.keyboard.press("Tab")
    page.keyboard.type("Nadella")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"q=Nadella"))
    expect(event_rows(page)).to_have_count(1)
    assert_not_reloaded(page)
    # The swap replaced the form; focus stays in the search box (same id).
    expect(page.get_by_label("Search")).to_be_focused()

    page.keyboard.press("Tab")  # From
    page.keyboard.press("Tab")  # To
    page.keyboard.press("Tab")  # Key events only
    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(r"key=1"))
    expect(page.get_by_label("Key events only")).to_be_focused()


def test_a_filter_changed_while_the_last_change_loads_is_not_lost(
    page: Page, demo_server, console_errors
):
    """A slow answer to one change must not swallow the next: the newest filters
    win, whatever arrives first."""
    page.goto(demo_server + TIMELINE)
    held = []

    def hold_the_search(route):
        if "q=Nadella" in route.request.url and "key=1" not in route.request.url:
            held.append(route)  # answered only at the end, if still wanted
        else:
            route.continue_()

    page.route(re.compile(r"/timeline/\?"), hold_the_search)
    page.get_by_label("Search").fill("Nadella")
    page.get_by_label("Search").press("Enter")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    page.get_by_label("Key events only").check()

    expect(page).to_have_url(re.compile(r"q=Nadella.*key=1|key=1.*q=Nadella"))
    expect(page.get_by_label("Key events only")).to_be_checked()
    assert held, "the search's request never left"
    page.unroute(re.compile(r"/timeline/\?"))
    for route in held:
        # Aborted by the newer request, as it should be: nothing is waiting for it.
        with contextlib.suppress(Exception):
            route.continue_()
    expect(page).to_have_url(re.compile(r"key=1"))


def test_a_swapped_in_form_answers_at_once(page: Page, demo_server, console_errors):
    """The new filter form works as soon as it is on the page, not a settle delay
    later: a change made right after the swap is sent, not lost."""
    page.goto(demo_server + TIMELINE)
    page.evaluate(
        """() => {
            const tick = (event) => {
                if (event.target.id !== "timeline") return;
                document.body.removeEventListener("htmx:afterSwap", tick);
                // After the swap's own work, before any timer.
                Promise.resolve().then(() => {
                    const key = document.getElementById("id_key");
                    key.checked = true;
                    key.dispatchEvent(new Event("change", {bubbles: true}));
                });
            };
            document.body.addEventListener("htmx:afterSwap", tick);
        }"""
    )

    page.locator("summary", has_text="Parties").click()
    page.get_by_label("Shivon Zilis", exact=True).check()

    expect(page).to_have_url(re.compile(r"key=1"))
    expect(page).to_have_url(re.compile(r"party=shivon-zilis"))


def test_invalid_filter_shows_a_message_next_to_the_field(
    page: Page, demo_server, console_errors
):
    page.goto(demo_server + TIMELINE)
    page.get_by_label("From").fill("2024-13")
    page.get_by_label("From").press("Enter")

    expect(page.locator("#id_from_error")).to_have_text(
        "There is no month 13: use 01 to 12."
    )
    expect(page.get_by_label("From")).to_have_attribute("aria-invalid", "true")


def test_works_without_javascript(browser, demo_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(demo_server + TIMELINE)
    page.locator("summary", has_text="Kinds of event").click()
    page.get_by_label("Verdict").check()
    page.get_by_role("button", name="Apply filters").click()

    expect(page).to_have_url(re.compile(r"kind=verdict"))
    expect(page.locator("#timeline li.event")).to_have_count(1)
    context.close()


PAGES = [
    "/",
    "/cases/musk-v-openai/",
    TIMELINE,
    TIMELINE + "?layout=lanes",
    TIMELINE + "?from=2024-13&party=nobody",
    "/cases/musk-v-openai/events/2026-04-30-cross-examination-distillation-admission/",
    "/cases/musk-v-openai/parties/elon-musk/",
    "/cases/musk-v-openai/claims/federal-breach-of-charitable-trust/",
    "/cases/musk-v-openai/testimony/",
    "/cases/musk-v-openai/coverage/",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_accessibility_violations(
    page: Page, demo_server, axe, console_errors, path
):
    page.goto(demo_server + path)
    assert axe() == []


def test_screenshot_of_the_timeline(page: Page, demo_server, console_errors, tmp_path):
    """`make screenshot` keeps the README's picture (docs/timeline.png) current."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(demo_server + TIMELINE + "?claim=federal-breach-of-charitable-trust")
    page.locator("#event-2026-04-30-cross-examination-distillation-admission").count()
    target = Path(os.environ.get("SCREENSHOT_PATH") or tmp_path / "timeline.png")
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000
