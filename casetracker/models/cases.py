from django.db import models

from ..choices import CaseStatus
from ..links import page_url
from .base import TimeStampedModel


class Case(TimeStampedModel):
    """A legal matter as readers know it; it can span several proceedings."""

    title = models.CharField(
        max_length=255, help_text="Full title, e.g. “Musk v. OpenAI (Musk v. Altman)”."
    )
    short_name = models.CharField(
        max_length=80,
        help_text="Short name used in headings and links, e.g. “Musk v. OpenAI”.",
    )
    slug = models.SlugField(
        max_length=80,
        unique=True,
        help_text="The case's part of its URLs. Do not change once public.",
    )
    summary = models.TextField(
        blank=True, help_text="A neutral paragraph on what the case is about."
    )
    status = models.CharField(
        max_length=16,
        choices=CaseStatus,
        default=CaseStatus.PENDING,
        help_text="Where the case stands as a whole.",
    )

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.short_name or self.title

    def get_absolute_url(self) -> str:
        return page_url("case_detail", case=self.slug)


class Proceeding(TimeStampedModel):
    """One action in one court: the state suit, the federal case, an appeal."""

    case = models.ForeignKey(
        Case,
        on_delete=models.PROTECT,
        related_name="proceedings",
        help_text="The case this proceeding belongs to.",
    )
    key = models.SlugField(
        max_length=40,
        help_text="Short stable identifier inside the case, e.g. “federal”.",
    )
    name = models.CharField(
        max_length=255,
        help_text="Short name readers know it by, e.g. “Federal action”.",
    )
    caption = models.CharField(
        max_length=255,
        blank=True,
        help_text="The case caption as filed, e.g. “Elon Musk et al. v. Samuel Altman et al.”.",
    )
    court = models.CharField(max_length=255, help_text="Court and division.")
    docket_number = models.CharField(
        max_length=80, blank=True, help_text="Case number as the court gives it."
    )
    judge = models.ForeignKey(
        "Party",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proceedings_judged",
        help_text="The presiding judge, if known.",
    )
    opened_on = models.DateField(null=True, blank=True, help_text="Filing date.")
    closed_on = models.DateField(
        null=True, blank=True, help_text="Date it ended; empty while it is open."
    )
    outcome = models.TextField(
        blank=True, help_text="How it ended or stands, in a sentence or two."
    )
    sources = models.ManyToManyField(
        "Source",
        blank=True,
        related_name="proceedings",
        help_text="Where these facts come from.",
    )

    class Meta:
        ordering = ["case", "opened_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "key"], name="proceeding_unique_key_per_case"
            ),
            models.CheckConstraint(
                condition=models.Q(closed_on__isnull=True)
                | models.Q(opened_on__isnull=True)
                | models.Q(closed_on__gte=models.F("opened_on")),
                name="proceeding_closed_after_opened",
                violation_error_message="A proceeding cannot close before it opens.",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.name} ({self.docket_number})" if self.docket_number else self.name
        )

    def get_absolute_url(self) -> str:
        return self.case.get_absolute_url() + f"#proceeding-{self.key}"


class CaseRevision(models.Model):
    """How many times a case's data has changed, and when it last did.

    Written only by database triggers (casetracker/revisions.py), never by Django, so
    no stale copy in memory can set it back. Read by caches and conditional requests.
    """

    case = models.OneToOneField(
        Case, on_delete=models.DB_CASCADE, primary_key=True, related_name="revision"
    )
    number = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField()

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.case_id} r{self.number}"
