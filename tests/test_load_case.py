"""The demo data file and the loader: complete, idempotent, all-or-nothing."""

import copy
import io
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from casetracker.models import (
    Case,
    CaseParty,
    Citation,
    Claim,
    ClaimStatusChange,
    Event,
    Party,
    Source,
    Testimony,
)
from casetracker.services import (
    CaseDataError,
    case_data_path,
    case_data_read,
    case_load,
)

# Row counts of ../shared/case/musk-v-openai-facts.md, the file the data is written from.
CHRONOLOGY_ROWS = 64  # section 3, rows 1-64
CONTEXT_ROWS = 3  # section 3, "Related context", C1-C3
BIBLIOGRAPHY_IDS = [
    f"S{n:02d}" if n < 100 else f"S{n}" for n in range(1, 170) if n != 162
]
TRIAL_TESTIMONY_ROWS = 19  # section 4a
DEPOSITION_ROWS = 2  # section 4b
BENCH_ROWS = 8  # section 4c

DEMO = "musk-v-openai"


@pytest.fixture(scope="module")
def demo_data() -> dict:
    return case_data_read(case_data_path(DEMO))


def snapshot() -> dict[str, list[dict]]:
    """Every row of every casetracker table, timestamps included (not the search
    index, which the database derives)."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_app_config("casetracker").get_models()
        if not model._meta.proxy and model._meta.managed
    } | {
        f"{model._meta.label}.{m2m.name}": list(
            getattr(model, m2m.name).through.objects.order_by("pk").values()
        )
        for model in apps.get_app_config("casetracker").get_models()
        for m2m in model._meta.local_many_to_many
    }


@pytest.mark.django_db
def test_demo_file_holds_every_row_of_the_facts_file(demo_data):
    """Every chronology, context, testimony, bench and bibliography row is loaded."""
    case, report = case_load(data=demo_data)

    events = Event.objects.filter(case=case)
    assert events.filter(is_context=False).count() == CHRONOLOGY_ROWS
    assert events.filter(is_context=True).count() == CONTEXT_ROWS
    assert sorted(events.values_list("key", flat=True)) == sorted(
        [str(n) for n in range(1, CHRONOLOGY_ROWS + 1)] + ["C1", "C2", "C3"]
    )
    testimony = Testimony.objects.filter(case=case)
    assert testimony.filter(kind="trial").count() == TRIAL_TESTIMONY_ROWS
    assert testimony.filter(kind="deposition").count() == DEPOSITION_ROWS
    assert testimony.filter(kind="bench").count() == BENCH_ROWS
    keys = set(Source.objects.filter(case=case).values_list("key", flat=True))
    assert set(BIBLIOGRAPHY_IDS) <= keys
    assert keys - set(BIBLIOGRAPHY_IDS) == {"ARTICLE"}
    assert report.created["events"] == CHRONOLOGY_ROWS + CONTEXT_ROWS


@pytest.mark.django_db
def test_demo_file_keeps_sources_confidence_and_the_distillation_testimony(demo_data):
    """Facts carry their sources and labels; the 30 April cross-examination is linked
    to the supplied news article."""
    case, _ = case_load(data=demo_data)

    assert not Event.objects.filter(case=case, citations__isnull=True).exists()
    assert not Testimony.objects.filter(case=case, citations__isnull=True).exists()
    labels = set(Event.objects.filter(case=case).values_list("confidence", flat=True))
    assert labels == {"confirmed", "single_source"}
    assert Claim.objects.filter(case=case, confidence="uncertain").exists()
    assert Event.objects.exclude(confidence_note="").filter(case=case).exists()

    cross = Event.objects.get(case=case, date="2026-04-30", kind="testimony")
    assert "partly" in cross.summary
    assert cross.sources.filter(key="ARTICLE").exists()
    article = Source.objects.get(case=case, key="ARTICLE")
    assert "distillation" in article.text
    answer = Testimony.objects.get(case=case, event=cross, text__contains="Partly")
    assert answer.witness.name == "Elon Musk"
    assert answer.examined_by.name.startswith("William Savitt")

    verdict = Event.objects.get(case=case, kind="verdict")
    assert str(verdict.date) == "2026-05-18"
    tried = Claim.objects.filter(case=case, history__status="tried").distinct()
    assert tried.count() == 3
    for claim in Claim.objects.filter(pk__in=tried).with_current_status():
        assert claim.current_status == "verdict_against"


@pytest.mark.django_db
def test_loading_twice_changes_nothing(demo_data):
    """A second load writes no row: every value and timestamp stays as it was."""
    case_load(data=demo_data)
    before = snapshot()

    out = io.StringIO()
    call_command("load_case", DEMO, stdout=out)

    assert snapshot() == before
    assert "nothing changed" in out.getvalue()


@pytest.mark.django_db
def test_changed_value_in_the_file_updates_only_that_row(demo_data):
    case_load(data=demo_data)
    edited = copy.deepcopy(demo_data)
    edited["events"][0]["title"] = "A corrected title"

    _, report = case_load(data=edited)

    assert report.updated == {"events": 1}
    assert report.created == {}
    assert (
        Event.objects.get(key=edited["events"][0]["key"]).title == "A corrected title"
    )


@pytest.mark.django_db
def test_dry_run_writes_nothing(demo_data):
    _, report = case_load(data=demo_data, dry_run=True)

    assert report.created["events"] == CHRONOLOGY_ROWS + CONTEXT_ROWS
    assert Event.objects.count() == 0
    assert Case.objects.count() == 0


def minimal_data(**sections) -> dict:
    """A small valid case file; tests break one thing in it."""
    data = {
        "case": {"slug": "small-case", "title": "Small v. Case", "status": "pending"},
        "sources": [{"key": "S1", "outlet": "Wire", "url": "https://example.org/a"}],
        "parties": [{"key": "alice", "name": "Alice", "kind": "person"}],
        "roles": [{"party": "alice", "role": "plaintiff", "side": "plaintiffs"}],
        "events": [
            {
                "key": "1",
                "slug": "2024-05-01-filed",
                "date": "2024-05-01",
                "precision": "day",
                "kind": "filing",
                "title": "Filed",
                "parties": ["alice"],
                "sources": ["S1"],
            },
            {
                "key": "2",
                "slug": "2024-06-hearing",
                "date": "2024-06-01",
                "precision": "month",
                "kind": "hearing",
                "title": "Hearing",
                "sources": [{"source": "S1", "pin": "para. 4"}],
            },
        ],
    }
    data.update(sections)
    return data


@pytest.mark.django_db
def test_minimal_file_loads_with_pin_cites():
    case, _ = case_load(data=minimal_data())

    assert Event.objects.filter(case=case).count() == 2
    assert Citation.objects.get(event__key="2").pin_cite == "para. 4"
    assert CaseParty.objects.get(case=case).party.name == "Alice"


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            lambda d: d["events"][0].update(kind="party"),
            "events[0] (key '1'): kind: 'party' is not one of",
        ),
        (
            lambda d: d["events"][0].update(parties=["bob"]),
            "events[0] (key '1'): parties: unknown parties keys: bob",
        ),
        (
            lambda d: d["events"][1].update(sources=["S9"]),
            "events[1] (key '2'): sources: 'S9' is not a key of sources",
        ),
        (
            lambda d: d["events"][0].update(date="2024-13-01"),
            "events[0] (key '1'): date: '2024-13-01' is not a date",
        ),
        (
            lambda d: d["events"][0].update(colour="red"),
            "events[0] (key '1'): colour: unknown field",
        ),
        (
            lambda d: d["events"][1].update(key="1"),
            "events[1] (key '1'): key: duplicate key",
        ),
        (lambda d: d["events"][0].pop("title"), "events[0] (key '1'): title: required"),
        (lambda d: d.update(verdicts=[]), "Unknown sections: verdicts"),
    ],
)
@pytest.mark.django_db
def test_invalid_file_is_refused_with_row_and_field_and_writes_nothing(
    breakage, message
):
    data = minimal_data()
    breakage(data)

    with pytest.raises(CaseDataError) as error:
        case_load(data=data)

    assert any(problem.startswith(message) for problem in error.value.problems), (
        error.value.problems
    )
    assert Case.objects.count() == 0
    assert Source.objects.count() == 0


@pytest.mark.django_db
def test_model_rule_broken_late_in_the_file_rolls_back_everything():
    """A month-precision date not on the 1st passes the schema but not the model: the
    rows already written in the same load are rolled back."""
    data = minimal_data()
    data["events"][1]["date"] = "2024-06-15"

    with pytest.raises(CaseDataError) as error:
        case_load(data=data)

    assert any(
        p.startswith("events[1] (key '2'): date: A month-precision date")
        for p in error.value.problems
    )
    assert Case.objects.count() == 0
    assert Party.objects.count() == 0
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_status_history_and_testimony_load():
    data = minimal_data(
        claims=[
            {
                "key": "fraud",
                "title": "Fraud",
                "asserted_by": ["alice"],
                "history": [
                    {"status": "pleaded", "date": "2024-05-01", "event": "1"},
                    {"status": "dismissed", "date": "2024-06-01", "precision": "month"},
                ],
            }
        ],
        testimony=[
            {
                "key": "t1",
                "witness": "alice",
                "text": "I was there.",
                "event": "1",
                "sources": ["S1"],
            }
        ],
    )

    case, _ = case_load(data=data)

    claim = Claim.objects.with_current_status().get(case=case, slug="fraud")
    assert claim.current_status == "dismissed"
    assert list(claim.history.values_list("status", flat=True)) == [
        "pleaded",
        "dismissed",
    ]
    assert ClaimStatusChange.objects.get(status="pleaded").event.key == "1"
    assert Testimony.objects.get(case=case).sources.get().key == "S1"


@pytest.mark.django_db
def test_command_reports_bad_json_with_line_and_column(tmp_path: Path):
    path = tmp_path / "small-case.json"
    path.write_text('{"case": {"slug": "small-case",\n  "title": }', encoding="utf-8")

    with pytest.raises(CommandError, match=r"line 2, column 12"):
        call_command("load_case", "small-case", file=path)
    assert Case.objects.count() == 0


@pytest.mark.django_db
def test_command_refuses_wrong_encoding_missing_file_and_other_case(tmp_path: Path):
    latin = tmp_path / "latin.json"
    latin.write_bytes(
        json.dumps(minimal_data()).replace("Alice", "Al\u00efce").encode("latin-1")
    )
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("load_case", "small-case", file=latin)

    with pytest.raises(CommandError, match="No data file"):
        call_command("load_case", "no-such-case")

    other = tmp_path / "other.json"
    other.write_text(json.dumps(minimal_data()), encoding="utf-8")
    with pytest.raises(
        CommandError, match="holds case 'small-case', not 'musk-v-openai'"
    ):
        call_command("load_case", DEMO, file=other)
    assert Case.objects.count() == 0


@pytest.mark.django_db
def test_command_lists_every_problem_and_says_nothing_was_written(tmp_path: Path):
    data = minimal_data()
    data["events"][0]["kind"] = "party"
    data["events"][1]["precision"] = "week"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(CommandError) as error:
        call_command("load_case", "small-case", file=path)

    text = str(error.value)
    assert "nothing was written" in text
    assert "events[0] (key '1'): kind" in text
    assert "events[1] (key '2'): precision" in text
