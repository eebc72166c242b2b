"""The list of cases in a real browser: its search narrows the list in place."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_search_narrows_the_list_without_reload_and_back_restores_it(
    page: Page, demo_server, console_errors
):
    page.goto(demo_server + "/")
    cases = page.locator(".case-list > li")
    expect(cases).to_have_count(1)
    page.evaluate("window.__noReload = true")

    page.get_by_label("Search cases").fill("Enron")
    page.get_by_label("Search cases").press("Enter")

    expect(page).to_have_url(re.compile(r"\?q=Enron"))
    expect(page.locator(".empty")).to_have_text("No case matches these filters.")
    assert page.evaluate("window.__noReload === true")

    page.get_by_label("Search cases").fill("Oakland 04722")
    page.get_by_label("Search cases").press("Enter")
    expect(cases).to_have_count(1)

    page.go_back()
    expect(page).to_have_url(re.compile(r"\?q=Enron"))
    expect(cases).to_have_count(0)


def test_status_filter_works_without_javascript(browser, demo_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(demo_server + "/")
    page.locator("summary", has_text="Status").click()
    page.get_by_label("Decided").check()
    page.get_by_role("button", name="Search").click()

    expect(page).to_have_url(re.compile(r"status=decided"))
    expect(page.locator(".result-count")).to_have_text("1 case matches.")
    context.close()
