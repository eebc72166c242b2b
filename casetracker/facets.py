"""Each event's parties and claims, stored with the event's place on the timeline.

The timeline filtered by one party must come out in timeline order, a page at a time,
whatever the size of the case. The link tables (`casetracker_event_parties`,
`casetracker_event_claims`) hold no dates, so the database had two bad plans: walk the
case's events in order and probe each one's links until a page is full (for a party
on 1% of a million events, 2,500 probes a page and a million for the count), or read
every event of the party and sort them. `casetracker_eventfacet` (models.EventFacet)
holds one row per link with the event's case, date and precision rank, under the index
`(case, kind, target, date, date_rank, event)`: a page is one index range, read in
order, and the capped count reads at most COUNT_CAP entries of it.

It is derived data, kept by triggers for any writer (the admin, imports, raw SQL):
- a link inserted, deleted or changed puts, removes or moves its row;
- an event whose date, precision or case changes moves its rows;
- an event deleted takes its rows with it.
SQLite fires them per row; PostgreSQL per statement, over transition tables. Like the
revision triggers (revisions.py), they are dropped before `migrate` runs and installed
after it; then, if the rows no longer match the links and events (something wrote
while the triggers were off), the table is rebuilt (`in_step`).
"""

from django.db import connections

from .db import drop_named_triggers, reinstall_triggers

TABLE = "casetracker_eventfacet"
EVENTS = "casetracker_event"
PREFIX = "casetracker_facet_"
PARTY, CLAIM = "p", "c"
# kind -> (link table, its column naming the party or claim)
LINKS = {
    PARTY: ("casetracker_event_parties", "party_id"),
    CLAIM: ("casetracker_event_claims", "claim_id"),
}
COLUMNS = "case_id, kind, target_id, date, date_rank, event_id"


def _select(kind: str, target: str, links: str, joined: str) -> str:
    """SELECT of the facet rows of the links `links` (joined to events on `joined`)."""
    return (
        f"SELECT e.case_id, '{kind}', {target}, e.date, e.date_rank, e.id"
        f" FROM {links} JOIN {EVENTS} AS e ON e.id = {joined}"
    )


def sqlite_statements() -> dict[str, str]:
    """Trigger name -> CREATE TRIGGER statement (row-level)."""
    statements = {}
    for kind, (links, column) in LINKS.items():
        name = f"{PREFIX}{links.removeprefix('casetracker_')}"
        insert = (
            f"INSERT OR REPLACE INTO {TABLE} ({COLUMNS})"
            f" SELECT case_id, '{kind}', NEW.{column}, date, date_rank, id"
            f" FROM {EVENTS} WHERE id = NEW.event_id;"
        )
        delete = (
            f"DELETE FROM {TABLE} WHERE event_id = OLD.event_id"
            f" AND kind = '{kind}' AND target_id = OLD.{column};"
        )
        statements[f"{name}_insert"] = (
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON {links} BEGIN {insert} END"
        )
        statements[f"{name}_delete"] = (
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON {links} BEGIN {delete} END"
        )
        statements[f"{name}_update"] = (
            f"CREATE TRIGGER {name}_update AFTER UPDATE ON {links}"
            f" BEGIN {delete} {insert} END"
        )
    statements[f"{PREFIX}event_update"] = (
        f"CREATE TRIGGER {PREFIX}event_update"
        f" AFTER UPDATE OF date, date_precision, case_id ON {EVENTS}"
        f" BEGIN UPDATE {TABLE} SET case_id = NEW.case_id, date = NEW.date,"
        " date_rank = NEW.date_rank WHERE event_id = NEW.id; END"
    )
    statements[f"{PREFIX}event_delete"] = (
        f"CREATE TRIGGER {PREFIX}event_delete AFTER DELETE ON {EVENTS}"
        f" BEGIN DELETE FROM {TABLE} WHERE event_id = OLD.id; END"
    )
    return statements


def _pg_trigger(name: str, table: str, op: str, referencing: str, body: str) -> list:
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql"
        f" AS $$ BEGIN\n{body}\nRETURN NULL; END $$",
        f"CREATE TRIGGER {name} AFTER {op} ON {table} REFERENCING {referencing}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
    ]


def postgresql_statements() -> dict[str, list[str]]:
    """Trigger name -> its function and CREATE TRIGGER statements (statement-level)."""
    statements = {}
    for kind, (links, column) in LINKS.items():
        name = f"{PREFIX}{links.removeprefix('casetracker_')}"
        insert = (
            f"INSERT INTO {TABLE} ({COLUMNS})"
            f" {_select(kind, f'n.{column}', 'new_rows AS n', 'n.event_id')}"
            " ON CONFLICT (event_id, kind, target_id) DO NOTHING;"
        )
        delete = (
            f"DELETE FROM {TABLE} AS f USING old_rows AS o"
            f" WHERE f.event_id = o.event_id AND f.kind = '{kind}'"
            f" AND f.target_id = o.{column};"
        )
        statements[f"{name}_insert"] = _pg_trigger(
            f"{name}_insert", links, "INSERT", "NEW TABLE AS new_rows", insert
        )
        statements[f"{name}_delete"] = _pg_trigger(
            f"{name}_delete", links, "DELETE", "OLD TABLE AS old_rows", delete
        )
        statements[f"{name}_update"] = _pg_trigger(
            f"{name}_update",
            links,
            "UPDATE",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            f"{delete}\n{insert}",
        )
    statements[f"{PREFIX}event_update"] = _pg_trigger(
        f"{PREFIX}event_update",
        EVENTS,
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        f"UPDATE {TABLE} AS f SET case_id = n.case_id, date = n.date,"
        " date_rank = n.date_rank FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id"
        " WHERE f.event_id = n.id AND (o.case_id, o.date, o.date_rank)"
        " IS DISTINCT FROM (n.case_id, n.date, n.date_rank);",
    )
    statements[f"{PREFIX}event_delete"] = _pg_trigger(
        f"{PREFIX}event_delete",
        EVENTS,
        "DELETE",
        "OLD TABLE AS old_rows",
        f"DELETE FROM {TABLE} AS f USING old_rows AS o WHERE f.event_id = o.id;",
    )
    return statements


def rebuild_sql() -> list[str]:
    """Statements that empty the table and fill it again from the links."""
    return [f"DELETE FROM {TABLE}"] + [
        f"INSERT INTO {TABLE} ({COLUMNS})"
        f" {_select(kind, f'l.{column}', f'{links} AS l', 'l.event_id')}"
        for kind, (links, column) in LINKS.items()
    ]


def in_step(cursor) -> bool:
    """Whether the table holds exactly the rows the links and events give.

    As many rows as links, and each link's row present with its event's current
    place: since a row is unique per link, the two sets are then equal. One probe of
    the primary key per link (8 s for the 3.3 million links of a million events on
    SQLite, on a busy machine), where a rebuild would rewrite every row and index
    entry.
    """
    cursor.execute(
        f"SELECT (SELECT COUNT(*) FROM {TABLE})"
        + "".join(f" - (SELECT COUNT(*) FROM {links})" for links, _ in LINKS.values())
    )
    if cursor.fetchone()[0] != 0:
        return False
    for kind, (links, column) in LINKS.items():
        cursor.execute(
            f"SELECT 1 FROM {links} AS l JOIN {EVENTS} AS e ON e.id = l.event_id"
            f" WHERE NOT EXISTS (SELECT 1 FROM {TABLE} AS f WHERE f.event_id = e.id"
            f" AND f.kind = '{kind}' AND f.target_id = l.{column}"
            " AND f.case_id = e.case_id AND f.date = e.date"
            " AND f.date_rank = e.date_rank) LIMIT 1"
        )
        if cursor.fetchone() is not None:
            return False
    return True


def drop_triggers(*, using: str = "default", **kwargs) -> None:
    """Remove the triggers (pre_migrate), so migrations can rebuild tables freely."""
    drop_named_triggers(connections[using], PREFIX)


def install_triggers(*, using: str = "default", **kwargs) -> None:
    """Install the triggers afresh (post_migrate); rebuild the rows if out of step."""

    def catch_up(cursor) -> None:
        if not in_step(cursor):
            for sql in rebuild_sql():
                cursor.execute(sql)

    reinstall_triggers(
        using=using,
        prefix=PREFIX,
        tables={TABLE},
        sqlite=sqlite_statements(),
        postgresql=postgresql_statements(),
        then=catch_up,
    )
