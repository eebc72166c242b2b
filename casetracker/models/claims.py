from django.core.exceptions import ValidationError
from django.db import models

from ..choices import ClaimStatus
from ..links import page_url
from .base import ConfidenceModel, FuzzyDateModel, TimeStampedModel, require_same_case
from .protection import ProtectReferencedMixin, ProtectReferencedQuerySet


class ClaimQuerySet(ProtectReferencedQuerySet):
    def with_current_status(self) -> "ClaimQuerySet":
        """Annotate `current_status`: the status of the latest dated change."""
        latest = ClaimStatusChange.objects.filter(claim=models.OuterRef("pk")).order_by(
            models.F("date").desc(nulls_last=True), "-id"
        )
        return self.annotate(
            current_status=models.Subquery(latest.values("status")[:1])
        )


class Claim(ProtectReferencedMixin, ConfidenceModel, TimeStampedModel):
    """A cause of action as pleaded: who asserts it against whom, and how it fared.

    Its fate is the dated status history (ClaimStatusChange), never a single field, so
    the lifecycle can be shown and the current status is always the latest step.
    Deleting a claim that events or testimony still bear on is refused (protection.py).
    """

    case = models.ForeignKey(
        "Case", on_delete=models.PROTECT, related_name="claims", help_text="The case."
    )
    proceeding = models.ForeignKey(
        "Proceeding",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claims",
        help_text="The proceeding it was pleaded in.",
    )
    key = models.CharField(
        max_length=80, blank=True, help_text="Stable id used by data files; optional."
    )
    slug = models.SlugField(
        max_length=100,
        help_text="The claim's part of its URLs. Do not change once public.",
    )
    title = models.CharField(
        max_length=255, help_text="The cause of action as pleaded."
    )
    count_label = models.CharField(
        max_length=80,
        blank=True,
        help_text='Its number in the complaint, e.g. "Count 9".',
    )
    description = models.TextField(
        blank=True, help_text="What the claim alleges, briefly."
    )
    asserted_by = models.ManyToManyField(
        "Party", blank=True, related_name="claims_asserted", help_text="Who asserts it."
    )
    against = models.ManyToManyField(
        "Party",
        blank=True,
        related_name="claims_faced",
        help_text="Whom it is asserted against.",
    )
    outcome_note = models.TextField(
        blank=True,
        help_text="What is known (or not found) of its fate beyond the dated history.",
    )
    sources = models.ManyToManyField(
        "Source",
        through="Citation",
        through_fields=("claim", "source"),
        blank=True,
        related_name="claims",
        help_text="Sources cited for this claim.",
    )

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["case", "proceeding__opened_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "slug"], name="claim_unique_slug_per_case"
            ),
            models.UniqueConstraint(
                fields=["case", "key"],
                condition=~models.Q(key=""),
                name="claim_unique_key_per_case",
                violation_error_message="Another claim of this case already has this key.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.count_label})" if self.count_label else self.title

    def clean(self) -> None:
        super().clean()
        require_same_case(self, "proceeding")

    def get_absolute_url(self) -> str:
        return page_url("claim_detail", case=self.case.slug, claim=self.slug)


class ClaimStatusChange(FuzzyDateModel, TimeStampedModel):
    """One dated step in a claim's life, tied to the ruling or filing that caused it."""

    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="history", help_text="The claim."
    )
    status = models.CharField(
        max_length=32,
        choices=ClaimStatus,
        help_text="The claim's status from this date.",
    )
    event = models.ForeignKey(
        "Event",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="status_changes",
        help_text="The ruling, filing or verdict that caused the change.",
    )
    note = models.TextField(
        blank=True, help_text="Detail, e.g. “at Musk's own proposal”."
    )
    sources = models.ManyToManyField(
        "Source",
        through="Citation",
        through_fields=("status_change", "source"),
        blank=True,
        related_name="status_changes",
        help_text="Sources cited for this change.",
    )

    class Meta:
        ordering = ["claim", models.F("date").asc(nulls_last=True), "id"]
        verbose_name = "claim status change"
        indexes = [
            models.Index(fields=["claim", "date"], name="statuschange_claim_date")
        ]

    def __str__(self) -> str:
        return f"{self.claim}: {self.get_status_display()} ({self.display_date})"

    @property
    def case_id(self) -> int | None:
        return self.claim.case_id if self.claim_id else None

    def clean(self) -> None:
        super().clean()
        if self.event_id and self.claim_id and self.event.case_id != self.claim.case_id:
            raise ValidationError({"event": "This event belongs to another case."})
