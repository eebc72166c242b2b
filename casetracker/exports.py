"""The timeline as CSV: one column list, one writer, used by the CSV view, the admin
action and the export_timeline command.

The export streams a million rows at tens of thousands of rows a second in flat memory
(docs/performance.md has the figures). Three choices make that possible:

- **One streaming query** reads the events in the queryset's order. It returns text
  only (the database writes dates, flags and counts), so Django converts nothing per
  row. Each row also carries the ids of the event's parties and claims, and its
  testimony count, from correlated subqueries.
- **One query per block** of `CHUNK_SIZE` events reads the block's citations, with each
  source's URL and kind. Parties and claims are read only when a block mentions one not
  seen before; their two cells are then kept per combination of ids.
- **Lines are built as strings.** `_cell` writes exactly what `csv.writer` writes for
  `neutralise(value)`, but it only scans the text, and most cells need no change. Each
  block is yielded as one string.

`tests/test_exports.py` checks the output against `csv.writer`, byte for byte.
"""

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import islice

from django.db import connections
from django.db.models import (
    Count,
    Func,
    Model,
    OuterRef,
    QuerySet,
    StringAgg,
    Subquery,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce
from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

from .choices import COVERAGE_KINDS
from .links import route_shape
from .models import Case, Citation, Claim, Event, Party, Testimony

CHUNK_SIZE = 2000  # events per block: one citation query, one string yielded
SEPARATOR = " | "  # between the values of a multi-valued cell
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Combinations of parties (or claims) whose cells are kept; past this the cache restarts.
MAX_CACHED_COMBINATIONS = 20_000

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

HEADER = ",".join(COLUMNS) + "\r\n"
_COVERAGE = frozenset(str(kind) for kind in COVERAGE_KINDS)


def neutralise(value: str) -> str:
    """Keep a cell from being read as a spreadsheet formula.

    A cell that starts with = + - @, a tab or a carriage return gets a leading
    apostrophe, which spreadsheets take as "this is text" and do not display.
    """
    return f"'{value}" if value.startswith(FORMULA_TRIGGERS) else value


def _cell(value: str) -> str:
    """The cell as csv.writer (RFC 4180, minimal quoting) writes `neutralise(value)`.

    A cell is quoted when it holds a comma, a double quote or a line break; a double
    quote inside is doubled. Plain text, the usual case, comes back unchanged.
    """
    if value.startswith(FORMULA_TRIGGERS):
        value = "'" + value
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return '"' + value + '"'
    return value


class _CellCache(dict):
    """`_cell` of values that repeat on every row (kinds, precisions, confidence labels)."""

    def __missing__(self, value: str) -> str:
        self[value] = cell = _cell(value)
        return cell


# The row query returns text only: Django converts dates, booleans and integers one
# value at a time in Python, which shows at a million rows.


class _IsoDate(Func):
    """A date as `YYYY-MM-DD` text."""

    output_field = TextField()
    template = "CAST(%(expressions)s AS TEXT)"  # SQLite stores dates as ISO text

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="to_char(%(expressions)s, 'YYYY-MM-DD')",
            **extra_context,
        )


class _Flag(Func):
    """A boolean as `1` or `0`."""

    output_field = TextField()
    template = "CASE WHEN %(expressions)s THEN '1' ELSE '0' END"


def _ids_of(through: type[Model], column: str) -> Subquery:
    """The ids linked to the outer event, as "3,17" (in no particular order) or NULL."""
    links = (
        through.objects.filter(event=OuterRef("pk"))
        .order_by()
        .values("event")
        .annotate(ids=StringAgg(Cast(column, TextField()), Value(",")))
        .values("ids")
    )
    return Subquery(links, output_field=TextField())


def _id_list(ids: list[int], vendor: str) -> RawSQL:
    """`ids` as one parameter, for `__in`: Django prepares each value of a plain list one
    by one, which shows in an export of a million rows."""
    if vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (ids,))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(ids),))


def _id_param(ids: list[int], vendor: str) -> list[int] | str:
    """The parameter of `_id_list(ids, vendor)`."""
    return ids if vendor == "postgresql" else json.dumps(ids)


class _LinkCells(dict):
    """The two cells (names, then ids) of a set of parties or claims, keyed by the
    "3,17" list of their ids that the row query gives.

    The names and slugs are read only for ids not seen before, together with the order
    of all the ids seen so far (by `order`, in the database's collation). Adding ids
    never changes the order of those already known, so cached cells stay right.
    """

    def __init__(
        self, model: type[Model], name: str, order: tuple, using: str, vendor: str
    ):
        super().__init__()
        self.model, self.name, self.order = model, name, order
        self.using, self.vendor = using, vendor
        self.labels: dict[int, tuple[str, str]] = {}  # id -> (name, slug)
        self.rank: dict[int, int] = {}  # id -> position in the cell order

    def learn(self, keys: Iterable[str | None]) -> None:
        """Read whatever the rows with these keys need that is not known yet."""
        ids = {
            int(pk)
            for key in keys
            if key is not None and key not in self
            for pk in key.split(",")
        }
        if ids <= self.labels.keys():
            return
        rows = (
            self.model.objects.using(self.using)
            .filter(pk__in=_id_list(sorted(ids | self.labels.keys()), self.vendor))
            .order_by(*self.order)
            .values_list("pk", self.name, "slug")
        )
        self.labels, self.rank = {}, {}
        for position, (pk, name, slug) in enumerate(rows):
            self.labels[pk] = (name, slug)
            self.rank[pk] = position

    def __missing__(self, key: str | None) -> str:
        if key is None:
            cells = ","
        else:
            ids = sorted(map(int, key.split(",")), key=self.rank.__getitem__)
            names = SEPARATOR.join(self.labels[pk][0] for pk in ids)
            slugs = SEPARATOR.join(self.labels[pk][1] for pk in ids)
            cells = f"{_cell(names)},{_cell(slugs)}"
        if len(self) >= MAX_CACHED_COMBINATIONS:
            self.clear()
        self[key] = cells
        return cells


class _PlainCases(dict):
    """Whether a case's permalinks need no quoting or guard when the event's slug needs
    none: then the permalink is the plain concatenation."""

    def __init__(self, before: str, middle: str, after: str):
        super().__init__()
        self.before, self.middle, self.after = before, middle, after

    def __missing__(self, case: str) -> bool:
        around = f"{self.before}{case}{self.middle}{self.after}"
        self[case] = plain = _cell(around) == around
        return plain


class _SourceCells:
    """Per event of a block: the `source_urls,source_count` cells and the coverage count.

    URLs are in citation order (by source key, then citation), each once. One query per
    block; the ORM writes its SQL once, and each block runs it on the cursor, because
    building a queryset per block costs more than the query.
    """

    def __init__(self, using: str, vendor: str):
        citations = (
            Citation.objects.using(using)
            .filter(event_id__in=_id_list([], vendor))
            .order_by("source__key", "pk")
            .values_list("event_id", "source__url", "source__kind")
        )
        self.sql, params = citations.query.sql_with_params()
        assert len(params) == 1, params  # the id list, replaced per block
        self.connection, self.vendor = connections[using], vendor

    def __call__(self, event_ids: list[int]) -> dict[int, tuple[str, int]]:
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql, [_id_param(event_ids, self.vendor)])
            citations = cursor.fetchall()
        cited = defaultdict(list)
        for citation in citations:
            cited[citation[0]].append(citation)
        cells = {}
        for event_id, rows in cited.items():
            if len(rows) == 1:
                _, url, kind = rows[0]
                cells[event_id] = (f"{_cell(url)},1", 1 if kind in _COVERAGE else 0)
            else:
                urls = SEPARATOR.join(dict.fromkeys([row[1] for row in rows if row[1]]))
                coverage = sum(1 for row in rows if row[2] in _COVERAGE)
                cells[event_id] = (f"{_cell(urls)},{len(rows)}", coverage)
        return cells


# What the row query returns, in the order the loop in timeline_csv unpacks it.
_ROW = (
    "pk",
    "slug",
    "csv_date",
    "date_precision",
    "csv_approximate",
    "csv_end_date",
    "end_precision",
    "date_note",
    "kind",
    "title",
    "summary",
    "csv_party_ids",
    "csv_claim_ids",
    "csv_key",
    "csv_context",
    "confidence",
    "confidence_note",
    "csv_testimony",
    "case__slug",
)
_PARTY_IDS, _CLAIM_IDS = _ROW.index("csv_party_ids"), _ROW.index("csv_claim_ids")


def permalink_parts(base_url: str) -> tuple[str, str, str]:
    """An event's permalink around its case and event slugs."""
    before, middle, after = route_shape("event_detail", ("case", "event"))
    return base_url + before, middle, after


def timeline_csv(
    events: QuerySet[Event], *, base_url: str = "", bom: bool = False
) -> Iterator[str]:
    """The CSV text of the events (docs/csv.md), in the queryset's order.

    The header comes first (after a UTF-8 byte-order mark if `bom`), then one string
    per block of up to `CHUNK_SIZE` rows.
    """
    using = events.db
    vendor = connections[using].vendor
    rows = (
        events.annotate(
            csv_date=_IsoDate("date"),
            csv_end_date=_IsoDate("end_date"),
            csv_approximate=_Flag("date_approximate"),
            csv_key=_Flag("is_key"),
            csv_context=_Flag("is_context"),
            csv_party_ids=_ids_of(Event.parties.through, "party_id"),
            csv_claim_ids=_ids_of(Event.claims.through, "claim_id"),
            csv_testimony=Coalesce(
                Subquery(
                    Testimony.objects.filter(event=OuterRef("pk"))
                    .order_by()
                    .values("event")
                    .annotate(n=Cast(Count("pk"), TextField()))
                    .values("n"),
                    output_field=TextField(),
                ),
                Value("0"),
                output_field=TextField(),
            ),
        )
        .values_list(*_ROW)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    parties = _LinkCells(Party, "name", ("name", "pk"), using, vendor)
    claims = _LinkCells(Claim, "title", ("pk",), using, vendor)
    source_cells = _SourceCells(using, vendor)
    choice = _CellCache()  # kinds, precisions and confidence labels
    before, middle, after = permalink_parts(base_url)
    plain_case = _PlainCases(before, middle, after)
    cell = _cell
    no_sources = (",0", 0)

    yield ("\ufeff" if bom else "") + HEADER
    while block := list(islice(rows, CHUNK_SIZE)):
        parties.learn(row[_PARTY_IDS] for row in block)
        claims.learn(row[_CLAIM_IDS] for row in block)
        sources = source_cells([row[0] for row in block])
        lines = []
        for (
            pk,
            slug,
            date,
            precision,
            approximate,
            end_date,
            end_precision,
            date_note,
            kind,
            title,
            summary,
            party_ids,
            claim_ids,
            key,
            context,
            confidence,
            confidence_note,
            testimony,
            case,
        ) in block:
            id_cell = cell(slug)
            permalink = f"{before}{case}{middle}{slug}{after}"
            # _cell returns the very string it was given when that needs no change.
            if id_cell is not slug or not plain_case[case]:
                permalink = cell(permalink)
            urls_and_count, coverage = sources.get(pk, no_sources)
            lines.append(
                f"{id_cell},{date},{choice[precision]},{approximate},"
                f"{end_date or ''},{choice[end_precision] if end_date else ''},"
                f"{cell(date_note) if date_note else ''},{choice[kind]},"
                f"{cell(title)},{cell(summary)},"
                f"{parties[party_ids]},{claims[claim_ids]},{key},{context},"
                f"{choice[confidence]},{cell(confidence_note) if confidence_note else ''},"
                f"{urls_and_count},{testimony},{coverage},{permalink}\r\n"
            )
        yield "".join(lines)


def timeline_rows(
    events: QuerySet[Event], *, base_url: str = ""
) -> Iterator[list[str]]:
    """The same rows as lists of cells, header first, for callers that want cells."""
    for text in timeline_csv(events, base_url=base_url):
        yield from csv.reader(io.StringIO(text, newline=""))


class _Line:
    """A write-only file that hands back what csv.writer wrote."""

    def write(self, text: str) -> str:
        return text


def csv_lines(rows: Iterable[list[str]], *, bom: bool = False) -> Iterator[str]:
    """RFC 4180 lines (CRLF endings) of any rows; a UTF-8 BOM first when asked."""
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
        timeline_csv(events, base_url=base_url, bom=bom),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
