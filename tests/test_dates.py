"""casetracker.dates: how fuzzy dates read and when they fit their precision."""

import datetime as dt

import pytest

from casetracker.choices import DatePrecision
from casetracker.dates import format_date, format_range, precision_error

DAY, MONTH, YEAR = DatePrecision.DAY, DatePrecision.MONTH, DatePrecision.YEAR


@pytest.mark.parametrize(
    ("value", "precision", "approximate", "expected"),
    [
        (dt.date(2024, 2, 29), DAY, False, "29 February 2024"),
        (dt.date(2024, 8, 5), DAY, False, "5 August 2024"),
        (dt.date(2025, 3, 1), MONTH, False, "March 2025"),
        (dt.date(2016, 1, 1), YEAR, False, "2016"),
        (dt.date(2026, 5, 1), MONTH, True, "c. May 2026"),
        (dt.date(2024, 8, 5), DAY, True, "c. 5 August 2024"),
        (None, DAY, False, "Date unknown"),
        (None, MONTH, True, "Date unknown"),
    ],
)
def test_format_date_reads_by_precision(value, precision, approximate, expected):
    """A date reads as day, month or year by its precision; "c." marks an estimate."""
    assert format_date(value, precision, approximate) == expected


def test_format_range_without_end_is_the_date():
    """With no end date a range is just the start date."""
    assert format_range(dt.date(2025, 3, 1), MONTH) == "March 2025"


def test_format_range_joins_start_and_end_with_a_dash():
    """With an end date a range reads "start – end", each at its own precision."""
    text = format_range(dt.date(2024, 3, 4), DAY, dt.date(2024, 4, 1), MONTH)

    assert text == "4 March 2024 – April 2024"


def test_format_range_marks_the_start_as_approximate():
    """The approximate flag is shown once, before the start."""
    text = format_range(
        dt.date(2016, 1, 1), YEAR, dt.date(2017, 1, 1), YEAR, approximate=True
    )

    assert text == "c. 2016 – 2017"


@pytest.mark.parametrize(
    ("value", "precision", "suggestion"),
    [
        (dt.date(2025, 3, 15), MONTH, "use 2025-03-01"),
        (dt.date(2016, 6, 1), YEAR, "use 2016-01-01"),
        (dt.date(2016, 1, 9), YEAR, "use 2016-01-01"),
    ],
)
def test_precision_error_names_the_date_to_use(value, precision, suggestion):
    """A month or year date off the first day of its period is explained, with a fix."""
    message = precision_error(value, precision)

    assert message is not None
    assert suggestion in message


@pytest.mark.parametrize(
    ("value", "precision"),
    [
        (dt.date(2025, 3, 1), MONTH),
        (dt.date(2016, 1, 1), YEAR),
        (dt.date(2024, 2, 29), DAY),
        (None, MONTH),
        (None, YEAR),
    ],
)
def test_precision_error_is_none_for_consistent_dates(value, precision):
    """Dates on the first day of their period, any exact day and no date are fine."""
    assert precision_error(value, precision) is None
