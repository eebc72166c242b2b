"""Full-text search over events: the one place for search logic.

What is indexed
    One document per event: its title, summary, the text of its testimony excerpts
    and the headlines of the sources it cites. Words are stemmed ("rulings" finds
    "ruling" and "ruled"), case- and accent-insensitive.

Where
    SQLite: an FTS5 table `casetracker_event_search` (title, summary, testimony,
    sources, scope), tokenizer `porter unicode61 remove_diacritics 2`. Its rowid is
    the event's place on the timeline, (date, precision rank, id) packed in one
    integer (models.search.timeline_position), because FTS5 returns matches in rowid
    order: many matches are read in timeline order straight from the index.
    PostgreSQL: a table of the same name holding a weighted tsvector (A title, B
    summary, C testimony and headlines) under the text search configuration
    `casetracker_search` (english stemming, plus unaccent where the extension could be
    installed), with a GIN index. Migration 0006 creates both.

Kept in sync by triggers
    On event, testimony, citation and source rows (insert, update, delete, a testimony
    or citation moved to another event, a headline edited): each change re-reads the
    affected events' documents. On PostgreSQL the triggers live in migration 0006. On
    SQLite they are installed after every `migrate` instead (`sync_sqlite_triggers`,
    connected in apps.py): Django alters a SQLite table by copying it to a new one and
    renaming that, which drops the table's triggers and fails while any trigger
    elsewhere still names the table; so they are dropped before a migration of this
    app runs and put back, with a full rebuild of the index, once it is done.

    Bulk writers (the synthetic case generator) skip the per-row work inside
    `deferred_sync()` and index what they wrote with `reindex_events()`.

Querying
    `filter_events(events, q)` joins the index to the events through the unmanaged
    model EventSearch, matches and ranks in the same query. A join rather than
    `id IN (SELECT rowid ...)`: SQLite's bm25() works only in the statement that runs
    the full-text query, and a correlated subquery per row would run one full-text
    query per event. The ORM join (not RawSQL or extra()) keeps table aliases right
    when the queryset is nested or combined. Its ON clause (models.search.IndexJoin)
    keeps either planner from reading the case's events first and probing the index
    once per event: plans start from the full-text index and reach events by primary
    key, so a search costs in proportion to its matches.

    Ranking is exact, so it costs one bm25()/ts_rank() per match however few rows a
    page shows: a word in half of 200,000 events takes 0.2-0.4 s on either database,
    a rare word 5-25 ms. On SQLite, bm25() also reads the words' matches in every
    case once per query, for their rarity; a search counted to few matches in its
    case is ranked by its weighted occurrences instead (SearchRank).

    `case_id` scopes the query to one case inside the index (scope_token), so a small
    case's search never reads a big case's matches. Many matches are read in
    timeline order instead (`reading`, selectors.timeline_search): on SQLite the
    index is read in its own order, a page's worth; otherwise (PostgreSQL, or a page
    led by the facet index) the events are walked in order and each is tested
    against the index by key, the probing the join above avoids, which pays off when
    a page needs few tests.

Highlighting
    `highlight(text, q)` escapes the text and marks the words the query matched. It
    stems in Python with the same algorithm as the database: the original Porter
    stemmer for SQLite's `porter` tokenizer, Snowball English (Porter2) for
    PostgreSQL's `english_stem` (the `snowballstemmer` package has both).
"""

import hashlib
import html
import re
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import (
    Exists,
    Expression,
    F,
    FloatField,
    Func,
    OuterRef,
    QuerySet,
    TextField,
    Value,
)
from django.utils.safestring import SafeString, mark_safe

from .db import paused
from .models import Event
from .models.search import (
    SEARCH_TABLE,
    EventSearch,
    RowNumber,
    TimelinePosition,
    sqlite_position_sql,
)

PAUSED_TABLE = "casetracker_event_search_paused"
PG_CONFIG = "casetracker_search"

# Bounds on what a query can ask of the database, whatever is typed or pasted.
MAX_QUERY_CHARS = 1_000
MAX_TERMS = 10
MAX_PHRASE_WORDS = 10
MAX_WORD_CHARS = 100  # longer "words" are never in the index (pasted hashes, noise)

# Relative weight of a hit in each column: title, summary, testimony, source headlines.
# The same proportions as PostgreSQL's ts_rank weights for A, B, C (1.0, 0.4, 0.2).
# The fifth column, the case's scope token, weighs nothing.
SQLITE_WEIGHTS = (10.0, 4.0, 2.0, 2.0, 0.0)
SQLITE_TEXT_COLUMN_NAMES = ("title", "summary", "testimony", "sources")
SQLITE_TEXT_COLUMNS = "{" + " ".join(SQLITE_TEXT_COLUMN_NAMES) + "}"
# A search known to match at most this many events is ranked by its occurrences on
# SQLite (SearchRank): at 15 microseconds a match, 15 ms at most.
OCCURRENCE_RANK_MAX = 1_000
# The shortest word matched as a prefix (FullTextQuery's `prefix`): "s" would read
# the entries of every word that starts with an s, most of the index.
MIN_PREFIX_CHARS = 3

# A run of letters and digits: the tokens of FTS5's unicode61 tokenizer (categories
# L*, N*). Underscore is a separator there too.
WORD = re.compile(r"[^\W_]+")
QUOTES = str.maketrans(dict.fromkeys("“”„‟«»＂", '"'))

# PostgreSQL's English stop words (tsearch_data/english.stop). Its `english` config
# drops them from documents and queries; they are dropped from unquoted words on
# SQLite too, so both answer alike (and "the" does not scan half the index).
_ENGLISH_STOP = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what
    which who whom this that these those am is are was were be been being have has had
    having do does did doing a an the and but if or because as until while of at by
    for with about against between into through during before after above below to
    from up down in out on off over under again further then once here there when
    where why how all any both each few more most other some such no nor not only own
    same so than too very s t can will just don should now
"""
STOP_WORDS = frozenset(_ENGLISH_STOP.split())


# ---------------------------------------------------------------------------------------
# Query parsing
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One thing every result must contain: a word, or a phrase of words in order."""

    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.words)


def parse_query(q: str) -> list[Term]:
    """The terms of a search box entry: words and "double-quoted phrases", all required.

    Anything else is only a separator: FTS syntax (`*`, `:`, `^`, `-`, `(`, NEAR, OR),
    SQL, markup. A quote mark without its closing one is ignored. Unquoted stop words
    are dropped. At most MAX_TERMS terms, from the first MAX_QUERY_CHARS characters;
    repeated terms count once.
    """
    text = unicodedata.normalize("NFKC", q[:MAX_QUERY_CHARS]).translate(QUOTES)
    parts = text.split('"')
    if len(parts) % 2 == 0:  # an odd number of quote marks: the last one opens nothing
        parts[-2:] = [f"{parts[-2]} {parts[-1]}"]
    terms: dict[tuple[str, ...], Term] = {}
    for index, part in enumerate(parts):
        words = [word for word in WORD.findall(part) if len(word) <= MAX_WORD_CHARS]
        if index % 2:  # inside quotes
            candidates = [words[:MAX_PHRASE_WORDS]] if words else []
        else:
            candidates = [[word] for word in words if word.lower() not in STOP_WORDS]
        for words in candidates:
            terms.setdefault(tuple(fold(word) for word in words), Term(tuple(words)))
    return list(terms.values())[:MAX_TERMS]


def fold(word: str) -> str:
    """Lower case without diacritics, as the index compares words."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def scope_token(case_id: int, vendor: str) -> str:
    """The token that marks every document of one case in the index.

    The index holds every case's events. A search within one case intersects the
    words' matches with this token's, inside the index, instead of reading every
    case's matches and dropping the others' (a common word in a 1,000-event case cost
    as much as in the million-event case next to it). No search box entry can match
    it: on SQLite the user's terms are confined to the text columns, and on
    PostgreSQL the parser never makes a lexeme with a `#`.
    """
    return f"c{case_id}" if vendor == "sqlite" else f"c#{case_id}"


class FullTextQuery(Expression):
    """The terms as the database's full-text query: an FTS5 query string (each term a
    quoted phrase, so no character of it is syntax) or a tsquery built by
    phraseto_tsquery() per term, which accepts any text. With `case_id`, only that
    case's documents match (scope_token)."""

    output_field = TextField()

    def __init__(
        self, terms: list[Term], case_id: int | None = None, *, prefix: bool = False
    ) -> None:
        super().__init__()
        self.terms = tuple(terms)
        self.case_id = case_id
        # The last word also matches as the start of a word, for a box that searches
        # as it is typed (the admin's event pickers). Its stemmed form still matches:
        # the index holds "deposit" for "deposition", which no prefix "deposition"
        # finds. Shorter prefixes would read most of the index.
        last = self.terms[-1].words if self.terms else ()
        self.prefix = prefix and len(last) == 1 and len(last[0]) >= MIN_PREFIX_CHARS

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({[term.text for term in self.terms]!r},"
            f" case_id={self.case_id!r}, prefix={self.prefix!r})"
        )

    @property
    def identity(self):
        return (self.__class__, self.terms, self.case_id, self.prefix)

    def as_sqlite(self, compiler, connection):
        phrases = ['"{}"'.format(term.text.replace('"', '""')) for term in self.terms]
        joiner = " "
        if self.prefix:  # FTS5 takes a parenthesised OR only after an explicit AND
            phrases[-1] = f"({phrases[-1]} OR {phrases[-1]}*)"
            joiner = " AND "
        query = f"{SQLITE_TEXT_COLUMNS} : ({joiner.join(phrases)})"
        if self.case_id is not None:
            query = f'scope : "{scope_token(self.case_id, "sqlite")}" AND {query}'
        return "%s", [query]

    def as_postgresql(self, compiler, connection):
        parts = [f"phraseto_tsquery('{PG_CONFIG}', %s)"] * len(self.terms)
        params = [term.text for term in self.terms]
        if self.prefix:
            # The word is letters and digits only (WORD): no tsquery syntax in it.
            parts[-1] = f"({parts[-1]} || to_tsquery('{PG_CONFIG}', %s))"
            params.append(f"{params[-1]}:*")
        sql = " && ".join(parts)
        if self.case_id is not None:
            # A quoted tsquery lexeme is taken as it is, '#' and all.
            sql += " && %s::tsquery"
            params.append(f"'{scope_token(self.case_id, 'postgresql')}'")
        return f"({sql})", params


class SearchRank(Func):
    """Relevance of a matched event, higher is better on both databases.

    SQLite: bm25() with SQLITE_WEIGHTS, negated (bm25 is lower-is-better). It needs
    the full-text query to run in the same statement, which the join guarantees.
    PostgreSQL: ts_rank() with its default weights for A, B, C.

    `occurrences` (SQLite): the match's occurrences of the query instead, each
    weighted by its column (SQLITE_WEIGHTS), as ts_rank does. bm25() weighs each
    word by how rare it is in the whole index, which it learns by reading all the
    word's matches in every case, once per query: for a word in half of a million
    events that is 20 ms, however few of them are in the case searched. Counting the
    occurrences (highlight() marks each one) costs about 15 microseconds a match
    instead, so it is the cheaper rank for a search known to match few events
    (OCCURRENCE_RANK_MAX).
    """

    output_field = FloatField()

    def __init__(self, document, query, *, occurrences: bool = False) -> None:
        super().__init__(document, query)
        self.occurrences = occurrences

    def as_sqlite(self, compiler, connection):
        document, params = compiler.compile(self.source_expressions[0])
        if not self.occurrences:
            weights = ", ".join(str(weight) for weight in SQLITE_WEIGHTS)
            return f"-bm25({document}, {weights})", params
        # `document` is the table's own column ("alias"."table"), whose alias the
        # text columns share. highlight() adds one mark before each occurrence.
        table = document.rsplit(".", 1)[0]
        counted = [
            f"{weight} * coalesce(length(highlight({document}, {index}, char(1), ''))"
            f" - length({table}.{connection.ops.quote_name(name)}), 0)"
            # The text columns only: the scope token's column weighs nothing.
            for index, (name, weight) in enumerate(
                zip(
                    SQLITE_TEXT_COLUMN_NAMES,
                    SQLITE_WEIGHTS[: len(SQLITE_TEXT_COLUMN_NAMES)],
                    strict=True,
                )
            )
        ]
        return f"({' + '.join(counted)})", params * len(counted)

    def as_postgresql(self, compiler, connection):
        return self.as_sql(compiler, connection, function="ts_rank")


# How the caller will read the matches (filter_events' `reading`).
RANKED = "ranked"  # by relevance
PAGE = "page"  # a page in timeline order, the case's events leading
LED_PAGE = "led page"  # a page in timeline order, another index leading (a facet)
EVERY = "every"  # every match, in timeline order (an export)

# The alias under which the index's own order is given, where it has one.
INDEX_ORDER = "search_position"


def filter_events(
    events: QuerySet[Event],
    q: str,
    *,
    case_id: int | None = None,
    reading: str = RANKED,
    matches: int | None = None,
    prefix: bool = False,
) -> QuerySet[Event]:
    """The events matching `q` (see parse_query), annotated with `search_rank`.

    `case_id` confines the full-text query to one case's documents inside the index;
    the events should be of that case. `matches`: how many events the caller counted
    to match, if it did; up to OCCURRENCE_RANK_MAX, a ranked search on SQLite counts
    occurrences instead of running bm25() (SearchRank).

    `reading` chooses the plan for how the matches will be read:
    - RANKED: the index is joined and each match ranked. Order by `-search_rank` for
      relevance. Ranking costs a computation per matching event however few rows
      are shown (about 4 microseconds a match on SQLite, 200,000 events), so a word
      found in most events costs far more than a rare one.
    - PAGE, EVERY on SQLite: the index is read in its own order, which is the
      timeline's (its row numbers are timeline positions), under the alias
      INDEX_ORDER, to order and page by. A page reads its 25 matches and stops; an
      export streams from the first match, with no sort of them all.
    - PAGE on PostgreSQL, whose index has no order, and LED_PAGE: the events are
      read in order from their own index (or the facet index leading) and each is
      tested against the full-text index by key: a page costs about 25 tests divided
      by the share of events that match (a word in half of a million events: a few
      ms; in 2.5% of them, a thousand tests).
    - EVERY on PostgreSQL: the index is joined without the rank; the caller sorts.
    All but RANKED give search_rank 0.

    `prefix`: the last word also matches the words it begins (FullTextQuery).

    A blank `q` leaves the events as they are (search_rank 0). A `q` with nothing
    searchable in it (only punctuation or stop words) matches no event.
    """
    terms = parse_query(q)
    unranked = Value(0.0, output_field=FloatField())
    if not terms:
        if q.strip():
            events = events.none()
        return events.annotate(search_rank=unranked)
    sqlite = connections[events.db].vendor == "sqlite"
    joined = events.filter(
        search_document__document__match=FullTextQuery(terms, case_id, prefix=prefix)
    )
    if reading in (PAGE, EVERY) and sqlite:
        return joined.alias(
            **{INDEX_ORDER: RowNumber(F("search_document__event"))}
        ).annotate(search_rank=unranked)
    if reading == EVERY:
        return joined.annotate(search_rank=unranked)
    if reading in (PAGE, LED_PAGE):
        entry = EventSearch.objects.filter(
            document__match=FullTextQuery(terms, prefix=prefix)
        )
        if sqlite:  # the entry's number is the event's place on the timeline
            entry = entry.alias(number=RowNumber(F("event"))).filter(
                number=TimelinePosition(
                    OuterRef("date"), OuterRef("date_rank"), OuterRef("pk")
                )
            )
        else:
            entry = entry.filter(event=OuterRef("pk"))
        return events.filter(Exists(entry)).annotate(search_rank=unranked)
    # Ranked by the words alone: the scope token is in every candidate.
    few = matches is not None and matches <= OCCURRENCE_RANK_MAX
    return joined.annotate(
        search_rank=SearchRank(
            F("search_document__document"), FullTextQuery(terms), occurrences=few
        )
    )


# On PostgreSQL a page of more matches than this, in timeline order, is read by
# walking the events in order (PAGE); fewer are joined and sorted (EVERY).
WALK_MIN_MATCHES = 10_000


def page_reading(
    q: str, *, using: str = "default", case_id: int | None = None, prefix: bool = False
) -> str:
    """How to read a page of `q`'s matches in timeline order, for a caller that has
    not counted them. SQLite reads them in the index's order either way. On
    PostgreSQL, walking the events and testing each pays off only for many
    matches: for a word found nowhere it reads every event (4.4 s at a million),
    and the planner cannot tell, as it knows only its statistics' common words.
    So the matches are counted in the index first, up to WALK_MIN_MATCHES (5 to
    55 ms at a million)."""
    terms = parse_query(q)
    if not terms or connections[using].vendor == "sqlite":
        return PAGE
    entries = EventSearch.objects.using(using).filter(
        document__match=FullTextQuery(terms, case_id, prefix=prefix)
    )
    many = entries[:WALK_MIN_MATCHES].count() == WALK_MIN_MATCHES
    return PAGE if many else EVERY


def query_key(q: str) -> str:
    """A digest of the terms of `q` as the index compares them (parse_query, fold):
    two entries with the same key match the same events."""
    folded = "\x1f".join(
        " ".join(fold(word) for word in term.words) for term in parse_query(q)
    )
    return hashlib.sha256(folded.encode()).hexdigest()


def case_matches(q: str, *, case_id: int) -> QuerySet[EventSearch] | None:
    """The index rows of the case's events that match `q`, read from the index alone
    (the case's scope token stands in for the events' case); None when `q` has
    nothing searchable in it.

    For counting: the index knows how many events match without reading any of them.
    """
    terms = parse_query(q)
    if not terms:
        return None
    return EventSearch.objects.filter(document__match=FullTextQuery(terms, case_id))


# ---------------------------------------------------------------------------------------
# Highlighting
# ---------------------------------------------------------------------------------------

STEMMER_FOR_VENDOR = {"sqlite": "porter", "postgresql": "english"}
_stemmers = threading.local()  # snowballstemmer objects are not thread-safe


# Words and what lies between them: split() with it gives text, word, text, ...
WORD_SPLIT = re.compile(f"({WORD.pattern})")
# A word's key by algorithm, shared by threads: a word has one key, so a race at
# worst computes it twice. A plain dict: an LRU cache's call cost as much as the
# rest of highlighting a word.
_keys: dict[str, dict[str, str]] = {}
KEYS_KEPT = 8192  # per algorithm


def _key(algorithm: str, word: str) -> str:
    """The form under which the database indexes `word`."""
    keys = _keys.setdefault(algorithm, {})
    key = keys.get(word)
    if key is None:
        folded = fold(word)
        if len(folded) > MAX_WORD_CHARS:
            key = folded
        else:
            stemmer = getattr(_stemmers, algorithm, None)
            if stemmer is None:
                stemmer = snowballstemmer.stemmer(algorithm)
                setattr(_stemmers, algorithm, stemmer)
            key = stemmer.stemWord(folded)
        if len(keys) >= KEYS_KEPT:
            keys.clear()
        keys[word] = key
    return key


def highlight(text: str, q: str, *, using: str = "default") -> SafeString:
    """`text` HTML-escaped, with the words that `q` matched wrapped in <mark>.

    A word matches when its stem is the stem of a query word ("ruled" for "rulings");
    a quoted phrase only where its words stand in order. Each piece of `text` is
    escaped exactly once and `q` never reaches the output, so any text and any query
    are safe.

    A search page highlights the title and summary of each of its rows, so this is
    written for speed: one split of the text, a dict lookup per word, and for a text
    with no match (most summaries) one escape of the whole.
    """
    if not text:
        return mark_safe(html.escape(text))
    algorithm = STEMMER_FOR_VENDOR.get(connections[using].vendor, "english")
    words, phrases = _query_keys(algorithm, q)
    if not words and not phrases:
        return mark_safe(html.escape(text))
    pieces = WORD_SPLIT.split(text)  # text, word, text, ..., text
    keys = [_key(algorithm, word) for word in pieces[1::2]]
    marked = [key in words for key in keys]
    for phrase in phrases:
        size = len(phrase)
        for start in range(len(keys) - size + 1):
            if tuple(keys[start : start + size]) == phrase:
                marked[start : start + size] = [True] * size
    if not any(marked):
        return mark_safe(html.escape(text))
    return mark_safe("".join(_marked_pieces(pieces, marked)))


@lru_cache(maxsize=256)
def _query_keys(
    algorithm: str, q: str
) -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
    """The stems of `q`'s single words, and its phrases as tuples of stems.

    A page highlights the same query in every row it shows, three times a row.
    """
    terms = parse_query(q)
    words = frozenset(_key(algorithm, t.words[0]) for t in terms if len(t.words) == 1)
    phrases = tuple(
        tuple(_key(algorithm, word) for word in t.words)
        for t in terms
        if len(t.words) > 1
    )
    return words, phrases


def _marked_pieces(pieces: list[str], marked: list[bool]) -> Iterator[str]:
    """Escaped text, one <mark> around each run of marked words (and the blanks
    between them). `pieces` alternate text and words (WORD_SPLIT), `marked` says
    which words are marked."""
    escape = html.escape
    yield escape(pieces[0])
    run = False  # inside a <mark>
    last = len(marked) - 1
    for index, is_marked in enumerate(marked):
        word, after = pieces[2 * index + 1], pieces[2 * index + 2]
        if is_marked and not run:
            yield "<mark>"
            run = True
        yield escape(word)
        # A run goes on over blanks to the next marked word.
        if run and not (index < last and marked[index + 1] and not after.strip()):
            yield "</mark>"
            run = False
        yield escape(after)


# ---------------------------------------------------------------------------------------
# Keeping the index in sync
# ---------------------------------------------------------------------------------------


def deferred_sync(using: str = "default") -> AbstractContextManager[None]:
    """Inside a transaction: the triggers leave the index alone.

    For bulk writes, where re-reading an event's document after each of its rows
    costs more than the writes. Before the block ends, index what was written with
    reindex_events() and remove what was deleted with unindex_events() (see
    db.paused). On SQLite an entry is found by its event's place on the timeline:
    unindex an event before changing its date or precision in the block.
    """
    return paused(PAUSED_TABLE, "deferred_sync()", using)


def _ids_sql(events: QuerySet[Event], using: str) -> tuple[str, tuple] | None:
    """SELECT of the events' ids, or None when the queryset can match nothing."""
    query = events.order_by().values("pk").query
    try:
        return query.get_compiler(using=using).as_sql()
    except EmptyResultSet:
        return None


def reindex_events(events: QuerySet[Event], *, using: str = "default") -> None:
    """Write the index entries of these events afresh from their current rows."""
    if (select := _ids_sql(events, using)) is None:
        return
    ids, params = select
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for sql in sqlite_refresh_sql(ids):
                cursor.execute(sql, params)
        else:
            cursor.execute(f"SELECT {SEARCH_TABLE}_refresh(ARRAY({ids}))", params)


def unindex_events(events: QuerySet[Event], *, using: str = "default") -> None:
    """Remove these events from the index (before deleting them in deferred_sync())."""
    if (select := _ids_sql(events, using)) is None:
        return
    ids, params = select
    connection = connections[using]
    if connection.vendor == "sqlite":
        ids = (
            f"SELECT {_position('e')} FROM casetracker_event AS e WHERE e.id IN ({ids})"
        )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {SEARCH_TABLE} WHERE rowid IN ({ids})", params)


def rebuild_index(*, using: str = "default") -> None:
    """Index every event afresh."""
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute(f"DELETE FROM {SEARCH_TABLE}")
        reindex_events(Event.objects.using(using).all(), using=using)


# SQLite triggers. Each re-reads the documents of the events a change touches:
# {ids} is an SQL list of event ids (NULLs are ignored by IN).


def _position(alias: str) -> str:
    return sqlite_position_sql(f"{alias}.date", f"{alias}.date_rank", f"{alias}.id")


_SQLITE_DOCUMENT = f"""\
DELETE FROM {SEARCH_TABLE} WHERE rowid IN (
  SELECT {_position("e")} FROM casetracker_event AS e WHERE e.id IN ({{ids}}));
INSERT INTO {SEARCH_TABLE} (rowid, title, summary, testimony, sources, scope)
SELECT {_position("e")}, e.title, e.summary,
  (SELECT group_concat(t.text, ' ') FROM casetracker_testimony AS t
   WHERE t.event_id = e.id),
  (SELECT group_concat(s.headline, ' ') FROM casetracker_citation AS c
   INNER JOIN casetracker_source AS s ON s.id = c.source_id
   WHERE c.event_id = e.id),
  'c' || e.case_id  -- scope_token()
FROM casetracker_event AS e WHERE e.id IN ({{ids}});"""

_NOT_PAUSED = f"NOT EXISTS (SELECT 1 FROM {PAUSED_TABLE})"

# name suffix -> (event and table, condition, event ids to refresh or None).
_SQLITE_TRIGGERS = {
    "event_insert": ("INSERT ON casetracker_event", "", "NEW.id"),
    "event_update": (
        "UPDATE OF title, summary, case_id, date, date_precision ON casetracker_event",
        "(OLD.title IS NOT NEW.title OR OLD.summary IS NOT NEW.summary"
        " OR OLD.case_id IS NOT NEW.case_id OR OLD.date IS NOT NEW.date"
        " OR OLD.date_precision IS NOT NEW.date_precision)",
        "NEW.id",
    ),
    "event_delete": ("DELETE ON casetracker_event", "", None),
    "testimony_insert": ("INSERT ON casetracker_testimony", "", "NEW.event_id"),
    "testimony_update": (
        "UPDATE OF text, event_id ON casetracker_testimony",
        "(OLD.text IS NOT NEW.text OR OLD.event_id IS NOT NEW.event_id)",
        "OLD.event_id, NEW.event_id",
    ),
    "testimony_delete": ("DELETE ON casetracker_testimony", "", "OLD.event_id"),
    "citation_insert": ("INSERT ON casetracker_citation", "", "NEW.event_id"),
    "citation_update": (
        "UPDATE OF event_id, source_id ON casetracker_citation",
        "(OLD.event_id IS NOT NEW.event_id OR OLD.source_id IS NOT NEW.source_id)",
        "OLD.event_id, NEW.event_id",
    ),
    "citation_delete": ("DELETE ON casetracker_citation", "", "OLD.event_id"),
    "source_update": (
        "UPDATE OF headline ON casetracker_source",
        "OLD.headline IS NOT NEW.headline",
        "SELECT c.event_id FROM casetracker_citation AS c WHERE c.source_id = NEW.id",
    ),
}


def sqlite_refresh_sql(ids: str) -> list[str]:
    """The statements that rewrite the index entries of the events `ids` lists."""
    return [sql.strip() for sql in _SQLITE_DOCUMENT.format(ids=ids).split(";") if sql]


# These first remove the event's row as it was: the row's number is the event's old
# place on the timeline, which a new date or precision changes.
_REMOVES_OLD_ROW = {"event_update", "event_delete"}


def sqlite_trigger_sql() -> dict[str, str]:
    """Trigger name -> CREATE TRIGGER statement, as sqlite_master keeps it."""
    triggers = {}
    for suffix, (event, condition, ids) in _SQLITE_TRIGGERS.items():
        name = f"{SEARCH_TABLE}_{suffix}"
        when = " AND ".join(filter(None, [condition, _NOT_PAUSED]))
        body = []
        if suffix in _REMOVES_OLD_ROW:
            body.append(f"DELETE FROM {SEARCH_TABLE} WHERE rowid = {_position('OLD')};")
        if ids is not None:
            body.extend(f"{sql};" for sql in sqlite_refresh_sql(ids))
        triggers[name] = (
            f"CREATE TRIGGER {name} AFTER {event}\nWHEN {when}\nBEGIN\n"
            + "\n".join(body)
            + "\nEND"
        )
    return triggers


def _sqlite_installed_triggers(cursor) -> dict[str, str]:
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name GLOB %s",
        [f"{SEARCH_TABLE}_*"],
    )
    return dict(cursor.fetchall())


def _sqlite_index_exists(cursor) -> bool:
    cursor.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [SEARCH_TABLE]
    )
    return cursor.fetchone() is not None


def drop_sqlite_triggers(*, using: str = "default", **kwargs) -> None:
    """Drop the SQLite sync triggers (pre_migrate, when this app has migrations to run).

    The signal's `plan` (when given) says whether any migration of this app will run.
    """
    connection = connections[using]
    plan = kwargs.get("plan")
    if connection.vendor != "sqlite":
        return
    if plan is not None and not any(
        migration.app_label == "casetracker" for migration, _ in plan
    ):
        return
    with connection.cursor() as cursor:
        for name in _sqlite_installed_triggers(cursor):
            cursor.execute(f"DROP TRIGGER {name}")


def sync_sqlite_triggers(*, using: str = "default", **kwargs) -> bool:
    """Install the SQLite sync triggers if they are missing or differ, and then rebuild
    the index (post_migrate). Returns whether it did. A no-op elsewhere, or before
    migration 0006.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    expected = sqlite_trigger_sql()
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if not _sqlite_index_exists(cursor):
            return False
        installed = _sqlite_installed_triggers(cursor)
        if installed == expected:
            return False
        for name in installed:
            cursor.execute(f"DROP TRIGGER {name}")
        for sql in expected.values():
            cursor.execute(sql)
        rebuild_index(using=using)
    return True
