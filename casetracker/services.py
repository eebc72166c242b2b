"""Write side outside the admin forms: loading a case from its data file, and deleting
a case with everything in it.

`case_load` checks the whole file first and reports every problem by section, row key
and field; only a clean file is written, in one transaction, and only rows whose
values differ are saved, so loading the same file twice changes nothing.

`case_delete` removes a case and every row of it in one transaction, a statement per
table, at any size: the admin's own delete refuses a case that rows still refer to,
and deleting its events a thousand at a time is no way to remove a case of a million.
"""

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connections, models, transaction

from . import choices, search
from .models import (
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
from .models.history import CaseDataHistory

DATA_DIR = Path(settings.BASE_DIR) / "casetracker" / "data"


class CaseDataError(Exception):
    """A data file that cannot be loaded; `problems` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


# Field kinds: str, text (may be long), bool, date, enum values, references to keys of
# another section, citation lists.
def _enum(choice_class) -> tuple[str, set[str]]:
    return ("enum", set(choice_class.values))


STR, BOOL, DATE = ("str",), ("bool",), ("date",)
CITES = ("cites",)


def REF(section: str) -> tuple:  # noqa: N802
    return ("ref", section)


def REFS(section: str) -> tuple:  # noqa: N802
    return ("refs", section)


SCHEMA: dict[str, dict[str, tuple]] = {
    "sources": {
        "key": STR,
        "kind": _enum(choices.SourceKind),
        "outlet": STR,
        "original_outlet": STR,
        "is_mirror": BOOL,
        "headline": STR,
        "headline_note": STR,
        "author": STR,
        "url": STR,
        "published_on": DATE,
        "published_precision": _enum(choices.DatePrecision),
        "published_note": STR,
        "reliability": _enum(choices.Reliability),
        "note": STR,
        "text": STR,
    },
    "parties": {
        "key": STR,
        "name": STR,
        "kind": _enum(choices.PartyKind),
        "aliases": ("strs",),
        "description": STR,
        "sources": REFS("sources"),
    },
    "proceedings": {
        "key": STR,
        "name": STR,
        "caption": STR,
        "court": STR,
        "docket_number": STR,
        "judge": REF("parties"),
        "opened_on": DATE,
        "closed_on": DATE,
        "outcome": STR,
        "sources": REFS("sources"),
    },
    "roles": {
        "party": REF("parties"),
        "role": _enum(choices.PartyRole),
        "side": _enum(choices.Side),
        "proceeding": REF("proceedings"),
        "represents": REFS("parties"),
        "started_on": DATE,
        "ended_on": DATE,
        "note": STR,
        "confidence": _enum(choices.Confidence),
        "confidence_note": STR,
        "sources": REFS("sources"),
    },
    "events": {
        "key": STR,
        "slug": STR,
        "date": DATE,
        "precision": _enum(choices.DatePrecision),
        "approximate": BOOL,
        "end_date": DATE,
        "end_precision": _enum(choices.DatePrecision),
        "date_note": STR,
        "kind": _enum(choices.EventKind),
        "title": STR,
        "summary": STR,
        "proceeding": REF("proceedings"),
        "parties": REFS("parties"),
        "claims": REFS("claims"),
        "is_key": BOOL,
        "is_context": BOOL,
        "confidence": _enum(choices.Confidence),
        "confidence_note": STR,
        "sources": CITES,
    },
    "claims": {
        "key": STR,
        "proceeding": REF("proceedings"),
        "title": STR,
        "count_label": STR,
        "description": STR,
        "asserted_by": REFS("parties"),
        "against": REFS("parties"),
        "outcome_note": STR,
        "confidence": _enum(choices.Confidence),
        "confidence_note": STR,
        "sources": CITES,
        "history": ("history",),
    },
    "history": {
        "status": _enum(choices.ClaimStatus),
        "date": DATE,
        "precision": _enum(choices.DatePrecision),
        "approximate": BOOL,
        "event": REF("events"),
        "note": STR,
        "sources": CITES,
    },
    "testimony": {
        "key": STR,
        "witness": REF("parties"),
        "kind": _enum(choices.TestimonyKind),
        "date": DATE,
        "precision": _enum(choices.DatePrecision),
        "approximate": BOOL,
        "date_note": STR,
        "form": _enum(choices.TestimonyForm),
        "text": STR,
        "context": STR,
        "examined_by": REF("parties"),
        "examination": ("enum", set(choices.Examination.values) | {""}),
        "transcript_cite": STR,
        "event": REF("events"),
        "claims": REFS("claims"),
        "confidence": _enum(choices.Confidence),
        "confidence_note": STR,
        "sources": CITES,
    },
}
CASE_FIELDS = {
    "slug": STR,
    "title": STR,
    "short_name": STR,
    "summary": STR,
    "status": _enum(choices.CaseStatus),
}
REQUIRED = {
    "sources": {"key", "outlet"},
    "parties": {"key", "name"},
    "proceedings": {"key", "name", "court"},
    "roles": {"party", "role"},
    "events": {"key", "slug", "kind", "title"},
    "claims": {"key", "title"},
    "history": {"status"},
    "testimony": {"key", "witness", "text"},
}
SECTIONS = (
    "sources",
    "parties",
    "proceedings",
    "roles",
    "events",
    "claims",
    "testimony",
)


def _check_value(kind: tuple, value: Any, keys: dict[str, set[str]]) -> str | None:
    """Say what is wrong with one value, or None."""
    name = kind[0]
    if name == "str":
        return None if isinstance(value, str) else "must be text"
    if name == "strs":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else "must be a list of texts"
    if name == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if name == "date":
        if value is None:
            return None
        try:
            dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            return f"{value!r} is not a date (YYYY-MM-DD)"
        return None
    if name == "enum":
        return (
            None
            if value in kind[1]
            else f"{value!r} is not one of {', '.join(sorted(kind[1]))}"
        )
    if name == "ref":
        if value is None or value in keys[kind[1]]:
            return None
        return f"{value!r} is not a key of {kind[1]}"
    if name == "refs":
        if not isinstance(value, list):
            return "must be a list of keys"
        missing = [v for v in value if v not in keys[kind[1]]]
        return (
            f"unknown {kind[1]} keys: {', '.join(map(str, missing))}"
            if missing
            else None
        )
    if name == "cites":
        if not isinstance(value, list):
            return "must be a list of citations"
        for item in value:
            key = item.get("source") if isinstance(item, dict) else item
            if key not in keys["sources"]:
                return f"{key!r} is not a key of sources"
        return None
    return None


def _row_label(section: str, index: int, row: Any) -> str:
    key = row.get("key") if isinstance(row, dict) else None
    return f"{section}[{index}]" + (f" (key {key!r})" if key else "")


def validate_case_data(data: Any) -> list[str]:
    """Every problem in a case data file, as 'section[row] (key): field: problem'."""
    if not isinstance(data, dict):
        return ["The file must hold a JSON object with a 'case' section."]
    problems: list[str] = []
    unknown = set(data) - {"case", *SECTIONS}
    if unknown:
        problems.append(f"Unknown sections: {', '.join(sorted(unknown))}")
    case = data.get("case")
    if not isinstance(case, dict):
        return [*problems, "case: missing or not an object"]
    for name, kind in CASE_FIELDS.items():
        if name in case and (error := _check_value(kind, case[name], {})):
            problems.append(f"case: {name}: {error}")
    for name in ("slug", "title"):
        if not case.get(name):
            problems.append(f"case: {name}: required")

    rows = {section: data.get(section, []) for section in SECTIONS}
    keys: dict[str, set[str]] = {}
    for section, items in rows.items():
        if not isinstance(items, list) or not all(isinstance(r, dict) for r in items):
            problems.append(f"{section}: must be a list of objects")
            rows[section] = []
            continue
        seen: set[str] = set()
        for index, row in enumerate(items):
            key = row.get("key")
            if key is not None and key in seen:
                problems.append(
                    f"{_row_label(section, index, row)}: key: duplicate key"
                )
            seen.add(key)
        keys[section] = {k for k in seen if isinstance(k, str)}
    keys.setdefault("events", set())

    def check_rows(section: str, items: list, label_prefix: str = "") -> None:
        spec = SCHEMA[section]
        for index, row in enumerate(items):
            label = label_prefix + _row_label(section, index, row)
            for name in sorted(set(row) - set(spec)):
                problems.append(f"{label}: {name}: unknown field")
            for name in sorted(REQUIRED[section] - set(row)):
                problems.append(f"{label}: {name}: required")
            for name, kind in spec.items():
                if name not in row:
                    continue
                if kind == ("history",):
                    if isinstance(row[name], list) and all(
                        isinstance(h, dict) for h in row[name]
                    ):
                        check_rows("history", row[name], label + ": ")
                    else:
                        problems.append(f"{label}: history: must be a list of objects")
                elif error := _check_value(kind, row[name], keys):
                    problems.append(f"{label}: {name}: {error}")

    for section in SECTIONS:
        check_rows(section, rows[section])
    slugs = [row.get("slug") for row in rows["events"]]
    for slug in sorted({s for s in slugs if slugs.count(s) > 1 and s}):
        problems.append(f"events: slug {slug!r} is used twice")
    return problems


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, model: type[models.Model], created: bool, changed: bool) -> None:
        name = model._meta.verbose_name_plural
        if created:
            self.created[name] = self.created.get(name, 0) + 1
        elif changed:
            self.updated[name] = self.updated.get(name, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


class _Loader:
    """Writes a validated file; model validation errors are collected, then raised."""

    def __init__(self, data: dict):
        self.data = data
        self.report = LoadReport()
        self.problems: list[str] = []
        self.parties: dict[str, Party] = {}
        self.sources: dict[str, Source] = {}
        self.proceedings: dict[str, Proceeding] = {}
        self.events: dict[str, Event] = {}
        self.claims: dict[str, Claim] = {}
        self.created: set[tuple[type, int]] = set()

    def sync(self, model, label: str, lookup: dict, values: dict):
        """Create or update one row, saving only when a value differs."""
        obj = model.objects.filter(**lookup).first()
        created = obj is None
        if created:
            obj = model(**lookup)
        changed = False
        for name, value in values.items():
            field = model._meta.get_field(name)
            if (
                field.many_to_one
            ):  # compare ids: no query, no error on an unset relation
                current, wanted = (
                    getattr(obj, field.attname),
                    value.pk if value else None,
                )
            else:
                current, wanted = getattr(obj, name), value
            if current != wanted:
                setattr(obj, name, value)
                changed = True
        if created or changed:
            try:
                obj.full_clean()
            except ValidationError as error:
                for name, messages in error.message_dict.items():
                    for message in messages:
                        self.problems.append(f"{label}: {name}: {message}")
                return obj
            obj.save()
            if created:
                self.created.add((model, obj.pk))
        self.report.count(model, created, changed)
        return obj

    def set_m2m(self, obj, name: str, targets: list[models.Model]) -> None:
        if obj.pk is None:
            return
        manager = getattr(obj, name)
        wanted = {t.pk for t in targets}
        if set(manager.values_list("pk", flat=True)) != wanted:
            manager.set(wanted)
            if (type(obj), obj.pk) not in self.created:
                self.report.count(type(obj), created=False, changed=True)

    def set_citations(self, target_field: str, obj, cites: list) -> None:
        if obj.pk is None:
            return
        wanted = set()
        for item in cites:
            key, pin = (
                (item["source"], item.get("pin", ""))
                if isinstance(item, dict)
                else (item, "")
            )
            wanted.add((self.sources[key].pk, pin))
        existing = {
            (c.source_id, c.pin_cite): c.pk
            for c in Citation.objects.filter(**{target_field: obj})
        }
        stale = [pk for pair, pk in existing.items() if pair not in wanted]
        if stale:
            Citation.objects.filter(pk__in=stale).delete()
        for source_id, pin in sorted(wanted - set(existing)):
            Citation.objects.create(
                source_id=source_id, pin_cite=pin, **{target_field: obj}
            )
            self.report.count(Citation, created=True, changed=True)

    @staticmethod
    def date(value: str | None) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    def load(self) -> Case:
        d = self.data
        c = d["case"]
        case = self.sync(
            Case,
            "case",
            {"slug": c["slug"]},
            {
                "title": c["title"],
                "short_name": c.get("short_name", c["title"][:80]),
                "summary": c.get("summary", ""),
                "status": c.get("status", choices.CaseStatus.PENDING),
            },
        )
        if case.pk is None:
            return case

        for i, s in enumerate(d.get("sources", [])):
            self.sources[s["key"]] = self.sync(
                Source,
                _row_label("sources", i, s),
                {"case": case, "key": s["key"]},
                {
                    "kind": s.get("kind", choices.SourceKind.NEWS),
                    "outlet": s["outlet"],
                    "original_outlet": s.get("original_outlet", ""),
                    "is_mirror": s.get("is_mirror", False),
                    "headline": s.get("headline", ""),
                    "headline_note": s.get("headline_note", ""),
                    "author": s.get("author", ""),
                    "url": s.get("url", ""),
                    "published_on": self.date(s.get("published_on")),
                    "published_precision": s.get(
                        "published_precision", choices.DatePrecision.DAY
                    ),
                    "published_note": s.get("published_note", ""),
                    "reliability": s.get("reliability", choices.Reliability.MEDIUM),
                    "note": s.get("note", ""),
                    "text": s.get("text", ""),
                },
            )

        for i, p in enumerate(d.get("parties", [])):
            party = self.sync(
                Party,
                _row_label("parties", i, p),
                {"slug": p["key"]},
                {
                    "name": p["name"],
                    "kind": p.get("kind", choices.PartyKind.PERSON),
                    "aliases": "\n".join(p.get("aliases", [])),
                    "description": p.get("description", ""),
                },
            )
            self.parties[p["key"]] = party
            self.set_m2m(
                party, "sources", [self.sources[k] for k in p.get("sources", [])]
            )

        for i, p in enumerate(d.get("proceedings", [])):
            proceeding = self.sync(
                Proceeding,
                _row_label("proceedings", i, p),
                {"case": case, "key": p["key"]},
                {
                    "name": p["name"],
                    "caption": p.get("caption", ""),
                    "court": p["court"],
                    "docket_number": p.get("docket_number", ""),
                    "judge": self.parties.get(p.get("judge")),
                    "opened_on": self.date(p.get("opened_on")),
                    "closed_on": self.date(p.get("closed_on")),
                    "outcome": p.get("outcome", ""),
                },
            )
            self.proceedings[p["key"]] = proceeding
            self.set_m2m(
                proceeding, "sources", [self.sources[k] for k in p.get("sources", [])]
            )

        for i, r in enumerate(d.get("roles", [])):
            role = self.sync(
                CaseParty,
                _row_label("roles", i, r),
                {
                    "case": case,
                    "party": self.parties[r["party"]],
                    "role": r["role"],
                    "proceeding": self.proceedings.get(r.get("proceeding")),
                },
                {
                    "side": r.get("side", choices.Side.NEUTRAL),
                    "started_on": self.date(r.get("started_on")),
                    "ended_on": self.date(r.get("ended_on")),
                    "note": r.get("note", ""),
                    "confidence": r.get("confidence", choices.Confidence.CONFIRMED),
                    "confidence_note": r.get("confidence_note", ""),
                },
            )
            self.set_m2m(
                role, "represents", [self.parties[k] for k in r.get("represents", [])]
            )
            self.set_m2m(
                role, "sources", [self.sources[k] for k in r.get("sources", [])]
            )

        for i, c in enumerate(d.get("claims", [])):
            self.claims[c["key"]] = self.sync(
                Claim,
                _row_label("claims", i, c),
                {"case": case, "key": c["key"]},
                {
                    "slug": c["key"],
                    "title": c["title"],
                    "count_label": c.get("count_label", ""),
                    "proceeding": self.proceedings.get(c.get("proceeding")),
                    "description": c.get("description", ""),
                    "outcome_note": c.get("outcome_note", ""),
                    "confidence": c.get("confidence", choices.Confidence.CONFIRMED),
                    "confidence_note": c.get("confidence_note", ""),
                },
            )

        for i, e in enumerate(d.get("events", [])):
            label = _row_label("events", i, e)
            event = self.sync(
                Event,
                label,
                {"case": case, "key": e["key"]},
                {
                    "slug": e["slug"],
                    "title": e["title"],
                    "kind": e["kind"],
                    "summary": e.get("summary", ""),
                    "date": self.date(e.get("date")),
                    "date_precision": e.get("precision", choices.DatePrecision.DAY),
                    "date_approximate": e.get("approximate", False),
                    "date_note": e.get("date_note", ""),
                    "end_date": self.date(e.get("end_date")),
                    "end_precision": e.get("end_precision", choices.DatePrecision.DAY),
                    "proceeding": self.proceedings.get(e.get("proceeding")),
                    "is_key": e.get("is_key", False),
                    "is_context": e.get("is_context", False),
                    "confidence": e.get("confidence", choices.Confidence.CONFIRMED),
                    "confidence_note": e.get("confidence_note", ""),
                },
            )
            self.events[e["key"]] = event
            self.set_m2m(
                event, "parties", [self.parties[k] for k in e.get("parties", [])]
            )
            self.set_m2m(event, "claims", [self.claims[k] for k in e.get("claims", [])])
            self.set_citations("event", event, e.get("sources", []))

        for i, c in enumerate(d.get("claims", [])):
            claim = self.claims[c["key"]]
            self.set_m2m(
                claim,
                "asserted_by",
                [self.parties[k] for k in c.get("asserted_by", [])],
            )
            self.set_m2m(
                claim, "against", [self.parties[k] for k in c.get("against", [])]
            )
            self.set_citations("claim", claim, c.get("sources", []))
            if claim.pk is None:
                continue
            for j, h in enumerate(c.get("history", [])):
                step = self.sync(
                    ClaimStatusChange,
                    f"{_row_label('claims', i, c)}: history[{j}]",
                    {
                        "claim": claim,
                        "status": h["status"],
                        "date": self.date(h.get("date")),
                    },
                    {
                        "date_precision": h.get("precision", choices.DatePrecision.DAY),
                        "date_approximate": h.get("approximate", False),
                        "event": self.events.get(h.get("event")),
                        "note": h.get("note", ""),
                    },
                )
                self.set_citations("status_change", step, h.get("sources", []))

        for i, t in enumerate(d.get("testimony", [])):
            item = self.sync(
                Testimony,
                _row_label("testimony", i, t),
                {"case": case, "key": t["key"]},
                {
                    "witness": self.parties[t["witness"]],
                    "kind": t.get("kind", choices.TestimonyKind.TRIAL),
                    "date": self.date(t.get("date")),
                    "date_precision": t.get("precision", choices.DatePrecision.DAY),
                    "date_approximate": t.get("approximate", False),
                    "date_note": t.get("date_note", ""),
                    "form": t.get("form", choices.TestimonyForm.QUOTE),
                    "text": t["text"],
                    "context": t.get("context", ""),
                    "examined_by": self.parties.get(t.get("examined_by")),
                    "examination": t.get("examination", ""),
                    "transcript_cite": t.get("transcript_cite", ""),
                    "event": self.events.get(t.get("event")),
                    "confidence": t.get("confidence", choices.Confidence.CONFIRMED),
                    "confidence_note": t.get("confidence_note", ""),
                },
            )
            self.set_m2m(item, "claims", [self.claims[k] for k in t.get("claims", [])])
            self.set_citations("testimony", item, t.get("sources", []))
        return case


def case_data_path(slug: str) -> Path:
    return DATA_DIR / f"{slug}.json"


def case_data_read(path: Path) -> dict:
    """Parse a data file; raise CaseDataError with a line and column on bad JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseDataError([f"No data file at {path}."]) from None
    except UnicodeDecodeError as error:
        raise CaseDataError(
            [f"{path} is not UTF-8 text ({error.reason} at byte {error.start})."]
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CaseDataError(
            [f"{path}: line {error.lineno}, column {error.colno}: {error.msg}"]
        ) from None


def case_load(*, data: dict, dry_run: bool = False) -> tuple[Case, LoadReport]:
    """Validate, then write a case's data in one transaction (rolled back on dry runs)."""
    problems = validate_case_data(data)
    if problems:
        raise CaseDataError(problems)
    with transaction.atomic():
        loader = _Loader(data)
        case = loader.load()
        if loader.problems:
            transaction.set_rollback(True)
            raise CaseDataError(loader.problems)
        if dry_run:
            transaction.set_rollback(True)
    return case, loader.report


# ---------------------------------------------------------------------------------------
# Deleting a case
# ---------------------------------------------------------------------------------------


def case_delete(case: Case) -> dict[str, int]:
    """Delete a case and every row of it, in one transaction; how many of each went.

    Each step is one `DELETE ... WHERE id IN (SELECT ...)`, in dependency order:
    QuerySet.delete() would load a million events to run its PROTECT checks and send
    a signal for each. A party goes only when nothing else (another case's role,
    event, testimony, ...) still refers to it. The case's own deletion is written to
    its audit history (with the admin's user, in a request); its rows' histories stay
    as they were, which is what the history is for.
    """
    db = case._state.db or "default"

    def links(model, name):
        relation = model._meta.get_field(name)
        return relation.remote_field.through._base_manager.using(db).filter(
            **{f"{relation.m2m_field_name()}__case": case}
        )

    def rows(model):
        return model._base_manager.using(db)

    # Every party this case refers to: the candidates for deletion at the end.
    party_columns = (
        (rows(CaseParty).filter(case=case), "party"),
        (links(Event, "parties"), "party"),
        (rows(Testimony).filter(case=case), "witness"),
        (rows(Testimony).filter(case=case), "examined_by"),
        (rows(Proceeding).filter(case=case), "judge"),
        (links(Claim, "asserted_by"), "party"),
        (links(Claim, "against"), "party"),
        (links(Source, "parties"), "party"),
        (links(CaseParty, "represents"), "party"),
    )
    proceeding_sources = Proceeding.sources.through._base_manager.using(db)
    party_sources = Party.sources.through._base_manager.using(db)
    # One statement per thing a citation can belong to, each read from its own index:
    # an OR of the five read every citation of every case.
    citations = [
        rows(Citation).filter(**{lookup: case})
        for lookup in (
            "event__case",
            "testimony__case",
            "claim__case",
            "status_change__claim__case",
            "source__case",
        )
    ]
    steps = (
        *(("citations", queryset) for queryset in citations),
        ("testimony claim links", links(Testimony, "claims")),
        ("testimony", rows(Testimony).filter(case=case)),
        ("claim status changes", rows(ClaimStatusChange).filter(claim__case=case)),
        ("event party links", links(Event, "parties")),
        ("event claim links", links(Event, "claims")),
        ("events", rows(Event).filter(case=case)),
        ("claim party links", links(Claim, "asserted_by")),
        ("claim party links", links(Claim, "against")),
        ("claims", rows(Claim).filter(case=case)),
        ("party role links", links(CaseParty, "represents")),
        ("party role links", links(CaseParty, "sources")),
        ("party roles", rows(CaseParty).filter(case=case)),
        ("source links", links(Source, "parties")),
        ("source links", party_sources.filter(source__case=case)),
        (
            "source links",
            proceeding_sources.filter(
                models.Q(source__case=case) | models.Q(proceeding__case=case)
            ),
        ),
        ("sources", rows(Source).filter(case=case)),
        ("proceedings", rows(Proceeding).filter(case=case)),
    )
    with transaction.atomic(using=db), search.deferred_sync(db):
        # The search index: this case's entries go; events of other cases that cite
        # its sources (the admin forbids it, data files might not) lose headlines.
        search.unindex_events(rows(Event).filter(case=case), using=db)
        citing = list(
            rows(Event)
            .filter(citations__source__case=case)
            .exclude(case=case)
            .values_list("pk", flat=True)
            .distinct()
        )
        party_ids = set()
        for queryset, column in party_columns:
            party_ids.update(
                queryset.order_by().values_list(column, flat=True).distinct()
            )
        party_ids.discard(None)
        deleted = Counter()
        for name, queryset in steps:
            deleted[name] += raw_delete(queryset)
        CaseDataHistory.registered[Case].create_historical_record(case, "-", using=db)
        deleted["cases"] += raw_delete(rows(Case).filter(pk=case.pk))
        orphans = rows(Party).filter(pk__in=sorted(party_ids))
        for condition in party_references():
            orphans = orphans.filter(~condition)
        deleted["parties"] += raw_delete(orphans)
        search.reindex_events(rows(Event).filter(pk__in=citing), using=db)
    return dict(deleted)


def deleted_text(deleted: dict[str, int]) -> str:
    """case_delete's counts as a sentence's list: '1,000 events, 1 case'."""

    def named(name: str, n: int) -> str:
        if n != 1 or not name.endswith("s"):
            return name
        return f"{name[:-3]}y" if name.endswith("ies") else name[:-1]

    return ", ".join(f"{n:,} {named(name, n)}" for name, n in deleted.items() if n)


def party_references() -> Iterator[models.Exists]:
    """One Exists() per table that can point at a party, found from the model meta.

    Looked up rather than listed, so a relation added later still protects a party
    that another case uses.
    """
    outer = models.OuterRef("pk")
    for rel in Party._meta.related_objects:
        if rel.many_to_many:
            model, name = rel.through, rel.field.m2m_reverse_field_name()
        else:
            model, name = rel.related_model, rel.field.name
        yield models.Exists(model._base_manager.filter(**{name: outer}))
    for relation in Party._meta.many_to_many:
        through = relation.remote_field.through
        yield models.Exists(
            through._base_manager.filter(**{relation.m2m_field_name(): outer})
        )


def raw_delete(queryset: models.QuerySet) -> int:
    """DELETE the queryset's rows in one statement, without loading them."""
    model = queryset.model
    connection = connections[queryset.db]
    quote = connection.ops.quote_name
    try:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # pk__in=[]: nothing to delete
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {quote(model._meta.db_table)} "
            f"WHERE {quote(model._meta.pk.column)} IN ({sql})",
            params,
        )
        return cursor.rowcount
