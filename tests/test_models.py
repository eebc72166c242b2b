"""The case data model: database constraints, clean() rules, names, URLs, managers."""

import datetime as dt
import functools

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from casetracker.choices import (
    ClaimStatus,
    DatePrecision,
    PartyRole,
    SourceKind,
    TestimonyForm,
)
from casetracker.models import Claim, NewsCoverage
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    CitationFactory,
    ClaimFactory,
    ClaimStatusChangeFactory,
    EventFactory,
    PartyFactory,
    ProceedingFactory,
    SourceFactory,
    TestimonyFactory,
)

pytestmark = pytest.mark.django_db

D = dt.date


def validation_errors(instance) -> dict[str, list[str]]:
    """The errors full_clean() raises, by field; fails the test if it raises none."""
    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()
    return excinfo.value.message_dict


# Database constraints


def test_event_slug_is_unique_per_case():
    """Two events of one case cannot share a slug."""
    case = CaseFactory()
    EventFactory(case=case, slug="day-one")

    with pytest.raises(IntegrityError), transaction.atomic():
        EventFactory(case=case, slug="day-one")


def test_event_slug_may_repeat_across_cases():
    """The same slug is fine in two different cases."""
    first = EventFactory(slug="day-one")
    second = EventFactory(slug="day-one")

    assert first.case != second.case


def test_source_key_is_unique_per_case():
    """Two sources of one case cannot share a key."""
    case = CaseFactory()
    SourceFactory(case=case, key="S01")

    with pytest.raises(IntegrityError), transaction.atomic():
        SourceFactory(case=case, key="S01")


def test_source_blank_keys_may_repeat():
    """Key uniqueness ignores blank keys, inside one case and across cases."""
    case = CaseFactory()
    SourceFactory(case=case, key="")
    SourceFactory(case=case, key="")
    SourceFactory(key="S01")
    SourceFactory(key="S01")

    assert case.sources.filter(key="").count() == 2


@pytest.mark.parametrize(
    ("make", "constraint"),
    [
        pytest.param(
            lambda: EventFactory(date=D(2024, 3, 5), end_date=D(2024, 3, 4)),
            "event_end_not_before_start",
            id="event-ends-before-it-starts",
        ),
        pytest.param(
            lambda: ProceedingFactory(opened_on=D(2024, 1, 2), closed_on=D(2024, 1, 1)),
            "proceeding_closed_after_opened",
            id="proceeding-closes-before-it-opens",
        ),
        pytest.param(
            lambda: CasePartyFactory(started_on=D(2024, 1, 2), ended_on=D(2024, 1, 1)),
            "caseparty_ended_after_started",
            id="role-ends-before-it-starts",
        ),
        pytest.param(
            lambda: CitationFactory(event=None, source=SourceFactory()),
            "citation_exactly_one_target",
            id="citation-without-target",
        ),
        pytest.param(
            lambda: CitationFactory(testimony=TestimonyFactory()),
            "citation_exactly_one_target",
            id="citation-with-two-targets",
        ),
    ],
)
def test_check_constraints_refuse_inconsistent_rows(make, constraint):
    """The database itself refuses rows that break a check constraint."""
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        make()

    assert constraint in str(excinfo.value)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: EventFactory(date=D(2024, 3, 5), end_date=D(2024, 3, 5)),
            id="event",
        ),
        pytest.param(
            lambda: ProceedingFactory(opened_on=D(2024, 1, 2), closed_on=D(2024, 1, 2)),
            id="proceeding",
        ),
        pytest.param(
            lambda: CasePartyFactory(started_on=D(2024, 1, 2), ended_on=D(2024, 1, 2)),
            id="role",
        ),
    ],
)
def test_spans_may_end_on_the_day_they_start(make):
    """A span that starts and ends on the same day is allowed."""
    assert make().pk is not None


# clean(): dates against their precision

DATED_FIELDS = [
    pytest.param(EventFactory, "date", "date_precision", id="event-date"),
    # A start of its own: the factory's dates follow a sequence that, after some
    # thousands of events in one test run, passes these end dates.
    pytest.param(
        functools.partial(EventFactory, date=D(2020, 1, 1)),
        "end_date",
        "end_precision",
        id="event-end-date",
    ),
    pytest.param(TestimonyFactory, "date", "date_precision", id="testimony-date"),
    pytest.param(ClaimStatusChangeFactory, "date", "date_precision", id="change-date"),
    pytest.param(
        SourceFactory, "published_on", "published_precision", id="source-published"
    ),
]


@pytest.mark.parametrize(("factory", "field", "precision_field"), DATED_FIELDS)
@pytest.mark.parametrize(
    ("precision", "value"),
    [
        pytest.param(DatePrecision.MONTH, D(2030, 5, 10), id="month-not-on-the-1st"),
        pytest.param(DatePrecision.YEAR, D(2030, 5, 1), id="year-not-on-1-january"),
    ],
)
def test_coarse_dates_must_be_the_first_day_of_their_period(
    factory, field, precision_field, precision, value
):
    """A month or year date off the first day of its period is refused on its field."""
    instance = factory(**{field: value, precision_field: precision})

    errors = validation_errors(instance)

    assert list(errors) == [field]
    assert "or set the precision to day" in errors[field][0]


@pytest.mark.parametrize(("factory", "field", "precision_field"), DATED_FIELDS)
@pytest.mark.parametrize(
    ("precision", "value"),
    [
        pytest.param(DatePrecision.MONTH, D(2030, 5, 1), id="month"),
        pytest.param(DatePrecision.YEAR, D(2030, 1, 1), id="year"),
    ],
)
def test_coarse_dates_on_the_first_day_are_valid(
    factory, field, precision_field, precision, value
):
    """A month or year date stored on the first day of its period passes clean()."""
    factory(**{field: value, precision_field: precision}).full_clean()


def test_every_event_needs_a_date():
    """An event without a date has no place on the timeline: the form refuses it and
    the database does too."""
    event = EventFactory.build(case=CaseFactory(), date=None)

    assert list(validation_errors(event)) == ["date"]
    with pytest.raises(IntegrityError), transaction.atomic():
        event.save()


@pytest.mark.parametrize(
    ("precision", "rank"),
    [(DatePrecision.YEAR, 0), (DatePrecision.MONTH, 1), (DatePrecision.DAY, 2)],
)
def test_the_database_derives_the_date_rank_from_the_precision(precision, rank):
    event = EventFactory(date=D(2024, 1, 1), date_precision=precision)
    event.refresh_from_db()

    assert event.date_rank == rank


# clean(): testimony text and transcript cites


@pytest.mark.parametrize(
    ("form", "text"),
    [
        pytest.param(
            TestimonyForm.PARAPHRASE, "“He never promised that.”", id="p-curly"
        ),
        pytest.param(
            TestimonyForm.PARAPHRASE, '"He never promised that."', id="p-ascii"
        ),
        pytest.param(
            TestimonyForm.PARAPHRASE, "‘He never promised that.’", id="p-single"
        ),
        pytest.param(TestimonyForm.QUOTE, "“I was a fool.”", id="q-curly"),
        pytest.param(TestimonyForm.QUOTE, '"I was a fool."', id="q-ascii"),
    ],
)
def test_testimony_text_wrapped_in_quotation_marks_is_refused(form, text):
    """Neither a paraphrase nor a quotation may be wrapped in quotation marks."""
    testimony = TestimonyFactory(form=form, text=text)

    assert list(validation_errors(testimony)) == ["text"]


@pytest.mark.parametrize(
    ("form", "text"),
    [
        pytest.param(TestimonyForm.QUOTE, "I was a fool.", id="plain-quote"),
        pytest.param(
            TestimonyForm.QUOTE, '"Fine," he said, "go ahead."', id="internal-ascii"
        ),
        pytest.param(
            TestimonyForm.QUOTE, "“It was ‘open’ in every sense.”", id="internal-curly"
        ),
        pytest.param(
            TestimonyForm.PARAPHRASE, "He said he had been a fool.", id="paraphrase"
        ),
    ],
)
def test_testimony_text_without_wrapping_marks_is_valid(form, text):
    """Plain text, and quotations made of several quoted pieces, pass clean()."""
    TestimonyFactory(form=form, text=text).full_clean()


@pytest.mark.parametrize("cite", ["45:3", "45:3-12", "45:3-46:1", "45:3 – 46:1"])
def test_transcript_cite_accepts_page_line_and_ranges(cite):
    """page:line, page:line-line and page:line-page:line are valid cites."""
    TestimonyFactory(transcript_cite=cite).full_clean()


@pytest.mark.parametrize("cite", ["page 4", "45", "45:3-", "p. 45:3"])
def test_transcript_cite_refuses_other_formats(cite):
    """Anything but page:line (or a range of them) is refused on transcript_cite."""
    testimony = TestimonyFactory(transcript_cite=cite)

    assert list(validation_errors(testimony)) == ["transcript_cite"]


# clean(): links stay inside one case


CROSS_CASE_LINKS = [
    pytest.param(
        lambda case, other: EventFactory(
            case=case, proceeding=ProceedingFactory(case=other)
        ),
        "proceeding",
        id="event-proceeding",
    ),
    pytest.param(
        lambda case, other: ClaimFactory(
            case=case, proceeding=ProceedingFactory(case=other)
        ),
        "proceeding",
        id="claim-proceeding",
    ),
    pytest.param(
        lambda case, other: CasePartyFactory(
            case=case, proceeding=ProceedingFactory(case=other)
        ),
        "proceeding",
        id="role-proceeding",
    ),
    pytest.param(
        lambda case, other: TestimonyFactory(case=case, event=EventFactory(case=other)),
        "event",
        id="testimony-event",
    ),
    pytest.param(
        lambda case, other: ClaimStatusChangeFactory(
            claim__case=case, event=EventFactory(case=other)
        ),
        "event",
        id="status-change-event",
    ),
    pytest.param(
        lambda case, other: CitationFactory(
            event=EventFactory(case=case), source=SourceFactory(case=other)
        ),
        "source",
        id="citation-source",
    ),
]


@pytest.mark.parametrize(("make", "field"), CROSS_CASE_LINKS)
def test_links_to_another_case_are_refused(make, field):
    """A row may not point at a row of another case; the error is on the link."""
    instance = make(CaseFactory(), CaseFactory())

    errors = validation_errors(instance)

    assert list(errors) == [field]
    assert "belongs to another case" in errors[field][0]


@pytest.mark.parametrize(("make", "field"), CROSS_CASE_LINKS)
def test_links_inside_one_case_are_valid(make, field):
    """The same links within one case pass clean()."""
    case = CaseFactory()

    make(case, case).full_clean()


def test_testimony_without_case_takes_its_events_case():
    """Testimony saved with an event but no case (an event-page inline) gets its case."""
    event = EventFactory()

    testimony = TestimonyFactory(case=None, event=event)

    testimony.refresh_from_db()
    assert testimony.case == event.case


# Names and URLs


def _status_change():
    change = ClaimStatusChangeFactory(
        claim__title="Breach of charitable trust",
        status=ClaimStatus.SURVIVED,
        date=D(2025, 3, 1),
        date_precision=DatePrecision.MONTH,
    )
    return change, ["Breach of charitable trust", "Survived a motion", "March 2025"]


STR_CASES = [
    pytest.param(
        lambda: (CaseFactory(short_name="Musk v. OpenAI"), ["Musk v. OpenAI"]),
        id="case",
    ),
    pytest.param(
        lambda: (
            ProceedingFactory(name="Federal action", docket_number="4:24-cv-04722"),
            ["Federal action", "4:24-cv-04722"],
        ),
        id="proceeding",
    ),
    pytest.param(
        lambda: (PartyFactory(name="Ada Lovelace"), ["Ada Lovelace"]), id="party"
    ),
    pytest.param(
        lambda: (
            CasePartyFactory(party__name="Ada Lovelace", role=PartyRole.WITNESS),
            ["Ada Lovelace", "Witness"],
        ),
        id="role",
    ),
    pytest.param(
        lambda: (
            ClaimFactory(title="Fraud", count_label="Count 9"),
            ["Fraud", "Count 9"],
        ),
        id="claim",
    ),
    pytest.param(_status_change, id="status-change"),
    pytest.param(
        lambda: (
            EventFactory(date=D(2024, 2, 29), title="Complaint filed"),
            ["29 February 2024", "Complaint filed"],
        ),
        id="event",
    ),
    pytest.param(
        lambda: (
            TestimonyFactory(
                witness__name="Ada Lovelace", date=D(2026, 5, 5), text="I was there."
            ),
            ["Ada Lovelace", "5 May 2026", "I was there."],
        ),
        id="testimony",
    ),
    pytest.param(
        lambda: (
            SourceFactory(key="S07", outlet="Reuters", headline="Trial opens"),
            ["S07", "Reuters", "Trial opens"],
        ),
        id="source",
    ),
    pytest.param(
        lambda: (
            CitationFactory(source__outlet="Reuters", pin_cite="p. 12"),
            ["Reuters", "p. 12"],
        ),
        id="citation",
    ),
]


@pytest.mark.parametrize("make", STR_CASES)
def test_str_names_the_row(make):
    """Each model's str() carries what identifies the row to an editor."""
    instance, fragments = make()

    text = str(instance)

    for fragment in fragments:
        assert fragment in text


@pytest.mark.parametrize(
    ("make", "url"),
    [
        pytest.param(lambda: CaseFactory(slug="acme"), "/cases/acme/", id="case"),
        pytest.param(
            lambda: EventFactory(case__slug="acme", slug="trial-opens"),
            "/cases/acme/events/trial-opens/",
            id="event",
        ),
        pytest.param(
            lambda: ClaimFactory(case__slug="acme", slug="fraud"),
            "/cases/acme/claims/fraud/",
            id="claim",
        ),
        pytest.param(
            lambda: CasePartyFactory(case__slug="acme", party__slug="ada"),
            "/cases/acme/parties/ada/",
            id="role",
        ),
        pytest.param(
            lambda: CasePartyFactory(case__slug="acme", party__slug="ada").party,
            "/cases/acme/parties/ada/",
            id="party-with-role",
        ),
    ],
)
def test_get_absolute_url(make, url):
    """Cases, events, claims and party roles have their documented public URLs."""
    assert make().get_absolute_url() == url


def test_party_without_role_has_no_url():
    """A party with no role in any case has no public page."""
    assert PartyFactory().get_absolute_url() is None


# Managers and deletion


def test_with_current_status_is_the_latest_dated_change():
    """The current status is that of the latest dated change, whatever the entry order."""
    claim = ClaimFactory()
    for status, date in [
        (ClaimStatus.DISMISSED_WITH_LEAVE, D(2024, 6, 1)),
        (ClaimStatus.SURVIVED, D(2025, 1, 15)),
        (ClaimStatus.PLEADED, D(2024, 3, 1)),
        (ClaimStatus.AMENDED, None),
    ]:
        ClaimStatusChangeFactory(claim=claim, status=status, date=date)

    annotated = Claim.objects.with_current_status().get(pk=claim.pk)

    assert annotated.current_status == ClaimStatus.SURVIVED


def test_with_current_status_is_none_without_history():
    """A claim with no status changes has no current status."""
    claim = ClaimFactory()

    assert Claim.objects.with_current_status().get(pk=claim.pk).current_status is None


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: CasePartyFactory().party, id="party-holding-a-role"),
        pytest.param(lambda: CitationFactory().source, id="cited-source"),
    ],
)
def test_referenced_rows_cannot_be_deleted(make):
    """Deleting a party that holds a role, or a source that is cited, is refused."""
    instance = make()

    with pytest.raises(ProtectedError):
        instance.delete()

    assert type(instance).objects.filter(pk=instance.pk).exists()


def test_news_coverage_is_only_news_and_blogs():
    """NewsCoverage holds the press sources and none of the court documents."""
    news = SourceFactory(kind=SourceKind.NEWS)
    blog = SourceFactory(kind=SourceKind.BLOG)
    SourceFactory(kind=SourceKind.COURT_FILING)
    SourceFactory(kind=SourceKind.TRANSCRIPT)

    assert set(NewsCoverage.objects.values_list("pk", flat=True)) == {news.pk, blog.pk}
