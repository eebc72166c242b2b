"""The audit history of case data: who changed what, and when (django-simple-history).

Every save or delete of a row of case data through the ORM, in the admin or in code,
writes a full copy of the row to its `Historical<Model>` table, with the time, the kind
of change (created, changed, deleted) and the user: the admin sets it, and
`simple_history.middleware.HistoryRequestMiddleware` supplies it for inlines and links
saved in the same request. A write from a command has no user. Each audited model's
history is `<model>.audit_history` (a row's: `event.audit_history.all()`). Many-to-many links that
are facts of the case (an event's parties and claims, a claim's asserted_by ...) are
copied with each row, and adding or removing one writes a row of its own, so changing an
event's parties is recorded too. A model's citations are rows of `Citation`, which has
its own history.

Not recorded: writes that skip the ORM's per-row signals, that is bulk_create, update()
and raw SQL. Those are the data loader's and importer's link tables, the synthetic case
generator and `restore_case`; a row they create has no history until its first edit.

The admin shows each row's history, with the fields each change altered, and reverts a
row to any earlier version (casetracker/admin.py, HistoryAdmin). The history tables are
not case data: pages never read them, backups leave them out (backups.AUDIT_TRAIL), and
they have no permissions of their own: seeing a row's history needs the view permission
on the row, reverting it the change permission.

Models are registered here rather than by a `history = HistoricalRecords()` line in each
class, so that what is audited, and how, is read in one place.
"""

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_delete
from simple_history import register
from simple_history.models import HistoricalChanges, HistoricalRecords

from .cases import Case, Proceeding
from .claims import Claim, ClaimStatusChange
from .events import Event
from .parties import CaseParty, Party
from .sources import Citation, NewsCoverage, Source
from .testimony import Testimony

# Each audited model, with the many-to-many fields whose links are copied with its rows.
# Fields through Citation (the `sources` of events, claims, ...) are left out: each
# citation has its own history.
AUDITED: dict[type[models.Model], tuple[str, ...]] = {
    Case: (),
    Proceeding: ("sources",),
    Party: ("sources",),
    CaseParty: ("represents", "sources"),
    Claim: ("asserted_by", "against"),
    ClaimStatusChange: (),
    Event: ("parties", "claims"),
    Testimony: ("claims",),
    Source: ("parties",),
    Citation: (),
}
# Proxy models whose saves and deletes go into their concrete model's history.
PROXIES: tuple[type[models.Model], ...] = (NewsCoverage,)
# The manager of each audited model's history: `event.audit_history.all()`, newest
# first. Not simple-history's default "history", which is a claim's status history.
MANAGER = "audit_history"


class CaseDataHistory(HistoricalRecords):
    """simple-history's records, with no permissions of their own on the history tables."""

    registered: dict[type[models.Model], "CaseDataHistory"] = {}

    def finalize(self, sender, **kwargs):
        if sender is self.cls and hasattr(sender, self.manager_name):
            # simple-history would silently replace the field or relation.
            raise ImproperlyConfigured(
                f"{sender.__name__}.{self.manager_name} exists: choose another name "
                "for its history manager."
            )
        super().finalize(sender, **kwargs)
        if sender is self.cls:
            self.registered[sender] = self

    def get_meta_options(self, model):
        return {**super().get_meta_options(model), "default_permissions": ()}

    def get_meta_options_m2m(self, through_model):
        return {
            **super().get_meta_options_m2m(through_model),
            "default_permissions": (),
        }


def _share_history(proxy: type[models.Model]) -> None:
    """Record a proxy's saves and deletes in its concrete model's history.

    Django sends the model signals with the proxy as sender, and simple-history listens
    to the concrete model only (its issue #544).
    """
    records = CaseDataHistory.registered[proxy._meta.concrete_model]
    post_save.connect(records.post_save, sender=proxy, weak=False)
    pre_delete.connect(records.pre_delete, sender=proxy, weak=False)
    post_delete.connect(records.post_delete, sender=proxy, weak=False)
    proxy._meta.simple_history_manager_attribute = records.manager_name


for _model, _m2m_fields in AUDITED.items():
    # app: the history models go into casetracker.models (importable by `shell`).
    register(
        _model,
        app="casetracker",
        manager_name=MANAGER,
        records_class=CaseDataHistory,
        m2m_fields=list(_m2m_fields),
    )
for _proxy in PROXIES:
    _share_history(_proxy)


def history_models() -> tuple[type[models.Model], ...]:
    """Every history table's model: one per audited model and one per copied link."""
    from django.apps import apps

    return tuple(
        model
        for model in apps.get_app_config("casetracker").get_models()
        if issubclass(model, HistoricalChanges)
    )
