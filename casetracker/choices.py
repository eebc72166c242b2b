"""Fixed vocabularies. Stored values are stable (data files and CSVs use them);
labels are what readers and editors see."""

from django.db import models


class CaseStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    TRIAL = "trial", "At trial"
    DECIDED = "decided", "Decided"
    ON_APPEAL = "on_appeal", "On appeal"
    SETTLED = "settled", "Settled"
    CLOSED = "closed", "Closed"


class DatePrecision(models.TextChoices):
    DAY = "day", "Exact day"
    MONTH = "month", "Month"
    YEAR = "year", "Year"


class Confidence(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    SINGLE_SOURCE = "single_source", "Single source"
    UNCERTAIN = "uncertain", "Uncertain"


class Reliability(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class PartyKind(models.TextChoices):
    PERSON = "person", "Person"
    ORGANIZATION = "organization", "Organization"


class PartyRole(models.TextChoices):
    PLAINTIFF = "plaintiff", "Plaintiff"
    DEFENDANT = "defendant", "Defendant"
    COUNTER_CLAIMANT = "counter_claimant", "Counter-claimant"
    COUNTER_DEFENDANT = "counter_defendant", "Counter-defendant"
    WITNESS = "witness", "Witness"
    DEPONENT = "deponent", "Deponent"
    COUNSEL = "counsel", "Counsel"
    JUDGE = "judge", "Judge"
    MAGISTRATE_JUDGE = "magistrate_judge", "Magistrate judge"
    DISCOVERY_TARGET = "discovery_target", "Discovery target"
    NON_PARTY = "non_party", "Non-party"
    OTHER = "other", "Other"


class Side(models.TextChoices):
    PLAINTIFFS = "plaintiffs", "Plaintiffs' side"
    DEFENDANTS = "defendants", "Defendants' side"
    COURT = "court", "The court"
    NEUTRAL = "neutral", "Neutral / none"


class ClaimStatus(models.TextChoices):
    PLEADED = "pleaded", "Pleaded"
    AMENDED = "amended", "Re-pleaded (amended)"
    SURVIVED = "survived", "Survived a motion"
    DISMISSED_WITH_LEAVE = "dismissed_with_leave", "Dismissed with leave to amend"
    DISMISSED_WITHOUT_PREJUDICE = (
        "dismissed_without_prejudice",
        "Dismissed without prejudice",
    )
    DISMISSED_WITH_PREJUDICE = "dismissed_with_prejudice", "Dismissed with prejudice"
    DISMISSED = "dismissed", "Dismissed"
    WITHDRAWN = "withdrawn", "Withdrawn by the claimant"
    TRIED = "tried", "Tried"
    VERDICT_FOR = "verdict_for", "Verdict for the claimant"
    VERDICT_AGAINST = "verdict_against", "Verdict against the claimant"
    SETTLED = "settled", "Settled"
    APPEALED = "appealed", "On appeal"


class EventKind(models.TextChoices):
    BACKGROUND = "background", "Background"
    FILING = "filing", "Filing"
    MOTION = "motion", "Motion"
    HEARING = "hearing", "Hearing"
    RULING = "ruling", "Ruling"
    TRIAL_DAY = "trial_day", "Trial day"
    TESTIMONY = "testimony", "Testimony"
    VERDICT = "verdict", "Verdict"
    SETTLEMENT = "settlement", "Settlement talks"
    STATEMENT = "statement", "Public statement"
    NEWS = "news", "News"


class TestimonyKind(models.TextChoices):
    TRIAL = "trial", "Trial testimony"
    DEPOSITION = "deposition", "Deposition"
    HEARING = "hearing", "Hearing"
    BENCH = "bench", "From the bench"


class TestimonyForm(models.TextChoices):
    QUOTE = "quote", "Quotation"
    PARAPHRASE = "paraphrase", "Paraphrase"


class Examination(models.TextChoices):
    DIRECT = "direct", "Direct examination"
    CROSS = "cross", "Cross-examination"
    REDIRECT = "redirect", "Redirect"
    COURT = "court", "Questions from the court"


class SourceKind(models.TextChoices):
    COURT_FILING = "court_filing", "Court filing"
    COURT_ORDER = "court_order", "Court order"
    TRANSCRIPT = "transcript", "Transcript"
    OFFICIAL_STATEMENT = "official_statement", "Official statement"
    NEWS = "news", "News article"
    BLOG = "blog", "Blog or commentary"
    DOCKET_TRACKER = "docket_tracker", "Docket tracker"
    REFERENCE = "reference", "Reference work"
    OTHER = "other", "Other"


# Kinds that count as press coverage (the coverage page, the coverage counts).
COVERAGE_KINDS = (SourceKind.NEWS, SourceKind.BLOG)
