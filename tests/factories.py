"""factory_boy factories: the only source of test data."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from casetracker import choices
from casetracker.models import (
    Case,
    CaseParty,
    Citation,
    Claim,
    ClaimStatusChange,
    Event,
    Party,
    Proceeding,
    Source,
    Testimony,
)

# Filler prose comes from Latin words, which no test searches for: a random
# English sentence can hold "hear" and so match a search for "hearing".
FILLER_WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "tempor",
    "incididunt",
    "labore",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "commodo",
    "consequat",
]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.django.Password("a-long-test-password")


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    title = factory.Sequence(lambda n: f"Plaintiff {n} v. Defendant {n}")
    short_name = factory.LazyAttribute(lambda o: o.title[:80])
    slug = factory.Sequence(lambda n: f"case-{n}")
    summary = factory.Faker("paragraph", ext_word_list=FILLER_WORDS)
    status = choices.CaseStatus.PENDING


class ProceedingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Proceeding

    case = factory.SubFactory(CaseFactory)
    key = factory.Sequence(lambda n: f"proceeding-{n}")
    name = factory.Sequence(lambda n: f"Proceeding {n}")
    court = "U.S. District Court"
    docket_number = factory.Sequence(lambda n: f"1:24-cv-{n:05d}")
    opened_on = dt.date(2024, 1, 2)


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party

    name = factory.Faker("name")
    slug = factory.Sequence(lambda n: f"party-{n}")
    kind = choices.PartyKind.PERSON


class CasePartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseParty

    case = factory.SubFactory(CaseFactory)
    party = factory.SubFactory(PartyFactory)
    role = choices.PartyRole.PLAINTIFF
    side = choices.Side.PLAINTIFFS


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    case = factory.SubFactory(CaseFactory)
    key = factory.Sequence(lambda n: f"S{n:03d}")
    kind = choices.SourceKind.NEWS
    outlet = factory.Faker("company")
    headline = factory.Faker("sentence", ext_word_list=FILLER_WORDS)
    url = factory.Sequence(lambda n: f"https://news.example.org/{n}")
    published_on = dt.date(2025, 3, 5)
    reliability = choices.Reliability.HIGH


class ClaimFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Claim

    case = factory.SubFactory(CaseFactory)
    slug = factory.Sequence(lambda n: f"claim-{n}")
    title = factory.Sequence(lambda n: f"Cause of action {n}")


class ClaimStatusChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClaimStatusChange

    claim = factory.SubFactory(ClaimFactory)
    status = choices.ClaimStatus.PLEADED
    date = dt.date(2024, 8, 5)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    case = factory.SubFactory(CaseFactory)
    slug = factory.Sequence(lambda n: f"event-{n}")
    title = factory.Sequence(lambda n: f"Event {n}")
    kind = choices.EventKind.FILING
    date = factory.Sequence(lambda n: dt.date(2024, 1, 1) + dt.timedelta(days=n))
    summary = factory.Faker("sentence", ext_word_list=FILLER_WORDS)


class TestimonyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Testimony

    case = factory.SubFactory(CaseFactory)
    witness = factory.SubFactory(PartyFactory)
    text = factory.Faker("sentence", ext_word_list=FILLER_WORDS)
    date = dt.date(2026, 4, 30)


class CitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Citation

    event = factory.SubFactory(EventFactory)
    source = factory.SubFactory(
        SourceFactory, case=factory.SelfAttribute("..event.case")
    )


class NewsCoverageFactory(SourceFactory):
    class Meta:
        model = "casetracker.NewsCoverage"

    kind = choices.SourceKind.BLOG


class LinkedEventFactory(EventFactory):
    """Event with M2M links: LinkedEventFactory(parties=[p], claims=[c])."""

    class Meta:
        skip_postgeneration_save = True

    @factory.post_generation
    def parties(self, create, extracted, **kwargs):
        if create and extracted:
            self.parties.set(extracted)

    @factory.post_generation
    def claims(self, create, extracted, **kwargs):
        if create and extracted:
            self.claims.set(extracted)
