"""Backups of one case: a complete, versioned JSON snapshot, and its restore.

`case_backup` writes every row of a case (the case, its proceedings, the parties it uses,
their roles, claims and their status history, events, testimony, sources, citations and
every many-to-many link between them) with its primary key and its created/updated
times. Rows are streamed from the database in chunks, so memory stays flat whatever the
size of the case; the file holds one row per line:

    {"format": "casetracker-case-backup", "version": 1, "created_at": "...",
     "case": "musk-v-openai",
     "tables": [
      {"name": "casetracker.case", "columns": ["id", "created_at", ...], "rows": [
       [1, "2026-05-18T09:00:00.123456+00:00", ...]
      ], "count": 1},
      ...
      {"name": "casetracker.event.parties", "columns": ["event_id", "party_id"], ...}
     ]}

Generated columns (Event.date_rank) and the tables only the database writes (DERIVED:
the full-text index, the facet index, the counts by month, the revision counter) are
left out: the database derives them, and the restore re-indexes the case's events.
The link tables of many-to-many fields hold (owner id, target id) pairs; their own ids
are not kept, nothing shows them.

`case_restore` puts such a snapshot back into a database that does not hold the case,
with the same ids, so permalinks, exports and feeds come out identical. It refuses,
writing nothing, when the file is not a backup it understands, when any value has the
wrong type, when a row refers to a row the backup does not hold, or when the case slug
or any id is already taken. It reads the whole file into memory (a JSON document cannot
be checked before it has been read to its end); the rows are then written in batches.

Parties are the exception to "any id taken": they are not owned by a case, and one
party can be in several cases. A party whose id and slug both already exist is taken to
be the same party, kept as it is in the database and linked to; an id or a slug that
exists with the other one different is refused.
"""

import contextlib
import datetime as dt
import functools
import gzip
import json
import operator
import os
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import revisions, search
from .models import (
    Case,
    CaseMonth,
    CaseParty,
    CaseRevision,
    Citation,
    Claim,
    ClaimStatusChange,
    Event,
    EventFacet,
    EventSearch,
    Party,
    Proceeding,
    Source,
    Testimony,
)
from .models.history import history_models

FORMAT = "casetracker-case-backup"
VERSION = 1
SUPPORTED_VERSIONS = {1}
CHUNK_SIZE = 2_000  # rows fetched per round trip when writing a backup
INSERT_BATCH = 5_000  # rows per executemany when restoring
MAX_PROBLEMS = 20  # problems listed before "... and N more"

# Every model that holds case data, in an order where each row's references come first.
# tests/test_backups.py checks that every model of the app is here or in DERIVED.
MODELS: tuple[type[models.Model], ...] = (
    Case,
    Party,
    Source,
    Proceeding,
    CaseParty,
    Claim,
    Event,
    ClaimStatusChange,
    Testimony,
    Citation,
)
# Written only by the database, from the rows above: the full-text index, the
# timeline's party and claim index, the events counted by month and the case's
# revision counter (see search.py, facets.py, months.py, revisions.py). A restore
# rebuilds them.
DERIVED: tuple[type[models.Model], ...] = (
    EventSearch,
    EventFacet,
    CaseMonth,
    CaseRevision,
)
# The audit history (models/history.py) is this database's record of who changed what,
# not data of the case: a backup leaves it out, and a restore (bulk writes) adds none.
# Carried to another database it would name users by ids that mean nothing there.
AUDIT_TRAIL: tuple[type[models.Model], ...] = history_models()

# How each column is written to JSON and checked when read back.
INT, STR, BOOL, DATE, DATETIME = "int", "str", "bool", "date", "datetime"
KINDS = {
    "AutoField": INT,
    "BigAutoField": INT,
    "SmallAutoField": INT,
    "IntegerField": INT,
    "BigIntegerField": INT,
    "SmallIntegerField": INT,
    "PositiveIntegerField": INT,
    "PositiveBigIntegerField": INT,
    "PositiveSmallIntegerField": INT,
    "CharField": STR,
    "TextField": STR,
    "SlugField": STR,
    "URLField": STR,
    "EmailField": STR,
    "BooleanField": BOOL,
    "DateField": DATE,
    "DateTimeField": DATETIME,
}


class BackupError(Exception):
    """A backup that cannot be written or restored; `problems` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


# The tables of a backup


@dataclass(frozen=True)
class Table:
    """One table of a backup: a model's rows, or the links of a many-to-many field."""

    name: str
    model: type[
        models.Model
    ]  # the model, or the M2M field's auto-created through model
    fields: tuple[models.Field, ...]
    m2m: models.ManyToManyField | None = None

    @property
    def columns(self) -> list[str]:
        return [f.attname for f in self.fields]


def column_kind(field: models.Field) -> str:
    target = field.target_field if field.is_relation else field
    try:
        return KINDS[target.get_internal_type()]
    except KeyError:
        raise TypeError(
            f"backups.py does not know how to write {field.model.__name__}.{field.name} "
            f"({target.get_internal_type()}): add it to KINDS."
        ) from None


def tables() -> list[Table]:
    """The tables of a backup, in restore order: model tables, then link tables."""
    result = [
        Table(
            name=model._meta.label_lower,
            model=model,
            fields=tuple(f for f in model._meta.concrete_fields if not f.generated),
        )
        for model in MODELS
    ]
    for model in MODELS:
        for m2m in model._meta.local_many_to_many:
            through = m2m.remote_field.through
            if not through._meta.auto_created:
                continue  # an explicit through model (Citation) is a table of its own
            result.append(
                Table(
                    name=f"{model._meta.label_lower}.{m2m.name}",
                    model=through,
                    fields=(
                        through._meta.get_field(m2m.m2m_field_name()),
                        through._meta.get_field(m2m.m2m_reverse_field_name()),
                    ),
                    m2m=m2m,
                )
            )
    return result


def _case_rows(case: Case) -> dict[type[models.Model], models.QuerySet]:
    """Each model's rows that belong to the case (parties: the ones it uses)."""
    rows: dict[type[models.Model], models.QuerySet] = {
        Case: Case._base_manager.filter(pk=case.pk),
        Source: Source._base_manager.filter(case=case),
        Proceeding: Proceeding._base_manager.filter(case=case),
        CaseParty: CaseParty._base_manager.filter(case=case),
        Claim: Claim._base_manager.filter(case=case),
        Event: Event._base_manager.filter(case=case),
        ClaimStatusChange: ClaimStatusChange._base_manager.filter(claim__case=case),
        Testimony: Testimony._base_manager.filter(case=case),
        Citation: Citation._base_manager.filter(
            models.Q(source__case=case)
            | models.Q(event__case=case)
            | models.Q(testimony__case=case)
            | models.Q(claim__case=case)
            | models.Q(status_change__claim__case=case)
        ),
    }
    # Parties: every one a row or a link of the case points at.
    used = [
        queryset.values(f.attname)
        for model, queryset in rows.items()
        for f in model._meta.concrete_fields
        if f.is_relation and f.related_model is Party
    ] + [
        _links(table, rows).values(f.attname)
        for table in tables()
        if table.m2m is not None
        for f in table.fields
        if f.related_model is Party
    ]
    rows[Party] = Party._base_manager.filter(
        functools.reduce(operator.or_, (models.Q(pk__in=ids) for ids in used))
    )
    return rows


def _links(table: Table, rows: dict) -> models.QuerySet:
    """A link table's rows whose case-owned ends are rows of the case.

    The party end is not filtered: the parties are the ones the links lead to.
    """
    queryset = table.model._base_manager.all()
    for f in table.fields:
        if f.related_model in rows and f.related_model is not Party:
            queryset = queryset.filter(
                **{f"{f.attname}__in": rows[f.related_model].values("pk")}
            )
    return queryset


# Writing


def _encode(value: Any) -> Any:
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    return value


def backup_lines(case: Case, counts: dict[str, int] | None = None) -> Iterator[str]:
    """The backup of a case as text chunks, streamed from the database.

    Run it inside a transaction for a consistent snapshot (case_backup does). `counts`,
    if given, receives the number of rows written per table.
    """
    rows = _case_rows(case)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": timezone.now().isoformat(),
        "case": case.slug,
    }
    yield json.dumps(header, ensure_ascii=False)[:-1] + ',\n"tables": ['
    for index, table in enumerate(tables()):
        queryset = rows[table.model] if table.m2m is None else _links(table, rows)
        queryset = queryset.order_by("pk").values_list(*table.columns)
        head = {"name": table.name, "columns": table.columns}
        yield (
            ("," if index else "")
            + "\n"
            + json.dumps(head, ensure_ascii=False)[:-1]
            + ', "rows": ['
        )
        count = 0
        for row in queryset.iterator(chunk_size=CHUNK_SIZE):
            yield (
                ("," if count else "")
                + "\n"
                + json.dumps([_encode(v) for v in row], ensure_ascii=False)
            )
            count += 1
        yield f'\n], "count": {count}}}'
        if counts is not None:
            counts[table.name] = count
    yield "\n]}\n"


@dataclass
class BackupReport:
    case: str
    counts: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def _snapshot() -> Iterator[None]:
    """A transaction that reads every table as of one moment, even while editors
    keep working (on PostgreSQL, where that takes REPEATABLE READ)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"
                )
        yield


def case_backup(*, case: Case, stream: IO[str]) -> BackupReport:
    """Write the backup of a case to a text stream; return the row count per table."""
    report = BackupReport(case=case.slug)
    with _snapshot():
        for chunk in backup_lines(case, report.counts):
            stream.write(chunk)
    return report


GZIP_PIECE = 1 << 16  # characters of backup compressed at a time


def case_backup_gzip(*, case: Case) -> Iterator[bytes]:
    """The backup of a case as a .gz file, in pieces, for a download that is sent
    while the database is read: memory stays flat and the first bytes leave at once.
    Its content is what backup_case writes to a .gz file (restore_case reads both)."""
    compressor = zlib.compressobj(wbits=31)  # 31: a gzip header and trailer
    with _snapshot():
        pending: list[str] = []
        size = 0
        for chunk in backup_lines(case):
            pending.append(chunk)
            size += len(chunk)
            if size >= GZIP_PIECE:
                if data := compressor.compress("".join(pending).encode()):
                    yield data
                pending, size = [], 0
        yield compressor.compress("".join(pending).encode()) + compressor.flush()


def case_backup_to_file(*, case: Case, path: Path) -> BackupReport:
    """Write the backup to `path` (gzip-compressed if it ends in .gz), atomically.

    The file appears only once it is complete: a failed run leaves no half file.
    """
    partial = path.with_name(path.name + ".partial")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(partial, "wt", encoding="utf-8", newline="\n") as handle:
            report = case_backup(case=case, stream=handle)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return report


# Reading


def backup_read(data: bytes, *, name: str = "the file") -> dict:
    """Parse a backup (plain or gzip-compressed JSON); raise BackupError if it is not one."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise BackupError(
                [f"{name} is a damaged or truncated gzip file ({error})."]
            ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BackupError(
            [f"{name} is not UTF-8 text ({error.reason} at byte {error.start})."]
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BackupError(
            [
                f"{name} is not complete, valid JSON (line {error.lineno}, column "
                f"{error.colno}: {error.msg}). Was it truncated?"
            ]
        ) from None
    except RecursionError:
        raise BackupError([f"{name} is nested too deeply to be a backup."]) from None
    return document


@dataclass
class RestoreReport:
    case: str
    counts: dict[str, int] = field(default_factory=dict)
    reused_parties: list[str] = field(default_factory=list)


class _Problems(list):
    """A list of problems that stops the check once it is long enough."""

    class FullError(Exception):
        pass

    def add(self, message: str) -> None:
        self.append(message)
        if len(self) > MAX_PROBLEMS:
            raise self.FullError

    def final(self) -> list[str]:
        if len(self) > MAX_PROBLEMS:
            return [*self[:MAX_PROBLEMS], "... and more; fix these first."]
        return list(self)


def _decode(kind: str, value: Any) -> Any:
    """The Python value of a JSON value of a column; ValueError if it has the wrong type."""
    if kind == INT:
        if type(value) is not int:
            raise ValueError("expected a whole number")
        return value
    if kind == STR:
        if not isinstance(value, str):
            raise ValueError("expected text")
        return value
    if kind == BOOL:
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a {kind} written as text")
    if kind == DATE:
        try:
            if len(value) != 10:
                raise ValueError
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not a date as YYYY-MM-DD: {value[:40]!r}") from None
    try:
        parsed = parse_datetime(value)
    except ValueError:  # well-formed but impossible, e.g. month 13
        parsed = None
    if parsed is None or (settings.USE_TZ and timezone.is_naive(parsed)):
        raise ValueError(f"not a date and time with a UTC offset: {value[:40]!r}")
    return parsed


class _Restorer:
    def __init__(self, document: Any, name: str):
        self.document = document
        self.name = name
        self.problems = _Problems()
        self.tables = {table.name: table for table in tables()}
        # table name -> (columns present in the file, decoded rows)
        self.rows: dict[str, tuple[list[models.Field], list[list[Any]]]] = {}
        self.ids: dict[type[models.Model], set[int]] = {}
        self.reused_parties: set[int] = set()

    # Checks of the file on its own

    def check_document(self) -> None:
        document = self.document
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            self.problems.add(
                f"{self.name} is not a casetracker case backup (no "
                f'"format": "{FORMAT}" at its top).'
            )
            return
        version = document.get("version")
        if type(version) is not int or version not in SUPPORTED_VERSIONS:
            supported = ", ".join(str(v) for v in sorted(SUPPORTED_VERSIONS))
            self.problems.add(
                f"Backup format version {version!r} is not one this site can restore "
                f"(it reads version {supported}). Restore it with the version of "
                "casetracker that wrote it, or a newer one."
            )
            return
        if not isinstance(document.get("case"), str) or not document["case"]:
            self.problems.add('The backup names no case ("case" is missing).')
        tables_ = document.get("tables")
        if not isinstance(tables_, list):
            self.problems.add('The backup has no list of tables ("tables").')
            return
        for index, table in enumerate(tables_):
            self.check_table(index, table)
        for name in self.tables.keys() - self.rows.keys():
            self.problems.add(f"The backup has no table {name}: it is incomplete.")

    def check_table(self, index: int, data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            self.problems.add(f"Table #{index + 1} has no name.")
            return
        name = data["name"]
        table = self.tables.get(name)
        if table is None:
            self.problems.add(f"Unknown table {name[:80]!r} (table #{index + 1}).")
            return
        if name in self.rows:
            self.problems.add(f"Table {name} appears twice.")
            return
        columns, rows, count = data.get("columns"), data.get("rows"), data.get("count")
        if not isinstance(columns, list) or not all(
            isinstance(c, str) for c in columns
        ):
            self.problems.add(f"{name}: the column list is missing or not text.")
            return
        if not isinstance(rows, list):
            self.problems.add(f"{name}: the rows are missing.")
            return
        if type(count) is not int or count != len(rows):
            self.problems.add(
                f"{name}: the file says {count!r} rows but holds {len(rows)}; it was "
                "truncated or edited."
            )
            return
        by_attname = {f.attname: f for f in table.fields}
        unknown = [c for c in columns if c not in by_attname]
        missing = [
            f
            for f in table.fields
            if f.attname not in columns
            and (f.primary_key or table.m2m is not None or not _has_default(f))
        ]
        if unknown or missing or len(set(columns)) != len(columns):
            details = []
            if unknown:
                details.append(f"unknown columns {', '.join(unknown)[:200]}")
            if missing:
                details.append(
                    f"missing columns {', '.join(f.attname for f in missing)}"
                )
            if len(set(columns)) != len(columns):
                details.append("a column named twice")
            self.problems.add(
                f"{name}: {'; '.join(details) or 'bad columns'}. The backup does not "
                "match this version's data model."
            )
            return
        fields = [by_attname[c] for c in columns]
        kinds = [column_kind(f) for f in fields]
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, list) or len(row) != len(fields):
                self.problems.add(
                    f"{name}, row {number}: expected a list of {len(fields)} values."
                )
                continue
            values = []
            for f, kind, value in zip(fields, kinds, row, strict=True):
                where = f"{name}, row {number}, column {f.attname}"
                if value is None:
                    if not f.null:
                        self.problems.add(f"{where}: a value is required.")
                    values.append(None)
                    continue
                try:
                    value = _decode(kind, value)
                except ValueError as error:
                    self.problems.add(f"{where}: {error}.")
                    value = None
                if kind == STR and f.max_length and len(value) > f.max_length:
                    self.problems.add(
                        f"{where}: {len(value)} characters, more than the "
                        f"{f.max_length} allowed."
                    )
                values.append(value)
            rows[number - 1] = values  # in place: the file's lists are not kept twice
        self.rows[name] = (fields, rows)

    def check_references(self) -> None:
        """Ids unique in each table; every reference leads to a row of the backup."""
        for table in self.tables.values():
            if table.m2m is not None:
                continue
            fields, rows = self.rows[table.name]
            position = [f.attname for f in fields].index(table.model._meta.pk.attname)
            ids = [row[position] for row in rows]
            counted = Counter(ids)
            twice = sorted(i for i, n in counted.items() if n > 1)
            if twice:
                self.problems.add(
                    f"{table.name}: ids {_ids(twice)} appear more than once."
                )
            self.ids[table.model] = set(ids)
        cases = self.rows["casetracker.case"][1]
        slug_at = [f.attname for f in self.rows["casetracker.case"][0]].index("slug")
        if len(cases) != 1 or cases[0][slug_at] != self.document["case"]:
            self.problems.add(
                f"The backup must hold exactly one case, {self.document['case']!r}; "
                f"it holds {len(cases)}."
            )
        for table in self.tables.values():
            fields, rows = self.rows[table.name]
            for index, f in enumerate(fields):
                if not f.is_relation:
                    continue
                target = f.related_model
                known = self.ids.get(target, set())
                dangling = sorted(
                    {row[index] for row in rows if row[index] is not None} - known
                )
                if dangling:
                    self.problems.add(
                        f"{table.name}, column {f.attname}: "
                        f"{target._meta.verbose_name} ids {_ids(dangling)} are not in "
                        "the backup."
                    )

    # Checks against the database

    def check_database(self) -> None:
        slug = self.document["case"]
        existing = Case._base_manager.filter(slug=slug).values_list("pk", flat=True)
        if existing:
            self.problems.add(
                f"This database already holds case {slug!r} (id {existing[0]}). Restore "
                "never overwrites: delete that case first, or restore into another "
                "database."
            )
            return  # its ids are taken too, of course: no need to list them
        for model in MODELS:
            if model is Party:
                self.check_parties()
                continue
            taken = _existing_ids(model, self.ids[model])
            if taken:
                self.problems.add(
                    f"{model._meta.label_lower}: ids {_ids(taken)} are already used "
                    f"in this database ({len(taken)} in all). Restore keeps ids so that "
                    "permalinks stay the same; it needs a database where they are free."
                )

    def check_parties(self) -> None:
        fields, rows = self.rows["casetracker.party"]
        names = [f.attname for f in fields]
        backup = {row[names.index("id")]: row[names.index("slug")] for row in rows}
        by_id = dict(
            _in_chunks(Party, "pk", backup, ("pk", "slug"))
        )  # id -> slug in the database
        by_slug = dict(
            _in_chunks(Party, "slug", backup.values(), ("slug", "pk"))
        )  # slug -> id in the database
        for pk, slug in sorted(backup.items()):
            if pk in by_id and by_id[pk] == slug:
                self.reused_parties.add(pk)  # the same party, shared with another case
            elif pk in by_id:
                self.problems.add(
                    f"Party id {pk} ({slug!r} in the backup) is party {by_id[pk]!r} in "
                    "this database."
                )
            elif slug in by_slug:
                self.problems.add(
                    f"Party slug {slug!r} (id {pk} in the backup) belongs to party id "
                    f"{by_slug[slug]} in this database."
                )

    # Writing

    def write(self) -> dict[str, int]:
        counts = {}
        # The full-text index is derived data: rebuilt once for the case's events at
        # the end, rather than by the triggers once per inserted row. The case's
        # revision moves once too (the case is new here: no other case is touched).
        with search.deferred_sync(), revisions.deferred_bump(self.ids[Case]):
            for table in self.tables.values():
                fields, rows = self.rows[table.name]
                if table.model is Party:
                    id_at = [f.attname for f in fields].index("id")
                    rows = [
                        row for row in rows if row[id_at] not in self.reused_parties
                    ]
                counts[table.name] = len(rows)
                _insert(table, fields, rows)
                rows.clear()  # written: free the memory for the next table
            search.reindex_events(
                Event._base_manager.filter(case__slug=self.document["case"])
            )
        # PostgreSQL: move the id sequences past the ids just written.
        statements = connection.ops.sequence_reset_sql(no_style(), MODELS)
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
        return counts

    def run(self, dry_run: bool) -> RestoreReport:
        with contextlib.suppress(_Problems.FullError):
            self.check_document()
            if not self.problems:
                self.check_references()
        if self.problems:
            raise BackupError(self.problems.final())
        try:
            with transaction.atomic():
                with contextlib.suppress(_Problems.FullError):
                    self.check_database()
                if self.problems:
                    raise BackupError(self.problems.final())
                counts = self.write()
                if dry_run:
                    transaction.set_rollback(True)
        except DatabaseError as error:
            raise BackupError(
                [f"The database refused the backup's rows: {error}"]
            ) from None
        reused = Party._base_manager.filter(pk__in=sorted(self.reused_parties))
        return RestoreReport(
            case=self.document["case"],
            counts=counts,
            reused_parties=sorted(reused.values_list("slug", flat=True)),
        )


def _has_default(f: models.Field) -> bool:
    return f.has_default() or f.null


def _ids(ids: list) -> str:
    shown = ", ".join(str(i) for i in ids[:10])
    return shown + (", ..." if len(ids) > 10 else "")


def _in_chunks(
    model: type[models.Model], lookup: str, values: Iterable, columns: tuple[str, ...]
) -> Iterator[tuple]:
    values = sorted(values)
    for start in range(0, len(values), 500):
        yield from model._base_manager.filter(
            **{f"{lookup}__in": values[start : start + 500]}
        ).values_list(*columns)


def _existing_ids(model: type[models.Model], ids: set[int]) -> list[int]:
    """The ids already in the table: one range query, not one query per id."""
    if not ids:
        return []
    in_range = model._base_manager.filter(pk__range=(min(ids), max(ids)))
    return sorted(
        pk
        for pk in in_range.values_list("pk", flat=True).iterator(chunk_size=CHUNK_SIZE)
        if pk in ids
    )


def _insert(table: Table, fields: list[models.Field], rows: list[list[Any]]) -> None:
    """INSERT the rows as they are, with their ids and timestamps.

    A plain multi-row executemany, as generate_synthetic_case writes: bulk_create would
    call pre_save() and replace created_at/updated_at (auto_now) with the time of the
    restore, and building model instances costs three times as much. Values go through
    each field's get_db_prep_save, so they are stored as the ORM stores them. Columns an
    older backup lacks get their default. Link rows get new ids of their own.
    """
    if not rows:
        return
    model = table.model
    present = {f.attname for f in fields}
    defaults = [
        f
        for f in model._meta.concrete_fields
        if not f.generated and f.attname not in present and not f.primary_key
    ]
    columns = [*fields, *defaults]
    default_values = [f.get_db_prep_save(f.get_default(), connection) for f in defaults]
    prepare = [
        (lambda v, f=f: f.get_db_prep_save(v, connection))
        if column_kind(f) in (DATE, DATETIME)
        else None
        for f in fields
    ]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH):
            cursor.executemany(
                sql,
                [
                    [
                        value if prep is None or value is None else prep(value)
                        for prep, value in zip(prepare, row, strict=True)
                    ]
                    + default_values
                    for row in rows[start : start + INSERT_BATCH]
                ],
            )


def case_restore(
    *, data: bytes, name: str = "the file", dry_run: bool = False
) -> RestoreReport:
    """Restore a backup into this database in one transaction, or raise BackupError.

    `data` is the file's content (read whole: the file is checked to its end before
    anything is written). A dry run checks everything, writes, and rolls back.
    """
    return _Restorer(backup_read(data, name=name), name).run(dry_run)
