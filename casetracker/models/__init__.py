from .cases import Case, CaseRevision, Proceeding
from .claims import Claim, ClaimStatusChange
from .events import CaseMonth, Event, EventFacet
from .parties import CaseParty, Party
from .search import EventSearch
from .sources import Citation, NewsCoverage, Source
from .testimony import Testimony

# Last: registers the audit history of the models above.
from . import history  # noqa: F401  isort: skip

__all__ = [
    "Case",
    "CaseMonth",
    "CaseRevision",
    "CaseParty",
    "Citation",
    "Claim",
    "ClaimStatusChange",
    "Event",
    "EventFacet",
    "EventSearch",
    "NewsCoverage",
    "Party",
    "Proceeding",
    "Source",
    "Testimony",
]
