"""The timeline in formats other tools read: TimelineJS JSON, Atom and iCalendar.

Each takes events already filtered by selectors.timeline_event_list, so the formats
honour the same filters as the page.
"""

import datetime as dt
from collections.abc import Iterable, Iterator

from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from .choices import DatePrecision, EventKind
from .dates import format_date
from .models import Case, Event

FEED_SIZE = 50


# TimelineJS ---------------------------------------------------------------------------


def _timelinejs_date(value: dt.date, precision: str, display: str = "") -> dict:
    """A TimelineJS date object holding only the parts that are known."""
    date = {"year": value.year}
    if precision in (DatePrecision.MONTH, DatePrecision.DAY):
        date["month"] = value.month
    if precision == DatePrecision.DAY:
        date["day"] = value.day
    if display:
        date["display_date"] = display
    return date


def timelinejs_document(
    case: Case, events: Iterable[Event], *, base_url: str = ""
) -> dict:
    """Knight Lab TimelineJS's JSON: a title slide, then one slide per event.

    TimelineJS renders `text` fields as HTML, so every value is escaped here.
    """
    slides = []
    for event in events:
        slide = {
            "start_date": _timelinejs_date(
                event.date,
                event.date_precision,
                format_date(event.date, event.date_precision, event.date_approximate),
            ),
            "text": {
                "headline": escape(event.title),
                "text": (
                    f"<p>{escape(event.summary)}</p>"
                    f'<p><a href="{escape(base_url + event.get_absolute_url())}">'
                    "Sources and details</a></p>"
                ),
            },
            "group": EventKind(event.kind).label,
            "unique_id": event.slug,
        }
        if event.end_date:
            slide["end_date"] = _timelinejs_date(event.end_date, event.end_precision)
        slides.append(slide)
    return {
        "title": {
            "text": {
                "headline": escape(case.title),
                "text": f"<p>{escape(case.summary)}</p>",
            }
        },
        "events": slides,
    }


# iCalendar ----------------------------------------------------------------------------


def _ics_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _ics_line(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1), without splitting a character."""
    out, current = [], b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode("utf-8"))
            current = b""
        current += encoded
    out.append(current.decode("utf-8"))
    return "\r\n ".join(out) + "\r\n"


def ics_lines(
    case: Case, events: QuerySet[Event], *, base_url: str, host: str
) -> Iterator[str]:
    """An iCalendar file of the events whose day is known exactly, as all-day events."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    yield from map(
        _ics_line,
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//casetracker//timeline//EN",
            "CALSCALE:GREGORIAN",
            f"X-WR-CALNAME:{_ics_text(case.title)}",
        ],
    )
    exact = events.filter(date_precision=DatePrecision.DAY, date_approximate=False)
    for event in exact.select_related("case").iterator(chunk_size=2000):
        last = (
            event.end_date
            if event.end_date and event.end_precision == DatePrecision.DAY
            else event.date
        )
        url = base_url + event.get_absolute_url()
        description = f"{event.summary}\n\n{url}" if event.summary else url
        for line in (
            "BEGIN:VEVENT",
            f"UID:{event.slug}@{case.slug}.{host}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{event.date:%Y%m%d}",
            f"DTEND;VALUE=DATE:{last + dt.timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_ics_text(event.title)}",
            f"DESCRIPTION:{_ics_text(description)}",
            f"CATEGORIES:{_ics_text(EventKind(event.kind).label)}",
            f"URL:{url}",
            "END:VEVENT",
        ):
            yield _ics_line(line)
    yield _ics_line("END:VCALENDAR")


# Atom ---------------------------------------------------------------------------------


class CaseEventsFeed(Feed):
    """The case's events, newest first, for feed readers.

    The view passes the case and the filtered events in; the feed only formats them.
    """

    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, case: Case, events: QuerySet[Event]):
        return case, events

    def title(self, obj) -> str:
        return f"{obj[0].title}: timeline"

    def subtitle(self, obj) -> str:
        return obj[0].summary

    def link(self, obj) -> str:
        return reverse("case_timeline", kwargs={"case": obj[0].slug})

    def items(self, obj):
        _, events = obj
        # The timeline order reversed: read backwards from the index that serves it.
        return events.select_related("case").reverse()[:FEED_SIZE]

    def item_title(self, item: Event) -> str:
        return f"{item.display_date}: {item.title}"

    def item_description(self, item: Event) -> str:
        return escape(item.summary)

    def item_link(self, item: Event) -> str:
        return item.get_absolute_url()

    def item_pubdate(self, item: Event):
        return dt.datetime.combine(item.date, dt.time(12), tzinfo=dt.UTC)

    def item_updateddate(self, item: Event):
        return item.updated_at

    def item_categories(self, item: Event) -> list[str]:
        return [EventKind(item.kind).label]
