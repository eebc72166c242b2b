"""db.distinct_by_seeks: distinct values by one index seek each, on both databases;
and the lists that take their witnesses and outlets from it."""

import pytest
from django.db import connection
from django.urls import reverse

from casetracker import forms, selectors
from casetracker.db import (
    QueryCounter,
    distinct_by_seeks,
    distinct_by_seeks_subquery,
    has_index_prefix,
)
from casetracker.models import Event, Party, Source, Testimony
from tests.factories import (
    CaseFactory,
    EventFactory,
    PartyFactory,
    SourceFactory,
    StaffFactory,
    TestimonyFactory,
)

pytestmark = pytest.mark.django_db


def test_each_value_once_in_the_index_order_and_only_of_the_rows_named():
    case, other = CaseFactory(), CaseFactory()
    first, second, third = PartyFactory(), PartyFactory(), PartyFactory()
    for witness in (second, first, second, first, second):
        TestimonyFactory(case=case, witness=witness)
    TestimonyFactory(case=other, witness=third)

    found = distinct_by_seeks(Testimony, "witness", case_id=case.pk)

    assert found == sorted([first.pk, second.pk])
    assert distinct_by_seeks(Testimony, "witness", case_id=other.pk) == [third.pk]
    assert distinct_by_seeks(Testimony, "witness", case_id=0) == []


def test_text_values_and_several_fields_held_equal():
    case = CaseFactory()
    for outlet, kind in [
        ("Wire", "news"),
        ("Agency", "news"),
        ("Wire", "news"),
        ("Blogger", "blog"),
        ("Écho", "news"),
    ]:
        SourceFactory(case=case, outlet=outlet, kind=kind)
    SourceFactory(case=CaseFactory(), outlet="Elsewhere", kind="news")

    news = distinct_by_seeks(Source, "outlet", case_id=case.pk, kind="news")

    assert sorted(news) == ["Agency", "Wire", "Écho"]
    assert len(news) == len(set(news)) == 3
    assert distinct_by_seeks(Source, "outlet", case_id=case.pk, kind="blog") == [
        "Blogger"
    ]


def test_as_a_subquery_it_narrows_a_queryset():
    case = CaseFactory()
    witness, bystander = PartyFactory(), PartyFactory()
    TestimonyFactory.create_batch(3, case=case, witness=witness)

    parties = Party.objects.filter(
        pk__in=distinct_by_seeks_subquery(Testimony, "witness", case_id=case.pk)
    )

    assert list(parties) == [witness]
    assert bystander not in parties


def test_one_seek_per_value_on_sqlite():
    """The plan steps through the (case, witness) index from value to value."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL plans a few rows as it likes; the bench measures it.")
    case = CaseFactory()
    TestimonyFactory(case=case)
    with QueryCounter() as queries:
        distinct_by_seeks(Testimony, "witness", case_id=case.pk)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {queries.statements[0]}", queries.params[0])
        plan = " ".join(str(row) for row in cursor.fetchall())

    assert "RECURSIVE STEP" in plan
    assert "COVERING INDEX testimony_case_witness (case_id=? AND witness_id>?)" in plan


def test_index_prefixes_are_read_from_the_model():
    assert has_index_prefix(Testimony, ("case", "witness"))
    assert has_index_prefix(Testimony, ("case",))
    assert not has_index_prefix(Testimony, ("case", "examined_by"))
    assert has_index_prefix(Source, ("case", "kind", "original_outlet"))
    assert not has_index_prefix(Event, ("title",))


def test_the_testimony_filter_offers_and_accepts_the_case_witnesses_only():
    case = CaseFactory()
    said, absent = PartyFactory(name="Said"), PartyFactory(name="Absent")
    TestimonyFactory.create_batch(2, case=case, witness=said)
    TestimonyFactory(case=CaseFactory(), witness=absent)

    offered = forms.TestimonyFilterForm(case=case)
    accepted = forms.TestimonyFilterForm({"witness": [said.slug]}, case=case)
    refused = forms.TestimonyFilterForm({"witness": [absent.slug]}, case=case)

    with QueryCounter() as queries:
        assert [label for _, label in offered.fields["witness"].choices] == ["Said"]
    assert any("WITH RECURSIVE" in sql for sql in queries.statements)
    assert accepted.is_valid() and accepted.filters["witnesses"] == [said]
    assert not refused.is_valid()
    assert list(selectors.case_witnesses(case=case)) == [said]


def test_the_admin_witness_filter_lists_the_chosen_case_witnesses(client):
    case = CaseFactory()
    said = PartyFactory(name="Chosen witness")
    TestimonyFactory(case=case, witness=said, event=EventFactory(case=case))
    TestimonyFactory(case=CaseFactory(), witness=PartyFactory(name="Other witness"))
    client.force_login(StaffFactory())

    with QueryCounter() as queries:
        page = client.get(
            reverse("admin:casetracker_testimony_changelist"),
            {"case__id__exact": case.pk},
        ).text

    assert "Chosen witness" in page
    assert "Other witness" not in page
    # Found by stepping through the (case, witness) index, not the case's excerpts.
    assert any(
        "WITH RECURSIVE" in sql and '"witness_id" >' in sql
        for sql in queries.statements
    )
