from django.db import models
from django.db.models.expressions import Col

from .events import Event

SEARCH_TABLE = "casetracker_event_search"


class DocumentCol(Col):
    """The search document column of a joined EventSearch.

    On SQLite the document is the FTS5 table itself: MATCH and the ranking functions
    take the table's hidden column, which bears the table's name (`"alias"."table"`).
    On PostgreSQL it is the `document` tsvector column.
    """

    def as_sql(self, compiler, connection):
        if connection.vendor == "sqlite":
            identifiers = (self.alias, SEARCH_TABLE) if self.alias else (SEARCH_TABLE,)
            return ".".join(map(compiler.quote_name, identifiers)), ()
        return super().as_sql(compiler, connection)


class SearchDocumentField(models.Field):
    """An event's full-text document: written only by the database (see
    casetracker.search), matched with the `match` lookup."""

    def db_type(self, connection) -> str:
        return "tsvector" if connection.vendor == "postgresql" else ""

    def get_col(self, alias, output_field=None):
        if output_field is None:
            output_field = self
        return DocumentCol(alias, self, output_field)


@SearchDocumentField.register_lookup
class Match(models.Lookup):
    """`document__match=<casetracker.search.FullTextQuery>`: FTS5 MATCH or tsvector @@."""

    lookup_name = "match"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        operator = "MATCH" if connection.vendor == "sqlite" else "@@"
        return f"{lhs} {operator} {rhs}", (*lhs_params, *rhs_params)


# SQLite numbers each index row by its event's place on the timeline, so that FTS5,
# which returns matches in the order of that number, returns them in timeline order:
# the day (proleptic Gregorian ordinal, as date.toordinal()), the precision rank
# (0-2) and the event id (below 2**32), packed into one 64-bit integer. PostgreSQL
# keys its rows by the event id.
POSITION_ID_BITS = 32
POSITION_DAY_SHIFT = POSITION_ID_BITS + 3
_ID_MASK = (1 << POSITION_ID_BITS) - 1
_JULIAN_DAY_OF_ORDINAL_0 = 1721424.5  # julianday('0001-01-01') - 1


def timeline_position(date, rank: int, event_id: int) -> int:
    """The SQLite index row number of an event at this place on the timeline.

    An id past the id bits (only a hand-made page link holds one) stands for the
    last place of its day and rank, which is where it would sort.
    """
    return (
        date.toordinal() * (1 << POSITION_DAY_SHIFT)
        + rank * (1 << POSITION_ID_BITS)
        + min(event_id, _ID_MASK)
    )


def sqlite_position_sql(date: str, rank: str, event_id: str) -> str:
    """timeline_position() in SQLite, of three SQL expressions."""
    return (
        f"(CAST(julianday({date}) - {_JULIAN_DAY_OF_ORDINAL_0} AS INTEGER)"
        f" * {1 << POSITION_DAY_SHIFT} + {rank} * {1 << POSITION_ID_BITS}"
        f" + {event_id})"
    )


def sqlite_event_id_sql(position: str) -> str:
    """The event id held in a SQLite index row number."""
    return f"({position} & {_ID_MASK})"


class TimelinePosition(models.Func):
    """An event's SQLite index row number, from its date, date_rank and id."""

    output_field = models.BigIntegerField()

    def as_sqlite(self, compiler, connection):
        compiled = [compiler.compile(e) for e in self.source_expressions]
        sql = sqlite_position_sql(*(sql for sql, _ in compiled))
        return sql, tuple(p for _, params in compiled for p in params)


class KeyCol(Col):
    """The event id of a joined EventSearch: the row number itself on PostgreSQL,
    its low bits on SQLite (see timeline_position)."""

    def as_sql(self, compiler, connection):
        sql, params = super().as_sql(compiler, connection)
        if connection.vendor == "sqlite":
            return sqlite_event_id_sql(sql), params
        return sql, params


class RowNumber(models.Func):
    """The index row's own number, of `F("event")` (or a path that ends there): the
    timeline position on SQLite, where `event` alone reads only the id in it."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection):
        key = self.source_expressions[0]
        quote = compiler.quote_name
        return f"{quote(key.alias)}.{quote(key.target.column)}", ()


class IndexJoin:
    """The ON clause between events and their index rows, written so that the index
    row's key cannot be looked up from an event: `event.id = (index.rowid & mask)` on
    SQLite (an expression on the row number is no constraint FTS5 can seek by),
    `event.id = index.rowid + 0` on PostgreSQL.

    Either planner otherwise may read a case's events first and test each one against
    the full-text query by key, which costs in proportion to the case, not to the
    matches (measured on 200,000 events: 0.8 s instead of 10 ms for SQLite to count
    10,000 matches; 0.4 s instead of 30 ms for PostgreSQL to find a phrase). This way
    the full-text index is read once and each match finds its event by primary key.
    """

    def __init__(self, event_alias: str, index_alias: str, index_key: str) -> None:
        self.event_alias = event_alias
        self.index_alias = index_alias
        self.index_key = index_key

    def as_sql(self, compiler, connection):
        quote = compiler.quote_name
        event_id = f"{quote(self.event_alias)}.{quote('id')}"
        key = f"{quote(self.index_alias)}.{quote(self.index_key)}"
        if connection.vendor == "sqlite":
            return f"{event_id} = {sqlite_event_id_sql(key)}", ()
        return f"{event_id} = ({key} + 0)", ()


class IndexedEventField(models.OneToOneField):
    """EventSearch's key: the event. Joins through IndexJoin instead of the usual
    column equality (get_extra_restriction is Django's hook for custom join
    conditions, as GenericRelation uses it)."""

    def get_joining_fields(self, reverse_join=False):
        return ()

    def get_extra_restriction(self, alias, related_alias):
        # `alias` is the events' side of the join, `related_alias` the index's.
        return IndexJoin(alias, related_alias, self.column)

    def get_col(self, alias, output_field=None):
        if output_field is None:
            output_field = self
        return KeyCol(alias, self, output_field)


class EventSearch(models.Model):
    """The full-text index row of one event: its title, summary, testimony text and the
    headlines of the sources it cites. Internal to casetracker.search.

    Unmanaged: migration 0006 creates the table (an FTS5 table on SQLite, a tsvector
    with a GIN index on PostgreSQL) and triggers keep it in sync; nothing writes it
    through this model. The model exists so that a query can join it to events with
    the ORM (`Event.objects.filter(search_document__document__match=...)`), which
    keeps table aliases right when the query is nested or combined. Its key column is
    `rowid` on both databases because that is what FTS5 calls it; on SQLite it holds
    the event's timeline position, of which `event` reads the id (RowNumber reads the
    whole number).
    """

    event = IndexedEventField(
        Event,
        on_delete=models.DO_NOTHING,
        primary_key=True,
        db_column="rowid",
        db_constraint=False,
        related_name="search_document",
        help_text="The event indexed.",
    )
    document = SearchDocumentField(
        editable=False, help_text="The indexed text, as the database holds it."
    )

    class Meta:
        managed = False
        db_table = SEARCH_TABLE
        default_permissions = ()

    def __str__(self) -> str:
        return f"Search document of event {self.event_id}"
