"""generate_synthetic_case: the rows it makes, their rules, determinism, replacing."""

import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from casetracker.choices import CaseStatus, DatePrecision, SourceKind
from casetracker.dates import precision_error
from casetracker.models import (
    Case,
    CaseParty,
    Citation,
    Claim,
    ClaimStatusChange,
    Event,
    Party,
    Proceeding,
    Source,
    Testimony,
)
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    LinkedEventFactory,
    PartyFactory,
)

SLUG = "synth"


def generate(slug: str = SLUG, **options) -> tuple[str, str]:
    """Run the command; return its stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    options.setdefault("events", 300)
    call_command("generate_synthetic_case", slug, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def snapshot(slug: str = SLUG) -> dict[str, list]:
    """The case's rows without ids or timestamps; foreign keys by their natural keys."""
    case = Case.objects.get(slug=slug)
    event_links = Event.parties.through.objects.filter(event__case=case)
    claim_links = Event.claims.through.objects.filter(event__case=case)
    return {
        "case": list(
            Case.objects.filter(pk=case.pk).values("title", "short_name", "summary")
        ),
        "proceedings": list(
            Proceeding.objects.filter(case=case)
            .order_by("key")
            .values("key", "name", "court", "docket_number", "opened_on", "closed_on")
        ),
        "roles": list(
            CaseParty.objects.filter(case=case)
            .order_by("party__slug")
            .values(
                "party__slug",
                "party__name",
                "party__kind",
                "role",
                "side",
                "proceeding__key",
                "started_on",
                "ended_on",
                "confidence",
            )
        ),
        "claims": list(
            Claim.objects.filter(case=case)
            .order_by("slug")
            .values("slug", "title", "count_label", "proceeding__key", "description")
        ),
        "history": list(
            ClaimStatusChange.objects.filter(claim__case=case)
            .order_by("claim__slug", "date", "status")
            .values("claim__slug", "status", "date", "date_precision")
        ),
        "sources": list(
            Source.objects.filter(case=case)
            .order_by("key")
            .values(
                "key",
                "kind",
                "outlet",
                "headline",
                "url",
                "published_on",
                "published_precision",
                "reliability",
            )
        ),
        "events": list(
            Event.objects.filter(case=case)
            .order_by("slug")
            .values(
                "slug",
                "date",
                "date_precision",
                "date_approximate",
                "date_note",
                "end_date",
                "end_precision",
                "kind",
                "title",
                "summary",
                "is_key",
                "is_context",
                "confidence",
                "confidence_note",
                "proceeding__key",
            )
        ),
        "event parties": list(
            event_links.order_by("event__slug", "party__slug").values_list(
                "event__slug", "party__slug"
            )
        ),
        "event claims": list(
            claim_links.order_by("event__slug", "claim__slug").values_list(
                "event__slug", "claim__slug"
            )
        ),
        "citations": list(
            Citation.objects.filter(event__case=case)
            .order_by("event__slug", "source__key")
            .values_list("event__slug", "source__key", "pin_cite")
        ),
        "testimony": list(
            Testimony.objects.filter(case=case)
            .order_by("event__slug")
            .values_list(
                "event__slug",
                "witness__slug",
                "examined_by__slug",
                "date",
                "kind",
                "form",
                "text",
                "transcript_cite",
            )
        ),
    }


@pytest.mark.django_db
def test_generates_the_requested_counts():
    out, err = generate(events=300, parties=25, claims=12)

    case = Case.objects.get(slug=SLUG)
    assert case.title == "Synthetic case synth"
    assert case.status == CaseStatus.PENDING
    assert Event.objects.filter(case=case).count() == 300
    roles = CaseParty.objects.filter(case=case)
    assert roles.count() == 25
    assert roles.values("party").distinct().count() == 25
    assert len(set(roles.values_list("role", flat=True))) >= 4
    assert len(set(roles.values_list("side", flat=True))) >= 3
    assert Claim.objects.filter(case=case).count() == 12
    assert 2 <= Proceeding.objects.filter(case=case).count() <= 3
    assert "300 events" in out and "events/s" in out
    assert "events 300/300" in err


@pytest.mark.django_db
def test_every_event_has_one_to_four_parties_and_at_most_two_claims():
    generate(events=300)

    events = Event.objects.filter(case__slug=SLUG)
    parties = Counter(events.annotate(n=Count("parties")).values_list("n", flat=True))
    claims = Counter(events.annotate(n=Count("claims")).values_list("n", flat=True))
    cites = Counter(events.annotate(n=Count("citations")).values_list("n", flat=True))
    assert set(parties) == {1, 2, 3, 4}
    assert set(claims) == {0, 1, 2}
    assert set(cites) == {1, 2, 3}


@pytest.mark.django_db
def test_dates_follow_the_precision_rules():
    generate(events=300)

    events = Event.objects.filter(case__slug=SLUG)
    for event in events.values("date", "date_precision", "end_date", "end_precision"):
        assert precision_error(event["date"], event["date_precision"]) is None
        assert precision_error(event["end_date"], event["end_precision"]) is None
        if event["end_date"] is not None:
            assert event["end_date"] > event["date"]
    for change in ClaimStatusChange.objects.filter(claim__case__slug=SLUG).values():
        assert precision_error(change["date"], change["date_precision"]) is None
    for source in Source.objects.filter(case__slug=SLUG).values():
        assert (
            precision_error(source["published_on"], source["published_precision"])
            is None
        )
    for excerpt in Testimony.objects.filter(case__slug=SLUG).values():
        assert precision_error(excerpt["date"], excerpt["date_precision"]) is None

    precisions = Counter(events.values_list("date_precision", flat=True))
    assert 210 <= precisions[DatePrecision.DAY] <= 270
    assert 20 <= precisions[DatePrecision.MONTH] <= 70
    assert 3 <= precisions[DatePrecision.YEAR] <= 30
    assert 3 <= events.filter(date_approximate=True).count() <= 30
    assert 2 <= events.filter(end_date__isnull=False).count() <= 25
    assert 3 <= events.filter(is_key=True).count() <= 30
    years = {date.year for date in events.values_list("date", flat=True)}
    assert max(years) - min(years) >= 11
    assert len(set(events.values_list("kind", flat=True))) >= 8
    assert len(set(events.values_list("confidence", flat=True))) == 3


@pytest.mark.django_db
def test_slugs_are_unique_and_titles_searchable():
    generate(events=300)

    events = Event.objects.filter(case__slug=SLUG)
    slugs = list(events.values_list("slug", flat=True))
    assert len(set(slugs)) == 300
    assert all(slug.startswith("e-") for slug in slugs)
    assert "e-000001-" in min(slugs)
    # Recurring words, so that text search finds many rows.
    assert events.filter(title__icontains="board").count() >= 10
    assert events.filter(summary__icontains="minutes").count() >= 10


@pytest.mark.django_db
def test_sources_citations_and_testimony_are_in_range():
    generate(events=300, claims=10)

    case = Case.objects.get(slug=SLUG)
    sources = Source.objects.filter(case=case)
    assert sources.count() == 30
    kinds = set(sources.values_list("kind", flat=True))
    assert {SourceKind.NEWS, SourceKind.BLOG} <= kinds
    assert len(set(sources.values_list("reliability", flat=True))) >= 2
    citations = Citation.objects.filter(event__case=case)
    assert 300 <= citations.count() <= 900
    assert not citations.exclude(source__case=case).exists()

    testimony = Testimony.objects.filter(case=case)
    assert 5 <= testimony.count() <= 30
    for excerpt in testimony.select_related("event"):
        assert excerpt.event.case_id == case.pk
        assert excerpt.date == excerpt.event.date
        assert excerpt.event.parties.filter(pk=excerpt.witness_id).exists()
        assert CaseParty.objects.filter(case=case, party=excerpt.witness).exists()
        excerpt.full_clean()
    assert set(testimony.values_list("form", flat=True)) == {"quote", "paraphrase"}

    history = Counter(
        ClaimStatusChange.objects.filter(claim__case=case).values_list(
            "claim", flat=True
        )
    )
    assert len(history) == 10
    assert set(history.values()) <= {1, 2, 3, 4}


@pytest.mark.django_db
def test_rows_pass_model_validation():
    generate(events=60, parties=8, claims=4)

    case = Case.objects.get(slug=SLUG)
    for model in (Event, Source, CaseParty, Claim, Proceeding):
        for row in model.objects.filter(case=case):
            row.full_clean()
    for change in ClaimStatusChange.objects.filter(claim__case=case):
        change.full_clean()


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_rows():
    generate(events=200, seed=7)
    first = snapshot()

    generate(events=200, seed=7, replace=True)

    assert snapshot() == first


@pytest.mark.django_db
def test_another_seed_gives_other_rows():
    generate(events=200, seed=7)
    first = snapshot()

    generate(events=200, seed=8, replace=True)

    second = snapshot()
    assert second["events"] != first["events"]
    assert second["roles"] != first["roles"]
    assert len(second["events"]) == 200


@pytest.mark.django_db
def test_an_existing_slug_is_refused_without_replace():
    generate(events=50)
    before = snapshot()
    counts = {model: model.objects.count() for model in (Case, Party, Event)}

    with pytest.raises(CommandError, match="already exists"):
        generate(events=80)

    assert snapshot() == before
    assert {model: model.objects.count() for model in counts} == counts


@pytest.mark.django_db
def test_replace_deletes_the_old_rows_and_keeps_other_cases_parties():
    generate(events=100, parties=10)
    case = Case.objects.get(slug=SLUG)
    old_events = set(Event.objects.filter(case=case).values_list("pk", flat=True))
    old_parties = list(
        CaseParty.objects.filter(case=case)
        .order_by("pk")
        .values_list("party", flat=True)
    )
    # Another case shares one synthetic party through a role, and another through
    # an event only; it also has a party of its own.
    other = CaseFactory()
    shared_role = Party.objects.get(pk=old_parties[0])
    shared_event = Party.objects.get(pk=old_parties[1])
    CasePartyFactory(case=other, party=shared_role)
    own = CasePartyFactory(case=other, party=PartyFactory()).party
    other_event = LinkedEventFactory(case=other, parties=[own, shared_event])

    out, _ = generate(events=120, parties=10, replace=True)

    assert "Deleted case 'synth'" in out
    case = Case.objects.get(slug=SLUG)
    assert Event.objects.filter(case=case).count() == 120
    assert not Event.objects.filter(pk__in=old_events).exists()
    assert not Party.objects.filter(pk__in=old_parties[2:]).exists()
    assert (
        Party.objects.filter(pk__in=[shared_role.pk, shared_event.pk, own.pk]).count()
        == 3
    )
    assert set(other_event.parties.all()) == {own, shared_event}
    assert CaseParty.objects.filter(case=other).count() == 2
    # The same seed makes the same party slugs: the survivors are reused, not doubled.
    assert CaseParty.objects.filter(case=case, party=shared_role).exists()
    assert CaseParty.objects.filter(case=case, party=shared_event).exists()
    assert CaseParty.objects.filter(case=case).count() == 10


@pytest.mark.django_db
def test_replace_also_replaces_a_case_made_by_hand():
    role = CasePartyFactory(case=CaseFactory(slug=SLUG))
    LinkedEventFactory(case=role.case, parties=[role.party])

    generate(events=10, replace=True)

    assert Case.objects.get(slug=SLUG).title == "Synthetic case synth"
    assert not Party.objects.filter(pk=role.party_id).exists()


@pytest.mark.django_db
def test_zero_events_makes_an_empty_timeline():
    generate(events=0, claims=0, parties=2)

    case = Case.objects.get(slug=SLUG)
    assert not Event.objects.filter(case=case).exists()
    assert not Source.objects.filter(case=case).exists()
    assert CaseParty.objects.filter(case=case).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("slug", "options", "message"),
    [
        (SLUG, {"events": -1}, "--events must be 0 or more"),
        (SLUG, {"parties": 1}, "--parties must be 2 or more"),
        (SLUG, {"claims": -3}, "--claims must be 0 or more"),
        ("not a slug!", {}, "is not a slug"),
        ("x" * 81, {}, "longer than 80"),
    ],
)
def test_bad_arguments_are_refused(slug, options, message):
    with pytest.raises(CommandError, match=message):
        generate(slug, **options)

    assert not Case.objects.exists()


@pytest.mark.django_db
def test_events_is_required():
    with pytest.raises(CommandError, match="--events"):
        call_command("generate_synthetic_case", SLUG, stdout=io.StringIO())
