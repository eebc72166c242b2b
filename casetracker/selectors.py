"""Read side: every query a page needs, with its prefetching, in one place.

Each selector is keyword-only and returns querysets or model instances; views never
build queries themselves. Query counts stay fixed per page whatever the case size.
"""

from django.db.models import Count, Prefetch, Q, QuerySet

from .choices import COVERAGE_KINDS
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
    return Case.objects.prefetch_related("proceedings").annotate(
        event_count=Count("events")
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
    return (
        Event.objects.filter(case=case)
        .chronological()
        .select_related("case")
        .prefetch_related("parties")
        .annotate(
            source_count=Count("citations", distinct=True),
            testimony_count=Count("testimony", distinct=True),
        )
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


def testimony_list(*, case: Case) -> QuerySet[Testimony]:
    return (
        Testimony.objects.filter(case=case)
        .select_related("witness", "examined_by", "event__case")
        .prefetch_related(_citations())
        .order_by("date", "id")
    )


def coverage_list(*, case: Case) -> QuerySet[Source]:
    return Source.objects.filter(case=case, kind__in=COVERAGE_KINDS).order_by(
        "-published_on", "key"
    )


def source_list(*, case: Case) -> QuerySet[Source]:
    return Source.objects.filter(case=case).order_by("key", "id")
