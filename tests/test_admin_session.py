"""The load test's editor submits a form the way a browser would."""

from loadtest.admin_session import read_form

FORM = """
<form id="other"><input name="outside" value="x"></form>
<form id="event_form" method="post">
  <input type="hidden" name="csrfmiddlewaretoken" value="t">
  <input name="title" value="A &amp; B">
  <input type="checkbox" name="is_key" checked>
  <input type="checkbox" name="is_context">
  <input type="submit" name="_save" value="Save">
  <input name="frozen" value="f" disabled>
  <select name="kind"><option value="filing">Filing</option><option value="ruling">Ruling</option></select>
  <select name="date_precision"><option value="day">Day</option><option value="month" selected>Month</option></select>
  <select name="parties" multiple><option value="1" selected>A</option><option value="2">B</option><option value="3" selected>C</option></select>
  <textarea name="summary">
First line
second line</textarea>
</form>
"""


def test_read_form_takes_what_a_browser_would_submit():
    assert read_form(FORM, "event_form") == [
        ("csrfmiddlewaretoken", "t"),
        ("title", "A & B"),
        ("is_key", "on"),
        ("kind", "filing"),
        ("date_precision", "month"),
        ("parties", "1"),
        ("parties", "3"),
        ("summary", "First line\nsecond line"),
    ]
