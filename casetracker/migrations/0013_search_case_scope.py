"""A scope token per case in every full-text document (search.scope_token).

SQLite: the FTS5 table is made again with a fifth column, `scope`; the triggers and the
contents come back after the migrate run (search.sync_sqlite_triggers).

PostgreSQL: the refresh function appends the lexeme `c#<case id>` to each document,
the event trigger also fires when an event moves to another case, and every document
is written again.
"""

from django.db import migrations

TABLE = "casetracker_event_search"
CONFIG = "casetracker_search"

SQLITE_FORWARD = [
    f"DROP TABLE {TABLE}",
    f"""CREATE VIRTUAL TABLE {TABLE} USING fts5(
        title, summary, testimony, sources, scope,
        tokenize = 'porter unicode61 remove_diacritics 2'
    )""",
]
SQLITE_BACKWARD = [
    f"DROP TABLE {TABLE}",
    f"""CREATE VIRTUAL TABLE {TABLE} USING fts5(
        title, summary, testimony, sources,
        tokenize = 'porter unicode61 remove_diacritics 2'
    )""",
]


def pg_document(scoped: bool) -> str:
    scope = "\n        || array_to_tsvector(ARRAY['c#' || e.case_id])" if scoped else ""
    return f"""
    SELECT e.id,
        setweight(to_tsvector('{CONFIG}', e.title), 'A')
        || setweight(to_tsvector('{CONFIG}', e.summary), 'B')
        || setweight(to_tsvector('{CONFIG}', coalesce(
            (SELECT string_agg(t.text, ' ') FROM casetracker_testimony AS t
             WHERE t.event_id = e.id), '')), 'C')
        || setweight(to_tsvector('{CONFIG}', coalesce(
            (SELECT string_agg(s.headline, ' ') FROM casetracker_citation AS c
             INNER JOIN casetracker_source AS s ON s.id = c.source_id
             WHERE c.event_id = e.id), '')), 'C'){scope}
    FROM casetracker_event AS e"""


def pg_statements(scoped: bool) -> list[str]:
    columns = "title, summary, case_id" if scoped else "title, summary"
    moved = " OR NEW.case_id IS DISTINCT FROM OLD.case_id" if scoped else ""
    return [
        f"""CREATE OR REPLACE FUNCTION {TABLE}_refresh(event_ids bigint[])
        RETURNS void LANGUAGE sql AS $$
            DELETE FROM {TABLE} AS d
            WHERE d.rowid = ANY (event_ids)
              AND NOT EXISTS (SELECT FROM casetracker_event AS e WHERE e.id = d.rowid);
            INSERT INTO {TABLE} (rowid, document)
            {pg_document(scoped)}
            WHERE e.id = ANY (event_ids)
            ON CONFLICT (rowid) DO UPDATE SET document = EXCLUDED.document;
        $$""",
        f"""CREATE OR REPLACE FUNCTION {TABLE}_event() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT FROM casetracker_event_search_paused) THEN
                RETURN NULL;
            END IF;
            IF TG_OP = 'DELETE' THEN
                DELETE FROM {TABLE} WHERE rowid = OLD.id;
            ELSIF TG_OP = 'INSERT' THEN
                PERFORM {TABLE}_refresh(ARRAY[NEW.id]);
            ELSIF NEW.title IS DISTINCT FROM OLD.title
                OR NEW.summary IS DISTINCT FROM OLD.summary{moved} THEN
                PERFORM {TABLE}_refresh(ARRAY[NEW.id]);
            END IF;
            RETURN NULL;
        END
        $$""",
        f"DROP TRIGGER {TABLE}_event ON casetracker_event",
        f"""CREATE TRIGGER {TABLE}_event
        AFTER INSERT OR DELETE OR UPDATE OF {columns} ON casetracker_event
        FOR EACH ROW EXECUTE FUNCTION {TABLE}_event()""",
        f"""INSERT INTO {TABLE} (rowid, document) {pg_document(scoped)}
        ON CONFLICT (rowid) DO UPDATE SET document = EXCLUDED.document""",
        f"ANALYZE {TABLE}",
    ]


def forward(apps, schema_editor):
    run(schema_editor, scoped=True)


def backward(apps, schema_editor):
    run(schema_editor, scoped=False)


def run(schema_editor, *, scoped: bool) -> None:
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        statements = SQLITE_FORWARD if scoped else SQLITE_BACKWARD
    else:
        statements = pg_statements(scoped)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("casetracker", "0012_event_facets"),
    ]

    operations = [migrations.RunPython(forward, backward)]
