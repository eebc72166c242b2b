"""manage.py generate_synthetic_case <slug> --events N: a large, made-up case for load tests.

The data is deterministic: the same slug, counts and --seed give the same rows (apart
from primary keys and the created/updated timestamps), because every choice comes
from random.Random streams seeded by `seed` and no decision depends on a database id or
the clock.

Rows are written in batches of 5,000, one transaction per batch, and events are
generated lazily, one batch at a time, so memory stays flat at a million events
(under 300 MB). Model rows go through bulk_create, the M2M link tables and citations
through plain multi-row INSERTs (see SyntheticCase._write_events). An interrupted
run leaves a partial case behind; run again with --replace.

On the 2-core development machine: about 4,000-4,800 events/s on SQLite (a million
events, ~5 million rows in all, in four minutes) and 2,500-2,800 on PostgreSQL, where
the server's inserts and deferred foreign-key checks share the two cores.
"""

import datetime as dt
import hashlib
import itertools
import random
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug
from django.db import connection, models, transaction
from django.test.utils import override_settings

from ... import revisions, search
from ...choices import (
    CaseStatus,
    ClaimStatus,
    Confidence,
    DatePrecision,
    EventKind,
    PartyKind,
    PartyRole,
    Reliability,
    Side,
    SourceKind,
    TestimonyForm,
    TestimonyKind,
)
from ...models import (
    Case,
    CaseParty,
    Citation,
    Claim,
    ClaimStatusChange,
    Event,
    EventFacet,
    Party,
    Proceeding,
    Source,
    Testimony,
)
from ...services import case_delete, deleted_text

BATCH_SIZE = 5_000  # rows per INSERT, and events per transaction
START = dt.date(2014, 1, 6)
SPAN_DAYS = 12 * 365

# ---------------------------------------------------------------------------------------
# Word lists. Small on purpose: titles repeat their words, so text search finds many rows.
# ---------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Ada", "Bram", "Carla", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines",
    "Jonas", "Kira", "Luca", "Maya", "Nils", "Olga", "Pavel", "Quinn", "Rosa",
    "Samir", "Tove", "Uma", "Viktor", "Wren", "Yara", "Zeno",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Brennan", "Castillo", "Dunmore", "Eklund", "Fairbanks", "Gallagher",
    "Hartwell", "Ishikawa", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Nakamura",
    "Okafor", "Pellegrini", "Quintero", "Rasmussen", "Sorensen", "Thorne",
    "Underwood", "Valdez", "Whitcombe", "Yilmaz", "Zeller",
)  # fmt: skip
ORG_STEMS = (
    "Aurora", "Beacon", "Cobalt", "Delta", "Ember", "Fulcrum", "Granite", "Harbor",
    "Juniper", "Keystone", "Lumen", "Meridian", "Northwind", "Onyx", "Pinnacle",
    "Redwood", "Summit", "Tidewater", "Vantage", "Willow",
)  # fmt: skip
ORG_SUFFIXES = (
    "Capital", "Labs", "Holdings", "Foundation", "Partners", "Ventures", "Systems",
    "Group",
)  # fmt: skip
ORG_FORMS = (", Inc.", " LLC", " L.P.", "")

# Topics are "<head> <tail>", e.g. "nonprofit conversion", "board minutes".
TOPIC_HEADS = (
    "board", "nonprofit", "merger", "licensing", "founding", "charitable", "compute",
    "investor", "trademark", "employee", "safety", "equity", "donor", "partnership",
)  # fmt: skip
TOPIC_TAILS = (
    "governance", "agreement", "obligations", "documents", "emails", "funding",
    "restructuring", "pledge", "control", "valuation", "mission", "conversion",
    "disclosures", "minutes", "terms",
)  # fmt: skip
TOPICS = tuple(f"{head} {tail}" for head in TOPIC_HEADS for tail in TOPIC_TAILS)
TOPIC_SLUGS = tuple(topic.replace(" ", "-") for topic in TOPICS)

# Event kinds with their share of events, and title patterns: {a} an actor, {t} a topic.
EVENT_KINDS = {
    EventKind.BACKGROUND: (10, ("{a} announces {t}", "{a} signs {t}", "{a} revisits {t}")),
    EventKind.FILING: (14, ("{a} files complaint over {t}", "{a} files amended pleading on {t}", "{a} files answer on {t}")),
    EventKind.MOTION: (14, ("{a} moves to dismiss claims on {t}", "{a} moves to compel discovery of {t}", "{a} seeks injunction over {t}")),
    EventKind.HEARING: (10, ("Hearing on {t}", "Court hears argument on {t}", "Status conference on {t}")),
    EventKind.RULING: (10, ("Court rules on {t}", "Order granting motion on {t}", "Order denying motion on {t}")),
    EventKind.TRIAL_DAY: (5, ("Trial day: evidence on {t}", "Trial continues with {a} on {t}")),
    EventKind.TESTIMONY: (6, ("{a} testifies about {t}", "{a} deposed on {t}")),
    EventKind.VERDICT: (1, ("Jury verdict on {t}", "Verdict for {a} on {t}")),
    EventKind.SETTLEMENT: (3, ("Settlement talks on {t}", "{a} proposes settlement over {t}")),
    EventKind.STATEMENT: (8, ("{a} issues statement on {t}", "{a} comments publicly on {t}")),
    EventKind.NEWS: (19, ("Report: {a} and the {t}", "Press reports on {t}")),
}  # fmt: skip
KINDS = tuple(EVENT_KINDS)
KIND_CUM_WEIGHTS = tuple(itertools.accumulate(w for w, _ in EVENT_KINDS.values()))
KIND_TITLES = tuple(titles for _, titles in EVENT_KINDS.values())
KIND_INDEXES = range(len(KINDS))
COURT_KINDS = frozenset(
    {
        EventKind.FILING,
        EventKind.MOTION,
        EventKind.HEARING,
        EventKind.RULING,
        EventKind.TRIAL_DAY,
        EventKind.TESTIMONY,
        EventKind.VERDICT,
        EventKind.SETTLEMENT,
    }
)
TESTIMONY_EVENT_KINDS = (EventKind.TESTIMONY, EventKind.TRIAL_DAY, EventKind.HEARING)

SUMMARY_VERBS = (
    "dispute", "discuss", "negotiate over", "exchange letters about", "disagree on",
)  # fmt: skip
SUMMARY_CLOSERS = (
    "The filing cites earlier emails between the founders.",
    "Reporters describe the exchange as tense.",
    "The court record gives few details.",
    "Both sides later referred to it at trial.",
    "The timing is disputed.",
    "Counsel for both sides declined to comment.",
    "The board minutes were later produced in discovery.",
)
# Made-up words for a closing sentence of each summary, drawn by Zipf's law (the n-th
# most common word is used about 1/n as often), as words are in real text: a search
# benchmark then meets words in a third of the events, in a handful, and all between.
# The template words above recur in 0.3% to 100% of events, with nothing rarer.
VOCABULARY_SIZE = 20_000
ZIPF_EXPONENT = 1.07
DETAIL_WORDS = 4  # per summary
SYLLABLES = tuple(
    onset + vowel + coda
    for onset in ("b", "br", "c", "cl", "d", "dr", "f", "g", "gr", "h", "k", "l",
                  "m", "n", "p", "pr", "r", "s", "st", "t", "tr", "v", "w", "z")
    for vowel in ("a", "e", "i", "o", "u", "ai", "ea", "ou")
    for coda in ("", "n", "r", "l", "s", "m", "nd", "st", "rk", "x")
)  # fmt: skip


def vocabulary(size: int) -> tuple[str, ...]:
    """`size` distinct made-up words of two or three syllables, the same on every run."""
    rng = random.Random("casetracker synthetic vocabulary")
    words: dict[str, None] = {}
    while len(words) < size:
        syllables = rng.choices(SYLLABLES, k=rng.choice((2, 2, 3)))
        words.setdefault("".join(syllables), None)
    return tuple(words)


CONFIDENCE_NOTES = (
    "Sources disagree on the date.",
    "Only inferred from a later filing.",
    "Reported by one outlet, denied by the other side.",
)
APPROXIMATE_NOTES = (
    "Date estimated from press reports.",
    "Inferred from a later filing.",
    "Described only as 'around then' in testimony.",
)

CLAIM_TITLES = (
    "Breach of contract", "Breach of fiduciary duty", "Fraud", "Unjust enrichment",
    "Unfair competition", "Constructive fraud", "Breach of the implied covenant",
    "False advertising", "Negligent misrepresentation", "Breach of charitable trust",
    "Antitrust conspiracy", "Aiding and abetting breach of fiduciary duty",
    "Racketeering (RICO)", "Tortious interference", "Declaratory judgment",
)  # fmt: skip
# Plausible next steps of a claim's life; a status absent here ends the history.
CLAIM_NEXT = {
    ClaimStatus.PLEADED: (
        ClaimStatus.SURVIVED,
        ClaimStatus.DISMISSED_WITH_LEAVE,
        ClaimStatus.DISMISSED_WITHOUT_PREJUDICE,
        ClaimStatus.WITHDRAWN,
        ClaimStatus.AMENDED,
    ),
    ClaimStatus.AMENDED: (
        ClaimStatus.SURVIVED,
        ClaimStatus.DISMISSED_WITH_PREJUDICE,
        ClaimStatus.DISMISSED,
    ),
    ClaimStatus.DISMISSED_WITH_LEAVE: (ClaimStatus.AMENDED, ClaimStatus.WITHDRAWN),
    ClaimStatus.SURVIVED: (ClaimStatus.TRIED, ClaimStatus.SETTLED),
    ClaimStatus.TRIED: (ClaimStatus.VERDICT_FOR, ClaimStatus.VERDICT_AGAINST),
    ClaimStatus.VERDICT_FOR: (ClaimStatus.APPEALED,),
    ClaimStatus.VERDICT_AGAINST: (ClaimStatus.APPEALED,),
}

# Roles after the first two parties (a plaintiff and a defendant), with weights.
ROLE_WEIGHTS = {
    PartyRole.PLAINTIFF: 8,
    PartyRole.DEFENDANT: 12,
    PartyRole.COUNTER_CLAIMANT: 2,
    PartyRole.COUNTER_DEFENDANT: 2,
    PartyRole.WITNESS: 25,
    PartyRole.DEPONENT: 8,
    PartyRole.COUNSEL: 20,
    PartyRole.JUDGE: 3,
    PartyRole.MAGISTRATE_JUDGE: 2,
    PartyRole.DISCOVERY_TARGET: 6,
    PartyRole.NON_PARTY: 8,
    PartyRole.OTHER: 4,
}
PERSON_ONLY_ROLES = frozenset(
    {
        PartyRole.WITNESS,
        PartyRole.DEPONENT,
        PartyRole.COUNSEL,
        PartyRole.JUDGE,
        PartyRole.MAGISTRATE_JUDGE,
    }
)
ROLE_SIDE = {
    PartyRole.PLAINTIFF: Side.PLAINTIFFS,
    PartyRole.COUNTER_DEFENDANT: Side.PLAINTIFFS,
    PartyRole.DEFENDANT: Side.DEFENDANTS,
    PartyRole.COUNTER_CLAIMANT: Side.DEFENDANTS,
    PartyRole.JUDGE: Side.COURT,
    PartyRole.MAGISTRATE_JUDGE: Side.COURT,
}

# Proceedings: key, name, court, years after START it opened, years it lasted (or None).
PROCEEDINGS = (
    ("state", "State court action", "Superior Court, County of Harbor City", 2, 3),
    ("federal", "Federal action", "U.S. District Court, Northern District", 5, None),
    ("appeal", "Appeal", "U.S. Court of Appeals for the Twelfth Circuit", 10, None),
)

# Source kinds with weights, outlets and reliabilities to draw from.
SOURCE_KINDS = {
    SourceKind.COURT_FILING: (20, None, (Reliability.HIGH,)),
    SourceKind.COURT_ORDER: (12, None, (Reliability.HIGH,)),
    SourceKind.TRANSCRIPT: (8, None, (Reliability.HIGH,)),
    SourceKind.OFFICIAL_STATEMENT: (5, ("Company newsroom",), (Reliability.HIGH,)),
    SourceKind.NEWS: (
        30,
        ("The Daily Ledger", "Coastal Times", "Metro Tribune", "Wire Service Press"),
        (Reliability.HIGH, Reliability.HIGH, Reliability.MEDIUM),
    ),
    SourceKind.BLOG: (
        12,
        ("Docket Notes", "Law and Tech Review", "Founders' Watch"),
        (Reliability.MEDIUM, Reliability.LOW),
    ),
    SourceKind.DOCKET_TRACKER: (5, ("CourtWatch Dockets",), (Reliability.MEDIUM,)),
    SourceKind.REFERENCE: (3, ("Open Encyclopedia",), (Reliability.MEDIUM,)),
    SourceKind.OTHER: (5, ("Forum post", "AI summary site"), (Reliability.LOW,)),
}
SOURCE_KIND_LIST = tuple(SOURCE_KINDS)
SOURCE_CUM_WEIGHTS = tuple(itertools.accumulate(w for w, _, _ in SOURCE_KINDS.values()))
# Most events involve one or two parties and cite one or two sources.
ONE_TO_FOUR = (1, 2, 3, 4)
PARTIES_CUM_WEIGHTS = (35, 70, 90, 100)
CITES_CUM_WEIGHTS = (50, 85, 100)
PIN_CITES = ("", "", "p. {n}", "¶ {n}", "at {n}")

# Fields set on each generated event and excerpt, in the order the builders take them.
EVENT_FIELDS = (
    "case_id", "slug", "proceeding_id", "date", "date_precision", "date_approximate",
    "date_note", "end_date", "end_precision", "kind", "title", "summary", "is_key",
    "is_context", "confidence", "confidence_note",
)  # fmt: skip
TESTIMONY_FIELDS = (
    "case_id", "witness_id", "date", "date_precision", "kind", "form", "text",
    "context", "examined_by_id", "transcript_cite",
)  # fmt: skip

QUOTES = (
    "I never agreed to that structure.",
    "We discussed the mission at every board meeting.",
    "I don't recall the exact date.",
    "The money was given for a charitable purpose.",
    "That email speaks for itself.",
    "I was not in the room when it was decided.",
    "We believed the merger was in the company's interest.",
    "I had no reason to doubt the valuation.",
)
PARAPHRASES = (
    "The witness said the board was never told of the licensing terms.",
    "The witness described the founding pledge as a handshake agreement.",
    "The witness denied reading the investor emails at the time.",
    "The witness agreed the funding came with conditions.",
)


class Command(BaseCommand):
    help = (
        "Generate a large, deterministic synthetic case for load and performance "
        "tests: parties, proceedings, claims with status histories, sources, and N "
        "events with party and claim links, citations and some testimony. The same "
        "--seed gives the same data. An existing slug is refused unless --replace."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="Slug of the case to create, e.g. synth-1m.")
        parser.add_argument(
            "--events", type=int, required=True, help="Number of events (N >= 0)."
        )
        parser.add_argument(
            "--parties", type=int, default=40, help="Number of parties (>= 2)."
        )
        parser.add_argument(
            "--claims", type=int, default=30, help="Number of claims (>= 0)."
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed; same seed, same data."
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete the case with this slug (and its now unused parties) first.",
        )

    def handle(
        self,
        *args,
        slug: str,
        events: int,
        parties: int,
        claims: int,
        seed: int,
        replace: bool,
        **options,
    ) -> None:
        problems = []
        try:
            validate_slug(slug)
        except ValidationError:
            problems.append(f"{slug!r} is not a slug (letters, digits, - and _).")
        max_slug = Case._meta.get_field("slug").max_length
        if len(slug) > max_slug:
            problems.append(f"The slug is longer than {max_slug} characters.")
        if events < 0:
            problems.append(f"--events must be 0 or more, not {events}.")
        if parties < 2:
            problems.append(f"--parties must be 2 or more, not {parties}.")
        if claims < 0:
            problems.append(f"--claims must be 0 or more, not {claims}.")
        if problems:
            raise CommandError(" ".join(problems))

        existing = Case.objects.filter(slug=slug).first()
        if existing is not None and not replace:
            raise CommandError(
                f"A case with slug {slug!r} already exists; nothing was changed. "
                "Use --replace to delete it and generate it again."
            )
        progress = Progress(self.stderr if options["verbosity"] >= 1 else None)
        # With DEBUG on, Django keeps the SQL of the last 9,000 queries: at 5,000 rows a
        # statement that is gigabytes, and on SQLite it quotes every parameter again.
        with override_settings(DEBUG=False):
            self._generate(
                existing,
                progress,
                slug=slug,
                events=events,
                parties=parties,
                claims=claims,
                seed=seed,
            )

    def _generate(self, existing, progress, *, slug, events, parties, claims, seed):
        started = time.perf_counter()
        if existing is not None:
            deleted = case_delete(existing)
            self.stdout.write(
                f"Deleted case {slug!r}: {deleted_text(deleted)}"
                f" ({time.perf_counter() - started:.1f} s)."
            )
        generator = SyntheticCase(
            slug=slug, events=events, parties=parties, claims=claims, seed=seed
        )
        built = time.perf_counter()
        counts = generator.write(progress)
        elapsed = time.perf_counter() - built
        rate = events / elapsed if elapsed else 0.0
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated case {slug!r} (seed {seed}) in {elapsed:.1f} s"
            )
            + f": {rate:,.0f} events/s."
        )
        for name, number in counts.items():
            self.stdout.write(f"  {number:>12,} {name}")


class Progress:
    """A progress line on stderr: redrawn in place on a terminal, else a line a while."""

    def __init__(self, out) -> None:
        self.out = out
        self.tty = out is not None and out.isatty()
        self.every = 0.25 if self.tty else 10.0

    def run(self, label: str, total: int, batches: Iterable[int]) -> None:
        """Consume `batches` (each yields the number of rows it wrote), drawing progress."""
        start = last = time.perf_counter()
        done = drawn = 0
        for count in batches:
            done += count
            now = time.perf_counter()
            if self.out is not None and now - last >= self.every:
                self._draw(label, done, total, now - start)
                last, drawn = now, done
        if self.out is not None:
            if drawn != done or not done:
                self._draw(label, done, total, time.perf_counter() - start)
            if self.tty:
                self.out.write("", style_func=str, ending="\n")

    def _draw(self, label: str, done: int, total: int, seconds: float) -> None:
        rate = done / seconds if seconds else 0.0
        text = f"{label} {done:,}/{total:,} ({rate:,.0f}/s)"
        if self.tty:
            self.out.write(f"\r{text}\x1b[K", style_func=str, ending="")
        else:
            self.out.write(text, style_func=str, ending="\n")
        self.out.flush()


def analyze() -> None:
    """PostgreSQL: refresh the planner's statistics of the tables being filled.

    Autovacuum lags behind a bulk load. Planning with the statistics of an empty
    table, the search index's refresh joined a growing table by sequential scans and
    a million-event build stalled at a third. Called after batches 1, 2, 4, 8, ...,
    so the statistics are never off by more than a factor of two, and at the end.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (
            Event,
            Event.parties.through,
            Event.claims.through,
            EventFacet,
            Citation,
            Testimony,
            Source,
        ):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
        cursor.execute(f"ANALYZE {search.SEARCH_TABLE}")


def chunks(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def link_columns(model: type[models.Model], name: str):
    """The auto-created through model of `model.name` and its two column names."""
    field = model._meta.get_field(name)
    return field.remote_field.through, field.m2m_column_name(), field.m2m_reverse_name()


def insert_sql(model: type[models.Model], *names: str) -> str:
    """INSERT INTO the model's table (...) VALUES, for rows in `names` order.

    `names` are field names or column names.
    """
    quote = connection.ops.quote_name
    by_name = {}
    for field in model._meta.concrete_fields:
        by_name[field.name] = by_name[field.column] = field.column
    columns = [by_name[name] for name in names]
    return (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(column) for column in columns)}) VALUES "
    )


def instance_maker(model: type[models.Model], *attnames: str):
    """A fast constructor: make(*values) with values in `attnames` order.

    It calls the model with positional arguments, Model.__init__'s fast path (the
    one from_db uses), which costs about half of keyword arguments; fields not named
    get their defaults. At millions of rows that half matters.
    """
    fields = model._meta.concrete_fields
    position = {field.attname: index for index, field in enumerate(fields)}
    template = [field.get_default() for field in fields]
    targets = [position[name] for name in attnames]

    def make(*values):
        row = template.copy()
        for index, value in zip(targets, values, strict=True):
            row[index] = value
        return model(*row)

    return make


def fuzzy(rng: random.Random, day: dt.date) -> tuple[dt.date, str]:
    """The date at a random precision: ~80% day, 15% month (the 1st), 5% year (1 Jan)."""
    roll = rng.random()
    if roll < 0.80:
        return day, DatePrecision.DAY
    if roll < 0.95:
        return day.replace(day=1), DatePrecision.MONTH
    return day.replace(month=1, day=1), DatePrecision.YEAR


def span_end(rng: random.Random, date: dt.date, precision: str) -> tuple[dt.date, str]:
    """An end date after `date`, at the same precision."""
    if precision == DatePrecision.DAY:
        return date + dt.timedelta(days=rng.randint(1, 20)), precision
    if precision == DatePrecision.MONTH:
        later = date + dt.timedelta(days=rng.randint(32, 90))
        return later.replace(day=1), precision
    return date.replace(year=date.year + 1), precision


def confidence(rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.75:
        return Confidence.CONFIRMED, ""
    if roll < 0.95:
        return Confidence.SINGLE_SOURCE, ""
    return Confidence.UNCERTAIN, rng.choice(CONFIDENCE_NOTES)


def slugish(text: str) -> str:
    """A slug of ASCII text (the word lists are ASCII; slugify() is slower)."""
    return "-".join(word for word in re.split(r"[^a-z0-9]+", text.lower()) if word)


def slug_prefix(slug: str, room: int) -> str:
    """The case slug, or a shortened one with a hash, so party slugs stay unique."""
    if len(slug) <= room:
        return slug
    digest = hashlib.sha1(slug.encode()).hexdigest()[:8]
    return f"{slug[: room - 9]}-{digest}"


class SyntheticCase:
    """Builds and writes one synthetic case; `write()` does the work."""

    def __init__(
        self, *, slug: str, events: int, parties: int, claims: int, seed: int
    ) -> None:
        self.slug = slug
        self.n_events = events
        self.n_parties = parties
        self.n_claims = claims
        self.n_sources = max(1, events // 10) if events else 0
        self.seed = seed
        self.rng = random.Random(seed)
        # A stream of its own for the summaries' detail words, so that adding them
        # left every other value a seed gives as it was.
        self.text_rng = random.Random(f"{seed}:text")
        self.vocabulary = vocabulary(VOCABULARY_SIZE)
        self.vocabulary_weights = tuple(
            itertools.accumulate(
                1 / rank**ZIPF_EXPONENT for rank in range(1, VOCABULARY_SIZE + 1)
            )
        )
        self.counts: Counter = Counter()

    def write(self, progress: Progress) -> dict[str, int]:
        with transaction.atomic():
            self._write_case()
            self._write_parties()
            self._write_proceedings()
            self._write_roles()
            self._write_claims()
        progress.run("sources", self.n_sources, self._write_sources())
        progress.run("events", self.n_events, self._write_events())
        return dict(self.counts)

    def _create(self, name: str, objs: list) -> list:
        """bulk_create in batches the backend can take; primary keys are set on return."""
        if objs:
            objs = objs[0].__class__._base_manager.bulk_create(
                objs, batch_size=BATCH_SIZE
            )
            self.counts[name] += len(objs)
        return objs

    # The small tables: case, parties, proceedings, roles, claims.

    def _write_case(self) -> None:
        self.case = Case.objects.create(
            title=f"Synthetic case {self.slug}",
            short_name=f"Synthetic {self.slug}"[:80],
            slug=self.slug,
            summary=(
                f"Generated test data (seed {self.seed}): {self.n_events:,} events, "
                f"{self.n_parties:,} parties, {self.n_claims:,} claims. Not a real case."
            ),
            status=CaseStatus.PENDING,
        )
        self.counts["cases"] += 1

    def _write_parties(self) -> None:
        rng = self.rng
        prefix = slug_prefix(self.slug, 50)
        rows = []  # (slug, name, kind)
        for index in range(self.n_parties):
            is_person = index == 0 or (index != 1 and rng.random() < 0.65)
            if is_person:
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                kind = PartyKind.PERSON
            else:
                name = (
                    f"{rng.choice(ORG_STEMS)} {rng.choice(ORG_SUFFIXES)}"
                    f"{rng.choice(ORG_FORMS)}"
                )
                kind = PartyKind.ORGANIZATION
            rows.append((f"{prefix}-p{index:05d}-{slugish(name)}"[:80], name, kind))
        # A party left over from an earlier run (kept because another case uses it)
        # has the same slug and data: reuse it.
        self.party_ids = []
        for batch in chunks(rows, BATCH_SIZE):
            slugs = [slug for slug, _, _ in batch]
            found = dict(Party.objects.filter(slug__in=slugs).values_list("slug", "id"))
            new = self._create(
                "parties",
                [
                    Party(
                        slug=slug,
                        name=name,
                        kind=kind,
                        description=f"Synthetic {kind.label.lower()}.",
                    )
                    for slug, name, kind in batch
                    if slug not in found
                ],
            )
            created = {party.slug: party.pk for party in new}
            self.party_ids += [found.get(slug) or created[slug] for slug in slugs]
        self.party_names = [name for _, name, _ in rows]
        self.party_kinds = [kind for _, _, kind in rows]

    def _write_proceedings(self) -> None:
        rng = self.rng
        count = rng.choice((2, 3))
        names = self.party_names
        self.proceedings = []  # (id, opened_on)
        objs = []
        for key, name, court, opened_after, lasted in PROCEEDINGS[:count]:
            opened = START + dt.timedelta(days=365 * opened_after + rng.randint(0, 200))
            closed = (
                opened + dt.timedelta(days=365 * lasted + rng.randint(0, 100))
                if lasted
                else None
            )
            objs.append(
                Proceeding(
                    case=self.case,
                    key=key,
                    name=name,
                    caption=f"{names[0]} v. {names[1]}",
                    court=court,
                    docket_number=f"{opened.year % 100}-cv-{rng.randint(100, 99999):05d}",
                    opened_on=opened,
                    closed_on=closed,
                    outcome="Dismissed." if closed else "",
                )
            )
        self.proceedings = [
            (p.pk, p.opened_on) for p in self._create("proceedings", objs)
        ]
        self.court_names = [court for _, _, court, _, _ in PROCEEDINGS[:count]]

    def _proceeding_on(self, day: dt.date) -> int | None:
        """The latest proceeding opened by `day`, if any."""
        found = None
        for pk, opened in self.proceedings:
            if opened <= day:
                found = pk
        return found

    def _write_roles(self) -> None:
        rng = self.rng
        roles, weights = zip(*ROLE_WEIGHTS.items(), strict=True)
        cum_weights = tuple(itertools.accumulate(weights))
        self.roles = []
        objs = []
        for index, party_id in enumerate(self.party_ids):
            if index < 2:
                role = (PartyRole.PLAINTIFF, PartyRole.DEFENDANT)[index]
            else:
                role = rng.choices(roles, cum_weights=cum_weights)[0]
                if (
                    role in PERSON_ONLY_ROLES
                    and self.party_kinds[index] != PartyKind.PERSON
                ):
                    role = PartyRole.DISCOVERY_TARGET
            side = ROLE_SIDE.get(role) or rng.choice(
                (Side.PLAINTIFFS, Side.DEFENDANTS, Side.NEUTRAL)
            )
            level, note = confidence(rng)
            proceeding = rng.choice([None] + [pk for pk, _ in self.proceedings])
            started = START + dt.timedelta(days=rng.randint(0, SPAN_DAYS // 2))
            ended = (
                started + dt.timedelta(days=rng.randint(30, 2000))
                if rng.random() < 0.15
                else None
            )
            self.roles.append(role)
            objs.append(
                CaseParty(
                    case=self.case,
                    party_id=party_id,
                    role=role,
                    side=side,
                    proceeding_id=proceeding,
                    started_on=started,
                    ended_on=ended,
                    confidence=level,
                    confidence_note=note,
                )
            )
        self._create("party roles", objs)
        judges = [
            pk
            for pk, role in zip(self.party_ids, self.roles, strict=True)
            if role == PartyRole.JUDGE
        ]
        if judges:
            for index, (pk, _) in enumerate(self.proceedings):
                Proceeding.objects.filter(pk=pk).update(
                    judge=judges[index % len(judges)]
                )
        # Events favour the first parties, as real timelines favour the main actors.
        self.party_indexes = range(len(self.party_ids))
        self.party_cum_weights = tuple(
            itertools.accumulate(1 / (rank + 1) for rank in range(len(self.party_ids)))
        )
        self.witness_indexes = [
            index
            for index, role in enumerate(self.roles)
            if self.party_kinds[index] == PartyKind.PERSON
            and role
            not in (PartyRole.COUNSEL, PartyRole.JUDGE, PartyRole.MAGISTRATE_JUDGE)
        ] or list(range(len(self.party_ids)))
        self.counsel_ids = [
            pk
            for pk, role in zip(self.party_ids, self.roles, strict=True)
            if role == PartyRole.COUNSEL
        ]

    def _write_claims(self) -> None:
        rng = self.rng
        plaintiffs = [
            pk
            for pk, role in zip(self.party_ids, self.roles, strict=True)
            if ROLE_SIDE.get(role) == Side.PLAINTIFFS
        ]
        defendants = [
            pk
            for pk, role in zip(self.party_ids, self.roles, strict=True)
            if ROLE_SIDE.get(role) == Side.DEFENDANTS
        ]
        pleading = self.proceedings[:2]
        count_numbers = Counter()
        objs, steps = [], []
        for index in range(self.n_claims):
            proceeding, opened = rng.choice(pleading)
            count_numbers[proceeding] += 1
            title = rng.choice(CLAIM_TITLES)
            level, note = confidence(rng)
            objs.append(
                Claim(
                    case=self.case,
                    proceeding_id=proceeding,
                    slug=f"c-{index + 1:04d}-{slugish(title)}"[:100],
                    title=title,
                    count_label=f"Count {count_numbers[proceeding]}",
                    description=f"Alleges {rng.choice(TOPICS)} was misused.",
                    confidence=level,
                    confidence_note=note,
                )
            )
            history = []
            status = ClaimStatus.PLEADED
            day = opened + dt.timedelta(days=rng.randint(0, 30))
            for _ in range(rng.randint(1, 4)):
                date, precision = (
                    (day, DatePrecision.DAY)
                    if rng.random() < 0.85
                    else (day.replace(day=1), DatePrecision.MONTH)
                )
                history.append((status, date, precision))
                if status not in CLAIM_NEXT:
                    break
                status = rng.choice(CLAIM_NEXT[status])
                day += dt.timedelta(days=rng.randint(30, 400))
            steps.append(history)
        claims = self._create("claims", objs)
        self.claim_ids = [claim.pk for claim in claims]

        changes, asserted, against = [], [], []
        for claim, history in zip(claims, steps, strict=True):
            for status, date, precision in history:
                changes.append(
                    ClaimStatusChange(
                        claim_id=claim.pk,
                        status=status,
                        date=date,
                        date_precision=precision,
                        note=f"Synthetic step: {status.label.lower()}.",
                    )
                )
            for pk in dict.fromkeys(rng.choices(plaintiffs, k=rng.randint(1, 2))):
                asserted.append((claim.pk, pk))
            for pk in dict.fromkeys(rng.choices(defendants, k=rng.randint(1, 3))):
                against.append((claim.pk, pk))
        self._create("claim status changes", changes)
        for name, pairs in (("asserted_by", asserted), ("against", against)):
            self._insert(
                "claim party links", insert_sql(*link_columns(Claim, name)), pairs
            )

    # The big tables, written batch by batch.

    def _write_sources(self) -> Iterator[int]:
        """Sources in date order (so events can cite ones near their own date)."""
        rng = self.rng
        total = self.n_sources
        self.source_ids = []
        for first in range(0, total, BATCH_SIZE):
            objs = []
            for index in range(first, min(first + BATCH_SIZE, total)):
                kind = rng.choices(SOURCE_KIND_LIST, cum_weights=SOURCE_CUM_WEIGHTS)[0]
                _, outlets, reliabilities = SOURCE_KINDS[kind]
                outlet = rng.choice(outlets or self.court_names)
                day = START + dt.timedelta(days=index * SPAN_DAYS // total)
                published, precision = (
                    (day, DatePrecision.DAY)
                    if rng.random() < 0.95
                    else (day.replace(day=1), DatePrecision.MONTH)
                )
                topic = rng.randrange(len(TOPICS))
                domain = "".join(c for c in outlet.lower() if c.isalnum())
                objs.append(
                    Source(
                        case=self.case,
                        key=f"S{index + 1:06d}",
                        kind=kind,
                        outlet=outlet,
                        headline=f"{rng.choice(self.party_names)} and the {TOPICS[topic]}",
                        url=(
                            f"https://{domain}.example.org/{published:%Y/%m}/"
                            f"{TOPIC_SLUGS[topic]}-{index + 1}"
                        ),
                        published_on=published,
                        published_precision=precision,
                        reliability=rng.choice(reliabilities),
                    )
                )
            with transaction.atomic(), revisions.deferred_bump([self.case.pk]):
                self.source_ids += [
                    source.pk for source in self._create("sources", objs)
                ]
            yield len(objs)

    def _write_events(self) -> Iterator[int]:
        """Events in batches; each batch and its links in one transaction.

        Events and testimony go through bulk_create. The three link tables (event
        parties, event claims, event citations) hold four of every five rows and are
        inserted as plain tuples in multi-row INSERTs: the profile showed bulk_create's
        per-value preparation taking three quarters of the run, and these rows have
        nothing for it to prepare (integers and a short text, no timestamps). That
        doubled the rate on SQLite (2,000 to 4,000 events/s).
        """
        total = self.n_events
        self.slug_width = max(6, len(str(total)))
        self.make_event = instance_maker(Event, *EVENT_FIELDS)
        self.make_testimony = instance_maker(Testimony, *TESTIMONY_FIELDS)
        party_links = insert_sql(*link_columns(Event, "parties"))
        claim_links = insert_sql(*link_columns(Event, "claims"))
        citations = insert_sql(Citation, "event", "source", "pin_cite")
        for first in range(0, total, BATCH_SIZE):
            drafts = [
                self._event_draft(index)
                for index in range(first, min(first + BATCH_SIZE, total))
            ]
            # The search index is written once per event, after its links: the
            # triggers would rewrite an event's entry again for each citation. The
            # case's revision moves once per batch, not once per row and link.
            with (
                transaction.atomic(),
                search.deferred_sync(),
                revisions.deferred_bump([self.case.pk]),
            ):
                events = self._create("events", [draft[0] for draft in drafts])
                party_rows, claim_rows, citation_rows, testimony = [], [], [], []
                for event, (_, parties, claims, cites, excerpt) in zip(
                    events, drafts, strict=True
                ):
                    pk = event.pk
                    party_rows += [(pk, party) for party in parties]
                    claim_rows += [(pk, claim) for claim in claims]
                    citation_rows += [(pk, source, pin) for source, pin in cites]
                    if excerpt is not None:
                        excerpt.event_id = pk
                        testimony.append(excerpt)
                self._insert("event party links", party_links, party_rows)
                self._insert("event claim links", claim_links, claim_rows)
                self._insert("citations", citations, citation_rows)
                self._create("testimony", testimony)
                ids = [event.pk for event in events]
                search.reindex_events(
                    Event.objects.filter(pk__range=(min(ids), max(ids)))
                )
            batches = first // BATCH_SIZE + 1
            if batches & (batches - 1) == 0 or first + BATCH_SIZE >= total:
                analyze()
            yield len(drafts)

    def _insert(self, name: str, sql: str, rows: list[tuple]) -> None:
        """INSERT the rows, up to BATCH_SIZE per statement (multi-row VALUES)."""
        if not rows:
            return
        placeholder = f"({', '.join(['%s'] * len(rows[0]))})"
        with connection.cursor() as cursor:
            for first in range(0, len(rows), BATCH_SIZE):
                batch = rows[first : first + BATCH_SIZE]
                cursor.execute(
                    sql + ", ".join([placeholder] * len(batch)),
                    [value for row in batch for value in row],
                )
        self.counts[name] += len(rows)

    def _event_draft(self, index: int) -> tuple:
        """One unsaved event, its party and claim ids, citations and testimony."""
        rng = self.rng
        day = START + dt.timedelta(
            days=int((index + rng.random()) * SPAN_DAYS / self.n_events)
        )
        date, precision = fuzzy(rng, day)
        end_date, end_precision = None, DatePrecision.DAY
        if rng.random() < 0.03:
            end_date, end_precision = span_end(rng, date, precision)

        witness = None
        if rng.random() < 0.05:
            witness = rng.choice(self.witness_indexes)
            kind_index = KINDS.index(rng.choice(TESTIMONY_EVENT_KINDS))
        else:
            kind_index = rng.choices(KIND_INDEXES, cum_weights=KIND_CUM_WEIGHTS)[0]
        kind = KINDS[kind_index]
        people = rng.choices(
            self.party_indexes,
            cum_weights=self.party_cum_weights,
            k=rng.choices(ONE_TO_FOUR, cum_weights=PARTIES_CUM_WEIGHTS)[0],
        )
        if witness is not None:
            people[-1] = witness
        people = list(dict.fromkeys(people))

        names = self.party_names
        topic = rng.randrange(len(TOPICS))
        actor = names[people[0]]
        other = names[people[-1]] if len(people) > 1 else "the court"
        approximate = rng.random() < 0.05
        level, note = confidence(rng)
        event = self.make_event(
            self.case.pk,
            f"e-{index + 1:0{self.slug_width}d}-{TOPIC_SLUGS[topic]}",
            self._proceeding_on(date) if kind in COURT_KINDS else None,
            date,
            precision,
            approximate,
            rng.choice(APPROXIMATE_NOTES) if approximate else "",
            end_date,
            end_precision,
            kind,
            rng.choice(KIND_TITLES[kind_index]).format(a=actor, t=TOPICS[topic]),
            f"{actor} and {other} {rng.choice(SUMMARY_VERBS)} the {TOPICS[topic]}. "
            + rng.choice(SUMMARY_CLOSERS)
            + self._details(),
            rng.random() < 0.05,
            kind == EventKind.BACKGROUND and rng.random() < 0.1,
            level,
            note,
        )

        claims = []
        roll = rng.random()
        if self.claim_ids and roll >= 0.5:
            claims = list(
                dict.fromkeys(rng.choices(self.claim_ids, k=1 if roll < 0.85 else 2))
            )
        # Cite sources published around the event's date.
        sources = self.source_ids
        near = index * len(sources) // self.n_events
        low, high = max(0, near - 20), min(len(sources) - 1, near + 5)
        cites = [
            (sources[s], rng.choice(PIN_CITES).format(n=rng.randint(1, 300)))
            for s in sorted(
                {
                    rng.randint(low, high)
                    for _ in range(
                        rng.choices(ONE_TO_FOUR[:3], cum_weights=CITES_CUM_WEIGHTS)[0]
                    )
                }
            )
        ]
        excerpt = None
        if witness is not None:
            excerpt = self._testimony(witness, date, precision, kind, topic)
        return event, [self.party_ids[p] for p in people], claims, cites, excerpt

    def _details(self) -> str:
        """A sentence of Zipf-distributed words."""
        first, second, third, fourth = self.text_rng.choices(
            self.vocabulary, cum_weights=self.vocabulary_weights, k=DETAIL_WORDS
        )
        return f" Notes mention the {first} {second}, {third} and {fourth}."

    def _testimony(
        self, witness: int, date: dt.date, precision: str, kind: str, topic: int
    ) -> Testimony:
        rng = self.rng
        quote = rng.random() < 0.6
        if kind == EventKind.HEARING:
            where = TestimonyKind.HEARING
        elif kind == EventKind.TESTIMONY and rng.random() < 0.3:
            where = TestimonyKind.DEPOSITION
        else:
            where = TestimonyKind.TRIAL
        counsel = self.counsel_ids
        return self.make_testimony(
            self.case.pk,
            self.party_ids[witness],
            date,
            precision,
            where,
            TestimonyForm.QUOTE if quote else TestimonyForm.PARAPHRASE,
            rng.choice(QUOTES if quote else PARAPHRASES),
            f"Asked about the {TOPICS[topic]}.",
            rng.choice(counsel) if counsel and rng.random() < 0.7 else None,
            f"{rng.randint(1, 900)}:{rng.randint(1, 25)}",
        )
