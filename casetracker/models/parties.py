from django.db import models

from ..choices import PartyKind, PartyRole, Side
from ..links import page_url
from .base import ConfidenceModel, TimeStampedModel, require_same_case
from .protection import ProtectReferencedMixin, ProtectReferencedQuerySet


class Party(ProtectReferencedMixin, TimeStampedModel):
    """A person or organization. One party can appear in several cases and roles."""

    name = models.CharField(max_length=255, help_text="Name as usually written.")
    slug = models.SlugField(
        max_length=80,
        unique=True,
        help_text="The party's part of its URLs. Do not change once public.",
    )
    kind = models.CharField(
        max_length=16,
        choices=PartyKind,
        default=PartyKind.PERSON,
        help_text="Person or organization.",
    )
    aliases = models.TextField(
        blank=True,
        help_text="Other names, one per line (legal names, short names, former names). Searched too.",
    )
    description = models.TextField(
        blank=True, help_text="One or two neutral lines on who this is."
    )
    sources = models.ManyToManyField(
        "Source",
        blank=True,
        related_name="parties_described",
        help_text="Where the description comes from.",
    )

    # Deleting a party that a role, event, claim, testimony ... still names is refused.
    objects = ProtectReferencedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "parties"

    def __str__(self) -> str:
        return self.name

    @property
    def alias_list(self) -> list[str]:
        return [line.strip() for line in self.aliases.splitlines() if line.strip()]

    def get_absolute_url(self) -> str | None:
        role = self.case_roles.select_related("case").first()
        return role.get_absolute_url() if role else None


class CaseParty(ConfidenceModel, TimeStampedModel):
    """A party's role in a case (plaintiff, witness, counsel, ...), one row per role.

    The same party often holds several: a plaintiff who is also a counter-defendant
    and a witness has three rows.
    """

    case = models.ForeignKey(
        "Case",
        on_delete=models.PROTECT,
        related_name="case_parties",
        help_text="The case.",
    )
    party = models.ForeignKey(
        Party,
        on_delete=models.PROTECT,
        related_name="case_roles",
        help_text="Who holds the role.",
    )
    role = models.CharField(
        max_length=24, choices=PartyRole, help_text="The role held."
    )
    side = models.CharField(
        max_length=16,
        choices=Side,
        default=Side.NEUTRAL,
        help_text="Which side the role is on.",
    )
    proceeding = models.ForeignKey(
        "Proceeding",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="case_parties",
        help_text="The proceeding the role is held in; empty when it spans the case.",
    )
    represents = models.ManyToManyField(
        Party,
        blank=True,
        related_name="represented_by",
        help_text="For counsel: the parties represented.",
    )
    started_on = models.DateField(
        null=True, blank=True, help_text="When the role began, if known."
    )
    ended_on = models.DateField(
        null=True, blank=True, help_text="When the role ended, if it did."
    )
    note = models.TextField(
        blank=True, help_text="Anything a reader needs to know about this role."
    )
    sources = models.ManyToManyField(
        "Source",
        blank=True,
        related_name="case_parties",
        help_text="Where this role is reported.",
    )

    class Meta:
        ordering = ["case", "side", "role", "party__name"]
        verbose_name = "party role"
        verbose_name_plural = "party roles"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True)
                | models.Q(started_on__isnull=True)
                | models.Q(ended_on__gte=models.F("started_on")),
                name="caseparty_ended_after_started",
                violation_error_message="A role cannot end before it starts.",
            ),
        ]
        indexes = [models.Index(fields=["case", "party"], name="caseparty_case_party")]

    def __str__(self) -> str:
        return f"{self.party} — {self.get_role_display()}"

    def clean(self) -> None:
        super().clean()
        require_same_case(self, "proceeding")

    def get_absolute_url(self) -> str:
        return page_url("party_detail", case=self.case.slug, party=self.party.slug)
