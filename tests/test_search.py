"""Full-text search of events (casetracker.search) on SQLite FTS5 and PostgreSQL: what
is indexed, how the index follows edits, stemming, phrases, ranking, hostile queries,
and safe highlighting. Run on both databases (DATABASE_URL selects PostgreSQL)."""

import datetime as dt
import io
from collections import Counter

import pytest
from django.apps import apps as global_apps
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import connection, migrations, transaction
from django.db.transaction import TransactionManagementError

from casetracker import search, selectors
from casetracker.models import Case, Citation, Event, Testimony
from tests.factories import (
    CaseFactory,
    CitationFactory,
    EventFactory,
    SourceFactory,
    TestimonyFactory,
)
from tests.rendering import render_row


@pytest.fixture
def case(db):
    case = CaseFactory()
    # Unrelated events, so that no searched word is in most documents (BM25 gives
    # such a word almost no weight, which would blur the ranking tests).
    for index in range(6):
        EventFactory(
            case=case, title=f"Scheduling order {index}", summary="Dates were set."
        )
    return case


def found(case, q: str, matches: int | None = None) -> list[str]:
    """Titles of the case's events matching `q`, best first, as the timeline orders.

    `matches` is the count that search.filter_events may rank by (few: occurrences).
    """
    events = search.filter_events(
        Event.objects.filter(case=case), q, case_id=case.pk, matches=matches
    )
    return list(
        events.order_by("-search_rank", "date", "date_rank", "id").values_list(
            "title", flat=True
        )
    )


def event(case, title: str, summary: str = "Nothing more.") -> Event:
    return EventFactory(case=case, title=title, summary=summary)


def cite(target: Event, headline: str) -> Citation:
    return CitationFactory(
        event=target, source=SourceFactory(case=target.case, headline=headline)
    )


def add_testimony(target: Event | None, text: str, case=None) -> Testimony:
    return TestimonyFactory(case=case or target.case, event=target, text=text)


# What is indexed


def test_finds_words_in_title_summary_testimony_and_cited_headlines(case):
    """Each part of an event's document is searched."""
    event(case, "Arbitration begins")
    event(case, "Hearing", summary="The arbitration clause was discussed.")
    add_testimony(event(case, "Witness day"), "We never agreed to arbitration.")
    cite(event(case, "Press day"), "Arbitration looms, reporters say")
    event(case, "Unrelated hearing")

    assert sorted(found(case, "arbitration")) == [
        "Arbitration begins",
        "Hearing",
        "Press day",
        "Witness day",
    ]


def test_every_word_must_match_somewhere_in_the_event(case):
    """Words are ANDed, across fields: one in the title, one in a testimony excerpt."""
    both = event(case, "Merger announced")
    add_testimony(both, "The valuation was inflated.")
    event(case, "Merger delayed")

    assert found(case, "merger valuation") == ["Merger announced"]


def test_search_is_limited_to_the_given_events(case):
    """Another case's matching events stay out."""
    event(case, "Injunction sought")
    event(CaseFactory(), "Injunction granted")

    assert found(case, "injunction") == ["Injunction sought"]


def test_case_and_accents_are_ignored(case):
    """Searching is case- and accent-insensitive both ways."""
    event(case, "Meeting at the CAFÉ")
    event(case, "Naive cafe owner testifies")

    assert sorted(found(case, "cafe")) == [
        "Meeting at the CAFÉ",
        "Naive cafe owner testifies",
    ]
    assert found(case, "naïve") == ["Naive cafe owner testifies"]


# Keeping in sync


def test_editing_an_event_reindexes_it(case):
    """A changed title or summary is searched under its new words only."""
    changed = event(case, "Deposition scheduled")
    changed.title = "Subpoena issued"
    changed.save()

    assert found(case, "deposition") == []
    assert found(case, "subpoena") == ["Subpoena issued"]

    Event.objects.filter(pk=changed.pk).update(summary="Quashed on appeal.")
    assert found(case, "quashed") == ["Subpoena issued"]


def test_a_deleted_event_is_no_longer_found(case):
    doomed = event(case, "Sanctions motion")
    cite(doomed, "Sanctions sought")
    doomed.delete()

    assert found(case, "sanctions") == []


def test_testimony_moved_to_another_event_moves_in_the_index(case):
    """Moving an excerpt reindexes both the event it left and the one it joined."""
    first, second = event(case, "Day one"), event(case, "Day two")
    excerpt = add_testimony(first, "The whistleblower called me.")

    assert found(case, "whistleblower") == ["Day one"]
    excerpt.event = second
    excerpt.save()
    assert found(case, "whistleblower") == ["Day two"]

    excerpt.text = "Nobody called."
    excerpt.save()
    assert found(case, "whistleblower") == []

    excerpt.event = None
    excerpt.save()
    assert found(case, "nobody") == []


def test_deleted_testimony_leaves_the_index(case):
    excerpt = add_testimony(event(case, "Day one"), "The whistleblower called me.")
    excerpt.delete()

    assert found(case, "whistleblower") == []


def test_removed_citation_takes_its_headline_out_of_the_event(case):
    reported = event(case, "Press day")
    citation = cite(reported, "Antitrust probe widens")
    cite(reported, "Other news")

    assert found(case, "antitrust") == ["Press day"]
    citation.delete()
    assert found(case, "antitrust") == []
    assert found(case, "news") == ["Press day"]


def test_citation_moved_to_another_event_moves_its_headline(case):
    first, second = event(case, "First"), event(case, "Second")
    citation = cite(first, "Antitrust probe widens")
    citation.event = second
    citation.save()

    assert found(case, "antitrust") == ["Second"]


def test_edited_source_headline_reindexes_every_citing_event(case):
    source = SourceFactory(case=case, headline="Antitrust probe widens")
    for title in ("First", "Second"):
        CitationFactory(event=event(case, title), source=source)

    source.headline = "Regulators close inquiry"
    source.save()

    assert found(case, "antitrust") == []
    assert sorted(found(case, "regulators")) == ["First", "Second"]


def test_deferred_sync_leaves_indexing_to_the_caller(case):
    """Bulk writers pause the triggers in their transaction and reindex at the end."""
    with transaction.atomic(), search.deferred_sync():
        written = event(case, "Bulk written")
        add_testimony(written, "Written in bulk with a whistleblower.")
        assert found(case, "bulk") == []
        search.reindex_events(Event.objects.filter(pk=written.pk))

    assert found(case, "whistleblower") == ["Bulk written"]
    # The pause ended with the block: later writes are indexed again.
    event(case, "Afterwards bulk")
    assert sorted(found(case, "bulk")) == ["Afterwards bulk", "Bulk written"]

    with transaction.atomic(), search.deferred_sync():
        search.unindex_events(Event.objects.filter(pk=written.pk))
        Testimony.objects.filter(event=written).delete()
        written.delete()
    assert found(case, "bulk") == ["Afterwards bulk"]


@pytest.mark.django_db(transaction=True)
def test_deferred_sync_needs_a_transaction():
    with pytest.raises(TransactionManagementError), search.deferred_sync():
        pass


def test_rebuild_index_matches_the_triggers(case):
    """A full rebuild writes the same documents the triggers keep."""
    add_testimony(event(case, "Day one"), "The whistleblower called me.")
    cite(event(case, "Press day"), "Antitrust probe widens")
    before = {q: found(case, q) for q in ("whistleblower", "antitrust", "order")}

    search.rebuild_index()

    assert {q: found(case, q) for q in before} == before


# Language


def test_stemming_matches_other_forms_of_a_word(case):
    """Words are compared by stem: ruling, rulings and ruled are one word."""
    event(case, "Court issues ruling")
    event(case, "Two rulings on discovery")
    event(case, "Judge ruled from the bench")

    assert sorted(found(case, "rulings")) == [
        "Court issues ruling",
        "Judge ruled from the bench",
        "Two rulings on discovery",
    ]
    assert found(case, "discoveries") == ["Two rulings on discovery"]


def test_quoted_phrase_needs_its_words_together_and_in_order(case):
    event(case, "Alleged breach of contract")
    event(case, "Breach of the old contract")
    event(case, "Contract of breach")

    assert found(case, '"breach of contract"') == ["Alleged breach of contract"]
    assert sorted(found(case, "breach contract")) == [
        "Alleged breach of contract",
        "Breach of the old contract",
        "Contract of breach",
    ]
    # Smart quotes, as phones type them, quote too.
    assert found(case, "“breach of contract”") == ["Alleged breach of contract"]


def test_stop_words_alone_match_nothing_and_a_blank_query_everything(case):
    event(case, "The order of the court")

    assert found(case, "the of") == []
    assert len(found(case, "   ")) == Event.objects.filter(case=case).count()


# Ranking


# Both ranks: from the index (bm25 on SQLite) and, for a search known to match few
# events, by occurrences; PostgreSQL's ts_rank is the same for both.
@pytest.fixture(params=[None, 2], ids=["index-rank", "few-matches-rank"])
def counted(request) -> int | None:
    return request.param


def test_a_title_hit_ranks_above_a_summary_hit(case, counted):
    event(case, "Hearing held", summary="Counsel argued about the injunction today.")
    event(case, "Injunction granted", summary="Counsel argued about it at length.")

    assert found(case, "injunction", counted) == ["Injunction granted", "Hearing held"]


def test_more_hits_rank_higher(case, counted):
    event(case, "Once", summary="Escrow was mentioned with many other words here.")
    event(case, "Thrice", summary="Escrow escrow escrow, then other words here.")

    assert found(case, "escrow", counted) == ["Thrice", "Once"]


def test_testimony_and_headline_hits_count(case, counted):
    """Each column's occurrences count, the title's most."""
    twice = event(case, "Twice in testimony")
    add_testimony(twice, "The escrow, and then the escrow again.")
    once = event(case, "Once in a headline")
    cite(once, "Escrow agent named")
    event(case, "Escrow in the title")

    assert found(case, "escrow", counted) == [
        "Escrow in the title",
        "Twice in testimony",
        "Once in a headline",
    ]


def test_rank_is_higher_for_better_matches_on_both_databases(case, counted):
    event(case, "Injunction granted", summary="Injunction injunction.")
    event(case, "Hearing", summary="An injunction among many words of a summary.")
    events = search.filter_events(
        Event.objects.filter(case=case), "injunction", matches=counted
    )
    ranks = dict(events.values_list("title", "search_rank"))

    assert ranks["Injunction granted"] > ranks["Hearing"] > 0


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL has one rank, ts_rank."
)
@pytest.mark.parametrize(
    ("count", "rank"),
    [
        (search.OCCURRENCE_RANK_MAX, "highlight("),
        (search.OCCURRENCE_RANK_MAX + 1, "bm25("),
        (None, "bm25("),
    ],
)
def test_a_search_counted_to_few_matches_is_ranked_by_occurrences(case, count, rank):
    """bm25() reads the word's matches in every case of the index; a search the
    timeline counted to few matches counts their occurrences instead."""
    event(case, "Escrow opened")
    events = selectors.timeline_event_list(case=case, q="escrow", matches=count)

    assert rank in str(events.query)
    assert list(events.values_list("title", flat=True)) == ["Escrow opened"]


def test_the_timeline_ranks_few_matches_by_occurrences(case):
    """selectors.timeline_search passes its count on, and the order is by rank."""
    event(case, "Escrow named once")
    event(case, "Escrow, escrow: named twice")
    queries = []
    with connection.execute_wrapper(
        lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)
    ):
        events, ranked, tally = selectors.timeline_search(case=case, q="escrow")
        titles = list(events.order_by("-search_rank").values_list("title", flat=True))

    assert ranked and tally.count == 2
    assert titles == ["Escrow, escrow: named twice", "Escrow named once"]
    if connection.vendor == "sqlite":
        assert any("highlight(" in sql for sql in queries)
        assert not any("bm25(" in sql for sql in queries)


# Hostile input

HOSTILE_QUERIES = [
    '"',
    '"""',
    'breach"',
    '"breach',
    "*",
    "breach*",
    "title:breach",
    "{title summary}: breach",
    "(breach OR contract)",
    "NEAR(breach contract, 2)",
    "breach NOT contract",
    "AND OR NOT",
    "-breach",
    "^breach",
    "breach + contract",
    "'; DROP TABLE casetracker_event; --",
    "%_\\",
    "a" * 10_000,
    "breach " * 5_000,
    "x" * 101,
    "契約違反 判決",
    "нарушение договора",
    "خرق العقد",
    "🙂 ⚖️",
    "nul\x00byte",
    "<script>alert(1)</script>",
    "!@#$%^&*()",
]


@pytest.mark.parametrize("q", HOSTILE_QUERIES)
def test_hostile_queries_never_fail(case, q):
    event(case, "Alleged breach of contract")

    assert isinstance(found(case, q), list)


def test_syntax_characters_are_separators(case):
    """What would be FTS syntax is read as plain words."""
    event(case, "Alleged breach of contract")

    for q in (
        "breach*",
        "alleged:breach",
        "(breach)^",
        "-breach",
        "{breach} +contract",
    ):
        assert found(case, q) == ["Alleged breach of contract"], q
    # An operator is a word like any other, and must be found too.
    assert found(case, "breach NEAR contract") == []
    assert found(case, "breach OR zebra") == []


def test_non_latin_words_are_found(case):
    event(case, "Договор расторгнут")

    assert found(case, "договор") == ["Договор расторгнут"]


def test_query_parsing_bounds_terms():
    terms = search.parse_query(" ".join(f"word{n}" for n in range(30)))

    assert len(terms) == search.MAX_TERMS
    assert search.parse_query('a "b c" "d') == [
        search.Term(("b", "c")),
        search.Term(("d",)),
    ]
    assert search.parse_query("Ruling ruling RULING") == [search.Term(("Ruling",))]


# Highlighting


def test_highlight_marks_stems_and_escapes():
    html = search.highlight("Rulings & orders: the judge ruled.", "ruling")

    assert html == ("<mark>Rulings</mark> &amp; orders: the judge <mark>ruled</mark>.")


def test_highlight_marks_a_phrase_only_where_it_stands():
    html = search.highlight(
        "A breach of contract, said the breach expert.", '"breach of contract"'
    )

    assert html == "A <mark>breach of contract</mark>, said the breach expert."


@pytest.mark.parametrize(
    "q",
    [
        "<script>alert(1)</script> script",
        '" onmouseover="alert(1)',
        "ruling' onerror='alert(1)",
        "<mark>ruling</mark>",
    ],
)
def test_highlight_is_safe_for_any_text_and_query(q):
    text = '<script>alert("x")</script> ruling <img src=x onerror="alert(1)"> & co'

    html = search.highlight(text, q)

    assert "<script" not in html
    assert "<img" not in html
    assert 'onerror="' not in html
    assert html.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    assert "&lt;" in html
    # Unmarked, the text reads as it was.
    assert (
        html.replace("<mark>", "").replace("</mark>", "")
        == search.highlight(text, "").__str__()
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Marked words with only blanks between them make one mark.
        ("Musk  OpenAI", "<mark>Musk  OpenAI</mark>"),
        ("Musk and OpenAI", "<mark>Musk</mark> and <mark>OpenAI</mark>"),
        ("Musk, OpenAI", "<mark>Musk</mark>, <mark>OpenAI</mark>"),
        ("musk_openai", "<mark>musk</mark>_<mark>openai</mark>"),
        ("“Musk”", "“<mark>Musk</mark>”"),
        ("Mùsk v. OpenAI's", "<mark>Mùsk</mark> v. <mark>OpenAI</mark>&#x27;s"),
        ("x<Musk>", "x&lt;<mark>Musk</mark>&gt;"),
        ("nothing here", "nothing here"),
    ],
)
def test_highlight_marks_runs_of_words(text, expected):
    assert search.highlight(text, "musk openai") == expected


def test_highlight_keeps_a_bounded_memo_of_words(monkeypatch):
    monkeypatch.setattr(search, "KEYS_KEPT", 10)
    words = [f"ruling{n}x" for n in range(25)]

    for word in words:
        assert search.highlight(f"a {word} b", word) == f"a <mark>{word}</mark> b"

    algorithm = search.STEMMER_FOR_VENDOR[connection.vendor]
    assert 0 < len(search._keys[algorithm]) <= 10
    assert search.highlight("Rulings ruled", "ruling") == ("<mark>Rulings ruled</mark>")


def test_highlight_without_query_only_escapes():
    assert search.highlight("<b>Ruling</b>", "") == "&lt;b&gt;Ruling&lt;/b&gt;"
    assert search.highlight("<b>Ruling</b>", '"*"') == "&lt;b&gt;Ruling&lt;/b&gt;"


def test_timeline_event_marks_title_and_summary_when_searching(db):
    """The row reads the page's search_query: marked when searching, only escaped
    when the query is blank or absent."""
    EventFactory(title="Court issues <ruling>", summary="A ruled matter.")
    (shown,) = selectors.timeline_rows(Event.objects.all())
    searching = render_row(shown, search_query="ruling")
    blank = render_row(shown, search_query="  ")
    browsing = render_row(shown)

    assert "Court issues &lt;<mark>ruling</mark>&gt;</a>" in searching
    assert "A <mark>ruled</mark> matter." in searching
    # The details' label names the event unmarked.
    assert "of “Court issues &lt;ruling&gt;”" in searching
    for html in (blank, browsing):
        assert "<mark>" not in html
        assert "Court issues &lt;ruling&gt;</a>" in html
        assert "<p>A ruled matter.</p>" in html


# The index's own schema


def test_sync_triggers_are_installed(db):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                " AND name GLOB 'casetracker_event_search_*'"
            )
            assert dict(cursor.fetchall()) == search.sqlite_trigger_sql()
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger"
                " WHERE tgname LIKE 'casetracker_event_search%' AND NOT tgisinternal"
            )
            assert {name for (name,) in cursor.fetchall()} == {
                f"casetracker_event_search_{name}"
                for name in ("event", "testimony", "citation", "source", "truncate")
            }


@pytest.mark.django_db(transaction=True)
def test_sqlite_triggers_survive_a_table_rebuild():
    """A migration of this app that rebuilds an indexed table on SQLite (as AlterField
    does) runs between the pre_migrate and post_migrate signals, as under `migrate`;
    the triggers come back and changes made meanwhile are indexed."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL alters tables in place; its triggers stay.")
    case = CaseFactory()
    changed = event(case, "Deposition scheduled")
    plan = [(migrations.Migration("9999_rebuild", "casetracker"), False)]
    signals = {"verbosity": 0, "interactive": False, "db": "default", "plan": plan}

    emit_pre_migrate_signal(**signals, apps=global_apps)
    with connection.schema_editor() as editor:
        editor._remake_table(Event)
    Event.objects.filter(pk=changed.pk).update(title="Subpoena issued")
    assert found(case, "subpoena") == []
    emit_post_migrate_signal(**signals, apps=global_apps)

    assert found(case, "subpoena") == ["Subpoena issued"]
    assert search.sync_sqlite_triggers() is False  # already in place


def test_search_results_nest_and_count(case):
    """The search queryset works as a subquery and counts without ranking."""
    event(case, "Injunction granted")
    matches = search.filter_events(Event.objects.filter(case=case), "injunction")

    assert matches.count() == 1
    assert Event.objects.filter(pk__in=matches.values("pk")).count() == 1


def test_synthetic_case_is_indexed_as_python_reads_it(db):
    """The generator's bulk indexing finds exactly the events whose text holds a word
    (stemmed in Python the way highlight() stems), for common and rare words."""
    call_command("generate_synthetic_case", "fts", events=300, stdout=io.StringIO())
    case = Case.objects.get(slug="fts")
    algorithm = search.STEMMER_FOR_VENDOR[connection.vendor]
    texts = {event.pk: [event.title, event.summary] for event in case.events.all()}
    for excerpt in Testimony.objects.filter(case=case, event__isnull=False):
        texts[excerpt.event_id].append(excerpt.text)
    for citation in Citation.objects.filter(event__case=case).select_related("source"):
        texts[citation.event_id].append(citation.source.headline)
    words = {
        pk: {word.lower() for text in parts for word in search.WORD.findall(text)}
        for pk, parts in texts.items()
    }
    events_with = Counter(word for found in words.values() for word in found)
    rare = sorted(word for word, n in events_with.items() if n == 1)[:5]
    common = [word for word, _ in events_with.most_common(40)]
    common = [word for word in common if word not in search.STOP_WORDS][:5]
    assert len(rare) == 5

    for word in ["rulings", "testified", *common, *rare]:
        key = search._key(algorithm, word)
        expected = {
            pk
            for pk, found in words.items()
            if any(search._key(algorithm, other) == key for other in found)
        }
        matched = search.filter_events(Event.objects.filter(case=case), word)
        assert set(matched.values_list("pk", flat=True)) == expected, word


# One case's search


def index_matches(q: str, case_id: int | None) -> set[int]:
    """Event ids the full-text index itself returns, before any join to events."""
    from casetracker.models import EventSearch

    query = search.FullTextQuery(search.parse_query(q), case_id)
    return set(
        EventSearch.objects.filter(document__match=query).values_list(
            "event_id", flat=True
        )
    )


def test_a_case_search_reads_only_that_cases_entries_from_the_index(case):
    """The scope token confines the match inside the index, not after it."""
    mine = event(case, "Injunction granted")
    other_case = CaseFactory()
    theirs = [event(other_case, f"Injunction {n}") for n in range(3)]

    assert index_matches("injunction", case.pk) == {mine.pk}
    assert index_matches("injunction", other_case.pk) == {e.pk for e in theirs}
    assert index_matches("injunction", None) == {mine.pk} | {e.pk for e in theirs}
    assert found(case, "injunction") == ["Injunction granted"]


@pytest.mark.parametrize("typed", ["c{id}", "c#{id}", '"c{id}"', "scope c{id}"])
def test_the_scope_token_cannot_be_searched_for(case, typed):
    q = typed.format(id=case.pk)

    assert found(case, q) == []


def test_an_event_moved_to_another_case_is_found_there(case):
    moved = event(case, "Transferred motion")
    other_case = CaseFactory()

    Event.objects.filter(pk=moved.pk).update(case=other_case)

    assert found(case, "transferred") == []
    assert found(other_case, "transferred") == ["Transferred motion"]


# Many matches: timeline order


@pytest.fixture
def small_cap(monkeypatch):
    """A count cap of 3, so a handful of events stands for ten thousand."""
    from casetracker import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 3)


def dated(case, title: str, year: int) -> Event:
    import datetime as dt

    return EventFactory(case=case, title=title, date=dt.date(year, 1, 1))


def test_a_search_with_few_matches_is_ranked(case, small_cap):
    from casetracker.selectors import timeline_search

    dated(case, "Appeal noted", 2020)
    dated(case, "Appeal appeal appeal argued", 2024)

    events, ranked, counted = timeline_search(case=case, q="appeal")

    assert ranked and counted[:2] == (2, False)
    assert [e.title for e in events.order_by("-search_rank")] == [
        "Appeal appeal appeal argued",
        "Appeal noted",
    ]


def test_ranked_pages_keep_their_order_per_revision_of_the_case(case):
    """With its case, on SQLite, a ranked search reads its order once and then each
    page by id: the same rows in the same order as ranking every time, page after
    page, and a change to the case ranks again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casetracker.selectors import timeline_page, timeline_search

    for n in range(7):
        dated(case, "Appeal " + "appeal " * (n % 4) + f"noted {n}", 2010 + n)
    dated(case, "Unrelated", 2020)
    events, ranked, _ = timeline_search(case=case, q="appeal")
    assert ranked

    def pages(**kept) -> list[list[str]]:
        return [
            [
                e.title
                for e in timeline_page(events, size=3, ranked=True, number=n, **kept)
            ]
            for n in (1, 2, 3)
        ]

    ranked_each_time = pages()
    assert pages(case=case) == ranked_each_time
    assert sorted(sum(ranked_each_time, [])) == sorted(
        e.title for e in events
    )  # every match once
    with CaptureQueriesContext(connection) as again:
        assert pages(case=case) == ranked_each_time
    ranking = [
        q
        for q in again.captured_queries
        if "bm25(" in q["sql"] or "highlight(" in q["sql"] or "ts_rank(" in q["sql"]
    ]
    # Kept on SQLite only (RankedRows); PostgreSQL ranks each page.
    assert len(ranking) == (0 if connection.vendor == "sqlite" else 3)

    first = events.order_by("-search_rank")[0]
    first.title = "Noted"  # no longer a match, and the case changed
    first.save()
    events, _, _ = timeline_search(case=case, q="appeal")
    assert pages(case=case) == pages()
    assert "Noted" not in sum(pages(case=case), [])


def test_a_ranked_search_with_nothing_searchable_is_an_empty_page(case):
    """Punctuation alone matches no event: its kept order is empty, not an error."""
    from casetracker.selectors import timeline_page, timeline_search

    dated(case, "Appeal noted", 2020)
    events, ranked, tally = timeline_search(case=case, q="!!")

    page = timeline_page(events, size=3, ranked=ranked, number=1, case=case)

    assert ranked and tally[:2] == (0, False)
    assert page.object_list == [] and not page.has_next


def test_a_search_with_more_matches_than_the_cap_reads_them_in_timeline_order(
    case, small_cap
):
    from casetracker.keyset import Cursor
    from casetracker.selectors import timeline_page, timeline_search

    years = [2024, 2019, 2022, 2020, 2023]
    for year in years:
        dated(case, f"Appeal {year}", year)
    dated(CaseFactory(), "Appeal elsewhere", 2021)

    events, ranked, counted = timeline_search(case=case, q="appeal")
    titles, page = [], timeline_page(events, size=2, ranked=ranked)
    while True:
        titles += [e.title for e in page.object_list]
        if not page.has_next:
            break
        after = Cursor.parse(page.next_params["after"])
        page = timeline_page(events, size=2, ranked=ranked, after=after)

    assert not ranked and counted[:2] == (3, True)
    assert titles == [f"Appeal {year}" for year in sorted(years)]


def walk(events, size: int, **bounds) -> list[str]:
    """Titles of every page of `events`, following the cursors of timeline_page."""
    from casetracker.keyset import Cursor
    from casetracker.selectors import timeline_page

    titles, page = [], timeline_page(events, size=size, **bounds)
    while True:
        titles += [e.title for e in page.object_list]
        if not page.has_next:
            return titles
        page = timeline_page(
            events, size=size, after=Cursor.parse(page.next_params["after"])
        )


def test_matches_in_timeline_order_page_through_one_day_both_ways(case, small_cap):
    """Same day, every precision, ids out of date order, a date range: the order is
    the timeline's, with no match twice or missing, forward and back."""
    from casetracker.choices import DatePrecision
    from casetracker.keyset import Cursor
    from casetracker.selectors import TIMELINE_ORDER, timeline_page, timeline_search

    day = dt.date(2021, 3, 1)
    for n, precision in enumerate(
        [DatePrecision.DAY, DatePrecision.YEAR, DatePrecision.MONTH] * 2
    ):
        EventFactory(case=case, title=f"Appeal {n}", date=day, date_precision=precision)
    dated(case, "Appeal before", 2020)
    dated(case, "Appeal after", 2022)
    EventFactory(case=case, title="Appeal last day", date=dt.date(2021, 12, 31))
    in_range = dict(date_from=dt.date(2021, 1, 1), date_to=dt.date(2021, 12, 31))
    expected = list(
        Event.objects.filter(
            case=case,
            title__startswith="Appeal",
            **{"date__range": (in_range["date_from"], in_range["date_to"])},
        )
        .order_by(*TIMELINE_ORDER)
        .values_list("title", flat=True)
    )

    events, ranked, _ = timeline_search(case=case, q="appeal", **in_range)
    forward = walk(events, size=2)
    last = timeline_page(events, size=50).object_list[-1]
    back, page = [], timeline_page(events, size=2, before=Cursor.of(last))
    while True:
        back = [e.title for e in page.object_list] + back
        if not page.has_previous:
            break
        page = timeline_page(
            events, size=2, before=Cursor.parse(page.previous_params["before"])
        )

    assert not ranked and len(expected) == 7
    assert forward == expected
    assert back == expected[:-1]


def test_an_event_moved_on_the_timeline_keeps_one_index_entry(case, small_cap):
    """The SQLite index numbers its rows by timeline position: a new date or
    precision renumbers the event's row instead of adding one."""
    from casetracker.choices import DatePrecision
    from casetracker.models import EventSearch
    from casetracker.selectors import timeline_search

    for year in (2020, 2021, 2022, 2023):
        dated(case, f"Appeal {year}", year)
    moved = dated(case, "Appeal moved", 2019)

    moved.date, moved.date_precision = dt.date(2024, 6, 1), DatePrecision.MONTH
    moved.save()
    entries = EventSearch.objects.filter(
        document__match=search.FullTextQuery(search.parse_query("moved"), case.pk)
    )
    events, ranked, _ = timeline_search(case=case, q="appeal")

    assert list(entries.values_list("event", flat=True)) == [moved.pk]
    assert not ranked
    assert walk(events, size=2) == [f"Appeal {y}" for y in range(2020, 2024)] + [
        "Appeal moved"
    ]
    Event.objects.filter(pk=moved.pk).update(date=dt.date(2018, 1, 1))
    assert walk(events, size=10)[0] == "Appeal moved"
    moved.delete()
    assert not entries.exists()


def test_on_sqlite_matches_in_timeline_order_are_read_in_the_index_order(
    case, small_cap
):
    """No sort of the matches: FTS5 returns them in row number order, which is the
    timeline's, and a page stops after its rows."""
    from django.db import connection

    from casetracker.selectors import row_columns, timeline_event_list

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's index order; PostgreSQL's index has none.")
    for year in (2020, 2021, 2022, 2023):
        dated(case, f"Appeal {year}", year)

    events = timeline_event_list(
        case=case,
        q="appeal",
        kinds=["filing"],
        date_from=dt.date(2021, 1, 1),
        ranked=False,
    )
    plan = row_columns(events)[:26].explain()

    assert [e.title for e in events] == ["Appeal 2021", "Appeal 2022", "Appeal 2023"]
    assert "SCAN casetracker_event_search VIRTUAL TABLE" in plan
    assert "SEARCH casetracker_event USING INTEGER PRIMARY KEY" in plan
    assert "TEMP B-TREE" not in plan


def test_on_sqlite_an_index_row_is_numbered_by_its_events_place(case):
    """The database's packing of (date, precision rank, id) is Python's, at the ends
    of the calendar too, so a page's cursor bounds the right rows."""
    from django.db import connection
    from django.db.models import F

    from casetracker.choices import DatePrecision
    from casetracker.models import EventSearch
    from casetracker.models.search import RowNumber, timeline_position

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's row numbers; PostgreSQL's index is keyed by event.")
    dates = [dt.date(1, 1, 1), dt.date(1899, 12, 31), dt.date(2024, 2, 29)]
    made = [
        EventFactory(case=case, date=day, date_precision=precision)
        for day in [*dates, dt.date(9999, 12, 31)]
        for precision in DatePrecision
    ]
    numbers = dict(
        EventSearch.objects.filter(event__in=made)
        .annotate(number=RowNumber(F("event")))
        .values_list("event", "number")
    )

    for e in Event.objects.filter(pk__in=numbers):
        assert numbers[e.pk] == timeline_position(e.date, e.date_rank, e.pk)
    assert sorted(numbers, key=numbers.get) == list(
        Event.objects.filter(pk__in=numbers).values_list("pk", flat=True)
    )


def test_the_page_says_when_matches_are_in_timeline_order(client, case, small_cap):
    from django.urls import reverse

    for year in (2020, 2021, 2022, 2023):
        dated(case, f"Appeal {year}", year)
    url = reverse("case_timeline", kwargs={"case": case.slug})

    many = client.get(url, {"q": "appeal"}).text
    few = client.get(url, {"q": '"appeal 2021"'}).text

    assert "More than 3 of" in many
    assert "shown in timeline order" in many
    assert many.index("Appeal 2020") < many.index("Appeal 2023")
    assert "shown in timeline order" not in few


def test_a_feed_of_a_search_with_many_matches_lists_the_newest_matches(
    client, case, small_cap
):
    from django.urls import reverse

    for year in (2019, 2023, 2021, 2020, 2022):
        dated(case, f"Appeal {year}", year)
    dated(case, "Unrelated 2024", 2024)

    feed = client.get(reverse("case_feed", kwargs={"case": case.slug}), {"q": "appeal"})

    titles = [
        line.split("<title>")[1].split("</title>")[0]
        for line in feed.text.split("<entry>")[1:]
    ]
    assert [title.rsplit(": ", 1)[1] for title in titles] == [
        f"Appeal {year}" for year in (2023, 2022, 2021, 2020, 2019)
    ]


def test_a_search_alone_is_counted_in_the_index_as_on_the_events(case, small_cap):
    from casetracker.selectors import (
        timeline_event_list,
        timeline_filtered_tally,
        timeline_tally,
    )

    for year in (2019, 2020, 2020, 2022):
        dated(case, f"Appeal {year}", year)
    dated(case, "Hearing on the appeal", 2021)
    dated(CaseFactory(), "Appeal elsewhere", 2021)  # another case's match

    for q in ("appeal", "hearing", '"appeal 2020"', "nothing-matches", "!!"):
        counted = timeline_filtered_tally(case=case, q=q)
        assert counted == timeline_tally(timeline_event_list(case=case, q=q)), q
    assert timeline_filtered_tally(case=case, q="appeal")[:2] == (3, True)
    assert timeline_filtered_tally(case=case, q="hearing") == (
        1,
        False,
        {dt.date(2021, 1, 1): 1},
    )


def test_a_search_with_other_filters_is_counted_from_its_first_matches(
    client, case, small_cap
):
    """Up to the cap, the search's matches are read and the other filters counted on
    them, as on the events; past it they are not counted at all, however few pass the
    other filters, so a count never reads more than the cap's worth of events."""
    from django.urls import reverse

    from casetracker.choices import EventKind
    from casetracker.selectors import (
        timeline_event_list,
        timeline_filtered_tally,
        timeline_search,
        timeline_tally,
    )

    ruling = dict(kinds=[EventKind.RULING])
    in_2021 = dict(date_from=dt.date(2021, 1, 1), date_to=dt.date(2021, 12, 31))
    EventFactory(
        case=case, title="Appeal ruled", kind="ruling", date=dt.date(2021, 5, 4)
    )
    dated(case, "Appeal filed", 2020)
    for filters in (ruling, in_2021, {**ruling, **in_2021}):
        assert timeline_filtered_tally(case=case, q="appeal", **filters) == (
            timeline_tally(timeline_event_list(case=case, q="appeal", **filters))
        )
    assert timeline_filtered_tally(case=case, q="appeal", **ruling) == (
        1,
        False,
        {dt.date(2021, 5, 1): 1},
    )

    dated(case, "Appeal noted", 2022)
    dated(case, "Appeal argued", 2023)  # four matches, past the cap of three

    assert timeline_filtered_tally(case=case, q="appeal")[:2] == (3, True)
    assert timeline_filtered_tally(case=case, q="appeal", **ruling) == (
        None,
        False,
        None,
    )
    events, ranked, _ = timeline_search(case=case, q="appeal", **ruling)
    assert not ranked and [e.title for e in events] == ["Appeal ruled"]
    page = client.get(
        reverse("case_timeline", kwargs={"case": case.slug}),
        {"q": "appeal", "kind": "ruling"},
    ).text
    # The one page holds every match, so it counts them itself.
    assert "1 of 10 events match the filters" in page and "Appeal ruled" in page
    assert "shown in timeline order" in page


def test_a_search_past_the_cap_reads_no_match_again_until_the_case_changes(
    case, small_cap
):
    """Which side of the cap a search is on is kept per revision of the case: past
    it, the next count (with another filter, say) runs the same statement reading
    none of the matches, and says the same; a change to the case counts again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casetracker.choices import EventKind
    from casetracker.selectors import timeline_filtered_tally

    ruling = dict(kinds=[EventKind.RULING])
    for year in (2019, 2020, 2021, 2022):
        dated(case, f"Appeal {year}", year)

    with CaptureQueriesContext(connection) as first:
        assert timeline_filtered_tally(case=case, q="appeal")[:2] == (3, True)
    with CaptureQueriesContext(connection) as again:
        alone = timeline_filtered_tally(case=case, q="Appeal")  # the same terms
        with_kind = timeline_filtered_tally(case=case, q="appeal", **ruling)

    assert alone[:2] == (3, True) and with_kind == (None, False, None)
    tallies = [q["sql"] for q in again.captured_queries if "WITH hits" in q["sql"]]
    assert len(tallies) == 2 and all("LIMIT 0" in sql for sql in tallies)
    assert not any("LIMIT 0" in q["sql"] for q in first.captured_queries)

    # Two appeals fewer: the case changed, so the search is counted again.
    Event.objects.filter(case=case, title__in=["Appeal 2019", "Appeal 2020"]).delete()
    assert timeline_filtered_tally(case=case, q="appeal") == (
        2,
        False,
        {dt.date(2021, 1, 1): 1, dt.date(2022, 1, 1): 1},
    )


def test_a_search_under_the_cap_is_still_counted_with_each_filter(case, small_cap):
    """Under the cap a search alone keeps its tally until the case changes; with
    other filters each combination is counted on the search's matches, exactly."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casetracker.choices import EventKind
    from casetracker.selectors import timeline_filtered_tally

    EventFactory(
        case=case, title="Appeal ruled", kind="ruling", date=dt.date(2021, 5, 4)
    )
    dated(case, "Appeal filed", 2020)
    alone = (2, False, {dt.date(2020, 1, 1): 1, dt.date(2021, 5, 1): 1})
    ruling = (1, False, {dt.date(2021, 5, 1): 1})

    assert timeline_filtered_tally(case=case, q="appeal") == alone
    with CaptureQueriesContext(connection) as again:
        assert timeline_filtered_tally(case=case, q="appeal") == alone
        kinds = [EventKind.RULING]
        assert timeline_filtered_tally(case=case, q="appeal", kinds=kinds) == ruling

    alone_sql, filtered_sql = [
        q["sql"] for q in again.captured_queries if "WITH hits" in q["sql"]
    ]
    assert "LIMIT 0" in alone_sql and "LIMIT 0" not in filtered_sql

    dated(case, "Appeal heard", 2022)  # a change: counted again
    assert timeline_filtered_tally(case=case, q="appeal")[:2] == (3, False)


def test_on_postgresql_a_search_expected_to_match_far_past_the_cap_is_not_counted(
    case, small_cap
):
    """The planner's estimate, from the column's statistics, spares reading the first
    matches of a search that the cap would stop anyway; a rare word is counted."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casetracker.selectors import timeline_filtered_tally, timeline_search

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner estimates; SQLite's have none for FTS5.")
    for n in range(30):
        dated(case, f"Appeal {n}", 2000 + n)
    dated(case, "Hearing held", 2031)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {search.SEARCH_TABLE}")

    with CaptureQueriesContext(connection) as skipped:
        events, ranked, tally = timeline_search(case=case, q="appeal")
    with CaptureQueriesContext(connection) as counted:
        rare = timeline_filtered_tally(case=case, q="hearing")

    assert tally == (None, False, None) and not ranked
    assert [e.title for e in events[:2]] == ["Appeal 0", "Appeal 1"]
    assert rare == (1, False, {dt.date(2031, 1, 1): 1})
    # The same statements either way: a page's query count does not depend on it.
    assert len(skipped) == len(counted)


def test_a_search_export_lists_every_match_in_timeline_order(client, case):
    """All the matches, none twice, in the timeline's order, whatever the filters."""
    import csv

    from django.urls import reverse

    from casetracker.choices import DatePrecision
    from casetracker.selectors import TIMELINE_ORDER, timeline_event_list
    from tests.factories import LinkedEventFactory, PartyFactory

    alice = PartyFactory()
    day = dt.date(2021, 3, 1)
    for n, precision in enumerate([DatePrecision.DAY, DatePrecision.YEAR] * 3):
        LinkedEventFactory(
            case=case,
            title=f"Appeal {n}",
            date=day if n % 3 else dt.date(2019 + n, 1, 1),
            date_precision=precision,
            parties=[alice] if n % 2 else [],
        )
    expected = list(
        Event.objects.filter(case=case, title__startswith="Appeal")
        .order_by(*TIMELINE_ORDER)
        .values_list("title", flat=True)
    )
    url = reverse("case_timeline_csv", kwargs={"case": case.slug})

    response = client.get(url, {"q": "appeal"})
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    listed = [e.title for e in timeline_event_list(case=case, q="appeal", every=True)]
    of_alice = [
        e.title
        for e in timeline_event_list(case=case, q="appeal", parties=[alice], every=True)
    ]

    assert [row["title"] for row in rows] == expected == listed
    assert of_alice == [t for t in expected if int(t.split()[1]) % 2]


def test_on_sqlite_a_search_export_reads_the_index_in_order(case):
    """No sort of every match before the first row can go out, with a party too."""
    from django.db import connection

    from casetracker.selectors import timeline_event_list
    from tests.factories import PartyFactory

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's index order; PostgreSQL's index has none.")
    alice = PartyFactory()
    for year in (2020, 2021):
        dated(case, f"Appeal {year}", year).parties.add(alice)

    for filters in ({}, {"parties": [alice]}, {"date_from": dt.date(2021, 1, 1)}):
        plan = timeline_event_list(case=case, q="appeal", every=True, **filters)
        plan = plan.explain()
        assert "SCAN casetracker_event_search VIRTUAL TABLE" in plan, filters
        assert "TEMP B-TREE" not in plan, filters


def test_entries_that_match_the_same_events_share_a_query_key():
    """Case, diacritics, stop words and repeats do not change what matches."""
    same = {
        search.query_key(q)
        for q in ("Naïve appeal", "naive APPEAL", "the naive appeal appeal")
    }
    assert len(same) == 1
    assert search.query_key('"naive appeal"') not in same  # a phrase is one term
    assert search.query_key("naive") not in same
