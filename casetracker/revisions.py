"""A revision number per case that the database bumps on every change to its data.

Caches (the month counts), conditional requests (ETag, Last-Modified) and shared
proxies all need to know, cheaply and for certain, whether anything a case's pages show
has changed. Counting or scanning the rows to find out costs time in proportion to the
case. Instead, triggers on every table of case data bump a row of
`casetracker_caserevision` in the same transaction as the change, whatever made it:
the admin, an import, a bulk update, a raw SQL statement, another app server. Reading
the revision is one primary-key lookup.

SQLite runs the triggers once per row; PostgreSQL once per statement, over its
transition tables, so a bulk insert of a million rows bumps each case once.

The triggers are (re)installed after each migrate run and removed before one (SQLite
rebuilds a table to alter it, which fails while another table's trigger names it).

Bulk writers (the synthetic generator) pause them with `deferred_bump()`: on SQLite a
row-level trigger per inserted row and link cost two thirds of a million-event build.
"""

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connections

from .db import drop_named_triggers, paused, reinstall_triggers

REVISION_TABLE = "casetracker_caserevision"
# A row here (written and deleted inside one transaction) pauses the triggers.
PAUSED_TABLE = "casetracker_revision_paused"
PREFIX = "casetracker_rev_"
NOT_PAUSED = f"NOT EXISTS (SELECT 1 FROM {PAUSED_TABLE})"

# For each table of case data: a SELECT giving the `case_id` of the cases that a row
# `{r}` belongs to. Parties are shared by cases: a change to one touches every case
# that names it.
CASES_OF = {
    "casetracker_case": "SELECT {r}.id AS case_id",
    "casetracker_proceeding": "SELECT {r}.case_id AS case_id",
    "casetracker_caseparty": "SELECT {r}.case_id AS case_id",
    "casetracker_claim": "SELECT {r}.case_id AS case_id",
    "casetracker_event": "SELECT {r}.case_id AS case_id",
    "casetracker_testimony": "SELECT {r}.case_id AS case_id",
    "casetracker_source": "SELECT {r}.case_id AS case_id",
    "casetracker_claimstatuschange": (
        "SELECT case_id FROM casetracker_claim WHERE id = {r}.claim_id"
    ),
    "casetracker_citation": (
        "SELECT case_id FROM casetracker_source WHERE id = {r}.source_id"
    ),
    "casetracker_event_parties": (
        "SELECT case_id FROM casetracker_event WHERE id = {r}.event_id"
    ),
    "casetracker_event_claims": (
        "SELECT case_id FROM casetracker_event WHERE id = {r}.event_id"
    ),
    "casetracker_claim_asserted_by": (
        "SELECT case_id FROM casetracker_claim WHERE id = {r}.claim_id"
    ),
    "casetracker_claim_against": (
        "SELECT case_id FROM casetracker_claim WHERE id = {r}.claim_id"
    ),
    "casetracker_caseparty_represents": (
        "SELECT case_id FROM casetracker_caseparty WHERE id = {r}.caseparty_id"
    ),
    "casetracker_caseparty_sources": (
        "SELECT case_id FROM casetracker_caseparty WHERE id = {r}.caseparty_id"
    ),
    "casetracker_proceeding_sources": (
        "SELECT case_id FROM casetracker_proceeding WHERE id = {r}.proceeding_id"
    ),
    "casetracker_testimony_claims": (
        "SELECT case_id FROM casetracker_testimony WHERE id = {r}.testimony_id"
    ),
    "casetracker_source_parties": (
        "SELECT case_id FROM casetracker_source WHERE id = {r}.source_id"
    ),
    "casetracker_party_sources": (
        "SELECT case_id FROM casetracker_source WHERE id = {r}.source_id"
    ),
    "casetracker_party": (
        "SELECT case_id FROM casetracker_caseparty WHERE party_id = {r}.id"
        " UNION SELECT e.case_id FROM casetracker_event_parties AS ep"
        " INNER JOIN casetracker_event AS e ON e.id = ep.event_id"
        " WHERE ep.party_id = {r}.id"
    ),
}
OPERATIONS = {"INSERT": ("new",), "UPDATE": ("old", "new"), "DELETE": ("old",)}


def _name(table: str, op: str) -> str:
    return f"{PREFIX}{table.removeprefix('casetracker_')}_{op.lower()}"


def _now(vendor: str) -> str:
    return (
        "strftime('%Y-%m-%d %H:%M:%f', 'now')"
        if vendor == "sqlite"
        else "clock_timestamp()"
    )


def _upsert(cases: str, now: str) -> str:
    """Bump the revision of every case `cases` selects (their ids, each once)."""
    return (
        f"INSERT INTO {REVISION_TABLE} (case_id, number, changed_at)"
        f" SELECT case_id, 1, {now} FROM ({cases}) AS touched"
        # A case deleted in the same statement (a flush) has nothing left to revise.
        " WHERE EXISTS (SELECT 1 FROM casetracker_case WHERE id = touched.case_id)"
        f" ON CONFLICT (case_id) DO UPDATE SET number = {REVISION_TABLE}.number + 1,"
        " changed_at = excluded.changed_at;"
    )


def sqlite_statements() -> dict[str, str]:
    """Trigger name -> CREATE TRIGGER statement (row-level)."""
    now = _now("sqlite")
    statements = {}
    for table, cases in CASES_OF.items():
        for op, rows in OPERATIONS.items():
            body = "\n".join(
                _upsert(
                    f"SELECT DISTINCT case_id FROM ({cases.format(r=row.upper())})", now
                )
                for row in rows
            )
            name = _name(table, op)
            statements[name] = (
                f"CREATE TRIGGER {name} AFTER {op} ON {table}"
                f" WHEN {NOT_PAUSED}\nBEGIN\n{body}\nEND"
            )
    return statements


def postgresql_statements() -> dict[str, list[str]]:
    """Trigger name -> its function and CREATE TRIGGER statements (statement-level)."""
    statements = {}
    for table, cases in CASES_OF.items():
        for op, rows in OPERATIONS.items():
            name = _name(table, op)
            body = "\n".join(
                _upsert(
                    f"SELECT DISTINCT x.case_id FROM {row}_rows AS r,"
                    f" LATERAL ({cases.format(r='r')}) AS x",
                    _now("postgresql"),
                )
                for row in rows
            )
            referencing = " ".join(f"{row.upper()} TABLE AS {row}_rows" for row in rows)
            statements[name] = [
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql"
                f" AS $$ BEGIN\nIF {NOT_PAUSED} THEN\n{body}\nEND IF;\n"
                "RETURN NULL; END $$",
                f"CREATE TRIGGER {name} AFTER {op} ON {table}"
                f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
            ]
    return statements


def drop_triggers(*, using: str = "default", **kwargs) -> None:
    """Remove the triggers (pre_migrate), so migrations can rebuild tables freely."""
    drop_named_triggers(connections[using], PREFIX)


def install_triggers(*, using: str = "default", **kwargs) -> None:
    """Install every trigger afresh (post_migrate), once the revision table exists."""

    def catch_up(cursor) -> None:
        # Writes made while the triggers were off (during the migrate) went unseen:
        # every case moves on once, so no cache or validator outlives them.
        cursor.execute(
            f"UPDATE {REVISION_TABLE} SET number = number + 1,"
            f" changed_at = {_now(connections[using].vendor)}"
        )

    reinstall_triggers(
        using=using,
        prefix=PREFIX,
        tables={REVISION_TABLE, PAUSED_TABLE},
        sqlite=sqlite_statements(),
        postgresql=postgresql_statements(),
        then=catch_up,
    )


@contextmanager
def deferred_bump(case_ids: Iterable[int], using: str = "default") -> Iterator[None]:
    """Inside a transaction: the triggers stay quiet, then each case is bumped once.

    For bulk writes that know which cases they touch (see db.paused).
    """
    case_ids = sorted(set(case_ids))
    with paused(PAUSED_TABLE, "deferred_bump()", using):
        yield
    if case_ids:
        placeholders = ", ".join(["%s"] * len(case_ids))
        with connections[using].cursor() as cursor:
            cursor.execute(
                _upsert(
                    f"SELECT id AS case_id FROM casetracker_case"
                    f" WHERE id IN ({placeholders})",
                    _now(connections[using].vendor),
                ),
                case_ids,
            )


def case_revision(case) -> tuple[int, dt.datetime | None]:
    """The case's revision number and when it last changed (one primary-key read).

    A case from selectors.case_get carries the revision it was read with, which is
    then the request's: a page asks for it several times.
    """
    if hasattr(case, "revision_number"):
        return (case.revision_number or 0, case.revision_changed_at)
    from .models import CaseRevision

    row = (
        CaseRevision.objects.filter(case_id=case.pk)
        .values_list("number", "changed_at")
        .first()
    )
    return row or (0, None)
