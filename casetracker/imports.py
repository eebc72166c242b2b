"""Reading a timeline CSV into a case: our own export format, or a TimelineJS sheet.

`timeline_import` checks the whole file first and reports every problem as
"Row N, column 'X': …", where N is the spreadsheet row (the header is row 1). Only a
clean file is written, in one transaction, and only events whose values differ are
saved, so importing the same file twice changes nothing. A dry run does the same work
and rolls it back, so its report says exactly what a real run would do.

The column names, the separator of multi-valued cells and the formula guard come from
casetracker.exports, so the two sides of the format (docs/csv.md) cannot drift apart.

Caveats:
- Citations of sources that have no URL cannot be written in the file, so the
  `source_urls` column governs only citations of sources with a URL.
- An existing party is matched by its id (slug) and never renamed: parties are shared
  between cases. A different name in the file gives a warning.
"""

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from itertools import count
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import URLValidator, validate_slug
from django.db import IntegrityError, models, transaction
from django.utils.text import slugify

from .choices import Confidence, DatePrecision, EventKind, PartyRole, Side, SourceKind
from .dates import precision_error
from .exports import COLUMNS, FORMULA_TRIGGERS, SEPARATOR
from .models import Case, CaseParty, Citation, Claim, Event, Party, Source

MAX_ROWS = 50_000
MAX_BYTES = 20 * 1024 * 1024
SLUG_LENGTH = 80  # generated event slugs; the field allows 100
QUERY_CHUNK = 500  # values per IN (...) lookup, well inside SQLite's parameter limit

OURS = "casetracker"
TIMELINEJS = "timelinejs"

# Our layout: which Event field each column sets. The counts and the permalink are for
# reading only; parties, claims and source_urls are links, handled apart.
EVENT_COLUMNS = {
    "id": "slug",
    "date": "date",
    "date_precision": "date_precision",
    "date_approximate": "date_approximate",
    "end_date": "end_date",
    "end_precision": "end_precision",
    "date_note": "date_note",
    "kind": "kind",
    "title": "title",
    "summary": "summary",
    "key": "is_key",
    "context": "is_context",
    "confidence": "confidence",
    "confidence_note": "confidence_note",
}
REQUIRED_COLUMNS = ("date", "kind", "title")

TIMELINEJS_COLUMNS = (
    "Year",
    "Month",
    "Day",
    "Time",
    "End Year",
    "End Month",
    "End Day",
    "End Time",
    "Display Date",
    "Headline",
    "Text",
    "Media",
    "Media Credit",
    "Media Caption",
    "Media Thumbnail",
    "Alt Text",  # absent from older sheets
    "Type",
    "Group",
    "Background",
)
TIMELINEJS_REQUIRED = ("Year", "Headline")
# Where a full_clean() message on an Event field points in a TimelineJS sheet.
TIMELINEJS_FIELD_COLUMNS = {
    "slug": "Headline",
    "title": "Headline",
    "summary": "Text",
    "date": "Year",
    "date_precision": "Year",
    "end_date": "End Year",
    "end_precision": "End Year",
    "date_note": "Display Date",
    "kind": "Group",
}

RELATED_SINGULAR = {
    "claims": "claim",
    "parties": "party",
    "party roles": "party role",
    "sources": "source",
}
FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
INTEGER = re.compile(r"[+-]?\d+")
BLOCK_TAGS = frozenset(
    {"address", "article", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol", "p", "pre", "section"}
    | {"table", "td", "th", "tr", "ul"}
)


class TimelineImportError(Exception):
    """A file that cannot be imported; `problems` lists every reason. Nothing was written."""

    def __init__(self, problems: list[str], report: "ImportReport | None" = None):
        self.problems = problems
        self.report = report
        super().__init__("\n".join(problems))


@dataclass
class RowAction:
    """What the import does with one row: create, update, unchanged or skip."""

    row: int
    id: str
    title: str
    action: str
    note: str = ""


@dataclass
class ImportReport:
    layout: str = ""
    dry_run: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rows: list[RowAction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Parties, party roles, claims and sources the import had to create.
    related_created: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def add_related(self, name: str) -> None:
        self.related_created[name] = self.related_created.get(name, 0) + 1

    @property
    def related_text(self) -> str:
        """E.g. "1 claim, 2 sources"; empty when the import created nothing else."""
        return ", ".join(
            f"{number} {name if number != 1 else RELATED_SINGULAR[name]}"
            for name, number in sorted(self.related_created.items())
        )


@dataclass
class _Row:
    """One event row, parsed; `values` holds only the fields the file sets."""

    number: int
    slug: str
    values: dict[str, Any]
    from_file_id: bool  # the slug is the file's own id (ours) or derived (TimelineJS)
    parties: list[tuple[str, str | None]] | None = None  # (slug, name)
    claims: list[tuple[str, str | None]] | None = None
    source_urls: list[str] | None = None
    event: Event | None = None


def _cell(row: int, column: str, message: str) -> str:
    return f"Row {row}, column '{column}': {message}"


def _names(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def unguard(value: str) -> str:
    """Undo exports.neutralise: "'=1+1" reads as "=1+1"."""
    if value.startswith("'") and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def _describe_start(value: str) -> str:
    return {"\t": "a tab", "\r": "a carriage return"}.get(value[0], f"'{value[0]}'")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def plain_text(html: str) -> str:
    """The words of an HTML fragment: tags dropped, entities decoded, blocks on lines."""
    if "<" not in html and "&" not in html:
        return html.strip()
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n\n".join(line for line in lines if line)


def _max_length(model: type[models.Model], name: str) -> int | None:
    return model._meta.get_field(name).max_length


def _unique_slug(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`… (kept within SLUG_LENGTH) when it is taken."""
    if base not in taken:
        return base
    for number in count(2):
        suffix = f"-{number}"
        candidate = base[: SLUG_LENGTH - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable")


def event_slug(date: dt.date | None, title: str) -> str:
    """`<date>-<slugified title>`, at most SLUG_LENGTH characters."""
    parts = (date.isoformat() if date else "", slugify(title))
    return "-".join(p for p in parts if p)[:SLUG_LENGTH].strip("-") or "event"


# Reading the file


def _size(number: int) -> str:
    if number >= 1024 * 1024:
        return f"{number / 1024 / 1024:.1f} MB"
    return f"{number:,} bytes"


def size_problem(size: int) -> str | None:
    """What is wrong with a file of `size` bytes (also used by the admin upload form)."""
    if size <= MAX_BYTES:
        return None
    return (
        f"The file is {_size(size)}; at most {_size(MAX_BYTES)} can be imported at "
        "once: too large: split the file."
    )


def _decode(file_bytes: bytes, problems: list[str]) -> str | None:
    if message := size_problem(len(file_bytes)):
        problems.append(message)
        return None
    offset = 3 if file_bytes.startswith(b"\xef\xbb\xbf") else 0
    if not file_bytes[offset:].strip():
        problems.append("The file is empty.")
        return None
    try:
        return file_bytes[offset:].decode("utf-8")
    except UnicodeDecodeError as error:
        position = offset + error.start
        line = file_bytes[:position].count(b"\n") + 1
        problems.append(
            f"The file is not UTF-8 text: byte 0x{file_bytes[position]:02x} at byte "
            f"position {position} (line {line}) cannot be read. Save it from the "
            'spreadsheet as "CSV UTF-8" and import it again.'
        )
        return None


def _records(text: str, problems: list[str]) -> list[list[str]] | None:
    """The CSV records, header first; None when the file cannot be read as CSV."""
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for record in reader:
            records.append(record)
            if len(records) > MAX_ROWS + 1:
                problems.append(
                    f"The file has more than {MAX_ROWS:,} rows: too large: split the file."
                )
                return None
    except csv.Error as error:
        problems.append(f"Row {len(records) + 1}: cannot be read as CSV ({error}).")
        return None
    return records


def _layout(header: list[str], problems: list[str]) -> tuple[str, list[str]] | None:
    """Which layout the header row names, and each column's canonical name."""
    ours = {name.casefold(): name for name in COLUMNS}
    theirs = {name.casefold(): name for name in TIMELINEJS_COLUMNS}
    keys = [cell.strip().casefold() for cell in header]
    ours_hits = sum(key in ours for key in keys)
    theirs_hits = sum(key in theirs for key in keys)
    if not any(keys):
        problems.append(
            "The first row must be the header row (the column names); it is empty."
        )
        return None
    if not ours_hits and not theirs_hits:
        hint = ""
        if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
            hint = " The columns seem to be separated by ';' or tabs: save as CSV UTF-8 (comma-separated)."
        problems.append(
            "The first row is neither this site's timeline CSV header "
            f"({', '.join(COLUMNS)}) nor a TimelineJS sheet header "
            f"({', '.join(TIMELINEJS_COLUMNS)}).{hint}"
        )
        return None
    layout, known, required = (
        (OURS, ours, REQUIRED_COLUMNS)
        if ours_hits >= theirs_hits
        else (TIMELINEJS, theirs, TIMELINEJS_REQUIRED)
    )
    names = [
        known.get(key, cell.strip()) for key, cell in zip(keys, header, strict=True)
    ]
    unknown = [
        name for name, key in zip(names, keys, strict=True) if key and key not in known
    ]
    if unknown:
        problems.append(
            f"Unknown columns: {_names(unknown)}. The columns of this layout are: "
            f"{', '.join(known.values())}."
        )
    missing = [name for name in required if name not in names]
    if missing:
        problems.append(f"Missing required columns: {_names(missing)}.")
    for name in dict.fromkeys(n for n in names if n):
        positions = [i + 1 for i, n in enumerate(names) if n == name]
        if len(positions) > 1:
            problems.append(
                f"Column '{name}' appears more than once (columns "
                f"{', '.join(map(str, positions))})."
            )
    return layout, names


# One row


class _RowReader:
    """The cells of one row by column name; problems and warnings name row and column."""

    def __init__(self, number: int, cells: dict[str, str], report: ImportReport):
        self.number = number
        self.cells = cells
        self.report = report
        self.problems: list[tuple[str, str]] = []

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, column: str, message: str) -> None:
        self.problems.append((column, message))

    def report_problems(self) -> None:
        """Add this row's problems to the report, left to right as the columns run."""
        order = {column: position for position, column in enumerate(self.cells)}
        for column, message in sorted(
            self.problems, key=lambda problem: order.get(problem[0], len(order))
        ):
            self.report.problems.append(_cell(self.number, column, message))

    def warn(self, column: str, message: str) -> None:
        self.report.warnings.append(_cell(self.number, column, message))

    def has(self, column: str) -> bool:
        return column in self.cells

    def raw(self, column: str) -> str:
        return self.cells.get(column, "")

    def text(
        self,
        column: str,
        *,
        field_name: str | None = None,
        required: bool = False,
        value: str | None = None,
    ) -> str:
        value = self.raw(column) if value is None else value
        if value.startswith(FORMULA_TRIGGERS):
            self.warn(
                column, f"starts with {_describe_start(value)}: kept as plain text"
            )
        if required and not value.strip():
            self.problem(column, "is empty; a value is required")
        limit = _max_length(Event, field_name) if field_name else None
        if limit and len(value) > limit:
            self.problem(
                column, f"is {len(value)} characters long; at most {limit} fit"
            )
        return value

    def choice(self, column: str, choices: type[models.TextChoices]) -> str:
        value = self.raw(column).strip()
        if value and value.lower() not in choices.values:
            self.problem(column, f"'{value}' is not one of {', '.join(choices.values)}")
        return value.lower()

    def flag(self, column: str) -> bool:
        value = self.raw(column).strip().lower()
        if value and value not in FLAGS:
            self.problem(
                column,
                f"'{self.raw(column).strip()}' is not a flag: use 1 or 0 (or true/false, "
                "yes/no, or leave it empty)",
            )
        return FLAGS.get(value, False)

    def date(self, column: str) -> dt.date | None:
        value = self.raw(column).strip()
        if not value:
            return None
        if ISO_DATE.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.problem(column, f"'{value}' is not a valid date; write it as YYYY-MM-DD")
        return None

    def integer(self, column: str, low: int, high: int, what: str) -> int | None:
        value = self.raw(column).strip()
        if not value:
            return None
        if INTEGER.fullmatch(value) and low <= int(value) <= high:
            return int(value)
        self.problem(column, f"'{value}' is not {what} ({low}–{high})")
        return None

    def multi(self, column: str) -> list[str] | None:
        if not self.has(column):
            return None
        cell = self.text(column)
        return [value.strip() for value in cell.split(SEPARATOR) if value.strip()]


def _linked(
    reader: _RowReader,
    names_column: str,
    ids_column: str,
    *,
    model: type[models.Model],
    name_field: str,
) -> list[tuple[str, str | None]] | None:
    """(slug, name) pairs of a names column and its ids column; None if both absent."""
    names, ids = reader.multi(names_column), reader.multi(ids_column)
    if names is None and ids is None:
        return None
    names, ids = names or [], ids or []
    if names and ids and len(names) != len(ids):
        reader.problem(
            ids_column,
            f"{len(ids)} ids for {len(names)} names in '{names_column}'; give one id "
            "per name, in the same order",
        )
        return []
    slug_limit, name_limit = _max_length(model, "slug"), _max_length(model, name_field)
    pairs = []
    for position, name in enumerate(names or [None] * len(ids)):
        if ids:
            slug = ids[position]
            try:
                validate_slug(slug)
            except ValidationError:
                reader.problem(
                    ids_column,
                    f"'{slug}' is not a valid id: use only letters, digits, hyphens "
                    "and underscores",
                )
                continue
            if len(slug) > slug_limit:
                reader.problem(
                    ids_column, f"'{slug}' is longer than {slug_limit} characters"
                )
                continue
        else:
            slug = slugify(name)[:slug_limit].strip("-")
            if not slug:
                reader.problem(
                    names_column,
                    f"cannot make an id from '{name}'; give one in '{ids_column}'",
                )
                continue
        if name is not None and len(name) > name_limit:
            reader.problem(
                names_column, f"'{name[:40]}…' is longer than {name_limit} characters"
            )
            continue
        pairs.append((slug, name))
    return pairs


def _source_urls(reader: _RowReader) -> list[str] | None:
    urls = reader.multi("source_urls")
    if urls is None:
        return None
    check, limit = URLValidator(), _max_length(Source, "url")
    for url in urls:
        try:
            check(url)
        except ValidationError:
            reader.problem("source_urls", f"'{url}' is not a web address")
        if len(url) > limit:
            reader.problem(
                "source_urls", f"'{url[:40]}…' is longer than {limit} characters"
            )
    return list(dict.fromkeys(urls))


def _parse_ours(reader: _RowReader) -> _Row:
    values: dict[str, Any] = {}
    title = reader.text("title", field_name="title", required=True)
    values["title"] = title
    kind = reader.choice("kind", EventKind)
    if not kind:
        reader.problem("kind", "is empty; a value is required")
    values["kind"] = kind
    date = reader.date("date")
    if not reader.raw("date").strip():
        reader.problem(
            "date",
            "is empty; every event needs a date (for a year only, write 2016-01-01 "
            "with date_precision year)",
        )
    values["date"] = date
    for column in ("summary", "date_note", "confidence_note"):
        if reader.has(column):
            values[column] = reader.text(column, field_name=column)
    for column in ("date_approximate", "key", "context"):
        if reader.has(column):
            values[EVENT_COLUMNS[column]] = reader.flag(column)
    # An empty precision or confidence leaves the stored value (the default on create).
    for column, choices in (
        ("date_precision", DatePrecision),
        ("end_precision", DatePrecision),
        ("confidence", Confidence),
    ):
        if value := reader.choice(column, choices):
            values[column] = value
    if reader.has("end_date"):
        values["end_date"] = reader.date("end_date")
    end = values.get("end_date")

    if message := precision_error(
        date, values.get("date_precision", DatePrecision.DAY)
    ):
        reader.problem("date", message)
    if end and (
        message := precision_error(end, values.get("end_precision", DatePrecision.DAY))
    ):
        reader.problem("end_date", message)
    if end and date and end < date:
        reader.problem("end_date", "The end date cannot be before the date.")

    slug = reader.raw("id").strip()
    if slug:
        try:
            validate_slug(slug)
        except ValidationError:
            reader.problem(
                "id",
                f"'{slug}' is not a valid id: use only letters, digits, hyphens and "
                "underscores",
            )
        limit = _max_length(Event, "slug")
        if len(slug) > limit:
            reader.problem("id", f"is {len(slug)} characters long; at most {limit} fit")
    return _Row(
        number=reader.number,
        slug=slug,
        values=values,
        from_file_id=bool(slug),
        parties=_linked(reader, "parties", "party_ids", model=Party, name_field="name"),
        claims=_linked(reader, "claims", "claim_ids", model=Claim, name_field="title"),
        source_urls=_source_urls(reader),
    )


def _timelinejs_date(
    reader: _RowReader, year_column: str, prefix: str
) -> tuple[dt.date | None, str]:
    """A date and its precision from Year/Month/Day (or End Year/End Month/End Day)."""
    year = reader.integer(year_column, 1, 9999, "a year this site can store")
    month = reader.integer(f"{prefix}Month", 1, 12, "a month")
    day = reader.integer(f"{prefix}Day", 1, 31, "a day of the month")
    if reader.raw(f"{prefix}Day").strip() and not reader.raw(f"{prefix}Month").strip():
        reader.problem(f"{prefix}Day", "a day needs a month")
        return None, DatePrecision.DAY
    if reader.raw(f"{prefix}Month").strip() and not reader.raw(year_column).strip():
        reader.problem(f"{prefix}Month", "a month needs a year")
        return None, DatePrecision.DAY
    if year is None or (reader.raw(f"{prefix}Month").strip() and month is None):
        return None, DatePrecision.DAY
    if reader.raw(f"{prefix}Day").strip() and day is None:
        return None, DatePrecision.DAY
    try:
        value = dt.date(year, month or 1, day or 1)
    except ValueError:
        reader.problem(
            f"{prefix}Day", f"{year:04d}-{month:02d}-{day:02d} is not a valid date"
        )
        return None, DatePrecision.DAY
    if day:
        return value, DatePrecision.DAY
    return value, DatePrecision.MONTH if month else DatePrecision.YEAR


def _timelinejs_kind(reader: _RowReader) -> str:
    group = reader.raw("Group").strip()
    if not group:
        return EventKind.NEWS
    for value, label in EventKind.choices:
        if group.casefold() in (value.casefold(), label.casefold()):
            return value
    reader.problem(
        "Group",
        f"'{group}' is not an event kind; use one of {', '.join(EventKind.values)} "
        "(or its label), or leave it empty for news",
    )
    return ""


def _parse_timelinejs(reader: _RowReader) -> _Row | str:
    """The row as an event, or the reason it is skipped."""
    kind_of_slide = reader.raw("Type").strip().lower()
    if kind_of_slide == "title":
        return "title slide"
    if kind_of_slide == "era":
        reader.warn("Type", "an era (a span shown behind the events) is not imported")
        return "era"
    if kind_of_slide:
        reader.problem(
            "Type",
            f"'{reader.raw('Type').strip()}' is not a TimelineJS slide type: leave it "
            "empty for an event, or use title or era",
        )
    if not reader.raw("Year").strip():
        reader.problem("Year", "is empty; a value is required")
    date, precision = _timelinejs_date(reader, "Year", "")
    values: dict[str, Any] = {"date": date, "date_precision": precision}
    if any(reader.raw(c).strip() for c in ("End Year", "End Month", "End Day")):
        if not reader.raw("End Year").strip():
            reader.problem("End Year", "is empty; an end date needs a year")
        end, end_precision = _timelinejs_date(reader, "End Year", "End ")
        values.update(end_date=end, end_precision=end_precision)
        if end and date and end < date:
            reader.problem("End Year", "The end date cannot be before the date.")
    else:
        values["end_date"] = None
    for column in ("Time", "End Time"):
        if reader.raw(column).strip():
            reader.warn(column, "times are not stored; only the date is imported")
    values["title"] = reader.text(
        "Headline",
        field_name="title",
        required=True,
        value=plain_text(reader.raw("Headline")),
    )
    values["summary"] = reader.text("Text", value=plain_text(reader.raw("Text")))
    values["date_note"] = reader.text(
        "Display Date", field_name="date_note", value=reader.raw("Display Date").strip()
    )
    values["kind"] = _timelinejs_kind(reader)
    return _Row(
        number=reader.number,
        slug=event_slug(date, values["title"]),
        values=values,
        from_file_id=False,
    )


def _parse(
    layout: str, names: list[str], records: list[list[str]], report: ImportReport
) -> list[_Row]:
    rows: list[_Row] = []
    first_row: dict[str, int] = {}  # id: the row it first appears on
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines, e.g. a spreadsheet's trailing empty rows
        extra = [cell for cell in record[len(names) :] if cell.strip()]
        if extra:
            report.problems.append(
                f"Row {number}: has {len(record)} cells but the header row names "
                f"{len(names)} columns."
            )
            continue
        cells = {}
        for position, name in enumerate(names):
            value = record[position] if position < len(record) else ""
            if not name:
                if value.strip():
                    report.problems.append(
                        _cell(number, f"#{position + 1}", "has a value but no header")
                    )
                continue
            cells[name] = unguard(value) if layout == OURS else value
        reader = _RowReader(number, cells, report)
        parsed = _parse_ours(reader) if layout == OURS else _parse_timelinejs(reader)
        if isinstance(parsed, _Row) and parsed.from_file_id:
            if parsed.slug in first_row:
                reader.problem(
                    "id",
                    f"'{parsed.slug}' is used twice in the file (rows "
                    f"{first_row[parsed.slug]} and {number})",
                )
            first_row.setdefault(parsed.slug, number)
        reader.report_problems()
        if isinstance(parsed, str):
            report.rows.append(
                RowAction(
                    number,
                    "",
                    plain_text(cells.get("Headline", "")),
                    "skip",
                    parsed,
                )
            )
            report.skipped += 1
        elif reader.ok:
            rows.append(parsed)
    return rows


# Reading what the case already holds


def _in_chunks(queryset: models.QuerySet, lookup: str, values: Iterable) -> list:
    values = list(values)
    found = []
    for start in range(0, len(values), QUERY_CHUNK):
        chunk = values[start : start + QUERY_CHUNK]
        found.extend(queryset.filter(**{f"{lookup}__in": chunk}))
    return found


class _Importer:
    """Resolves parsed rows against the case, then writes them (inside a transaction)."""

    def __init__(self, case: Case, layout: str, rows: list[_Row], report: ImportReport):
        self.case = case
        self.layout = layout
        self.rows = rows
        self.report = report
        self.parties: dict[str, Party] = {}
        self.new_parties: dict[str, tuple[str, int, str]] = {}  # slug: (name, row, col)
        self.claims: dict[str, Claim] = {}
        self.new_claims: dict[str, tuple[str, int, str]] = {}
        self.sources: dict[str, Source] = {}
        self.new_sources: dict[str, int] = {}  # url: first row
        self.party_links: dict[int, set[int]] = defaultdict(set)
        self.claim_links: dict[int, set[int]] = defaultdict(set)
        self.citations: dict[int, dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(list)
        )
        # Links of new events, written in bulk once every event is saved.
        self.new_links: dict[type[models.Model], list[models.Model]] = defaultdict(list)

    def column(self, field_name: str) -> str:
        if self.layout == TIMELINEJS:
            return TIMELINEJS_FIELD_COLUMNS.get(field_name, field_name)
        columns = {f: c for c, f in EVENT_COLUMNS.items()}
        return columns.get(field_name, field_name)

    def resolve(self) -> None:
        """Match rows to events, slugs to parties and claims, URLs to sources."""
        events = {e.slug: e for e in Event.objects.filter(case=self.case)}
        taken = set(events) | {row.slug for row in self.rows if row.from_file_id}
        assigned: set[str] = set()
        for row in self.rows:
            if self.layout == TIMELINEJS:
                # Rows repeating a date and headline get -2, -3… in file order: the
                # same slugs on every import, so a second import finds the events.
                row.slug = _unique_slug(row.slug, assigned)
                assigned.add(row.slug)
                row.event = events.get(row.slug)
            elif row.from_file_id:
                row.event = events.get(row.slug)
            else:
                row.slug = _unique_slug(
                    event_slug(row.values.get("date"), row.values["title"]), taken
                )
                taken.add(row.slug)
        # Parties are shared by all cases; claims belong to one.
        self._resolve_named(
            Party.objects.all(), "parties", "party", self.parties, self.new_parties
        )
        self._resolve_named(
            Claim.objects.filter(case=self.case),
            "claims",
            "claim",
            self.claims,
            self.new_claims,
        )
        urls = {url for row in self.rows for url in row.source_urls or ()}
        for source in _in_chunks(
            Source.objects.filter(case=self.case).order_by("-pk"), "url", urls
        ):
            self.sources[source.url] = source  # the oldest source with the URL wins
        for row in self.rows:
            for url in row.source_urls or ():
                if url not in self.sources:
                    self.new_sources.setdefault(url, row.number)

        event_ids = [row.event.pk for row in self.rows if row.event]
        through = Event.parties.through.objects
        for event_id, party_id in _in_chunks(
            through.values_list("event_id", "party_id"), "event_id", event_ids
        ):
            self.party_links[event_id].add(party_id)
        through = Event.claims.through.objects
        for event_id, claim_id in _in_chunks(
            through.values_list("event_id", "claim_id"), "event_id", event_ids
        ):
            self.claim_links[event_id].add(claim_id)
        for pk, event_id, url in _in_chunks(
            Citation.objects.exclude(source__url="").values_list(
                "pk", "event_id", "source__url"
            ),
            "event_id",
            event_ids,
        ):
            self.citations[event_id][url].append(pk)

    def _resolve_named(
        self,
        queryset: models.QuerySet,
        attribute: str,
        noun: str,
        found: dict,
        new: dict,
    ) -> None:
        """Find the linked parties (or claims) by id; plan the missing ones."""
        names_column, ids_column = attribute, f"{noun}_ids"
        name_field = "name" if noun == "party" else "title"
        slugs = {slug for row in self.rows for slug, _ in getattr(row, attribute) or ()}
        for obj in _in_chunks(queryset, "slug", slugs):
            found[obj.slug] = obj
        for row in self.rows:
            for slug, name in getattr(row, attribute) or ():
                if slug in found:
                    current = getattr(found[slug], name_field)
                elif slug in new:
                    current = new[slug][0]
                elif name is None:
                    self.report.problems.append(
                        _cell(
                            row.number,
                            ids_column,
                            f"no {noun} has the id '{slug}'; give its name in "
                            f"'{names_column}' to create it",
                        )
                    )
                    continue
                else:
                    new[slug] = (name, row.number, ids_column)
                    continue
                if name is not None and name != current:
                    self.report.warnings.append(
                        _cell(
                            row.number,
                            names_column,
                            f"the {noun} '{slug}' is called '{name}' here; kept its "
                            f"name '{current}'",
                        )
                    )

    # Writing

    def _save(
        self,
        obj: models.Model,
        row: int,
        column: str | None,
        exclude: tuple[str, ...] = (),
    ) -> bool:
        """full_clean() and save; a ValidationError becomes a problem naming the cell."""
        try:
            obj.full_clean(exclude=exclude)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                for message in messages:
                    if name == NON_FIELD_ERRORS and column is None:
                        self.report.problems.append(f"Row {row}: {message}")
                    else:
                        where = column or self.column(name)
                        self.report.problems.append(_cell(row, where, message))
            return False
        obj.save()
        return True

    def write(self) -> None:
        for slug, (name, row, column) in self.new_parties.items():
            party = Party(slug=slug, name=name)
            if self._save(party, row, column):
                self.parties[slug] = party
                self.report.add_related("parties")
        for slug, (title, row, column) in self.new_claims.items():
            claim = Claim(case=self.case, slug=slug, title=title)
            if self._save(claim, row, column):
                self.claims[slug] = claim
                self.report.add_related("claims")
        for url, row in self.new_sources.items():
            host = urlsplit(url).hostname or url
            source = Source(
                case=self.case,
                kind=SourceKind.OTHER,
                outlet=host[: _max_length(Source, "outlet")],
                url=url,
            )
            if self._save(source, row, "source_urls"):
                self.sources[url] = source
                self.report.add_related("sources")
        self._add_roles()
        if self.report.problems:
            return
        for row in self.rows:
            self._write_row(row)
        for through, links in self.new_links.items():
            through.objects.bulk_create(links, batch_size=QUERY_CHUNK)

    def _add_roles(self) -> None:
        """A role "other" for each linked party without one, so case pages list it."""
        linked = {
            self.parties[slug].pk
            for row in self.rows
            for slug, _ in row.parties or ()
            if slug in self.parties
        }
        with_role = set(
            CaseParty.objects.filter(case=self.case).values_list("party_id", flat=True)
        )
        for party_id in sorted(linked - with_role):
            CaseParty.objects.create(
                case=self.case,
                party_id=party_id,
                role=PartyRole.OTHER,
                side=Side.NEUTRAL,
            )
            self.report.add_related("party roles")

    def _write_row(self, row: _Row) -> None:
        event = row.event
        created = event is None
        if created:
            event = Event(case=self.case, slug=row.slug, **row.values)
            changes = []
        else:
            changes = [
                name
                for name, value in row.values.items()
                if getattr(event, name) != value
            ]
            for name in changes:
                setattr(event, name, row.values[name])
        # Without "case": the case is this one, and resolve() checked the slug against
        # its events; that spares three queries a row, and the database constraint
        # still refuses a slug another editor took meanwhile.
        if (created or changes) and not self._save(
            event, row.number, None, exclude=("case",)
        ):
            return
        changes += self._write_links(row, event, created)
        if created:
            action, note = "create", ""
            self.report.created += 1
        elif changes:
            action = "update"
            note = "changed: " + ", ".join(self.column(name) for name in changes)
            self.report.updated += 1
        else:
            action, note = "unchanged", ""
            self.report.unchanged += 1
        self.report.rows.append(
            RowAction(row.number, row.slug, event.title, action, note)
        )

    def _write_links(self, row: _Row, event: Event, created: bool) -> list[str]:
        """Set parties, claims and cited URLs to what the row says; what changed."""
        changed = []
        for attribute, target, found, links in (
            ("parties", "party_id", self.parties, self.party_links),
            ("claims", "claim_id", self.claims, self.claim_links),
        ):
            pairs = getattr(row, attribute)
            if pairs is None:
                continue
            wanted = {found[slug].pk for slug, _ in pairs}
            if wanted == (set() if created else links[event.pk]):
                continue
            changed.append(attribute)
            if created:
                through = getattr(Event, attribute).through
                self.new_links[through].extend(
                    through(event_id=event.pk, **{target: pk}) for pk in sorted(wanted)
                )
            else:
                getattr(event, attribute).set(wanted)
        if row.source_urls is not None:
            current = {} if created else self.citations[event.pk]
            stale = [
                pk
                for url, pks in current.items()
                if url not in row.source_urls
                for pk in pks
            ]
            if stale:
                Citation.objects.filter(pk__in=stale).delete()
            missing = [url for url in row.source_urls if url not in current]
            self.new_links[Citation].extend(
                Citation(event=event, source=self.sources[url]) for url in missing
            )
            if stale or missing:
                changed.append("source_urls")
        return changed


def timeline_import(*, case: Case, file_bytes: bytes, dry_run: bool) -> ImportReport:
    """Import a timeline CSV into `case`; raise TimelineImportError with every problem.

    The file is our own export (docs/csv.md) or a TimelineJS sheet, told apart by the
    header row. A dry run computes the same report and rolls everything back.
    """
    report = ImportReport(dry_run=dry_run)
    text = _decode(file_bytes, report.problems)
    records = _records(text, report.problems) if text is not None else None
    detected = _layout(records[0], report.problems) if records else None
    if report.problems or detected is None:
        raise TimelineImportError(report.problems, report)
    report.layout, names = detected
    rows = _parse(report.layout, names, records, report)
    if not rows and not report.rows and not report.problems:
        report.warnings.append("The file has a header row but no rows of events.")
    importer = _Importer(case, report.layout, rows, report)
    if not report.problems:
        importer.resolve()
    if report.problems:
        raise TimelineImportError(report.problems, report)
    try:
        with transaction.atomic():
            importer.write()
            if report.problems or dry_run:
                transaction.set_rollback(True)
    except IntegrityError as error:
        # Only when someone else changed the case between the checks and the write.
        report.problems.append(
            f"The case changed while the file was being imported ({error}); nothing "
            "was written. Import the file again."
        )
    if report.problems:
        raise TimelineImportError(report.problems, report)
    report.rows.sort(key=lambda action: action.row)
    return report
