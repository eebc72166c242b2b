import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from ..choices import Examination, TestimonyForm, TestimonyKind
from ..links import page_url
from .base import (
    ConfidenceModel,
    FuzzyDateModel,
    TimeStampedModel,
    require_same_case,
    undated_last,
)

# The public testimony list's order: by date, undated last, on both databases (see
# undated_last), in the list's query and its index (testimony_list_order).
TESTIMONY_ORDER = (undated_last("date"), models.F("date").asc(), models.F("id").asc())

QUOTE_MARKS = "\"'“”‘’«»"
transcript_cite_validator = RegexValidator(
    r"^\d+:\d+(\s*[-–]\s*(\d+:)?\d+)?$",
    'Write a transcript cite as page:line or a range, e.g. "45:3", "45:3-12" or "45:3-46:1".',
)


class Testimony(FuzzyDateModel, ConfidenceModel, TimeStampedModel):
    """What a witness (or the bench) said: a short quote or a clearly marked paraphrase."""

    case = models.ForeignKey(
        "Case",
        on_delete=models.PROTECT,
        related_name="testimony",
        help_text="The case.",
    )
    key = models.CharField(
        max_length=20, blank=True, help_text="Stable id used by data files; optional."
    )
    witness = models.ForeignKey(
        "Party",
        on_delete=models.PROTECT,
        related_name="testimony",
        help_text="Who spoke (the judge, for statements from the bench).",
    )
    kind = models.CharField(
        max_length=16,
        choices=TestimonyKind,
        default=TestimonyKind.TRIAL,
        help_text="Where it was said.",
    )
    form = models.CharField(
        max_length=16,
        choices=TestimonyForm,
        default=TestimonyForm.QUOTE,
        help_text="A quotation is shown in quotation marks; a paraphrase is labelled as one.",
    )
    text = models.TextField(
        help_text=(
            "The excerpt. For a quotation, the words as reported without the surrounding "
            "quotation marks; for a paraphrase, your close paraphrase."
        )
    )
    context = models.TextField(
        blank=True, help_text="What was being asked or discussed."
    )
    examined_by = models.ForeignKey(
        "Party",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="examinations",
        help_text="Counsel (or the judge) asking the questions, if known.",
    )
    examination = models.CharField(
        max_length=16,
        choices=Examination,
        blank=True,
        help_text="Which examination, if known.",
    )
    transcript_cite = models.CharField(
        max_length=40,
        blank=True,
        validators=[transcript_cite_validator],
        help_text="Transcript page:line where known.",
    )
    event = models.ForeignKey(
        "Event",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="testimony",
        help_text="The timeline event it belongs to (e.g. that day's testimony).",
    )
    claims = models.ManyToManyField(
        "Claim", blank=True, related_name="testimony", help_text="Claims it bears on."
    )
    sources = models.ManyToManyField(
        "Source",
        through="Citation",
        through_fields=("testimony", "source"),
        blank=True,
        related_name="testimony",
        help_text="Sources that report it.",
    )

    class Meta:
        ordering = ["case", models.F("date").asc(nulls_last=True), "id"]
        verbose_name = "testimony excerpt"
        verbose_name_plural = "testimony"
        constraints = [
            models.UniqueConstraint(
                fields=["case", "key"],
                condition=~models.Q(key=""),
                name="testimony_unique_key_per_case",
                violation_error_message="Another excerpt of this case already has this key.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["case", "witness", "date"], name="testimony_case_witness"
            ),
            # A case's testimony in date order (the admin's list and date drill-down).
            models.Index(fields=["case", "date", "id"], name="testimony_case_date"),
            # The public list, a page at a time (TESTIMONY_ORDER).
            models.Index(
                models.F("case"), *TESTIMONY_ORDER, name="testimony_list_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.witness}, {self.display_date}: {self.text[:60]}"

    def save(self, *args, **kwargs) -> None:
        # Excerpts added inline on an event page arrive without a case: take the event's.
        if self.case_id is None and self.event_id is not None:
            self.case_id = self.event.case_id
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        text = self.text.strip()
        wrapped = len(text) > 1 and text[0] in QUOTE_MARKS and text[-1] in QUOTE_MARKS
        if wrapped and self.form == TestimonyForm.PARAPHRASE:
            raise ValidationError(
                {
                    "text": "A paraphrase must not be wrapped in quotation marks, or it reads as a "
                    "quotation. Remove the marks, or mark the excerpt as a quotation."
                }
            )
        if (
            wrapped
            and self.form == TestimonyForm.QUOTE
            and not re.search(f"[{QUOTE_MARKS}]", text[1:-1])
        ):
            raise ValidationError(
                {
                    "text": "Leave out the surrounding quotation marks: quotations are shown in them."
                }
            )
        require_same_case(self, "event")

    def get_absolute_url(self) -> str:
        return page_url("case_testimony", case=self.case.slug) + f"#testimony-{self.pk}"
