"""Read side: every query a page needs, with its prefetching, in one place.

Each selector is keyword-only and returns querysets or model instances; views never
build queries themselves. Query counts stay fixed per page whatever the case size.
"""

import datetime as dt
from collections.abc import Sequence

from django.core.cache import cache
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Contains

from .choices import COVERAGE_KINDS
from .db import MonthKey, UnicodeLower
from .models import (
    Case,
    CaseParty,
    Citation,
    Claim,
    ClaimStatusChange,
    Event,
    Party,
    Source,
    Testimony,
)


def case_list() -> QuerySet[Case]:
    """Every case with its courts, event count and the span of its timeline."""
    return Case.objects.prefetch_related("proceedings").annotate(
        event_count=Count("events"),
        first_event_on=Min("events__date"),
        last_event_on=Max("events__date"),
    )


def case_get(*, slug: str) -> Case:
    """The case for a URL slug; raises Case.DoesNotExist."""
    return Case.objects.get(slug=slug)


def _citations() -> Prefetch:
    return Prefetch("citations", queryset=Citation.objects.select_related("source"))


def case_party_list(*, case: Case) -> QuerySet[CaseParty]:
    return (
        CaseParty.objects.filter(case=case)
        .select_related("case", "party", "proceeding")
        .prefetch_related("represents")
        .order_by("side", "role", "party__name")
    )


def claim_list(*, case: Case) -> QuerySet[Claim]:
    return (
        Claim.objects.filter(case=case)
        .with_current_status()
        .select_related("case", "proceeding")
        .prefetch_related(
            "asserted_by",
            "against",
            Prefetch(
                "history",
                queryset=ClaimStatusChange.objects.select_related("event__case"),
            ),
        )
        .order_by("proceeding__opened_on", "id")
    )


def claim_get(*, case: Case, slug: str) -> Claim:
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
                queryset=ClaimStatusChange.objects.select_related(
                    "event__case"
                ).prefetch_related(_citations()),
            ),
        )
        .get(slug=slug)
    )


def event_list(*, case: Case) -> QuerySet[Event]:
    """The case's events in date order, with what a timeline row shows."""
    return timeline_rows(timeline_event_list(case=case))


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
    """The events just before and after, in timeline order."""
    events = Event.objects.filter(case_id=event.case_id).only("slug", "title", "date")
    if event.date is None:
        before = events.filter(
            Q(date__isnull=False) | Q(date__isnull=True, id__lt=event.id)
        )
        after = events.filter(date__isnull=True, id__gt=event.id)
    else:
        before = events.filter(
            Q(date__lt=event.date) | Q(date=event.date, id__lt=event.id)
        )
        after = events.filter(
            Q(date__gt=event.date)
            | Q(date=event.date, id__gt=event.id)
            | Q(date__isnull=True)
        )
    previous = before.chronological().reverse().first()
    following = after.chronological().first()
    return previous, following


def party_get(*, case: Case, slug: str) -> Party:
    """A party that holds at least one role in the case; raises Party.DoesNotExist."""
    return Party.objects.filter(case_roles__case=case).distinct().get(slug=slug)


def party_roles(*, case: Case, party: Party) -> QuerySet[CaseParty]:
    return case_party_list(case=case).filter(party=party)


def party_events(*, case: Case, party: Party) -> QuerySet[Event]:
    return event_list(case=case).filter(parties=party)


def party_claims(*, case: Case, party: Party) -> QuerySet[Claim]:
    return (
        claim_list(case=case).filter(Q(asserted_by=party) | Q(against=party)).distinct()
    )


def testimony_list(
    *, case: Case, witnesses: Sequence[Party] = (), kinds: Sequence[str] = ()
) -> QuerySet[Testimony]:
    """Excerpts in date order; `witnesses` and `kinds` narrow them (any of each)."""
    items = Testimony.objects.filter(case=case)
    if witnesses:
        items = items.filter(witness__in=witnesses)
    if kinds:
        items = items.filter(kind__in=kinds)
    return (
        items.select_related("witness", "examined_by", "event__case")
        .prefetch_related(_citations())
        .order_by("date", "id")
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
    return items.annotate(
        event_count=Count("citations__event", distinct=True)
    ).order_by(F("published_on").desc(nulls_last=True), "key")


def coverage_outlets(*, case: Case) -> list[str]:
    """Every outlet name in the case's coverage, read or original, sorted."""
    items = Source.objects.filter(case=case, kind__in=COVERAGE_KINDS)
    names = set(items.values_list("outlet", flat=True))
    names |= set(
        items.exclude(original_outlet="").values_list("original_outlet", flat=True)
    )
    return sorted(names, key=str.casefold)


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
) -> QuerySet[Event]:
    """The case's events matching every given filter, in timeline order.

    Within one filter the values are alternatives (any of these parties); different
    filters narrow each other. Each word of `q` must appear, in any case, in the title,
    the summary, a testimony excerpt or the headline of a cited source.
    """
    events = Event.objects.filter(case=case)
    if parties:
        events = events.filter(
            Exists(
                Event.parties.through.objects.filter(
                    event=OuterRef("pk"), party__in=parties
                )
            )
        )
    if claims:
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
    if date_from:
        events = events.filter(date__gte=date_from)
    if date_to:
        events = events.filter(date__lte=date_to)
    # At most ten words: enough for any real search, and a bound on the query's size.
    for word in q.lower().split()[:10]:
        events = events.filter(
            Contains(UnicodeLower("title"), word)
            | Contains(UnicodeLower("summary"), word)
            | Exists(
                Testimony.objects.filter(event=OuterRef("pk")).filter(
                    Contains(UnicodeLower("text"), word)
                )
            )
            | Exists(
                Citation.objects.filter(event=OuterRef("pk")).filter(
                    Contains(UnicodeLower("source__headline"), word)
                )
            )
        )
    return events.chronological()


def timeline_rows(events: QuerySet[Event]) -> QuerySet[Event]:
    """What a timeline row shows: parties, sources, and how much stands behind it."""
    return (
        events.select_related("case")
        .prefetch_related(
            "parties",
            "claims",
            Prefetch("citations", queryset=Citation.objects.select_related("source")),
        )
        .annotate(
            source_count=_count_of(Citation.objects.filter(event=OuterRef("pk"))),
            testimony_count=_count_of(Testimony.objects.filter(event=OuterRef("pk"))),
            coverage_count=_count_of(
                Citation.objects.filter(
                    event=OuterRef("pk"), source__kind__in=COVERAGE_KINDS
                )
            ),
        )
    )


def event_month_counts(events: QuerySet[Event]) -> dict[dt.date, int]:
    """Events per month (first day of the month -> count), counted in the database."""
    rows = (
        events.filter(date__isnull=False)
        .order_by()
        .annotate(month=MonthKey("date"))
        .values("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
    )
    return {dt.date(int(month[:4]), int(month[5:7]), 1): n for month, n in rows}


def case_month_counts(*, case: Case) -> tuple[dict[dt.date, int], int]:
    """Events per month over the whole case, cached until the case's events change,
    and the case's event count (undated events included).

    The cache key is a fingerprint read from indexes (how many events, when one last
    changed), so any save, addition or deletion of an event makes a new key: the cache
    never serves stale counts, in any process.
    """
    events = Event.objects.filter(case=case)
    # Two queries: apart, each is answered from an index alone (COUNT and MAX in one
    # statement make SQLite walk the whole index).
    count = events.count()
    last = events.aggregate(last=Max("updated_at"))["last"]
    key = f"case-month-counts:{case.pk}:{count}:{last.timestamp() if last else 0}"
    counts = cache.get(key)
    if counts is None:
        counts = event_month_counts(timeline_event_list(case=case))
        cache.set(key, counts, timeout=24 * 3600)
    return counts, count
