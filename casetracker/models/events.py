from django.db import models

from ..choices import DatePrecision, EventKind
from ..dates import format_range, validate_precision
from ..links import page_url
from .base import ConfidenceModel, FuzzyDateModel, TimeStampedModel, require_same_case


class EventQuerySet(models.QuerySet):
    def for_case(self, case) -> "EventQuerySet":
        return self.filter(case=case)

    def key(self) -> "EventQuerySet":
        return self.filter(is_key=True)

    def chronological(self) -> "EventQuerySet":
        return self.order_by(*TIMELINE_ORDER)


# Timeline order: by date; on a shared first day coarser precision first (year, then
# month, then day), so the "month unknown" events of a year come before its January;
# then entry order. All three ascend, so one index serves the order and a row-value
# comparison on them is a keyset cursor (selectors.timeline_page).
TIMELINE_ORDER = ("date", "date_rank", "id")


class Event(FuzzyDateModel, ConfidenceModel, TimeStampedModel):
    """The unit of the timeline: something that happened, when, to whom, on what evidence."""

    # Required here (optional on testimony and status changes): every event has a place
    # on the timeline, at year precision when little is known.
    date = models.DateField(
        help_text=(
            "When it happened. For a month or year precision enter the first day of the "
            "month or year (2025-09-01, 2016-01-01); mark it approximate if estimated."
        ),
    )
    # Derived by the database from date_precision, so bulk writes cannot skip it.
    date_rank = models.GeneratedField(
        expression=models.Case(
            models.When(date_precision=DatePrecision.YEAR, then=models.Value(0)),
            models.When(date_precision=DatePrecision.MONTH, then=models.Value(1)),
            default=models.Value(2),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )

    case = models.ForeignKey(
        "Case", on_delete=models.PROTECT, related_name="events", help_text="The case."
    )
    key = models.CharField(
        max_length=20,
        blank=True,
        help_text="Stable id used by data files (e.g. the chronology number); optional.",
    )
    slug = models.SlugField(
        max_length=100,
        help_text="The event's part of its permalink. Do not change once public.",
    )
    proceeding = models.ForeignKey(
        "Proceeding",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        help_text="The proceeding it is a step of; empty for background, news and context.",
    )
    end_date = models.DateField(
        null=True,
        blank=True,
        help_text="Last day of a span, if the event lasted more than a day.",
    )
    end_precision = models.CharField(
        max_length=8,
        choices=DatePrecision,
        default=DatePrecision.DAY,
        help_text="How precisely the end date is known.",
    )
    kind = models.CharField(
        max_length=16, choices=EventKind, help_text="What sort of event."
    )
    title = models.CharField(max_length=255, help_text="A short, neutral headline.")
    summary = models.TextField(
        blank=True, help_text="A neutral account of what happened."
    )
    parties = models.ManyToManyField(
        "Party", blank=True, related_name="events", help_text="Parties involved."
    )
    claims = models.ManyToManyField(
        "Claim", blank=True, related_name="events", help_text="Claims it bears on."
    )
    is_key = models.BooleanField(
        "key event",
        default=False,
        help_text="A turning point, shown on the case overview.",
    )
    is_context = models.BooleanField(
        "related context",
        default=False,
        help_text="Related background that is not a step in this case (e.g. a separate lawsuit).",
    )
    sources = models.ManyToManyField(
        "Source",
        through="Citation",
        through_fields=("event", "source"),
        blank=True,
        related_name="events",
        help_text="Sources cited for this event.",
    )

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = TIMELINE_ORDER
        constraints = [
            models.UniqueConstraint(
                fields=["case", "slug"], name="event_unique_slug_per_case"
            ),
            models.UniqueConstraint(
                fields=["case", "key"],
                condition=~models.Q(key=""),
                name="event_unique_key_per_case",
                violation_error_message="Another event of this case already has this key.",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("date")),
                name="event_end_not_before_start",
                violation_error_message="The end date cannot be before the date.",
            ),
        ]
        indexes = [
            # The timeline's main query: one case, in date order.
            models.Index(
                fields=["case", "date", "date_rank", "id"], name="event_case_order"
            ),
            models.Index(
                fields=["case", "kind", "date", "date_rank", "id"],
                name="event_case_kind_order",
            ),
            # Every case's events in date order: the admin's list of events and its
            # date drill-down, without sorting a million events for a page.
            models.Index(fields=["date", "date_rank", "id"], name="event_order"),
            # The case overview's key events, without sorting all of a big case's.
            models.Index(
                fields=["case", "date", "date_rank", "id"],
                condition=models.Q(is_key=True),
                name="event_case_key_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_date}: {self.title}"

    @property
    def display_date(self) -> str:
        return format_range(
            self.date,
            self.date_precision,
            self.end_date,
            self.end_precision,
            self.date_approximate,
        )

    @property
    def record_citations(self) -> list:
        """Citations of court records and other non-press sources (uses the prefetch)."""
        return [c for c in self.citations.all() if not c.source.is_coverage]

    @property
    def coverage_citations(self) -> list:
        """Citations of press coverage (uses the prefetch)."""
        return [c for c in self.citations.all() if c.source.is_coverage]

    def clean(self) -> None:
        super().clean()
        validate_precision(self.end_date, self.end_precision, field="end_date")
        require_same_case(self, "proceeding")

    def get_absolute_url(self) -> str:
        return page_url("event_detail", case=self.case.slug, event=self.slug)


class EventFacet(models.Model):
    """One of an event's parties or claims, with the event's place on the timeline.

    Derived from the link tables by database triggers (casetracker/facets.py), so the
    timeline filtered by one party or claim reads a page from one index, in order.
    Never written by the application.
    """

    pk = models.CompositePrimaryKey("event_id", "kind", "target_id")
    event = models.ForeignKey(
        Event,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the primary key leads with it
        related_name="facets",
    )
    # "p": target_id is a Party; "c": a Claim (facets.PARTY, facets.CLAIM).
    kind = models.CharField(max_length=1)
    target_id = models.BigIntegerField()
    case = models.ForeignKey(
        "Case",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the timeline index leads with it
        related_name="+",
    )
    date = models.DateField()
    date_rank = models.SmallIntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["case", "kind", "target_id", "date", "date_rank", "event"],
                name="eventfacet_timeline",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}{self.target_id} on event {self.event_id}"


class CaseMonth(models.Model):
    """How many of a case's events fall in one month, for the timeline's strip of
    months and the list of cases.

    Derived from the events by database triggers (casetracker/months.py): counting a
    million events by month took a second, paid by the first page after every change
    to the case; reading a case's rows here reads one per month. Never written by the
    application.
    """

    pk = models.CompositePrimaryKey("case_id", "month")
    case = models.ForeignKey(
        "Case",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the primary key leads with it
        related_name="months",
    )
    month = models.DateField()  # its first day
    events = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.events} events of case {self.case_id} in {self.month:%Y-%m}"
