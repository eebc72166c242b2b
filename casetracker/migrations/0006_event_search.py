"""Full-text index of events (see casetracker/search.py).

SQLite: an FTS5 table, rowid = event id. Its triggers are not created here but by
casetracker.search.sync_sqlite_triggers after every migrate run (connected in
apps.py), which also fills the index: a later migration that alters one of the
indexed tables on SQLite copies and renames the table, and that fails while triggers
on other tables name it.

PostgreSQL: a tsvector per event with a GIN index, the text search configuration
`casetracker_search` (english, plus unaccent when the extension can be installed),
a refresh function, the triggers, and the back-fill. Reversing drops all of it but
the unaccent extension, which other code may use.
"""

from django.db import DatabaseError, migrations, models, transaction

import casetracker.models.search

TABLE = "casetracker_event_search"
PAUSED = "casetracker_event_search_paused"
CONFIG = "casetracker_search"

SQLITE_CREATE = [
    f"""CREATE VIRTUAL TABLE {TABLE} USING fts5(
        title, summary, testimony, sources,
        tokenize = 'porter unicode61 remove_diacritics 2'
    )""",
    f"CREATE TABLE {PAUSED} (token varchar(32) NOT NULL PRIMARY KEY)",
]
SQLITE_DROP = [f"DROP TABLE IF EXISTS {TABLE}", f"DROP TABLE IF EXISTS {PAUSED}"]

# The weighted document of the events in `e` (a FROM clause is appended).
PG_DOCUMENT = f"""
    SELECT e.id,
        setweight(to_tsvector('{CONFIG}', e.title), 'A')
        || setweight(to_tsvector('{CONFIG}', e.summary), 'B')
        || setweight(to_tsvector('{CONFIG}', coalesce(
            (SELECT string_agg(t.text, ' ') FROM casetracker_testimony AS t
             WHERE t.event_id = e.id), '')), 'C')
        || setweight(to_tsvector('{CONFIG}', coalesce(
            (SELECT string_agg(s.headline, ' ') FROM casetracker_citation AS c
             INNER JOIN casetracker_source AS s ON s.id = c.source_id
             WHERE c.event_id = e.id), '')), 'C')
    FROM casetracker_event AS e"""

PG_CREATE = [
    f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = pg_catalog.english)",
    f"""CREATE TABLE {TABLE} (
        rowid bigint NOT NULL PRIMARY KEY,
        document tsvector NOT NULL
    )""",
    f"CREATE INDEX {TABLE}_document ON {TABLE} USING gin (document)",
    f"CREATE TABLE {PAUSED} (token varchar(32) NOT NULL PRIMARY KEY)",
    # Rewrites the documents of these events; drops those of events that are gone.
    f"""CREATE FUNCTION {TABLE}_refresh(event_ids bigint[]) RETURNS void
    LANGUAGE sql AS $$
        DELETE FROM {TABLE} AS d
        WHERE d.rowid = ANY (event_ids)
          AND NOT EXISTS (SELECT FROM casetracker_event AS e WHERE e.id = d.rowid);
        INSERT INTO {TABLE} (rowid, document)
        {PG_DOCUMENT}
        WHERE e.id = ANY (event_ids)
        ON CONFLICT (rowid) DO UPDATE SET document = EXCLUDED.document;
    $$""",
    f"""CREATE FUNCTION {TABLE}_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT FROM {PAUSED}) THEN
            RETURN NULL;
        END IF;
        IF TG_OP = 'DELETE' THEN
            DELETE FROM {TABLE} WHERE rowid = OLD.id;
        ELSIF TG_OP = 'INSERT' THEN
            PERFORM {TABLE}_refresh(ARRAY[NEW.id]);
        ELSIF NEW.title IS DISTINCT FROM OLD.title
            OR NEW.summary IS DISTINCT FROM OLD.summary THEN
            PERFORM {TABLE}_refresh(ARRAY[NEW.id]);
        END IF;
        RETURN NULL;
    END
    $$""",
    f"""CREATE FUNCTION {TABLE}_testimony() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT FROM {PAUSED}) THEN
            RETURN NULL;
        END IF;
        IF TG_OP = 'INSERT' THEN
            PERFORM {TABLE}_refresh(ARRAY[NEW.event_id]);
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM {TABLE}_refresh(ARRAY[OLD.event_id]);
        ELSIF NEW.text IS DISTINCT FROM OLD.text
            OR NEW.event_id IS DISTINCT FROM OLD.event_id THEN
            PERFORM {TABLE}_refresh(ARRAY[OLD.event_id, NEW.event_id]);
        END IF;
        RETURN NULL;
    END
    $$""",
    f"""CREATE FUNCTION {TABLE}_citation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT FROM {PAUSED}) THEN
            RETURN NULL;
        END IF;
        IF TG_OP = 'INSERT' THEN
            PERFORM {TABLE}_refresh(ARRAY[NEW.event_id]);
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM {TABLE}_refresh(ARRAY[OLD.event_id]);
        ELSIF NEW.event_id IS DISTINCT FROM OLD.event_id
            OR NEW.source_id IS DISTINCT FROM OLD.source_id THEN
            PERFORM {TABLE}_refresh(ARRAY[OLD.event_id, NEW.event_id]);
        END IF;
        RETURN NULL;
    END
    $$""",
    f"""CREATE FUNCTION {TABLE}_source() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT FROM {PAUSED}) THEN
            RETURN NULL;
        END IF;
        IF NEW.headline IS DISTINCT FROM OLD.headline THEN
            PERFORM {TABLE}_refresh(ARRAY(
                SELECT c.event_id FROM casetracker_citation AS c
                WHERE c.source_id = NEW.id AND c.event_id IS NOT NULL
            ));
        END IF;
        RETURN NULL;
    END
    $$""",
    # Django's flush (TransactionTestCase) empties tables with TRUNCATE, which fires
    # no row triggers.
    f"""CREATE FUNCTION {TABLE}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE {TABLE};
        RETURN NULL;
    END
    $$""",
    f"""CREATE TRIGGER {TABLE}_event
    AFTER INSERT OR DELETE OR UPDATE OF title, summary ON casetracker_event
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_event()""",
    f"""CREATE TRIGGER {TABLE}_testimony
    AFTER INSERT OR DELETE OR UPDATE OF text, event_id ON casetracker_testimony
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_testimony()""",
    f"""CREATE TRIGGER {TABLE}_citation
    AFTER INSERT OR DELETE OR UPDATE OF event_id, source_id ON casetracker_citation
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_citation()""",
    f"""CREATE TRIGGER {TABLE}_source
    AFTER UPDATE OF headline ON casetracker_source
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_source()""",
    f"""CREATE TRIGGER {TABLE}_truncate
    AFTER TRUNCATE ON casetracker_event
    FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_truncate()""",
    f"INSERT INTO {TABLE} (rowid, document) {PG_DOCUMENT}",
    f"ANALYZE {TABLE}",
]
PG_DROP = [
    f"DROP TRIGGER IF EXISTS {TABLE}_{name} ON casetracker_{name}"
    for name in ("event", "testimony", "citation", "source")
] + [
    f"DROP TRIGGER IF EXISTS {TABLE}_truncate ON casetracker_event",
    *(
        f"DROP FUNCTION IF EXISTS {TABLE}_{name}()"
        for name in ("event", "testimony", "citation", "source", "truncate")
    ),
    f"DROP FUNCTION IF EXISTS {TABLE}_refresh(bigint[])",
    f"DROP TABLE IF EXISTS {TABLE}",
    f"DROP TABLE IF EXISTS {PAUSED}",
    f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}",
]


def unaccent_available(connection) -> bool:
    """Install the unaccent extension if it can be (a trusted extension: the database
    owner may); without it, searches stay accent-sensitive on PostgreSQL."""
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    except DatabaseError:
        return False
    return True


def create_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        statements = SQLITE_CREATE
    elif connection.vendor == "postgresql":
        statements = list(PG_CREATE)
        if unaccent_available(connection):
            statements.insert(
                1,
                f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING "
                "FOR hword, hword_part, word WITH unaccent, english_stem",
            )
    else:
        raise NotImplementedError(
            f"Full-text search supports SQLite and PostgreSQL, not {connection.vendor}."
        )
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def drop_index(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name GLOB %s",
                [f"{TABLE}_*"],
            )
            statements = [f"DROP TRIGGER {name}" for (name,) in cursor.fetchall()]
            statements += SQLITE_DROP
        else:
            statements = PG_DROP
        for sql in statements:
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("casetracker", "0005_event_timeline_order"),
    ]

    operations = [
        migrations.CreateModel(
            name="EventSearch",
            fields=[
                (
                    "event",
                    casetracker.models.search.IndexedEventField(
                        db_column="rowid",
                        db_constraint=False,
                        help_text="The event indexed.",
                        on_delete=models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="casetracker.event",
                    ),
                ),
                (
                    "document",
                    casetracker.models.search.SearchDocumentField(
                        editable=False,
                        help_text="The indexed text, as the database holds it.",
                    ),
                ),
            ],
            options={
                "db_table": "casetracker_event_search",
                "managed": False,
                "default_permissions": (),
            },
        ),
        migrations.RunPython(create_index, drop_index),
    ]
