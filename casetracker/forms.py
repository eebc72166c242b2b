"""The timeline filter: one form shared by the page, its fragments and the exports.

The form is bound to GET parameters (`q`, `party`, `claim`, `kind`, `from`, `to`, `key`,
`confidence`, `layout`, `lanes`, and `page`, `after`, `before` for where the page
starts); `filters` is passed as is to selectors.timeline_event_list, `paging` to
selectors.timeline_page.
"""

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import cache, partial

from django import forms
from django.core.exceptions import ValidationError

from . import selectors
from .choices import CaseStatus, Confidence, EventKind, Reliability, TestimonyKind
from .dates import MONTH_NAMES
from .keyset import Cursor, CursorError
from .models import Case, Claim, Party

PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


@dataclass(frozen=True)
class DateBound:
    """A date typed as YYYY, YYYY-MM or YYYY-MM-DD: the first and last day it covers."""

    text: str
    first: dt.date
    last: dt.date


def parse_partial_date(value: str) -> DateBound:
    match = PARTIAL_DATE.match(value.strip())
    if not match:
        raise ValidationError(
            "Enter a date as YYYY, YYYY-MM or YYYY-MM-DD (for example 2025, 2025-03 or 2025-03-04).",
            code="format",
        )
    year, month, day = (int(part) if part else None for part in match.groups())
    if not 1 <= year <= 9999:
        raise ValidationError("Enter a year between 1 and 9999.", code="year")
    if month is None:
        return DateBound(value, dt.date(year, 1, 1), dt.date(year, 12, 31))
    if not 1 <= month <= 12:
        raise ValidationError(f"There is no month {month}: use 01 to 12.", code="month")
    last_day = calendar.monthrange(year, month)[1]
    if day is None:
        return DateBound(value, dt.date(year, month, 1), dt.date(year, month, last_day))
    if not 1 <= day <= last_day:
        raise ValidationError(
            f"{MONTH_NAMES[month - 1]} {year} has no day {day}.", code="day"
        )
    date = dt.date(year, month, day)
    return DateBound(value, date, date)


class PartialDateField(forms.Field):
    def to_python(self, value):
        value = (value or "").strip()
        if len(value) > 10:
            raise ValidationError(
                "Enter a date as YYYY, YYYY-MM or YYYY-MM-DD.", code="format"
            )
        return parse_partial_date(value) if value else None


class SlugChoiceField(forms.ModelMultipleChoiceField):
    """Several rows picked by slug, with a message that names the unknown ones."""

    def __init__(self, *args, noun: str, **kwargs):
        self.noun = noun
        super().__init__(
            *args,
            to_field_name="slug",
            required=False,
            widget=forms.CheckboxSelectMultiple,
            **kwargs,
        )

    def clean(self, value):
        # A hand-made URL may carry `party=`: an empty value is no choice, not an error.
        return super().clean([v for v in value or [] if str(v).strip()])

    def _check_values(self, value):
        try:
            return super()._check_values(value)
        except ValidationError:
            known = {str(slug) for slug in self.queryset.values_list("slug", flat=True)}
            unknown = ", ".join(sorted({v for v in value if str(v) not in known}))
            raise ValidationError(
                f"Unknown {self.noun}: {unknown}. Pick one from the list.",
                code="unknown",
            ) from None

    def label_from_instance(self, obj) -> str:
        return str(obj)


class CursorField(forms.Field):
    """A position in the timeline (keyset.Cursor), carried by next/previous links."""

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        try:
            return Cursor.parse(value[:40])
        except CursorError as error:
            raise ValidationError(str(error), code="cursor") from None


class ChoicesField(forms.MultipleChoiceField):
    """Repeatable choices as checkboxes; empty values are ignored, not errors."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value):
        return [v for v in super().to_python(value) if v.strip()]


class FlagInput(forms.CheckboxInput):
    """A checkbox sending `1`; `0`, `false`, `off` and `no` in a URL mean unticked."""

    def __init__(self):
        super().__init__(attrs={"value": "1"})

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if isinstance(value, str) and value.strip().lower() in {
            "0",
            "false",
            "off",
            "no",
            "",
        }:
            return False
        return super().value_from_datadict(data, files, name)


@dataclass(frozen=True)
class Option:
    id: str
    value: str
    label: str
    checked: bool


# The timeline's fields whose choices are the case's own rows.
CHOSEN = ("party", "claim")


def listed_choices(field: forms.ModelChoiceField) -> list[tuple[str, str]]:
    """A model choice field's choices as (value, label) text, from its queryset."""
    return [(str(value), str(label)) for value, label in field.iterator(field)]


def options(bound_field) -> list[Option]:
    """A checkbox or radio field's choices, ready for a plain template loop.

    Rendering each choice through Django's widget templates cost more than the rest
    of the timeline page; the markup is the same.
    """
    chosen = bound_field.value()
    chosen = {
        str(v) for v in (chosen if isinstance(chosen, list | tuple) else [chosen])
    }
    base = bound_field.auto_id
    return [
        Option(f"{base}_{index}", str(value), str(label), str(value) in chosen)
        for index, (value, label) in enumerate(bound_field.field.choices)
        if str(value) != ""
    ]


LAYOUTS = [("list", "List"), ("lanes", "Lanes")]
LANE_GROUPS = [("party", "One lane per party"), ("claim", "One lane per claim")]


def search_box(label: str, help_text: str) -> forms.CharField:
    """A filter form's `q`: optional, at most 200 characters, trimmed."""
    return forms.CharField(
        label=label,
        required=False,
        max_length=200,
        strip=True,
        help_text=help_text,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class TimelineFilterForm(forms.Form):
    q = search_box("Search", "Words in titles, summaries, testimony and headlines.")
    party = SlugChoiceField(
        queryset=Party.objects.none(), noun="party", label="Parties"
    )
    claim = SlugChoiceField(queryset=Claim.objects.none(), noun="claim", label="Claims")
    kind = ChoicesField(
        choices=EventKind.choices,
        required=False,
        label="Kinds of event",
        error_messages={"invalid_choice": "Unknown kind of event: %(value)s."},
    )
    confidence = ChoicesField(
        choices=Confidence.choices,
        required=False,
        label="Confidence",
        error_messages={"invalid_choice": "Unknown confidence label: %(value)s."},
    )
    key = forms.BooleanField(
        required=False, label="Key events only", widget=FlagInput()
    )
    layout = forms.ChoiceField(
        choices=LAYOUTS,
        required=False,
        label="Layout",
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Unknown layout: %(value)s."},
    )
    lanes = forms.ChoiceField(
        choices=LANE_GROUPS,
        required=False,
        label="Lanes",
        widget=forms.RadioSelect,
        error_messages={
            "invalid_choice": "Lanes are per party or per claim, not %(value)s."
        },
    )

    # Where the page starts; set by the page links, not shown as filters.
    page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1_000_000,
        error_messages={
            "invalid": "A page number is a whole number; showing the first page.",
            "min_value": "Pages are numbered from 1; showing the first page.",
            "max_value": "There are not that many pages; showing the first page.",
        },
    )
    after = CursorField(required=False)
    before = CursorField(required=False)

    # Values a parameter has when it is absent; shown as chosen, left out of URLs.
    DEFAULTS = {"layout": "list", "lanes": "party"}
    PAGING = ("page", "after", "before")

    def __init__(self, data=None, *args, case: Case, **kwargs):
        if data is not None:
            data = data.copy()
            for name, value in self.DEFAULTS.items():
                data.setdefault(name, value)
        super().__init__(data, *args, **kwargs)
        self.case = case
        # Only what a choice shows and a filter needs: the page lists every party
        # and claim of the case, so their other columns would be read for nothing.
        self.fields["party"].queryset = (
            Party.objects.filter(case_roles__case=case)
            .distinct()
            .order_by("name")
            .only("slug", "name")
        )
        self.fields["claim"].queryset = (
            Claim.objects.filter(case=case)
            .select_related("proceeding")
            .order_by("proceeding__opened_on", "id")
            .only("slug", "title", "count_label", "proceeding__name")
        )
        # Claims of the same name in two proceedings are told apart by the proceeding.
        self.fields["claim"].label_from_instance = lambda claim: (
            f"{claim} ({claim.proceeding.name})" if claim.proceeding else str(claim)
        )

        # The choices as the page lists them, read when it renders them (one read
        # of the revision for both fields) and then kept until the case changes:
        # reading every party and claim of the case cost each first render of a
        # timeline about 1.5 ms. Validation still reads the chosen ones from the
        # querysets.
        @cache
        def listed() -> dict[str, list[tuple[str, str]]]:
            return selectors.per_revision(
                case,
                "timeline-choices",
                lambda: {name: listed_choices(self.fields[name]) for name in CHOSEN},
            )

        for name in CHOSEN:
            self.fields[name].choices = partial(lambda name: listed()[name], name)

    def clean(self):
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start.first > end.last:
            self.add_error("to", f"“To” ({end.text}) is before “From” ({start.text}).")
        return data

    @property
    def filters(self) -> dict:
        """The valid filters only: an invalid field is reported and ignored."""
        data = getattr(self, "cleaned_data", {})
        return {
            "q": data.get("q", ""),
            "parties": list(data.get("party") or []),
            "claims": list(data.get("claim") or []),
            "kinds": data.get("kind") or [],
            "confidences": data.get("confidence") or [],
            "key_only": bool(data.get("key")),
            "date_from": data["from"].first if data.get("from") else None,
            "date_to": data["to"].last if data.get("to") else None,
        }

    @property
    def paging(self) -> dict:
        """Where the page of results starts: a cursor, a page number, or the start."""
        data = getattr(self, "cleaned_data", {})
        return {
            "after": data.get("after"),
            "before": None if data.get("after") else data.get("before"),
            "number": data.get("page"),
        }

    @property
    def paging_errors(self) -> list[str]:
        return [m for name in self.PAGING for m in self.errors.get(name, [])]

    @property
    def selected_layout(self) -> str:
        return getattr(self, "cleaned_data", {}).get("layout") or "list"

    @property
    def lane_group(self) -> str:
        return getattr(self, "cleaned_data", {}).get("lanes") or "party"


# `from` is a Python keyword, so these two fields are added by name.
def _date_input() -> forms.TextInput:
    return forms.TextInput(
        attrs={"placeholder": "YYYY-MM-DD", "size": 10, "inputmode": "numeric"}
    )


TimelineFilterForm.base_fields["from"] = PartialDateField(
    label="From", required=False, widget=_date_input()
)
TimelineFilterForm.base_fields["to"] = PartialDateField(
    label="To", required=False, widget=_date_input()
)


class TestimonyFilterForm(forms.Form):
    """Testimony page filters: `witness` (party slug) and `kind`, both repeatable."""

    witness = SlugChoiceField(
        queryset=Party.objects.none(), noun="witness", label="Witnesses"
    )
    kind = ChoicesField(
        choices=TestimonyKind.choices,
        required=False,
        label="Where it was said",
        error_messages={"invalid_choice": "Unknown kind of testimony: %(value)s."},
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["witness"]
        field.queryset = selectors.case_witnesses(case=case)
        # Listed from the revision's memo; validation reads the chosen ones.
        field.choices = lambda: selectors.per_revision(
            case, "testimony-witnesses", lambda: listed_choices(field)
        )

    @property
    def filters(self) -> dict:
        data = getattr(self, "cleaned_data", {})
        return {
            "witnesses": list(data.get("witness") or []),
            "kinds": data.get("kind") or [],
        }


class CoverageFilterForm(forms.Form):
    """Coverage page filters: `outlet` (as read or original) and `reliability`, repeatable."""

    reliability = ChoicesField(
        choices=Reliability.choices,
        required=False,
        label="Reliability",
        error_messages={"invalid_choice": "Unknown reliability grade: %(value)s."},
    )

    outlet = ChoicesField(
        required=False,
        label="Outlets",
        error_messages={"invalid_choice": "Unknown outlet: %(value)s."},
    )

    def __init__(self, *args, outlets: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outlet"].choices = [(name, name) for name in outlets]

    @property
    def filters(self) -> dict:
        data = getattr(self, "cleaned_data", {})
        return {
            "outlets": data.get("outlet") or [],
            "reliabilities": data.get("reliability") or [],
        }


class CaseListFilterForm(forms.Form):
    """The list of cases' filters: `q` (words of a case's titles, courts, docket
    numbers or parties, all required) and `status` (repeatable)."""

    q = search_box("Search cases", "Words of a title, court, docket number or party.")
    status = ChoicesField(
        choices=CaseStatus.choices,
        required=False,
        label="Status",
        error_messages={"invalid_choice": "Unknown case status: %(value)s."},
    )

    @property
    def filters(self) -> dict:
        data = getattr(self, "cleaned_data", {})
        return {"q": data.get("q") or "", "statuses": data.get("status") or []}
