from django.core.exceptions import ValidationError
from django.db import models

from ..choices import COVERAGE_KINDS, DatePrecision, Reliability, SourceKind
from ..dates import format_date, validate_precision
from ..links import page_url
from .base import TimeStampedModel, undated_last
from .protection import ProtectReferencedMixin, ProtectReferencedQuerySet

# The coverage list's order: newest first, undated last, then by key (see
# undated_last), in the list's query and its index (source_coverage_order).
COVERAGE_ORDER = (
    undated_last("published_on"),
    models.F("published_on").desc(),
    models.F("key").asc(),
    models.F("id").asc(),
)


class Source(ProtectReferencedMixin, TimeStampedModel):
    """A document a fact rests on: a filing, an order, a transcript, an article.

    News articles are sources like any other; the coverage pages show the ones whose
    kind is press (see NewsCoverage). When a page was read through a mirror or a
    rewrite, `outlet` is the page read and `original_outlet` the one that published it.
    """

    case = models.ForeignKey(
        "Case",
        on_delete=models.PROTECT,
        related_name="sources",
        help_text="The case it is cited in.",
    )
    key = models.CharField(
        max_length=20,
        blank=True,
        help_text="Short citation id inside the case (e.g. S01); used by data files.",
    )
    kind = models.CharField(
        max_length=24,
        choices=SourceKind,
        default=SourceKind.NEWS,
        help_text="What sort of document.",
    )
    outlet = models.CharField(
        max_length=255,
        help_text="Who published the page that was read (court, outlet, blog).",
    )
    original_outlet = models.CharField(
        max_length=255,
        blank=True,
        help_text="The outlet that first published it, when it was read through a mirror or rewrite.",
    )
    is_mirror = models.BooleanField(
        default=False,
        help_text="The URL is a syndication copy or mirror, not the original.",
    )
    headline = models.CharField(
        max_length=500, blank=True, help_text="Headline or document title as captured."
    )
    headline_note = models.CharField(
        max_length=120,
        blank=True,
        help_text='How the headline is known, e.g. "title from URL", "title not captured".',
    )
    author = models.CharField(
        max_length=255, blank=True, help_text="Author(s), when known."
    )
    url = models.URLField(
        max_length=1000, blank=True, help_text="Address of the page that was read."
    )
    published_on = models.DateField(
        null=True,
        blank=True,
        help_text="Publication or filing date; first day of the month or year for coarser precision.",
    )
    published_precision = models.CharField(
        "date precision",
        max_length=8,
        choices=DatePrecision,
        default=DatePrecision.DAY,
        help_text="How precisely the publication date is known.",
    )
    published_note = models.CharField(
        max_length=120,
        blank=True,
        help_text='Date as shown when unusual, e.g. "2026-05-18/19", "undated".',
    )
    reliability = models.CharField(
        max_length=8,
        choices=Reliability,
        default=Reliability.MEDIUM,
        help_text=(
            "High: a court filing, an official announcement or a major wire or outlet. Medium: "
            "trade or legal press, a specialist blog, a faithful rewrite of a named outlet. Low: an "
            "aggregator, an AI-written summary, a forum, a rewrite of unclear origin."
        ),
    )
    note = models.TextField(blank=True, help_text="Anything else about this source.")
    text = models.TextField(
        blank=True,
        help_text="Full text, only where the project holds a copy of the document.",
    )
    parties = models.ManyToManyField(
        "Party",
        blank=True,
        related_name="coverage",
        help_text="Parties the item is about.",
    )

    # Deleting a source that is cited or linked anywhere is refused (protection.py).
    objects = ProtectReferencedQuerySet.as_manager()

    class Meta:
        ordering = ["case", "published_on", "key", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "key"],
                condition=~models.Q(key=""),
                name="source_unique_key_per_case",
                violation_error_message="Another source of this case already has this key.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["case", "kind", "published_on"], name="source_case_kind_date"
            ),
            # The case overview's latest coverage, newest first, whatever the kind.
            models.Index(
                fields=["case", "published_on", "id"], name="source_case_date"
            ),
            # The outlets the coverage list offers, read from the index alone.
            models.Index(
                fields=["case", "kind", "outlet"], name="source_case_kind_outlet"
            ),
            models.Index(
                fields=["case", "kind", "original_outlet"],
                name="source_case_kind_original",
            ),
            # The coverage list, a page at a time (COVERAGE_ORDER). The kind comes
            # last, not as a condition: SQLite cannot match a partial index's
            # condition to a query's bound parameters.
            models.Index(
                models.F("case"),
                *COVERAGE_ORDER,
                models.F("kind"),
                name="source_coverage_order",
            ),
        ]

    def __str__(self) -> str:
        title = self.headline or self.headline_note or "untitled"
        prefix = f"{self.key} " if self.key else ""
        return f"{prefix}{self.outlet}: {title}"[:200]

    @property
    def link_url(self) -> str:
        """The URL, when it is safe to link: http(s) only. A `javascript:` or `data:`
        address that got past the form (an import, a raw edit) is shown as text."""
        return self.url if self.url.lower().startswith(("http://", "https://")) else ""

    @property
    def is_coverage(self) -> bool:
        return self.kind in COVERAGE_KINDS

    @property
    def display_date(self) -> str:
        if self.published_on is None:
            return self.published_note or "Undated"
        return format_date(self.published_on, self.published_precision)

    def clean(self) -> None:
        super().clean()
        validate_precision(
            self.published_on, self.published_precision, field="published_on"
        )

    def get_absolute_url(self) -> str:
        return page_url("case_coverage", case=self.case.slug) + f"#source-{self.pk}"


class NewsCoverageManager(models.Manager.from_queryset(ProtectReferencedQuerySet)):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(kind__in=COVERAGE_KINDS)


class NewsCoverage(Source):
    """Press coverage: the sources that are articles and commentary, as data in their own right."""

    objects = NewsCoverageManager()

    class Meta:
        proxy = True
        verbose_name = "news coverage item"
        verbose_name_plural = "news coverage"


class Citation(models.Model):
    """One source cited by one event, testimony excerpt, claim or claim status change.

    Exactly one of the four targets is set; the pin cite says where in the source.
    """

    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        related_name="citations",
        help_text="The source cited.",
    )
    pin_cite = models.CharField(
        max_length=120,
        blank=True,
        help_text='Where in the source, e.g. "p. 12", "¶ 40", "45:3-46:1".',
    )
    event = models.ForeignKey(
        "Event",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="citations",
        help_text="The event that cites it.",
    )
    testimony = models.ForeignKey(
        "Testimony",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        db_index=False,  # a partial index, see Meta
        related_name="citations",
        help_text="The testimony excerpt that cites it.",
    )
    claim = models.ForeignKey(
        "Claim",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        db_index=False,  # a partial index, see Meta
        related_name="citations",
        help_text="The claim that cites it.",
    )
    status_change = models.ForeignKey(
        "ClaimStatusChange",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        db_index=False,  # a partial index, see Meta
        related_name="citations",
        help_text="The claim status change that cites it.",
    )

    TARGETS = ("event", "testimony", "claim", "status_change")

    class Meta:
        ordering = ["source__key", "id"]
        # Most citations belong to events, so these links are nearly all empty. A full
        # index on them looks useless to SQLite's planner once ANALYZE has counted the
        # empties, and it then scans every source; partial indexes hold only the links.
        indexes = [
            models.Index(
                fields=[name],
                condition=models.Q(**{f"{name}__isnull": False}),
                name=f"citation_{name}",
            )
            for name in ("testimony", "claim", "status_change")
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        event__isnull=False,
                        testimony__isnull=True,
                        claim__isnull=True,
                        status_change__isnull=True,
                    )
                    | models.Q(
                        event__isnull=True,
                        testimony__isnull=False,
                        claim__isnull=True,
                        status_change__isnull=True,
                    )
                    | models.Q(
                        event__isnull=True,
                        testimony__isnull=True,
                        claim__isnull=False,
                        status_change__isnull=True,
                    )
                    | models.Q(
                        event__isnull=True,
                        testimony__isnull=True,
                        claim__isnull=True,
                        status_change__isnull=False,
                    )
                ),
                name="citation_exactly_one_target",
                violation_error_message="A citation belongs to exactly one event, testimony excerpt, claim or status change.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}{', ' + self.pin_cite if self.pin_cite else ''}"

    def clean(self) -> None:
        # The database constraint guarantees exactly one target; here only what a form
        # can get wrong is explained (an inline on an unsaved parent has no target yet).
        super().clean()
        targets = [
            getattr(self, name) for name in self.TARGETS if getattr(self, f"{name}_id")
        ]
        if len(targets) > 1:
            raise ValidationError(
                "A citation belongs to exactly one event, testimony excerpt, claim or status change."
            )
        if targets and self.source_id and self.source.case_id != targets[0].case_id:
            raise ValidationError({"source": "This source belongs to another case."})
