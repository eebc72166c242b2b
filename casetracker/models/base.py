"""Abstract bases shared by the case models."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Cast

from ..choices import Confidence, DatePrecision
from ..dates import format_date, validate_precision


def undated_last(field: str) -> models.OrderBy:
    """The first term of a list's order that puts rows with no `field` date last:
    1 for those, 0 for the others, ascending.

    Written the same way in a list's ORDER BY and in its index, so that each database
    reads a page from the index in order: "NULLS LAST" itself has no index that
    SQLite and PostgreSQL both accept (their DESC places NULLs apart, and SQLite
    takes no NULLS in an index). An integer, not the condition itself: PostgreSQL
    rewrites "(date IS NULL) = false" as "date IS NOT NULL", which it cannot seek
    an index of the condition by (keyset.seek_keys needs to).
    """
    undated = models.ExpressionWrapper(
        models.Q(**{f"{field}__isnull": True}), output_field=models.BooleanField()
    )
    return Cast(undated, models.IntegerField()).asc()


class TimeStampedModel(models.Model):
    """Creation and last-change times, for editors and for audits of the data."""

    created_at = models.DateTimeField(
        auto_now_add=True, help_text="When this row was first saved."
    )
    updated_at = models.DateTimeField(
        auto_now=True, help_text="When this row last changed."
    )

    class Meta:
        abstract = True


class FuzzyDateModel(models.Model):
    """A date known to a precision (see casetracker.dates), with a note on how it is known."""

    date = models.DateField(
        null=True,
        blank=True,
        help_text=(
            "When it happened. For a month or year precision enter the first day of the "
            "month or year (2025-09-01, 2016-01-01). Leave empty if unknown."
        ),
    )
    date_precision = models.CharField(
        "precision",
        max_length=8,
        choices=DatePrecision,
        default=DatePrecision.DAY,
        help_text="How precisely the date is known.",
    )
    date_approximate = models.BooleanField(
        "approximate",
        default=False,
        help_text='Tick when the date is an estimate; it is then shown as "c. May 2026".',
    )
    date_note = models.CharField(
        max_length=255,
        blank=True,
        help_text='How the date is known where it matters, e.g. "day inferred from a weekday".',
    )

    class Meta:
        abstract = True

    @property
    def display_date(self) -> str:
        return format_date(self.date, self.date_precision, self.date_approximate)

    def clean(self) -> None:
        super().clean()
        validate_precision(self.date, self.date_precision, field="date")


class ConfidenceModel(models.Model):
    """How well a fact is sourced, with the reason where sources disagree."""

    confidence = models.CharField(
        max_length=16,
        choices=Confidence,
        default=Confidence.CONFIRMED,
        help_text=(
            "Confirmed: two independent sources or an authoritative one. Single source: "
            "only one found. Uncertain: sources disagree or the fact is inferred."
        ),
    )
    confidence_note = models.TextField(
        blank=True,
        help_text="Why the label is what it is: which part rests on one source, where sources disagree.",
    )

    class Meta:
        abstract = True


def require_same_case(instance: models.Model, *field_names: str) -> None:
    """Refuse links to rows of another case (a form would otherwise accept them)."""
    errors = {}
    for name in field_names:
        related = getattr(instance, name, None)
        if (
            related is not None
            and instance.case_id
            and related.case_id != instance.case_id
        ):
            errors[name] = f"This {related._meta.verbose_name} belongs to another case."
    if errors:
        raise ValidationError(errors)
