"""Each case's events counted by month, kept by the database as the events change.

The timeline's strip of months shows the whole case's count per month, and the list
of cases each case's number of events and span. Counted from the events, that is a
pass over every event of the case: a second for a million events on SQLite, paid by
the first page after every change to the case (the counts were cached per revision)
and by every view of the list of cases, which counted all cases' events at once.
`casetracker_casemonth` (models.CaseMonth) holds one row per case and month with the
number of its events; reading a case's counts reads a row per month.

It is derived data, kept by triggers for any writer (the admin, imports, restores,
the synthetic generator, raw SQL):
- an event inserted adds one to its case's month, creating the row;
- an event deleted takes one away, and the row goes with its last event;
- an event whose date or case changes is taken from one month and added to another.
A month is the first day of the month of the event's date, as the strip groups them
(db.MonthKey). SQLite fires the triggers per row; PostgreSQL per statement, over
transition tables, grouped by case and month, so a bulk insert of a batch of events
writes each month once. Like the facet triggers (facets.py), they are dropped before
`migrate` runs and installed after it, and the rows are then counted afresh from the
events (one pass over them), in case something wrote while the triggers were off.
"""

from django.db import connections

from .db import drop_named_triggers, reinstall_triggers

TABLE = "casetracker_casemonth"
EVENTS = "casetracker_event"
PREFIX = "casetracker_month_"
# The first day of a date's month: the SQLite text 'YYYY-MM-DD' as Django stores dates.
SQLITE_MONTH = "substr({date}, 1, 8) || '01'"
POSTGRESQL_MONTH = "date_trunc('month', {date})::date"


def sqlite_statements() -> dict[str, str]:
    """Trigger name -> CREATE TRIGGER statement (row-level)."""
    new_month = SQLITE_MONTH.format(date="NEW.date")
    old_month = SQLITE_MONTH.format(date="OLD.date")
    add = (
        f"INSERT INTO {TABLE} (case_id, month, events)"
        f" VALUES (NEW.case_id, {new_month}, 1)"
        " ON CONFLICT (case_id, month) DO UPDATE SET events = events + 1;"
    )
    take = (
        f"UPDATE {TABLE} SET events = events - 1"
        f" WHERE case_id = OLD.case_id AND month = {old_month};"
        f" DELETE FROM {TABLE} WHERE case_id = OLD.case_id AND month = {old_month}"
        " AND events <= 0;"
    )
    return {
        f"{PREFIX}event_insert": (
            f"CREATE TRIGGER {PREFIX}event_insert AFTER INSERT ON {EVENTS}"
            f" BEGIN {add} END"
        ),
        f"{PREFIX}event_delete": (
            f"CREATE TRIGGER {PREFIX}event_delete AFTER DELETE ON {EVENTS}"
            f" BEGIN {take} END"
        ),
        f"{PREFIX}event_update": (
            f"CREATE TRIGGER {PREFIX}event_update AFTER UPDATE OF date, case_id"
            f" ON {EVENTS} WHEN OLD.case_id IS NOT NEW.case_id"
            f" OR {old_month} IS NOT {new_month} BEGIN {take} {add} END"
        ),
    }


def _pg_grouped(rows: str) -> str:
    """Rows `rows` (with case_id and date) counted by case and month."""
    month = POSTGRESQL_MONTH.format(date="r.date")
    return (
        f"SELECT r.case_id, {month} AS month, COUNT(*) AS n FROM {rows} AS r"
        " GROUP BY 1, 2"
    )


def _pg_add(rows: str) -> str:
    # In key order, so two transactions adding to the same months wait for each other
    # instead of deadlocking.
    return (
        f"INSERT INTO {TABLE} AS m (case_id, month, events)"
        f" SELECT case_id, month, n FROM ({_pg_grouped(rows)}) AS g ORDER BY 1, 2"
        " ON CONFLICT (case_id, month) DO UPDATE SET events = m.events + EXCLUDED.events;"
    )


def _pg_take(rows: str) -> str:
    grouped = _pg_grouped(rows)
    return (
        f"UPDATE {TABLE} AS m SET events = m.events - g.n FROM ({grouped}) AS g"
        " WHERE m.case_id = g.case_id AND m.month = g.month;\n"
        f"DELETE FROM {TABLE} AS m USING ({grouped}) AS g"
        " WHERE m.case_id = g.case_id AND m.month = g.month AND m.events <= 0;"
    )


def _pg_trigger(name: str, op: str, referencing: str, body: str) -> list[str]:
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql"
        f" AS $$ BEGIN\n{body}\nRETURN NULL; END $$",
        f"CREATE TRIGGER {name} AFTER {op} ON {EVENTS} REFERENCING {referencing}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
    ]


def _pg_moved(side: str, other: str) -> str:
    """The rows of one side of an update whose case or month it changed: most
    updates change neither."""
    moved, kept = (POSTGRESQL_MONTH.format(date=f"{t}.date") for t in ("r", "x"))
    return (
        f"(SELECT r.case_id, r.date FROM {side} AS r JOIN {other} AS x ON x.id = r.id"
        f" WHERE (r.case_id, {moved}) IS DISTINCT FROM (x.case_id, {kept}))"
    )


def postgresql_statements() -> dict[str, list[str]]:
    """Trigger name -> its function and CREATE TRIGGER statements (statement-level)."""
    update = "\n".join(
        [
            _pg_take(_pg_moved("old_rows", "new_rows")),
            _pg_add(_pg_moved("new_rows", "old_rows")),
        ]
    )
    return {
        f"{PREFIX}event_insert": _pg_trigger(
            f"{PREFIX}event_insert",
            "INSERT",
            "NEW TABLE AS new_rows",
            _pg_add("new_rows"),
        ),
        f"{PREFIX}event_delete": _pg_trigger(
            f"{PREFIX}event_delete",
            "DELETE",
            "OLD TABLE AS old_rows",
            _pg_take("old_rows"),
        ),
        f"{PREFIX}event_update": _pg_trigger(
            f"{PREFIX}event_update",
            "UPDATE",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            update,
        ),
    }


def rebuild_sql(vendor: str) -> list[str]:
    """Statements that empty the table and count every case's events afresh."""
    month = (SQLITE_MONTH if vendor == "sqlite" else POSTGRESQL_MONTH).format(
        date="date"
    )
    return [
        f"DELETE FROM {TABLE}",
        f"INSERT INTO {TABLE} (case_id, month, events)"
        f" SELECT case_id, {month}, COUNT(*) FROM {EVENTS} GROUP BY 1, 2",
    ]


def drop_triggers(*, using: str = "default", **kwargs) -> None:
    """Remove the triggers (pre_migrate), so migrations can rebuild tables freely."""
    drop_named_triggers(connections[using], PREFIX)


def install_triggers(*, using: str = "default", **kwargs) -> None:
    """Install the triggers afresh and recount (post_migrate).

    Recounting costs what checking would (a pass over the events, grouped), so the
    rows are always recounted.
    """

    def recount(cursor) -> None:
        for sql in rebuild_sql(connections[using].vendor):
            cursor.execute(sql)

    reinstall_triggers(
        using=using,
        prefix=PREFIX,
        tables={TABLE},
        sqlite=sqlite_statements(),
        postgresql=postgresql_statements(),
        then=recount,
    )
