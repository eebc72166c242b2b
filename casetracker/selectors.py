"""Read side: every query a page needs, with its prefetching, in one place.

Each selector is keyword-only and returns querysets, model instances, or lists of
rows already read (timeline rows); views never build queries themselves. Query
counts stay fixed per page whatever the case size.
"""

import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import ClassVar, NamedTuple

from django.conf import settings
from django.core import paginator
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    Func,
    IntegerField,
    OrderBy,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from . import search
from .choices import COVERAGE_KINDS
from .db import (
    MonthKey,
    OverBudgetError,
    distinct_by_seeks,
    distinct_by_seeks_subquery,
    estimated_rows,
    time_budget,
)
from .facets import CLAIM, PARTY
from .http import code_version
from .keyset import Cursor, Page, keyset_page, offset_page, row_key, seek_keys
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
    Party,
    Proceeding,
    Source,
    Testimony,
)
from .models.events import TIMELINE_ORDER
from .models.protection import noun
from .models.search import POSITION_DAY_SHIFT, timeline_position
from .models.sources import COVERAGE_ORDER
from .models.testimony import TESTIMONY_ORDER
from .revisions import case_revision

# The names under which timeline_event_list orders its events (see there), and where
# it takes them from when one party or claim leads.
TIMELINE_KEY = ("timeline_date", "timeline_rank", "timeline_id")
FACET_ORDER = ("facet__date", "facet__date_rank", "facet__event_id")


def count_of(rows: QuerySet, *, distinct: str = "") -> Subquery:
    """How many of `rows` (filtered on an OuterRef) there are, as an annotation.

    A subquery costs an index lookup for each row a page shows. Count() would join
    and group the whole table before the page is cut: 6 s for the admin's first page
    of a million events. `distinct`: count that column's distinct values instead.
    """
    template = "COUNT(DISTINCT %(expressions)s)" if distinct else "COUNT(*)"
    counted = rows.order_by().annotate(
        n=Func(F(distinct or "pk"), template=template, output_field=IntegerField())
    )
    return Subquery(counted.values("n"), output_field=IntegerField())


def case_event_count() -> Coalesce:
    """A case's number of events, as an annotation: the sum of its rows of months
    (months.py), one per month, where counting its events read every one."""
    months = CaseMonth.objects.filter(case=OuterRef("pk")).order_by()
    total = months.values("case").annotate(n=Sum("events")).values("n")
    return Coalesce(Subquery(total, output_field=IntegerField()), 0)


def case_contents(*, case: Case) -> list[tuple[int, str]]:
    """What deleting the case takes with it, as (count, noun) pairs: what an editor
    is asked to confirm. Events come from the counts by month, the rest from each
    table's case index."""
    counts = [(event_count(case_id=case.pk), Event)] + [
        (model.objects.filter(case=case).count(), model)
        for model in (Testimony, Source, Claim, Proceeding, CaseParty)
    ]
    return [(count, noun(model, count)) for count, model in counts]


def case_list(*, q: str = "", statuses: Sequence[str] = ()) -> QuerySet[Case]:
    """The cases with every word of `q` in a title, court, docket number or party
    name, and one of `statuses` if any are given; each with its courts, event count
    and the months its timeline spans.

    From the counts by month: however many cases and events, the list reads a row
    per case and month, never the events.
    """
    months = CaseMonth.objects.filter(case=OuterRef("pk")).values("month")
    cases = Case.objects.all()
    if statuses:
        cases = cases.filter(status__in=statuses)
    for word in q.split()[:CASE_SEARCH_WORDS]:
        cases = cases.filter(_case_mentions(word))
    return (
        cases.prefetch_related("proceedings")
        .annotate(
            event_count=case_event_count(),
            first_month=Subquery(months.order_by("month")[:1]),
            last_month=Subquery(months.order_by("-month")[:1]),
        )
        .order_by("title", "pk")  # the pk: a stable order to page through
    )


# Words of a search of the list of cases that count; the rest are ignored.
CASE_SEARCH_WORDS = 10


def _case_mentions(word: str) -> Q:
    """A case whose title or short name, a proceeding's court, name or docket
    number, or a party's name or alias holds `word`. Substrings, not the events'
    full-text index: a newsroom's list is hundreds of cases, and "21-cv" or "Cal"
    should find theirs."""
    proceedings = Proceeding.objects.filter(case=OuterRef("pk")).filter(
        Q(court__icontains=word)
        | Q(name__icontains=word)
        | Q(docket_number__icontains=word)
    )
    roles = CaseParty.objects.filter(case=OuterRef("pk")).filter(
        Q(party__name__icontains=word) | Q(party__aliases__icontains=word)
    )
    return (
        Q(title__icontains=word)
        | Q(short_name__icontains=word)
        | Exists(proceedings)
        | Exists(roles)
    )


def case_get(*, slug: str) -> Case:
    """The case for a URL slug, with its revision; raises Case.DoesNotExist.

    A page keys several cached values by the case's revision (per_revision):
    read with the case, it is read once a request (revisions.case_revision).
    """
    revision = CaseRevision.objects.filter(case=OuterRef("pk"))
    return Case.objects.annotate(
        revision_number=Subquery(revision.values("number")),
        revision_changed_at=Subquery(revision.values("changed_at")),
    ).get(slug=slug)


def _citations() -> Prefetch:
    return Prefetch("citations", queryset=Citation.objects.select_related("source"))


# What a list of roles shows: the party, the role, where and for whom, how sure.
ROLE_SHOWN = (
    "side",
    "role",
    "note",
    "confidence",
    "confidence_note",
    "case__slug",
    "party__slug",
    "party__name",
    "proceeding__name",
)


def case_party_list(*, case: Case) -> QuerySet[CaseParty]:
    """The case's roles, by side and role, with only the columns a list shows."""
    return (
        CaseParty.objects.filter(case=case)
        .select_related("case", "party", "proceeding")
        .only(*ROLE_SHOWN)
        .prefetch_related(Prefetch("represents", queryset=Party.objects.only("name")))
        .order_by("side", "role", "party__name")
    )


def claim_list(*, case: Case) -> QuerySet[Claim]:
    """The case's claims as the overview's table shows them: title, proceeding and
    dated steps, whose last is the current status.

    Only that: who asserts a claim against whom, and the event behind each step,
    are on the claim's own page (claim_get). Reading them here too made up 6 of the
    9 ms the overview spent reading 30 claims.
    """
    return (
        Claim.objects.filter(case=case)
        .select_related("case", "proceeding")
        .only(*CLAIM_SHOWN)
        .prefetch_related(
            Prefetch("history", queryset=ClaimStatusChange.objects.only(*STEP_SHOWN))
        )
        .order_by("proceeding__opened_on", "id")
    )


# What the overview shows of a claim (its link needs the case's slug) and of a step.
CLAIM_SHOWN = (
    "slug",
    "title",
    "count_label",
    "outcome_note",
    "case__slug",
    "proceeding__name",
)
STEP_SHOWN = ("claim", "status", "date", "date_precision", "date_approximate")


def claim_get(*, case: Case, slug: str) -> Claim:
    """The claim with who asserts it against whom, its sources and its steps, each
    step with the event that caused it (a link)."""
    return (
        Claim.objects.filter(case=case)
        .with_current_status()
        .select_related("proceeding")
        .prefetch_related(
            "asserted_by",
            "against",
            _citations(),
            Prefetch(
                "history",
                queryset=ClaimStatusChange.objects.select_related("event__case"),
            ),
        )
        .get(slug=slug)
    )


def key_events(*, case: Case, limit: int) -> list[Event]:
    """The case's first `limit` key events in date order, as timeline rows."""
    return timeline_rows(
        timeline_event_list(case=case).filter(is_key=True), limit=limit
    )


def event_get(*, case: Case, slug: str) -> Event:
    return (
        Event.objects.filter(case=case)
        .select_related("proceeding")
        .prefetch_related(
            "parties",
            "claims",
            _citations(),
            Prefetch(
                "testimony",
                queryset=Testimony.objects.select_related(
                    "witness", "examined_by"
                ).prefetch_related(_citations()),
            ),
        )
        .get(slug=slug)
    )


def event_neighbours(*, event: Event) -> tuple[Event | None, Event | None]:
    """The events just before and after, in timeline order: two seeks on its index.

    Only what the page shows of them (slug and title, for a link) and their place
    on the timeline, which a page's cursor reads (`date_rank` deferred cost a query
    per neighbour).
    """
    events = Event.objects.filter(case_id=event.case_id).only(
        "slug", "title", "date", "date_rank"
    )
    previous = keyset_page(events, size=1, before=Cursor.of(event)).object_list
    following = keyset_page(events, size=1, after=Cursor.of(event)).object_list
    return (previous[0] if previous else None, following[0] if following else None)


def party_get(*, case: Case, slug: str) -> Party:
    """A party that holds at least one role in the case; raises Party.DoesNotExist."""
    return Party.objects.filter(case_roles__case=case).distinct().get(slug=slug)


def party_roles(*, case: Case, party: Party) -> QuerySet[CaseParty]:
    return case_party_list(case=case).filter(party=party)


def party_events(*, case: Case, party: Party, limit: int) -> list[Event]:
    return timeline_rows(timeline_event_list(case=case, parties=[party]), limit=limit)


def claim_events(*, case: Case, claim: Claim, limit: int) -> list[Event]:
    return timeline_rows(timeline_event_list(case=case, claims=[claim]), limit=limit)


def party_claims(*, case: Case, party: Party) -> QuerySet[Claim]:
    """The claims the party asserts or faces, as links (the party page lists them)."""
    return (
        Claim.objects.filter(case=case)
        .filter(Q(asserted_by=party) | Q(against=party))
        .select_related("case")
        .only("slug", "title", "case__slug")
        .distinct()
        .order_by("proceeding__opened_on", "id")
    )


def testimony_list(
    *, case: Case, witnesses: Sequence[Party] = (), kinds: Sequence[str] = ()
) -> QuerySet[Testimony]:
    """Excerpts in date order, undated last; `witnesses` and `kinds` narrow them
    (any of each)."""
    items = Testimony.objects.filter(case=case)
    if witnesses:
        items = items.filter(witness__in=witnesses)
    if kinds:
        items = items.filter(kind__in=kinds)
    return _testimony_shown(items)


def testimony_rows(keys: QuerySet | list[int]) -> QuerySet[Testimony]:
    """The excerpts of these keys, as testimony_list shows them (ListPaginator)."""
    return _testimony_shown(Testimony.objects.filter(pk__in=keys))


def _testimony_shown(items: QuerySet[Testimony]) -> QuerySet[Testimony]:
    return (
        items.select_related("witness", "examined_by", "event__case")
        .prefetch_related(_citations())
        .order_by(*TESTIMONY_ORDER)
    )


def coverage_list(
    *, case: Case, outlets: Sequence[str] = (), reliabilities: Sequence[str] = ()
) -> QuerySet[Source]:
    """Press items, newest first; an outlet matches the page read or the original."""
    items = Source.objects.filter(case=case, kind__in=COVERAGE_KINDS)
    if outlets:
        items = items.filter(Q(outlet__in=outlets) | Q(original_outlet__in=outlets))
    if reliabilities:
        items = items.filter(reliability__in=reliabilities)
    return items.order_by(*COVERAGE_ORDER)


def coverage_rows(keys: QuerySet | list[int]) -> QuerySet[Source]:
    """The press items of these keys as the coverage list shows them, each with the
    number of events it is cited by (ListPaginator)."""
    cited = (
        Citation.objects.filter(source=OuterRef("pk"), event__isnull=False)
        .order_by()
        .values("source")
        .annotate(n=Count("event", distinct=True))
        .values("n")
    )
    return (
        Source.objects.filter(pk__in=keys)
        .annotate(event_count=Coalesce(Subquery(cited, output_field=IntegerField()), 0))
        .order_by(*COVERAGE_ORDER)
    )


def latest_coverage(*, case: Case, limit: int = 10) -> QuerySet[Source]:
    """The newest dated press items, read backwards from the (case, date) index."""
    return Source.objects.filter(
        case=case, kind__in=COVERAGE_KINDS, published_on__isnull=False
    ).order_by("-published_on", "-id")[:limit]


def coverage_outlets(*, case: Case) -> list[str]:
    """Every outlet name in the case's coverage, read or original, sorted.

    A seek per name and kind on the (case, kind, outlet) and (case, kind,
    original_outlet) indexes (distinct_by_seeks): reading the names of every press
    item of the case took 2.7 ms on SQLite for the 42,000 of a million-event case
    (35 ms before the indexes), against 0.1 ms. Kept per revision all the same.
    """

    def names() -> list[str]:
        found = {
            name
            for kind in COVERAGE_KINDS
            for field in ("outlet", "original_outlet")
            for name in distinct_by_seeks(Source, field, case_id=case.pk, kind=kind)
        }
        return sorted(found - {""}, key=str.casefold)

    return per_revision(case, "coverage-outlets", names)


def case_witnesses(*, case: Case) -> QuerySet[Party]:
    """The parties who testified in the case, by name.

    A seek each on the (case, witness) index (distinct_by_seeks): as a plain
    subquery the database read every excerpt of the case (2 ms for 50,000 on
    SQLite, 12 ms on PostgreSQL) to find 22 witnesses; as a join it also sorted
    them to drop the repeats.
    """
    witnesses = distinct_by_seeks_subquery(Testimony, "witness", case_id=case.pk)
    return Party.objects.filter(pk__in=witnesses).order_by("name")


class ListPaginator(paginator.Paginator):
    """Pages of a list (testimony, coverage) whose rows are read by key.

    A page's rows, with what they join and count (`rows`, of the page's keys), are
    read by key alone, and the keys come from the list's index, in the order of its
    queryset (`object_list`, ordered by OrderBy terms):
    - for a link that names the row before or after it (`after`, `before`: the rows
      a page's "Next" and "Previous" links name), by seeking from that row
      (keyset.seek_keys), so page 500 costs what page 2 does;
    - otherwise (a page number alone, or a named row that is no longer in the list)
      by OFFSET over the index's keys.
    The page number is kept beside the named row, for "Page N of M". The count is
    kept per revision of the case (`case`).

    Sliced as one query, the databases computed each skipped row's joins and counts
    too: page 500 of a big case's coverage made PostgreSQL count the events of
    12,500 press items (285 ms) to show 25. The rows are read by their keys alone,
    not under the list's filters as well: given the case's condition, SQLite read
    the whole case's index in order to find the page's 25 keys (11 ms).
    """

    def __init__(
        self,
        object_list,
        per_page,
        *,
        rows: Callable[[QuerySet | list[int]], QuerySet],
        case: Case | None = None,
    ):
        super().__init__(object_list, per_page)
        self.rows = rows
        self.case = case
        self.order: Sequence[OrderBy] = object_list.query.order_by
        if not all(isinstance(term, OrderBy) for term in self.order):
            raise TypeError("A list is ordered by OrderBy terms to seek in it.")

    @functools.cached_property
    def count(self) -> int:
        """The rows of the list, kept per revision of `case` when it is given: a list
        counted every row its filters allow on every request, for its "N items"
        and its last page (50,000 excerpts: 4 ms on PostgreSQL)."""
        if self.case is None:
            return self.object_list.count()
        digest = query_digest(self.object_list)
        if digest is None:  # a list that can hold nothing
            return 0
        return per_revision(self.case, f"list-count:{digest}", self.object_list.count)

    def get_page(
        self, number, *, after: str | None = None, before: str | None = None
    ) -> paginator.Page:
        """Page `number` (Django's get_page: the nearest page for one out of range),
        or the page after or before the row keyed `after` or `before`, numbered
        `number`. Its rows are a list; `first_key` and `last_key` name the rows its
        links seek from."""
        page = super().get_page(number)
        rows = self._sought(after, before) or list(page.object_list)
        page.object_list = rows
        page.first_key = rows[0].pk if rows else None
        page.last_key = rows[-1].pk if rows else None
        return page

    def page(self, number) -> paginator.Page:
        page = super().page(number)
        page.object_list = self.rows(page.object_list.values("pk"))
        return page

    def _sought(self, after: str | None, before: str | None) -> list:
        """The rows after or before the row a link names; none (the caller reads
        the page by number) if the link names no row of the list, or if nothing
        is past it."""
        backwards = after is None
        named = row_key(before if backwards else after)
        if named is None:
            return []
        keys = seek_keys(
            self.object_list, self.order, named, size=self.per_page, backwards=backwards
        )
        if keys is None:
            return []
        rows = self.rows(keys)
        if backwards:
            return list(rows.reverse()[: self.per_page])[::-1]
        return list(rows[: self.per_page])


def source_list(*, case: Case) -> QuerySet[Source]:
    return Source.objects.filter(case=case).order_by("key", "id")


def _count_of(queryset: QuerySet) -> Coalesce:
    """A correlated COUNT(*) that stays one subquery however many rows it counts."""
    counted = queryset.order_by().values("event").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def timeline_event_list(
    *,
    case: Case,
    q: str = "",
    parties: Sequence[Party] = (),
    claims: Sequence[Claim] = (),
    kinds: Sequence[str] = (),
    confidences: Sequence[str] = (),
    key_only: bool = False,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    ranked: bool = True,
    every: bool = False,
    matches: int | None = None,
) -> QuerySet[Event]:
    """The case's events matching every given filter, in timeline order.

    Within one filter the values are alternatives (any of these parties); different
    filters narrow each other. `q` is a full-text search (casetracker/search.py) of the
    title, the summary, testimony excerpts and the headlines of cited sources; its
    matches carry a `search_rank`, which timeline_page orders by (`ranked=False`: no
    rank, for reading a page of many matches in timeline order; `every`: no rank,
    for reading them all; `matches`, a count the caller made, lets a search known
    to match few events rank them more cheaply; see search.filter_events).

    The events come in timeline order, under the names TIMELINE_KEY: the event's own
    columns, or the same values from the facet row that a one-party or one-claim
    filter reads them from (so the database can walk that index in order).
    """
    # One party or one claim: read in order from the facet index (facets.py); the
    # other filters narrow its rows. Several parties or claims are tested per event.
    lead = _facet_lead(parties, claims)
    if lead is None:
        events = Event.objects.filter(case=case).alias(
            **{
                key: F(name)
                for key, name in zip(TIMELINE_KEY, TIMELINE_ORDER, strict=True)
            }
        )
    else:
        kind, target = lead
        # Joined (inner) by the filter; the order's aliases reuse that join. The
        # facet rows carry the case: testing it on the events too made PostgreSQL
        # hash every event of the case to count a claim's first 10,001 (167 ms).
        events = (
            Event.objects.alias(
                facet=FilteredRelation(
                    "facets",
                    condition=Q(
                        facets__case=case,
                        facets__kind=kind,
                        facets__target_id=target.pk,
                    ),
                )
            )
            .filter(facet__kind=kind)
            .alias(
                **{
                    key: F(name)
                    for key, name in zip(TIMELINE_KEY, FACET_ORDER, strict=True)
                }
            )
        )
    if parties and not (lead and lead[0] == PARTY):
        events = events.filter(
            Exists(
                Event.parties.through.objects.filter(
                    event=OuterRef("pk"), party__in=parties
                )
            )
        )
    if claims and not (lead and lead[0] == CLAIM):
        events = events.filter(
            Exists(
                Event.claims.through.objects.filter(
                    event=OuterRef("pk"), claim__in=claims
                )
            )
        )
    if kinds:
        events = events.filter(kind__in=kinds)
    if confidences:
        events = events.filter(confidence__in=confidences)
    if key_only:
        events = events.filter(is_key=True)
    # On the timeline date, so that a leading facet index seeks to the range; but not
    # in a ranked search, whose plan must start from the full-text index: a range on
    # the facet index made SQLite start there and rerun the full-text query for each
    # of its rows (minutes at a million events).
    dated = "date" if (ranked or every) and q.strip() else TIMELINE_KEY[0]
    if date_from:
        events = events.filter(**{f"{dated}__gte": date_from})
    if date_to:
        events = events.filter(**{f"{dated}__lte": date_to})
    if q.strip():
        if every:
            reading = search.EVERY
        elif ranked:
            reading = search.RANKED
        else:
            reading = search.PAGE if lead is None else search.LED_PAGE
        events = search.filter_events(
            events, q, case_id=case.pk, reading=reading, matches=matches
        )
        if search.INDEX_ORDER in events.query.annotations:
            # Read in the index's order, the timeline's; the dates bound its numbers.
            if date_from:
                start = timeline_position(date_from, 0, 0)
                events = events.filter(**{f"{search.INDEX_ORDER}__gte": start})
            if date_to:
                end = timeline_position(date_to, 0, 0) + (1 << POSITION_DAY_SHIFT)
                events = events.filter(**{f"{search.INDEX_ORDER}__lt": end})
            return events.order_by(search.INDEX_ORDER)
    return events.order_by(*TIMELINE_KEY)


def _facet_lead(
    parties: Sequence[Party], claims: Sequence[Claim]
) -> tuple[str, Party | Claim] | None:
    """The facet index that leads a timeline: its one party, else its one claim."""
    if len(parties) == 1:
        return PARTY, parties[0]
    if len(claims) == 1:
        return CLAIM, claims[0]
    return None


# What a timeline row shows of its event (components.timeline_event, the lanes, a
# page's cursor). A summary is read, being shown when a row opens; the rest of an
# event (its source notes, its dates of entry) is not.
EVENT_ROW_SHOWN = (
    "slug",
    "title",
    "summary",
    "kind",
    "is_key",
    "is_context",
    "confidence",
    "confidence_note",
    "date",
    "date_precision",
    "date_approximate",
    "date_rank",
    "end_date",
    "end_precision",
    "case__slug",
)


@dataclass(frozen=True, slots=True)
class RowParty:
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class RowClaim:
    slug: str
    title: str


@dataclass(frozen=True, slots=True)
class CitedSource:
    """What a list of citations shows of a source (components.citations).

    Its properties are Source's own, applied to these values; `model` tells
    components.display where the labels of its choices are.
    """

    model: ClassVar[type[Source]] = Source
    url: str
    kind: str
    outlet: str
    original_outlet: str
    headline: str
    published_on: dt.date | None
    published_precision: str
    published_note: str
    reliability: str

    link_url = Source.link_url
    is_coverage = Source.is_coverage
    display_date = Source.display_date


@dataclass(frozen=True, slots=True)
class RowCitation:
    pin_cite: str
    source: CitedSource


CITED_SOURCE_SHOWN = tuple(field.name for field in fields(CitedSource))


def row_columns(events: QuerySet[Event]) -> QuerySet[Event]:
    """The events with the columns and counts a timeline row shows, without the
    related rows (row_relations adds those once the page is read)."""
    return (
        events.select_related("case").only(*EVENT_ROW_SHOWN).annotate(**_row_counts())
    )


def row_relations(events: list[Event], *, claims: bool = False) -> list[Event]:
    """Give each event of a page the parties, sources and (with `claims`) claims its
    row shows, as plain lists: `row_parties`, `row_citations`, `row_claims`.

    One query each, read as values. Prefetched as model instances they cost two
    thirds of the time spent reading a page: for 25 rows of a big case on SQLite,
    11 ms of 15, where the three queries' SQL takes 1 ms; read this way, about 4 ms.
    A row does not show its claims; only lanes drawn by claim need them.
    """
    ids = [event.pk for event in events]
    parties = _grouped(
        Event.parties.through.objects.filter(event_id__in=ids)
        .order_by("party__name", "party_id")
        .values_list("event_id", "party__slug", "party__name"),
        RowParty,
    )
    cited = _grouped(
        Citation.objects.filter(event_id__in=ids)
        .order_by("source__key", "id")
        .values_list(
            "event_id",
            "pin_cite",
            *(f"source__{name}" for name in CITED_SOURCE_SHOWN),
        ),
        lambda pin_cite, *source: RowCitation(pin_cite, CitedSource(*source)),
    )
    for event in events:
        event.row_parties = parties.get(event.pk, [])
        event.row_citations = cited.get(event.pk, [])
    if claims:
        # In the claims' own order (Claim.Meta.ordering), as the case page lists them.
        found = _grouped(
            Event.claims.through.objects.filter(event_id__in=ids)
            .order_by("claim__proceeding__opened_on", "claim_id")
            .values_list("event_id", "claim__slug", "claim__title"),
            RowClaim,
        )
        for event in events:
            event.row_claims = found.get(event.pk, [])
    return events


def _grouped(rows: QuerySet, make: Callable) -> dict[int, list]:
    """`make(*rest)` of each (event id, *rest) row, grouped by event id."""
    grouped: dict[int, list] = {}
    for event_id, *rest in rows:
        grouped.setdefault(event_id, []).append(make(*rest))
    return grouped


def timeline_rows(
    events: QuerySet[Event], *, claims: bool = False, limit: int | None = None
) -> list[Event]:
    """The first `limit` events (all without it) as timeline rows: row_columns, then
    row_relations."""
    return row_relations(list(row_columns(events)[:limit]), claims=claims)


@functools.cache
def _row_counts() -> dict[str, Coalesce]:
    """A row's count of testimony excerpts, as an annotation.

    Built once: building the subqueries cost 0.9 ms a page, and annotate() resolves a
    copy of each expression, so one instance serves every queryset. The counts of
    sources and news items come from the row's citations, which it reads anyway
    (components.timeline_event): as two more subqueries they cost 0.65 ms a page.
    """
    return {
        "testimony_count": _count_of(Testimony.objects.filter(event=OuterRef("pk")))
    }


# Past this many matching events a filtered page says "more than"; counting further
# would cost time in proportion to the matches.
COUNT_CAP = 10_000
# On PostgreSQL a search that the planner expects to match more than this many
# times COUNT_CAP events is not counted (_text_tally).
COUNT_ESTIMATE_FACTOR = 2


def timeline_page(
    events: QuerySet[Event],
    *,
    size: int,
    after: Cursor | None = None,
    before: Cursor | None = None,
    number: int | None = None,
    ranked: bool = False,
    claims: bool = False,
    case: Case | None = None,
) -> Page:
    """One page of timeline rows: by cursor, from the start, or (`number`) by position.

    A numbered page is read by OFFSET, so its links go on by cursor from there.
    `ranked` (a text search) orders by relevance, which no index serves: its pages
    are numbered; with the `case` of the events, on SQLite, the order is kept per
    revision (RankedRows). `claims`: the rows come with their claims
    (row_relations).
    """
    if ranked:
        relevance = events.order_by("-search_rank", *TIMELINE_KEY)
        if case is not None and connections[events.db].vendor == "sqlite":
            ordered = RankedRows(case, relevance)
        else:
            ordered = row_columns(relevance)
        page = offset_page(ordered, size=size, number=number or 1)
    elif number and number > 1 and after is None and before is None:
        page = offset_page(row_columns(events), size=size, number=number)
        if page.has_next:
            page.next_params = {"after": str(Cursor.of(page.object_list[-1]))}
        # Past the end there is nothing to go back from: the page links to the start.
        page.previous_params = (
            {"before": str(Cursor.of(page.object_list[0]))} if page.object_list else {}
        )
    else:
        # The order timeline_event_list chose: a search index's own, or TIMELINE_KEY.
        if search.INDEX_ORDER in events.query.annotations:
            order = (search.INDEX_ORDER,)
        else:
            order = TIMELINE_KEY
        page = keyset_page(
            row_columns(events), size=size, after=after, before=before, order=order
        )
    row_relations(page.object_list, claims=claims)
    return page


class RankedRows:
    """The rows of a ranked search in the order of its ids, kept per revision.

    Ranking reads every match (a ranked search has at most COUNT_CAP) and computes
    its rank: 8 ms for a common word's 516 matches in a 1,000-event case on SQLite,
    for each of its pages and again for the same search a minute later. The ids in
    relevance order hold until the case changes, so they are kept under the case's
    revision and the query that ranks them; a page then reads its rows by id.

    SQLite only. PostgreSQL's ts_rank costs little, and reading every match with no
    LIMIT let its planner choose a plan eight times slower than the page's (85 ms
    against 10, every filter on the small case, its estimate of a party's events
    being 1 for 394).
    """

    def __init__(self, case: Case, relevance: QuerySet[Event]) -> None:
        self.case = case
        self.relevance = relevance

    def ids(self) -> list[int]:
        ranking = self.relevance.values_list("pk", flat=True)
        digest = query_digest(ranking)
        if digest is None:  # a search with nothing searchable in it (.none())
            return []
        return per_revision(self.case, f"ranking:{digest}", lambda: list(ranking))

    def __getitem__(self, window: slice) -> list[Event]:
        wanted = self.ids()[window]
        # By key alone: the search's join would make the database find every match
        # again.
        rows = row_columns(Event.objects.filter(pk__in=wanted))
        found = {row.pk: row for row in rows}
        return [found[pk] for pk in wanted if pk in found]


class Tally(NamedTuple):
    """How many events match, up to COUNT_CAP, and how many in each month."""

    count: int | None  # None: not counted, it would have taken too long
    capped: bool  # more than COUNT_CAP match
    months: dict[dt.date, int] | None  # first day of month -> count; None if inexact

    @property
    def exact(self) -> bool:
        return self.months is not None


def timeline_tally(events: QuerySet[Event]) -> Tally:
    """Count the matches up to COUNT_CAP + 1 and group those by month, in one query.

    `events` comes from timeline_event_list, or is any queryset that names its
    date TIMELINE_KEY[0] (see timeline_filtered_tally).

    Below the cap the month counts are exact, for the overview strip; past it they
    would cost what the cap saves, so there are none. One query either way: a page
    runs as many queries for a 1,000-event case as for a million events.

    The cap bounds the matches counted, not the rows read to find them: filters that
    each match many events and together few (a party, two kinds, a date range and a
    common word) can read a big case's rows by the hundred thousand to find fewer
    than COUNT_CAP. So the count also has a time budget (CASETRACKER_COUNT_BUDGET_MS);
    past it the database stops the count and the tally says it was not counted. The
    page itself never needs the count: it reads its rows in timeline order.
    """
    # The date under its timeline name: from the facet index when it leads, so the
    # count reads that index alone.
    first = (
        events.order_by()
        .annotate(month=MonthKey(TIMELINE_KEY[0]))
        .values("month")[: COUNT_CAP + 1]
    )
    try:
        sql, params = first.query.sql_with_params()
    except EmptyResultSet:  # a queryset that can match nothing (.none())
        return Tally(0, False, {})
    return _run_tally(
        f"SELECT month, COUNT(*) FROM ({sql}) AS matched GROUP BY month",
        params,
        using=events.db,
    )


def _run_tally(sql: str, params, *, using: str) -> Tally:
    """Run a tally's query, which returns (month, count) rows, within the count's time
    budget. A row with no month holds a count past COUNT_CAP."""
    try:
        with (
            time_budget(settings.CASETRACKER_COUNT_BUDGET_MS, using=using),
            connections[using].cursor() as cursor,
        ):
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    except OverBudgetError:
        return Tally(None, False, None)
    months = {_month_start(month): n for month, n in rows if month is not None}
    total = sum(n for _, n in rows)
    if total > COUNT_CAP:
        return Tally(COUNT_CAP, True, None)
    return Tally(total, False, months)


# What a search's count learned of its size in the case, kept per revision
# (_text_tally): more than COUNT_CAP matches, at most that many (or, counted alone,
# its Tally), or so many by PostgreSQL's estimate that it was not counted.
OVER_CAP, UNDER_CAP, TOO_MANY = "over", "under", "too many"


def _text_tally(
    case: Case, q: str, events: QuerySet[Event], *, alone: bool
) -> Tally | None:
    """The tally of a search, bounded by the search's matches in the index.

    `events` are the case's events that the other filters allow (timeline_event_list
    without `q`; `alone` if there are no other filters). The index gives the case's
    first COUNT_CAP + 1 matches, counted in the index alone; only if there are no
    more than COUNT_CAP are their events read, for the other filters and the months.
    So a count reads at most that many events, however big the case: counted on the
    events, a rarer word in 25,000 events of a million and a kind read all 25,000
    (50 ms on SQLite, near the time budget) to count 2,000.

    Past the cap, a search alone has more than COUNT_CAP matches; with other filters
    its matches are not counted (the tally says so), as a count stopped by the time
    budget. None when `q` has nothing searchable in it (timeline_tally says so).

    Which side of the cap a search is on holds until the case changes, so it is kept
    per revision of the case (revision_key) and a search past the cap reads no match
    again: reading the 10,001 matches of a rarer word cost 6 ms of a 25 ms page on
    SQLite, paid again for every other filter a reader adds to that search. A search
    alone under the cap keeps its whole tally, for its next pages (3.7 ms for a
    common word in the small case). The same statements run either way, reading
    nothing when the answer is known, so a page runs as many queries for a small case
    as for a big one.

    PostgreSQL reads each of those matches from the table, not from its index (30
    to 60 ms for a rarer word's 10,001 at a million events, and a phrase's
    positions are checked row by row), so a search that its planner expects to
    match more than COUNT_ESTIMATE_FACTOR times COUNT_CAP events is not counted at
    all. The estimate of a word comes from the column's statistics of its most
    common words: it is close for the words that match most, and low, so counted,
    for the rest.
    """
    hits = search.case_matches(q, case_id=case.pk)
    if hits is None:
        return None
    found = hits.values_list("event", flat=True)
    key = revision_key(case, f"search-size:{COUNT_CAP}:{search.query_key(q)}")
    size = cache.get(key)
    if size is None:
        estimate = estimated_rows(*found.query.sql_with_params(), using=hits.db)
        if estimate is not None and estimate > COUNT_ESTIMATE_FACTOR * COUNT_CAP:
            size = TOO_MANY
            cache.set(key, size, timeout=REVISION_CACHE_SECONDS)
    # A search alone, counted before: its tally itself was kept (below).
    known = size if alone and isinstance(size, Tally) else None
    hits_sql, hits_params = found[: COUNT_CAP + 1].query.sql_with_params()
    if size in (OVER_CAP, TOO_MANY) or known:
        # Not counted, the same statements still run (reading no match).
        hits_sql = f"SELECT * FROM ({hits_sql}) AS found LIMIT 0"
    # Past the cap the list of matches to read is empty: the count guards it, and
    # both databases evaluate that uncorrelated condition only once.
    counted = RawSQL(
        f"SELECT id FROM hits WHERE (SELECT n FROM total) <= {COUNT_CAP}", ()
    )
    # Each match is tested against the other filters by key: filtering the events
    # themselves let SQLite walk the case's events and look each up in the matches.
    matched = Event.objects.filter(pk__in=counted)
    if not alone:
        matched = matched.filter(Exists(events.filter(pk=OuterRef("pk"))))
    months = matched.order_by().annotate(month=MonthKey("date")).values("month")
    months_sql, months_params = months.query.sql_with_params()
    sql = (
        f"WITH hits(id) AS MATERIALIZED ({hits_sql}),"
        " total(n) AS MATERIALIZED (SELECT COUNT(*) FROM hits)"
        f" SELECT month, COUNT(*) FROM ({months_sql}) AS matched GROUP BY month"
        f" UNION ALL SELECT NULL, n FROM total WHERE n > {COUNT_CAP}"
    )
    tally = _run_tally(sql, (*hits_params, *months_params), using=hits.db)
    if known:
        return known
    if size is None or (alone and size == UNDER_CAP):
        if tally.count is not None:  # counted, not stopped by the time budget
            # Not capped, the index held at most COUNT_CAP matches, whatever the
            # other filters let through; alone, the tally is the search's own.
            size = OVER_CAP if tally.capped else tally if alone else UNDER_CAP
            cache.set(key, size, timeout=REVISION_CACHE_SECONDS)
    elif size == OVER_CAP:
        tally = Tally(COUNT_CAP, True, None)
    if size == TOO_MANY or (tally.capped and not alone):
        return Tally(None, False, None)
    return tally


def timeline_filtered_tally(
    *,
    case: Case,
    q: str = "",
    parties: Sequence[Party] = (),
    claims: Sequence[Claim] = (),
    kinds: Sequence[str] = (),
    confidences: Sequence[str] = (),
    key_only: bool = False,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Tally:
    """timeline_tally of the events that timeline_event_list gives for these filters,
    read from one index when one index holds the answer.

    A search is counted from its matches in the full-text index (_text_tally). One
    party or one claim, with at most a date range, is counted in the facet index:
    joining the events made PostgreSQL read the whole event table to count a claim's
    first 10,001 (70 to 240 ms at a million events, against a few ms for the index).
    Anything else is counted on the events.
    """
    others = dict(
        parties=parties,
        claims=claims,
        kinds=kinds,
        confidences=confidences,
        key_only=key_only,
        date_from=date_from,
        date_to=date_to,
    )
    if q.strip():
        tally = _text_tally(
            case,
            q,
            timeline_event_list(case=case, **others),
            alone=not any(others.values()),
        )
        if tally is not None:
            return tally
        return timeline_tally(timeline_event_list(case=case, q=q, **others))
    lead = _facet_lead(parties, claims)
    if (
        lead is None
        or kinds
        or confidences
        or key_only
        or len(parties) + len(claims) > 1
    ):
        return timeline_tally(timeline_event_list(case=case, **others))
    kind, target = lead
    rows = EventFacet.objects.filter(case=case, kind=kind, target_id=target.pk).alias(
        **{TIMELINE_KEY[0]: F("date")}
    )
    if date_from:
        rows = rows.filter(date__gte=date_from)
    if date_to:
        rows = rows.filter(date__lte=date_to)
    return timeline_tally(rows)


def timeline_search(
    *, case: Case, **filters
) -> tuple[QuerySet[Event], bool, Tally | None]:
    """The events the filters match, whether they are ranked, and their tally.

    A text search is ranked by relevance unless more than COUNT_CAP events match (or
    counting them ran out of time): ranking costs a computation per match (a second
    for a word in half of a million events), and a page in timeline order costs a few
    ms. The tally that decides is the one the page shows. Without a text search
    nothing is counted here (None). The count also chooses the rank: a few matches
    are ranked by their occurrences on SQLite (search.SearchRank).
    """
    if not filters.get("q", "").strip():
        return timeline_event_list(case=case, **filters), False, None
    tally = timeline_filtered_tally(case=case, **filters)
    if not tally.exact:
        return timeline_event_list(case=case, **filters, ranked=False), False, tally
    events = timeline_event_list(case=case, **filters, matches=tally.count)
    return events, True, tally


def _month_start(month: str) -> dt.date:
    """'2024-03' -> 2024-03-01 (MonthKey's text)."""
    return dt.date(int(month[:4]), int(month[5:7]), 1)


def revision_key(case: Case, name: str) -> str:
    """A cache key for a value made from the case's data as it is now.

    The key holds the case's revision (casetracker/revisions.py), which the database
    bumps with every change to the case's data, in any process: the cache never
    serves a stale value, and checking it costs one primary-key read. It also holds
    the release (http.code_version), since what the code makes of the data (a label,
    say) can change with it.
    """
    number, changed_at = case_revision(case)
    stamp = changed_at.timestamp() if changed_at else 0
    code, _ = code_version()
    return f"{name}:{code}:{case.pk}:{number}:{stamp}"


# How long a value kept per revision stays in the cache if nothing else evicts it.
REVISION_CACHE_SECONDS = 24 * 3600


def query_digest(queryset: QuerySet) -> str | None:
    """A name for what `queryset` reads, to keep what it finds per revision; None
    for a queryset that can match nothing (.none())."""
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return None
    return hashlib.sha256(f"{sql}\x1f{params!r}".encode()).hexdigest()


def per_revision[T](case: Case, name: str, compute: Callable[[], T]) -> T:
    """`compute()`, cached under the case's revision (revision_key)."""
    key = revision_key(case, name)
    cached = cache.get(key)
    if cached is None:
        cached = compute()
        cache.set(key, cached, timeout=REVISION_CACHE_SECONDS)
    return cached


def events_named(
    text: str, *, case_id: int | None = None, limit: int = 5
) -> list[Event]:
    """The events whose slug or key is `text` exactly: what an editor pastes from a
    permalink or a data file. Two index seeks: the slug index, and the (case, key)
    index once per case (a key alone has no index of its own). The full-text index
    holds neither, and an OR of them beside its match read every event (0.7 s).
    """
    text = text.strip()
    if not text or len(text) > 100:  # longer than any slug or key
        return []
    cases = Case.objects.all() if case_id is None else Case.objects.filter(pk=case_id)
    named = [
        Event.objects.filter(case__in=cases.values("pk"), slug=text),
        Event.objects.filter(case__in=cases.values("pk"), key=text).exclude(key=""),
    ]
    found: dict[int, Event] = {}
    for events in named:
        for event in events.select_related("case").order_by()[:limit]:
            found.setdefault(event.pk, event)
    return list(found.values())[:limit]


def event_count(
    *,
    case_id: int | None = None,
    since: dt.date | None = None,
    before: dt.date | None = None,
) -> int:
    """How many events there are, of one case if given, dated from `since` to
    before `before` (both the first day of a month), summed from the counts by month
    (months.py): counting a big case's million events took 24 to 28 ms."""
    months = CaseMonth.objects.all()
    if case_id is not None:
        months = months.filter(case_id=case_id)
    if since is not None:
        months = months.filter(month__gte=since)
    if before is not None:
        months = months.filter(month__lt=before)
    return months.aggregate(n=Coalesce(Sum("events"), 0))["n"]


def case_month_counts(*, case: Case) -> tuple[dict[dt.date, int], int]:
    """Events per month over the whole case (first day of the month -> count), and
    its event count.

    Read from the counts the database keeps (months.py), a row per month, and kept
    per revision, which saves the page that query.
    """

    def count() -> tuple[dict[dt.date, int], int]:
        rows = CaseMonth.objects.filter(case=case).values_list("month", "events")
        counts = dict(rows.order_by("month"))
        return counts, sum(counts.values())

    return per_revision(case, "case-month-counts", count)
