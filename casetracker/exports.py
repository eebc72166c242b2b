"""The timeline as CSV: one column list, one writer, used by the CSV view, the admin
action and the export_timeline command.

Rows are read in blocks: one query streams the events, and each block of
`CHUNK_SIZE` events costs three more (parties, claims, sources), however many events
there are. Memory stays flat because nothing holds more than one block.
"""

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import islice

from django.db.models import Count, QuerySet
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header

from .choices import COVERAGE_KINDS
from .models import Case, Citation, Event, Testimony

CHUNK_SIZE = 2000
SEPARATOR = " | "  # between the values of a multi-valued cell
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# The columns, in order. docs/csv.md describes each; the importer reads the same names.
COLUMNS = (
    "id",
    "date",
    "date_precision",
    "date_approximate",
    "end_date",
    "end_precision",
    "date_note",
    "kind",
    "title",
    "summary",
    "parties",
    "party_ids",
    "claims",
    "claim_ids",
    "key",
    "context",
    "confidence",
    "confidence_note",
    "source_urls",
    "source_count",
    "testimony_count",
    "coverage_count",
    "permalink",
)

EVENT_FIELDS = (
    "pk",
    "slug",
    "date",
    "date_precision",
    "date_approximate",
    "end_date",
    "end_precision",
    "date_note",
    "kind",
    "title",
    "summary",
    "is_key",
    "is_context",
    "confidence",
    "confidence_note",
)


def neutralise(value: str) -> str:
    """Keep a cell from being read as a spreadsheet formula.

    A cell that starts with = + - @, a tab or a carriage return gets a leading
    apostrophe, which spreadsheets take as "this is text" and do not display.
    """
    return f"'{value}" if value.startswith(FORMULA_TRIGGERS) else value


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _iso(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def _joined(values: Iterable[str]) -> str:
    return SEPARATOR.join(values)


class _Line:
    """A write-only file that hands back what csv.writer wrote."""

    def write(self, text: str) -> str:
        return text


def _chunks(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while block := list(islice(iterator, size)):
        yield block


def _related(block_ids: list[int]) -> tuple[dict, dict, dict, dict]:
    """Parties, claims, source URLs and citation counts of a block of events."""
    parties, claims, urls = defaultdict(list), defaultdict(list), defaultdict(list)
    counts = defaultdict(lambda: {"sources": 0, "coverage": 0})
    through = Event.parties.through.objects.filter(event_id__in=block_ids)
    for event_id, name, slug in through.order_by("party__name").values_list(
        "event_id", "party__name", "party__slug"
    ):
        parties[event_id].append((name, slug))
    through = Event.claims.through.objects.filter(event_id__in=block_ids)
    for event_id, title, slug in through.order_by("claim_id").values_list(
        "event_id", "claim__title", "claim__slug"
    ):
        claims[event_id].append((title, slug))
    citations = Citation.objects.filter(event_id__in=block_ids).order_by(
        "source__key", "id"
    )
    for event_id, url, kind in citations.values_list(
        "event_id", "source__url", "source__kind"
    ):
        counts[event_id]["sources"] += 1
        if kind in COVERAGE_KINDS:
            counts[event_id]["coverage"] += 1
        if url and url not in urls[event_id]:
            urls[event_id].append(url)
    return parties, claims, urls, counts


def _testimony_counts(block_ids: list[int]) -> dict[int, int]:
    rows = (
        Testimony.objects.filter(event_id__in=block_ids)
        .order_by()
        .values("event_id")
        .annotate(n=Count("pk"))
        .values_list("event_id", "n")
    )
    return dict(rows)


def timeline_rows(
    events: QuerySet[Event], *, base_url: str = ""
) -> Iterator[list[str]]:
    """CSV rows (header first) of the given events, in the queryset's order."""
    yield list(COLUMNS)
    stream = events.values_list(*EVENT_FIELDS, "case__slug").iterator(
        chunk_size=CHUNK_SIZE
    )
    for block in _chunks(stream, CHUNK_SIZE):
        ids = [row[0] for row in block]
        parties, claims, urls, counts = _related(ids)
        testimony = _testimony_counts(ids)
        for row in block:
            record = dict(zip((*EVENT_FIELDS, "case_slug"), row, strict=True))
            pk = record["pk"]
            permalink = base_url + reverse(
                "event_detail",
                kwargs={"case": record["case_slug"], "event": record["slug"]},
            )
            cells = [
                record["slug"],
                _iso(record["date"]),
                record["date_precision"],
                _flag(record["date_approximate"]),
                _iso(record["end_date"]),
                record["end_precision"] if record["end_date"] else "",
                record["date_note"],
                record["kind"],
                record["title"],
                record["summary"],
                _joined(name for name, _ in parties[pk]),
                _joined(slug for _, slug in parties[pk]),
                _joined(title for title, _ in claims[pk]),
                _joined(slug for _, slug in claims[pk]),
                _flag(record["is_key"]),
                _flag(record["is_context"]),
                record["confidence"],
                record["confidence_note"],
                _joined(urls[pk]),
                str(counts[pk]["sources"]),
                str(testimony.get(pk, 0)),
                str(counts[pk]["coverage"]),
                permalink,
            ]
            yield [neutralise(cell) for cell in cells]


def csv_lines(rows: Iterable[list[str]], *, bom: bool = False) -> Iterator[str]:
    """RFC 4180 lines (CRLF endings); a UTF-8 BOM first when asked, for Excel."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    if bom:
        yield "\ufeff"
    for row in rows:
        yield writer.writerow(row)


def timeline_filename(case: Case, today: dt.date) -> str:
    return f"{case.slug}-timeline-{today.isoformat()}.csv"


def timeline_csv_response(
    events: QuerySet[Event], *, filename: str, base_url: str = "", bom: bool = False
) -> StreamingHttpResponse:
    """A streamed CSV download of the events."""
    response = StreamingHttpResponse(
        csv_lines(timeline_rows(events, base_url=base_url), bom=bom),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
