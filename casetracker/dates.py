"""Dates known to a precision: stored as the first day of the period they name.

A month-precision date is the 1st of its month and a year-precision date 1 January,
so that one date column sorts and filters every row; precision and the approximate
flag decide how the date reads ("29 February 2024", "March 2025", "c. May 2026").
"""

import datetime as dt

from django.core.exceptions import ValidationError

from .choices import DatePrecision


def precision_error(value: dt.date | None, precision: str) -> str | None:
    """Say what is wrong when a date does not fit its precision, else None."""
    if value is None:
        return None
    if precision == DatePrecision.MONTH and value.day != 1:
        return (
            f"A month-precision date is stored as the 1st of the month: "
            f"use {value.replace(day=1).isoformat()} or set the precision to day."
        )
    if precision == DatePrecision.YEAR and (value.month, value.day) != (1, 1):
        return (
            f"A year-precision date is stored as 1 January: "
            f"use {value.replace(month=1, day=1).isoformat()} or set the precision to day."
        )
    return None


def validate_precision(value: dt.date | None, precision: str, *, field: str) -> None:
    message = precision_error(value, precision)
    if message:
        raise ValidationError({field: message})


# English month names, as strftime's %B gives them in the C locale, without its call.
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def month_name(value: dt.date) -> str:
    return MONTH_NAMES[value.month - 1]


def format_date(
    value: dt.date | None, precision: str, approximate: bool = False
) -> str:
    """Render a date the way a reader expects for its precision."""
    if value is None:
        return "Date unknown"
    if precision == DatePrecision.YEAR:
        text = str(value.year)
    elif precision == DatePrecision.MONTH:
        text = f"{month_name(value)} {value.year}"
    else:
        text = f"{value.day} {month_name(value)} {value.year}"
    return f"c. {text}" if approximate else text


def format_range(
    start: dt.date | None,
    start_precision: str,
    end: dt.date | None = None,
    end_precision: str = DatePrecision.DAY,
    approximate: bool = False,
) -> str:
    """A date, or a span "start – end" when an end date is known."""
    text = format_date(start, start_precision, approximate)
    if end is None:
        return text
    return f"{text} – {format_date(end, end_precision)}"
