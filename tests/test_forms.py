"""The timeline filter form: partial dates, per-field errors, and the filters it hands
to selectors.timeline_event_list."""

import datetime as dt
import inspect

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict

from casetracker import selectors
from casetracker.choices import PartyRole
from casetracker.forms import PartialDateField, TimelineFilterForm, parse_partial_date
from tests.factories import CaseFactory, CasePartyFactory, ClaimFactory, EventFactory

# parse_partial_date


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2025", dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        ("2025-02", dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2025-12", dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        ("2025-03-04", dt.date(2025, 3, 4), dt.date(2025, 3, 4)),
        ("2024-02-29", dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
        (" 2025-3 ", dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
        ("2025-3-4", dt.date(2025, 3, 4), dt.date(2025, 3, 4)),
    ],
)
def test_parse_partial_date_covers_the_period_named(text, first, last):
    """A year, month or day gives the first and last day it covers."""
    bound = parse_partial_date(text)

    assert (bound.first, bound.last) == (first, last)


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("2024-13", "month", "There is no month 13: use 01 to 12."),
        ("2024-00", "month", "There is no month 0: use 01 to 12."),
        ("2025-02-30", "day", "February 2025 has no day 30."),
        ("2023-02-29", "day", "February 2023 has no day 29."),
        ("2025-04-00", "day", "April 2025 has no day 0."),
        ("0000", "year", "Enter a year between 1 and 9999."),
        ("20x5", "format", None),
        ("2025/03", "format", None),
        ("03-2025", "format", None),
        ("25", "format", None),
        ("", "format", None),
        ("   ", "format", None),
        ("2025-03-04T10", "format", None),
        ("2025-03-0400", "format", None),
    ],
)
def test_parse_partial_date_rejects_what_it_cannot_read(text, code, message):
    """Each kind of mistake has its own code and a message saying what to fix."""
    with pytest.raises(ValidationError) as raised:
        parse_partial_date(text)

    error = raised.value
    assert error.code == code
    if message is None:
        assert "YYYY, YYYY-MM or YYYY-MM-DD" in error.messages[0]
    else:
        assert error.messages == [message]


def test_partial_date_field_rejects_too_long_input_before_parsing():
    """More than ten characters (after trimming) is refused as a format error."""
    with pytest.raises(ValidationError) as raised:
        PartialDateField(required=False).clean("2025-03-04-05")

    assert raised.value.code == "format"
    assert "YYYY, YYYY-MM or YYYY-MM-DD" in raised.value.messages[0]


def test_partial_date_field_treats_blank_as_no_bound():
    """An empty or blank input is no date, not an error."""
    field = PartialDateField(required=False)

    assert field.clean("") is None
    assert field.clean("  ") is None
    assert field.clean(None) is None


# TimelineFilterForm


@pytest.fixture
def case(db):
    return CaseFactory()


@pytest.fixture
def musk(case):
    return CasePartyFactory(
        case=case, party__name="Elon Musk", party__slug="musk"
    ).party


@pytest.fixture
def openai(case):
    return CasePartyFactory(
        case=case,
        party__name="OpenAI",
        party__slug="openai",
        role=PartyRole.DEFENDANT,
    ).party


def bind(case, query: str = "") -> TimelineFilterForm:
    """The form as the view binds it, from a query string."""
    form = TimelineFilterForm(QueryDict(query), case=case)
    form.is_valid()
    return form


def test_empty_query_is_valid_with_no_filters(case):
    """No parameters: valid, and every filter is at its neutral value."""
    form = bind(case)

    assert form.is_valid()
    assert form.filters == {
        "q": "",
        "parties": [],
        "claims": [],
        "kinds": [],
        "confidences": [],
        "key_only": False,
        "date_from": None,
        "date_to": None,
    }


def test_valid_query_becomes_filters(case, musk, openai):
    """Slugs become rows, dates become the first and last day they cover."""
    claim = ClaimFactory(case=case, slug="fraud")

    form = bind(
        case,
        "q=+charity+&party=musk&party=openai&claim=fraud&kind=filing&kind=ruling"
        "&confidence=uncertain&key=1&from=2024-02&to=2025",
    )

    assert form.is_valid(), form.errors
    assert form.filters == {
        "q": "charity",
        "parties": [musk, openai],
        "claims": [claim],
        "kinds": ["filing", "ruling"],
        "confidences": ["uncertain"],
        "key_only": True,
        "date_from": dt.date(2024, 2, 1),
        "date_to": dt.date(2025, 12, 31),
    }


def test_party_choices_are_the_case_parties_once_each(case, musk, openai):
    """A party with several roles in the case is offered once; others not at all."""
    CasePartyFactory(case=case, party=musk, role=PartyRole.WITNESS)
    CasePartyFactory(party__slug="elsewhere")

    form = bind(case)

    assert list(form.fields["party"].queryset) == [musk, openai]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("party=ghost", "Unknown party: ghost. Pick one from the list."),
        (
            "party=musk&party=zed&party=ghost",
            "Unknown party: ghost, zed. Pick one from the list.",
        ),
    ],
)
def test_unknown_party_is_named_in_the_error(case, musk, query, message):
    """The error on "party" names each unknown slug, and only those."""
    form = bind(case, query)

    assert form.errors["party"] == [message]
    assert form.filters["parties"] == []


def test_party_of_another_case_is_unknown_here(case, musk):
    """A real party without a role in this case is refused like an unknown one."""
    CasePartyFactory(party__slug="stranger")

    form = bind(case, "party=stranger")

    assert form.errors["party"] == ["Unknown party: stranger. Pick one from the list."]


def test_claim_of_another_case_is_unknown_here(case):
    """Claim slugs are unique per case only: another case's claim is unknown here."""
    ClaimFactory(slug="fraud")

    form = bind(case, "claim=fraud")

    assert form.errors["claim"] == ["Unknown claim: fraud. Pick one from the list."]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("kind=gossip", "kind", "Unknown kind of event: gossip."),
        ("confidence=sure", "confidence", "Unknown confidence label: sure."),
        ("layout=grid", "layout", "Unknown layout: grid."),
        ("lanes=year", "lanes", "Lanes are per party or per claim, not year."),
        ("from=2024-13", "from", "There is no month 13: use 01 to 12."),
        ("to=2025-02-30", "to", "February 2025 has no day 30."),
        ("q=" + "x" * 201, "q", None),
    ],
)
def test_invalid_value_is_reported_on_its_field(case, query, field, message):
    """Each invalid parameter gives an error on its own field and nowhere else."""
    form = bind(case, query)

    assert list(form.errors) == [field]
    if message:
        assert form.errors[field] == [message]


def test_to_before_from_is_an_error_on_to(case):
    """A range that ends before it starts is reported on "to", in the user's words."""
    form = bind(case, "from=2025-06&to=2025-03-31")

    assert form.errors == {"to": ["“To” (2025-03-31) is before “From” (2025-06)."]}
    assert form.filters["date_from"] == dt.date(2025, 6, 1)
    assert form.filters["date_to"] is None


@pytest.mark.parametrize(
    ("start", "end"),
    [("2025-03-15", "2025-03"), ("2025", "2025-01-01"), ("2025-03", "2025-03")],
)
def test_overlapping_bounds_are_a_valid_range(case, start, end):
    """ "to" is compared by the last day it covers, "from" by the first."""
    form = bind(case, f"from={start}&to={end}")

    assert form.is_valid(), form.errors


def test_filters_keep_valid_fields_and_drop_invalid_ones(case, musk):
    """An invalid field is ignored; the valid ones still filter."""
    form = bind(case, "kind=filing&from=20x5&party=musk&confidence=nope&q=deal")

    assert set(form.errors) == {"from", "confidence"}
    assert form.filters["kinds"] == ["filing"]
    assert form.filters["parties"] == [musk]
    assert form.filters["q"] == "deal"
    assert form.filters["date_from"] is None
    assert form.filters["confidences"] == []


def test_layout_and_lanes_default_when_absent(case):
    """Absent layout and lanes read as the defaults: a list, lanes per party."""
    form = bind(case)

    assert form.cleaned_data["layout"] == "list"
    assert form.cleaned_data["lanes"] == "party"
    assert form.selected_layout == "list"
    assert form.lane_group == "party"


def test_unbound_form_reads_as_the_defaults(case):
    """Without data the form has no cleaned data, yet layout and filters are usable."""
    form = TimelineFilterForm(case=case)

    assert form.selected_layout == "list"
    assert form.lane_group == "party"
    assert form.filters["key_only"] is False


def test_layout_and_lanes_as_given(case):
    """Chosen layout and lane grouping are kept."""
    form = bind(case, "layout=lanes&lanes=claim")

    assert form.selected_layout == "lanes"
    assert form.lane_group == "claim"


def test_defaults_do_not_change_the_bound_data(case):
    """Filling in defaults leaves the caller's QueryDict (request.GET) alone."""
    data = QueryDict("kind=filing")

    TimelineFilterForm(data, case=case).is_valid()

    assert "layout" not in data


@pytest.mark.parametrize(
    ("query", "key_only"),
    [("key=1", True), ("key=on", True), ("", False), ("key=false", False)],
)
def test_key_parameter_sets_key_only(case, query, key_only):
    """key=1 (the checkbox) asks for key events only."""
    assert bind(case, query).filters["key_only"] is key_only


def test_filters_match_the_selector_keywords(case, musk):
    """filters has exactly the selector's keyword arguments besides the case and the
    search strategy (`ranked` and `matches`, chosen by selectors.timeline_search;
    `every`, by the exports)."""
    parameters = inspect.signature(selectors.timeline_event_list).parameters

    form = bind(case, "party=musk")

    assert set(form.filters) == set(parameters) - {"case", "ranked", "every", "matches"}
    assert all(
        parameters[name].kind is inspect.Parameter.KEYWORD_ONLY for name in form.filters
    )


def test_filters_can_be_passed_to_the_selector(case, musk, openai):
    """timeline_event_list(case=..., **form.filters) runs and applies them."""
    wanted = EventFactory(
        case=case, kind="ruling", is_key=True, date=dt.date(2025, 3, 4), title="Deal"
    )
    wanted.parties.add(musk)
    other_party = EventFactory(
        case=case, kind="ruling", is_key=True, date=dt.date(2025, 3, 5), title="Deal"
    )
    other_party.parties.add(openai)
    EventFactory(case=case, kind="ruling", date=dt.date(2025, 3, 6), title="Deal")

    form = bind(case, "q=deal&party=musk&kind=ruling&key=1&from=2025-03&to=2025-03")

    assert form.is_valid(), form.errors
    assert list(selectors.timeline_event_list(case=case, **form.filters)) == [wanted]


@pytest.mark.parametrize("value", ["0", "false", "off", "no", ""])
def test_key_flag_off_values_mean_all_events(case, value):
    form = bind(case, f"key={value}")

    assert form.is_valid(), form.errors
    assert form.filters["key_only"] is False


def test_key_flag_on(case):
    form = bind(case, "key=1")

    assert form.is_valid()
    assert form.filters["key_only"] is True


def test_empty_repeatable_values_are_no_choice_not_errors(case, musk):
    form = bind(case, f"party=&party={musk.slug}&kind=&confidence=&claim=")

    assert form.is_valid(), form.errors
    assert form.filters["parties"] == [musk]
    assert form.filters["kinds"] == []
