"""The admin in a real browser under the site's strict CSP: sign-in, the event change
form with its inlines and autocomplete pickers, the history page and a revert, with no
console error and no CSP violation anywhere."""

import re

import pytest
from playwright.sync_api import Page, expect

from casetracker.models import Event
from tests.factories import StaffFactory

pytestmark = pytest.mark.browser

PASSWORD = "a-long-test-password"  # the factories' password

# Collects every CSP violation the page reports (the init script runs before the
# page's own scripts and is not subject to its policy).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def violations(page: Page) -> list[str]:
    return page.evaluate("window.__cspViolations")


@pytest.fixture
def admin_page(page: Page, demo_server, console_errors):
    """A page signed in to the admin through its login form."""
    user = StaffFactory()
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(demo_server + "/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    assert violations(page) == []
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_be_visible()
    expect(page).to_have_url(demo_server + "/admin/")
    assert violations(page) == []
    yield page
    assert violations(page) == []
    assert not any("Content Security Policy" in e for e in console_errors)


def test_event_change_form_history_and_revert_keep_to_the_csp(
    admin_page: Page, demo_server
):
    page = admin_page
    event = Event.objects.filter(testimony__isnull=False).distinct().first()
    original = event.title
    change = f"{demo_server}/admin/casetracker/event/{event.pk}/change/"

    page.goto(change)
    expect(page.locator("#id_title")).to_have_value(original)
    expect(page.locator("#testimony-group")).to_be_visible()
    expect(page.locator("#citations-group")).to_be_visible()
    # The inlines' "Add another" (inlines.js) and an autocomplete picker (Select2,
    # which fetches its choices from the admin's autocomplete view).
    rows = page.locator("#citations-group tr.dynamic-citations")
    before = rows.count()
    page.locator("#citations-group .add-row a").click()
    expect(rows).to_have_count(before + 1)
    rows.last.locator(".inline-deletelink").click()
    expect(rows).to_have_count(before)
    page.locator(".field-parties .select2-selection").click()
    expect(page.locator(".select2-results__option").first).to_be_visible()
    page.keyboard.press("Escape")
    page.locator("details summary", has_text="Record").click()
    assert violations(page) == []

    page.locator("#id_title").fill("Renamed in the browser")
    page.locator("input[name=_continue]").click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert Event.objects.get(pk=event.pk).title == "Renamed in the browser"

    page.get_by_role("link", name="History").first.click()
    expect(page).to_have_url(re.compile(rf"/event/{event.pk}/history/$"))
    table = page.locator("#change-history")
    expect(table).to_contain_text("Renamed in the browser")
    expect(table).to_contain_text(original)
    assert violations(page) == []

    # Row 1 is the rename; row 2 the version before it.
    table.locator("tbody tr").nth(1).locator("a").first.click()
    expect(page.locator("#id_title")).to_have_value(original)
    page.get_by_role("button", name="Revert").first.click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert Event.objects.get(pk=event.pk).title == original
