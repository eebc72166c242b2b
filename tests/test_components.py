"""The pieces written in Python (templatetags/components.py): what each one shows,
and what it refuses. Their escaping is in test_payloads.py, on every page."""

import datetime as dt

import pytest
from django.template import TemplateSyntaxError

from casetracker import choices
from casetracker.forms import TimelineFilterForm
from casetracker.models import Event
from casetracker.selectors import (
    case_party_list,
    claim_list,
    timeline_event_list,
    timeline_rows,
)
from tests.factories import (
    CasePartyFactory,
    CitationFactory,
    ClaimFactory,
    ClaimStatusChangeFactory,
    EventFactory,
    PartyFactory,
    ProceedingFactory,
    SourceFactory,
)
from tests.rendering import render

pytestmark = pytest.mark.django_db


def row_of(event: Event) -> Event:
    (row,) = timeline_rows(timeline_event_list(case=event.case).filter(pk=event.pk))
    return row


def test_a_citation_shows_its_source_pin_cite_and_reliability():
    source = SourceFactory(
        outlet="Reuters",
        original_outlet="The Information",
        headline="Musk testifies",
        url="https://example.org/a",
        reliability=choices.Reliability.MEDIUM,
    )
    citation = CitationFactory(source=source, pin_cite="Tr. 412:3")

    html = render("{% citations items %}", items=[citation])

    assert (
        '<a href="https://example.org/a" rel="noopener noreferrer">Reuters'
        " (from The Information)</a>: “Musk testifies”, 5 March 2025, Tr. 412:3"
    ) in html
    assert 'reliability-medium">Reliability: Medium</span>' in html
    assert "None recorded." not in html


def test_no_citations_say_so():
    assert '<li class="muted">None recorded.</li>' in render(
        "{% citations items %}", items=[]
    )


def test_the_confidence_badge_carries_its_key_label_and_note():
    event = EventFactory(
        confidence=choices.Confidence.SINGLE_SOURCE, confidence_note="One report"
    )

    assert render("{% confidence item %}", item=event) == (
        '<span class="badge confidence confidence-single_source"'
        ' title="One report">Single source</span>'
    )


def test_a_value_outside_the_choices_is_shown_as_stored():
    """As get_FOO_display() does: a raw edit or an old import can leave one."""
    event = EventFactory()
    Event.objects.filter(pk=event.pk).update(kind="oddity")

    html = render("{% timeline_event e %}", e=row_of(event))

    assert '<span class="badge kind">oddity</span>' in html


def test_a_row_counts_its_sources_testimony_and_coverage_in_words():
    single = EventFactory(is_key=True)
    CitationFactory(event=single)
    bare = EventFactory()

    one = render("{% timeline_event e %}", e=row_of(single))
    none = render('{% timeline_event e title_tag="h3" %}', e=row_of(bare))

    assert '<li class="event is-key"' in one and "Key event" in one
    assert "<span>1 source</span>" in one and "1 news item</span>" in one
    assert "<span>0 sources</span>" in none and "news item" not in none
    assert "testimony excerpt" not in none and "Key event" not in none
    assert '<h3 class="event-title"' in none


def test_a_row_refuses_a_title_tag_that_is_not_a_heading():
    with pytest.raises(TemplateSyntaxError):
        render('{% timeline_event e title_tag="script" %}', e=row_of(EventFactory()))


def test_choice_inputs_are_checkboxes_or_radio_buttons_only():
    event = EventFactory()
    form = TimelineFilterForm({}, case=event.case)

    assert 'type="radio" name="layout"' in render(
        '{% choice_inputs f "radio" %}', f=form["layout"]
    )
    with pytest.raises(TemplateSyntaxError):
        render('{% choice_inputs f "text" %}', f=form["layout"])


def test_a_role_names_its_party_proceeding_and_whom_it_represents():
    counsel = CasePartyFactory(
        role=choices.PartyRole.COUNSEL,
        side=choices.Side.PLAINTIFFS,
        party__name="Toberoff & Associates",
        proceeding=None,
        confidence=choices.Confidence.SINGLE_SOURCE,
        confidence_note="One filing",
    )
    counsel.represents.add(
        PartyFactory(name="Elon Musk"), PartyFactory(name="X.AI Corp.")
    )
    case = counsel.case
    plaintiff = CasePartyFactory(
        case=case,
        party__name="Shivon Zilis",
        proceeding=ProceedingFactory(case=case, name="Federal action"),
    )
    rows = {role.pk: role for role in case_party_list(case=case)}

    with_counsel = render("{% role_item r %}", r=rows[counsel.pk])
    with_proceeding = render("{% role_item r %}", r=rows[plaintiff.pk])

    assert (
        f'<li><a href="{counsel.get_absolute_url()}">Toberoff &amp; Associates</a>:'
        " Counsel, for Elon Musk, X.AI Corp."
    ) in with_counsel
    assert 'title="One filing">Single source</span></li>' in with_counsel
    assert "Shivon Zilis</a>: Plaintiff (Federal action)" in with_proceeding
    # A confirmed role carries no badge.
    assert "confidence" not in with_proceeding


def test_a_claim_row_shows_its_steps_and_the_last_as_current():
    claim = ClaimFactory(
        title="Breach of charitable trust",
        count_label="Count I",
        outcome_note="Tried to verdict",
    )
    ClaimStatusChangeFactory(
        claim=claim, status=choices.ClaimStatus.PLEADED, date=dt.date(2024, 8, 5)
    )
    ClaimStatusChangeFactory(
        claim=claim,
        status=choices.ClaimStatus.VERDICT_AGAINST,
        date=dt.date(2026, 5, 18),
    )
    (row,) = claim_list(case=claim.case)

    html = render("{% claim_row c %}", c=row)

    assert (
        f'<a href="{claim.get_absolute_url()}">Breach of charitable trust</a>'
        ' <span class="muted">(Count I)</span></th>'
    ) in html
    assert "<td>—</td>" in html  # no proceeding
    assert (
        '<ol class="lifecycle"><li>Pleaded <span class="muted">5 August 2024</span>'
        '</li><li>Verdict against the claimant <span class="muted">18 May 2026'
        "</span></li></ol>"
    ) in html
    assert (
        '<td>Verdict against the claimant<br><span class="muted">Tried to verdict'
        "</span></td>"
    ) in html


def test_a_claim_without_steps_says_so():
    claim = ClaimFactory(
        proceeding=None, count_label="", outcome_note="", title="Fraud <b>"
    )
    claim.proceeding = ProceedingFactory(case=claim.case, name="State action")
    claim.save()
    (row,) = claim_list(case=claim.case)

    html = render("{% claim_row c %}", c=row)

    assert "Fraud &lt;b&gt;</a></th>" in html
    assert "<td>State action</td>" in html
    assert '<li class="muted">No dated step recorded</li>' in html
    assert "<td>Unknown</td>" in html
