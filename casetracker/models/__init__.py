from .cases import Case, Proceeding
from .claims import Claim, ClaimStatusChange
from .events import Event
from .parties import CaseParty, Party
from .sources import Citation, NewsCoverage, Source
from .testimony import Testimony

__all__ = [
    "Case",
    "CaseParty",
    "Citation",
    "Claim",
    "ClaimStatusChange",
    "Event",
    "NewsCoverage",
    "Party",
    "Proceeding",
    "Source",
    "Testimony",
]
