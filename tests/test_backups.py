"""backup_case / restore_case: a case comes back row for row, or not at all."""

import datetime as dt
import gzip
import io
import json
import re

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Q
from django.urls import reverse

from casetracker import backups, search
from casetracker.backups import BackupError, case_restore
from casetracker.db import QueryCounter
from casetracker.models import (
    Case,
    CaseMonth,
    CaseParty,
    Citation,
    Claim,
    ClaimStatusChange,
    Event,
    Party,
    Proceeding,
    Source,
    Testimony,
    protection,
)
from casetracker.services import case_data_path, case_data_read, case_load
from tests.factories import (
    CaseFactory,
    CasePartyFactory,
    CitationFactory,
    ClaimFactory,
    ClaimStatusChangeFactory,
    LinkedEventFactory,
    PartyFactory,
    ProceedingFactory,
    SourceFactory,
    TestimonyFactory,
)

pytestmark = pytest.mark.django_db

DEMO = "musk-v-openai"
OLD = dt.datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)


def app_models():
    """The models whose rows are data, not derived by the database from the others."""
    return [
        model
        for model in apps.get_app_config("casetracker").get_models()
        if not model._meta.proxy
        and model not in backups.DERIVED
        and model not in backups.AUDIT_TRAIL
    ]


def snapshot() -> dict[str, list]:
    """Every row of every casetracker table, timestamps and generated columns included;
    the link tables of many-to-many fields as sorted (owner, target) pairs."""
    rows = {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in app_models()
    }
    for model in app_models():
        for m2m in model._meta.local_many_to_many:
            through = m2m.remote_field.through
            if through._meta.auto_created:
                pairs = through._base_manager.values_list(
                    m2m.m2m_field_name(), m2m.m2m_reverse_field_name()
                )
                rows[f"{model._meta.label}.{m2m.name}"] = sorted(pairs)
    return rows


def delete_case(case: Case) -> None:
    """Delete every row of the case in dependency order through the ORM, which refuses
    to drop a party, claim or source still linked to: the links go first. Parties go
    when nothing else refers to them."""
    parties = list(backups._case_rows(case)[Party].values_list("pk", flat=True))
    Citation.objects.filter(
        Q(source__case=case)
        | Q(event__case=case)
        | Q(testimony__case=case)
        | Q(claim__case=case)
        | Q(status_change__claim__case=case)
    ).delete()
    Testimony.objects.filter(case=case).delete()
    ClaimStatusChange.objects.filter(claim__case=case).delete()
    Event.objects.filter(case=case).delete()
    Claim.objects.filter(case=case).delete()
    CaseParty.objects.filter(case=case).delete()
    Proceeding.objects.filter(case=case).delete()
    Party.sources.through.objects.filter(source__case=case).delete()
    Source.objects.filter(case=case).delete()
    unused = set(parties) - set(protection.referred_pks(Party, parties))
    Party.objects.filter(pk__in=unused).delete()
    case.delete()


def body(response) -> bytes:
    """The response's bytes, without the per-request CSP nonce."""
    content = (
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    return re.sub(rb'nonce="[^"]*"', b"", content)


def searched(q: str) -> list[int]:
    found = list(
        search.filter_events(Event.objects.all(), q).values_list("pk", flat=True)
    )
    assert found
    return sorted(found)


def backup_bytes(case: Case) -> bytes:
    out = io.StringIO()
    backups.case_backup(case=case, stream=out)
    return out.getvalue().encode()


def small_case() -> Case:
    """A case with a row in every table and a link in every many-to-many table."""
    case = CaseFactory()
    proceeding = ProceedingFactory(case=case, judge=PartyFactory())
    plaintiff, defendant = PartyFactory(), PartyFactory()
    role = CasePartyFactory(case=case, party=plaintiff, proceeding=proceeding)
    counsel = CasePartyFactory(case=case, role="counsel")
    counsel.represents.set([plaintiff])
    claim = ClaimFactory(case=case, proceeding=proceeding)
    claim.asserted_by.set([plaintiff])
    claim.against.set([defendant])
    event = LinkedEventFactory(
        case=case, proceeding=proceeding, parties=[plaintiff], claims=[claim]
    )
    change = ClaimStatusChangeFactory(claim=claim, event=event)
    testimony = TestimonyFactory(case=case, witness=plaintiff, event=event)
    testimony.claims.set([claim])
    source = SourceFactory(case=case)
    source.parties.set([defendant])
    plaintiff.sources.set([source])
    role.sources.set([source])
    proceeding.sources.set([source])
    CitationFactory(event=event, source=source, pin_cite="p. 3")
    CitationFactory(event=None, testimony=testimony, source=source)
    CitationFactory(event=None, claim=claim, source=source)
    CitationFactory(event=None, status_change=change, source=source)
    return case


@pytest.fixture
def demo_case() -> Case:
    """The demo case, with timestamps made distinct and a link in every link table."""
    case, _ = case_load(data=case_data_read(case_data_path(DEMO)))
    Event.objects.filter(case=case, key="1").update(created_at=OLD)
    source = Source.objects.filter(case=case).first()
    source.parties.set(Party.objects.filter(case_roles__case=case)[:2])
    return case


def test_every_model_and_field_is_in_the_backup():
    """A model or a field type added later fails here until backups.py knows it."""
    every = {m for m in apps.get_app_config("casetracker").get_models()}
    assert set(backups.MODELS) | set(backups.DERIVED) | set(backups.AUDIT_TRAIL) == {
        m for m in every if not m._meta.proxy
    }
    assert set(backups.MODELS) == set(app_models())
    for table in backups.tables():
        for field in table.fields:
            assert backups.column_kind(field)
    event_table = next(t for t in backups.tables() if t.model is Event)
    assert "date_rank" not in event_table.columns  # generated: never written


def test_a_restored_case_is_identical_row_for_row(demo_case, client):
    """Back up, delete every row of the case, restore: every row, link, id and
    timestamp is back, and the export and the permalinks give the same bytes."""
    csv_url = reverse("case_timeline_csv", kwargs={"case": DEMO}) + "?q=Musk"
    event = Event.objects.filter(case=demo_case).order_by("pk").last()
    csv_before = body(client.get(csv_url))
    page_before = body(client.get(event.get_absolute_url()))
    found_before = searched("distillation")
    months_before = list(
        CaseMonth.objects.order_by("month").values_list("month", "events")
    )
    before = snapshot()
    data = backup_bytes(demo_case)

    delete_case(demo_case)
    assert not Case.objects.exists() and not Party.objects.exists()
    assert not CaseMonth.objects.exists()
    report = case_restore(data=data)

    assert snapshot() == before
    assert report.case == DEMO and report.reused_parties == []
    assert report.counts["casetracker.event"] == 67
    assert Event.objects.get(case__slug=DEMO, key="1").created_at == OLD
    assert body(client.get(csv_url)) == csv_before
    assert searched("distillation") == found_before  # the search index is rebuilt
    assert body(client.get(event.get_absolute_url())) == page_before
    # Derived data is back too: the case's revision, its party and claim index and
    # its counts by month.
    from casetracker.facets import in_step
    from casetracker.revisions import case_revision

    assert case_revision(Case.objects.get(slug=DEMO))[0] >= 1
    assert len(months_before) > 10
    assert (
        list(CaseMonth.objects.order_by("month").values_list("month", "events"))
        == months_before
    )
    with connection.cursor() as cursor:
        assert in_step(cursor)


def test_new_rows_after_a_restore_get_fresh_ids():
    """The id sequences move past the restored ids (PostgreSQL needs a reset)."""
    case = small_case()
    data = backup_bytes(case)
    highest = Event.objects.order_by("pk").last().pk
    delete_case(case)

    case_restore(data=data)
    new = LinkedEventFactory(case=Case.objects.get())

    assert new.pk > highest


def test_parties_shared_with_another_case_are_kept_and_linked_to():
    """A party of two cases stays when one case is deleted; the restore links to it."""
    case = small_case()
    shared = Party.objects.filter(case_roles__case=case).first()
    other = CasePartyFactory(party=shared).case
    data = backup_bytes(case)
    before = snapshot()
    delete_case(case)
    assert Party.objects.filter(pk=shared.pk).exists()

    report = case_restore(data=data)

    assert report.reused_parties == [shared.slug]
    assert snapshot() == before
    assert Case.objects.filter(pk=other.pk).exists()


def test_gzip_backups_and_the_commands(tmp_path):
    case = small_case()
    before = snapshot()
    path = tmp_path / "case.json.gz"
    out = io.StringIO()

    call_command("backup_case", case.slug, "-o", str(path), stdout=out)
    assert f"{case.slug}: " in out.getvalue() and "rows backed up" in out.getvalue()
    assert not list(tmp_path.glob("*.partial"))
    json.loads(gzip.decompress(path.read_bytes()))
    delete_case(case)
    out = io.StringIO()
    call_command("restore_case", str(path), stdout=out)

    assert "restored" in out.getvalue()
    assert snapshot() == before


def test_dry_run_checks_and_writes_nothing(tmp_path):
    case = small_case()
    path = tmp_path / "case.json"
    call_command("backup_case", case.slug, "-o", str(path), stdout=io.StringIO())
    delete_case(case)
    before = snapshot()
    out = io.StringIO()

    call_command("restore_case", str(path), "--dry-run", stdout=out)

    assert "dry run" in out.getvalue()
    assert snapshot() == before


def test_backup_of_an_unknown_case_is_refused(tmp_path):
    with pytest.raises(CommandError, match="No case with slug 'nope'"):
        call_command("backup_case", "nope", "-o", str(tmp_path / "x.json"))
    assert not list(tmp_path.iterdir())


# Refusals: each leaves the database exactly as it was.


def refused(data: bytes, *expected: str) -> str:
    before = snapshot()
    with pytest.raises(BackupError) as caught:
        case_restore(data=data)
    assert snapshot() == before
    message = "\n".join(caught.value.problems)
    for text in expected:
        assert text in message
    return message


def test_a_case_that_is_already_here_is_refused():
    case = small_case()
    refused(backup_bytes(case), f"already holds case '{case.slug}'")


def test_ids_already_taken_are_refused():
    """Even under a free slug, restore needs the backup's ids free."""
    case = small_case()
    data = backup_bytes(case)
    Case.objects.filter(pk=case.pk).update(slug="renamed")

    message = refused(data, f"casetracker.case: ids {case.pk} are already used")
    assert "casetracker.event: ids" in message


def test_a_party_whose_id_or_slug_is_someone_else_is_refused():
    case = small_case()
    data = backup_bytes(case)
    party = Party.objects.filter(case_roles__case=case).first()
    delete_case(case)
    PartyFactory(slug=party.slug)  # the same slug, now under another id

    refused(data, f"Party slug '{party.slug}' (id {party.pk} in the backup)")


@pytest.fixture
def backup_doc() -> dict:
    """The backup of a small case that has been deleted: restorable as it is."""
    case = small_case()
    document = json.loads(backup_bytes(case))
    delete_case(case)
    return document


def table(document: dict, name: str) -> dict:
    return next(t for t in document["tables"] if t["name"] == name)


def cell(document: dict, name: str, column: str, value, row: int = 0) -> None:
    data = table(document, name)
    data["rows"][row][data["columns"].index(column)] = value


def encode(document) -> bytes:
    return json.dumps(document).encode()


def test_the_untouched_fixture_restores(backup_doc):
    """The refusals below come from their one change, not from the fixture."""
    case_restore(data=encode(backup_doc))
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    "change, expected",
    [
        pytest.param(
            lambda d: d.update(version=2), "version 2 is not one", id="version"
        ),
        pytest.param(
            lambda d: d.update(version="1"), "version '1' is not one", id="version-text"
        ),
        pytest.param(
            lambda d: d.update(format="other"),
            "not a casetracker case backup",
            id="format",
        ),
        pytest.param(lambda d: d.pop("tables"), "no list of tables", id="no-tables"),
        pytest.param(
            lambda d: d["tables"].pop(),
            "has no table casetracker.testimony.claims",
            id="missing-table",
        ),
        pytest.param(
            lambda d: d["tables"].append({"name": "auth.user"}),
            "Unknown table 'auth.user'",
            id="unknown-table",
        ),
        pytest.param(
            lambda d: table(d, "casetracker.event")["rows"].pop(),
            "casetracker.event: the file says 1 rows but holds 0",
            id="count",
        ),
        pytest.param(
            lambda d: cell(d, "casetracker.event", "date", 20240101),
            "casetracker.event, row 1, column date: expected a date written as text",
            id="date-as-number",
        ),
        pytest.param(
            lambda d: cell(d, "casetracker.event", "date", "2024-02-30"),
            "column date: not a date as YYYY-MM-DD: '2024-02-30'",
            id="impossible-date",
        ),
        pytest.param(
            lambda d: cell(d, "casetracker.event", "id", "7"),
            "casetracker.event, row 1, column id: expected a whole number",
            id="id-as-text",
        ),
        pytest.param(
            lambda d: cell(d, "casetracker.event", "is_key", "yes"),
            "column is_key: expected true or false",
            id="bool-as-text",
        ),
        pytest.param(
            lambda d: cell(d, "casetracker.event", "title", None),
            "column title: a value is required",
            id="null",
        ),
        pytest.param(
            lambda d: cell(d, "casetracker.event", "slug", "x" * 101),
            "column slug: 101 characters, more than the 100 allowed",
            id="too-long",
        ),
        pytest.param(
            lambda d: cell(d, "casetracker.case", "created_at", "2024-01-01T10:00"),
            "column created_at: not a date and time with a UTC offset",
            id="naive-datetime",
        ),
        pytest.param(
            lambda d: cell(d, "casetracker.event", "case_id", 999_999),
            "casetracker.event, column case_id: case ids 999999 are not in the backup",
            id="dangling-reference",
        ),
        pytest.param(
            lambda d: table(d, "casetracker.event")["rows"][0].pop(),
            "casetracker.event, row 1: expected a list of",
            id="short-row",
        ),
        pytest.param(
            lambda d: table(d, "casetracker.event")["columns"].append("colour"),
            "unknown columns colour",
            id="unknown-column",
        ),
    ],
)
def test_a_bad_backup_is_refused_with_its_reason(backup_doc, change, expected):
    change(backup_doc)
    refused(encode(backup_doc), expected)


def test_truncated_and_non_json_files_are_refused(backup_doc):
    data = encode(backup_doc)

    refused(data[: len(data) // 2], "not complete, valid JSON", "truncated")
    refused(gzip.compress(data)[:200], "damaged or truncated gzip")
    refused(b"\xff\xfe garbage", "not UTF-8")
    refused(b"[1, 2, 3]", "not a casetracker case backup")


def test_a_row_the_database_refuses_rolls_back_everything(backup_doc):
    """A value only a database constraint catches (an end before the start) is found
    after earlier tables were written: all of them are rolled back."""
    cell(backup_doc, "casetracker.event", "end_date", "2000-01-01")

    refused(encode(backup_doc), "The database refused the backup's rows")
    assert not Case.objects.exists()


def test_restore_command_reports_problems_without_a_traceback(tmp_path, backup_doc):
    backup_doc["version"] = 99
    path = tmp_path / "bad.json"
    path.write_bytes(encode(backup_doc))

    with pytest.raises(CommandError) as caught:
        call_command("restore_case", str(path))
    assert "was not restored; nothing was written" in str(caught.value)
    assert "version 99" in str(caught.value)
    with pytest.raises(CommandError, match="Could not read"):
        call_command("restore_case", str(tmp_path / "missing.json"))


def test_the_backup_is_written_in_a_bounded_number_of_queries():
    """Streaming: a query per table, however many rows (plus the transaction)."""
    case = small_case()
    for _ in range(5):
        LinkedEventFactory(case=case)

    with QueryCounter() as counter:
        backup_bytes(case)
    assert counter.count <= len(backups.tables()) + 4
