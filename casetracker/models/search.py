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


class IndexJoin:
    """The ON clause between events and their index rows, written so that the index
    row's key cannot be looked up from an event: `event.id = +index.rowid` on SQLite
    (the unary plus is SQLite's documented way to keep a term from constraining a
    table), `event.id = index.rowid + 0` on PostgreSQL.

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
            return f"{event_id} = +{key}", ()
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


class EventSearch(models.Model):
    """The full-text index row of one event: its title, summary, testimony text and the
    headlines of the sources it cites. Internal to casetracker.search.

    Unmanaged: migration 0006 creates the table (an FTS5 table on SQLite, a tsvector
    with a GIN index on PostgreSQL) and triggers keep it in sync; nothing writes it
    through this model. The model exists so that a query can join it to events with
    the ORM (`Event.objects.filter(search_document__document__match=...)`), which
    keeps table aliases right when the query is nested or combined. Its key column is
    `rowid` on both databases because that is what FTS5 calls it.
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
