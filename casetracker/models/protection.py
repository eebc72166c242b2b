"""Deleting a party, claim or source that anything still refers to is refused.

PROTECT guards foreign keys, but a many-to-many link (an event's parties or claims, a
claim's asserted_by/against, a counsel role's represents, a source's parties, a
proceeding's sources ...) is silently removed when the row it points at is deleted,
and the timeline loses a fact without anyone deciding it. So for the models that mix
in ProtectReferencedMixin, every relation pointing at them counts:

- reverse many-to-many relations (through models included: an event citing a source);
- reverse foreign keys, except CASCADE ones, which are the row's own parts (a claim's
  status history and citations go with the claim), and the rows the database keeps
  of it (DB_CASCADE, or DO_NOTHING on a table its triggers keep: a case's revision
  and counts by month).

Deletion is refused with a ProtectedError whose message names what still refers to the
row ("Party “Sam Altman” is still referred to by 12 events (first: ...), 3 claims
(first: ...)"). The check runs before Django's own collector on all ordinary paths:
Model.delete, QuerySet.delete of the default manager (the admin's bulk action, related
managers, the shell). A pre_delete receiver is the backstop for the rest (a base
manager's or a custom plain manager's delete); it raises inside the collector's
transaction, which is rolled back whole. The admin asks first, through `referrals()`,
and shows its standard "protected related objects" page.
"""

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache

from django.db import models
from django.db.models import ProtectedError
from django.db.models.signals import pre_delete

FIRST_SHOWN = 10  # referring rows listed per kind (the count covers all)
TARGETS_SHOWN = 5  # rows named in the message of a refused bulk delete
CHUNK = 500  # ids per IN (...) list

# Set while a guarded delete runs, so the pre_delete backstop does not check again.
_checked: ContextVar[bool] = ContextVar("casetracker_delete_checked", default=False)


@dataclass(frozen=True)
class Relation:
    """The rows of `model` that refer to a target through any of `lookups`."""

    model: type[models.Model]
    lookups: tuple[str, ...]

    def referring(self, target: models.Model) -> models.QuerySet:
        condition = models.Q()
        for lookup in self.lookups:
            condition |= models.Q(**{lookup: target.pk})
        rows = self.model._default_manager.filter(condition)
        # A row can refer through two lookups (a claim asserted by and against the
        # same party); through one, it is there once, and DISTINCT over a big
        # case's million events took most of a second to count them.
        return rows.distinct() if len(self.lookups) > 1 else rows


@dataclass
class Referral:
    """`count` rows of one model still refer to `target`; `first` are the first few."""

    target: models.Model
    model: type[models.Model]
    count: int
    first: list[models.Model]

    @property
    def noun(self) -> str:
        return noun(self.model, self.count)


def noun(model: type[models.Model], count: int) -> str:
    """'event' / 'events', 'testimony excerpt' / 'testimony excerpts'."""
    opts = model._meta
    singular, plural = str(opts.verbose_name), str(opts.verbose_name_plural)
    if count == 1:
        return singular
    return plural if plural != singular and plural.endswith("s") else f"{singular}s"


# How a reverse foreign key to a row's own parts deletes them (see the docstring).
OWN_PARTS = (models.CASCADE, models.DB_CASCADE, models.DO_NOTHING)


@cache
def relations(model: type[models.Model]) -> tuple[Relation, ...]:
    """Every relation that refers to rows of `model`, grouped by referring model."""
    concrete = model._meta.concrete_model
    related = concrete._meta.related_objects
    # A many-to-many through model (Citation) is counted by its many-to-many relation.
    throughs = {rel.through for rel in related if rel.many_to_many}
    lookups: dict[type[models.Model], list[str]] = {}
    for rel in related:
        if not rel.many_to_many and (
            rel.on_delete in OWN_PARTS or rel.related_model in throughs
        ):
            continue
        lookups.setdefault(rel.related_model, []).append(rel.field.name)
    return tuple(Relation(m, tuple(names)) for m, names in lookups.items())


def _model_and_pks(
    objs: Iterable[models.Model] | models.QuerySet,
) -> tuple[type[models.Model] | None, list]:
    if isinstance(objs, models.QuerySet):
        return objs.model, list(objs.order_by().values_list("pk", flat=True))
    objs = [obj for obj in objs if obj.pk is not None]
    return (type(objs[0]), [obj.pk for obj in objs]) if objs else (None, [])


def referred_pks(model: type[models.Model], pks: list) -> list:
    """The ones of `pks` that anything refers to: one query per relation and chunk."""
    referred: set = set()
    for relation in relations(model):
        for lookup in relation.lookups:
            for start in range(0, len(pks), CHUNK):
                referred.update(
                    relation.model._base_manager.filter(
                        **{f"{lookup}__in": pks[start : start + CHUNK]}
                    )
                    .order_by()
                    .values_list(lookup, flat=True)
                    .distinct()
                )
    return sorted(referred)


def _referrals_of(model: type[models.Model], pks: list) -> list[Referral]:
    """Per target (in id order), its referrals, the most numerous first."""
    result = []
    for target in model._base_manager.filter(pk__in=pks).order_by("pk"):
        found = []
        for relation in relations(model):
            referring = relation.referring(target)
            first = list(referring[:FIRST_SHOWN])
            if first:
                count = len(first) if len(first) < FIRST_SHOWN else referring.count()
                found.append(Referral(target, relation.model, count, first))
        result += sorted(found, key=lambda r: (-r.count, r.model._meta.model_name))
    return result


def referrals(
    objs: Iterable[models.Model] | models.QuerySet, *, limit: int | None = None
) -> list[Referral]:
    """What still refers to these rows (all of one model), target by target, for the
    first `limit` targets that are referred to."""
    model, pks = _model_and_pks(objs)
    if model is None:
        return []
    return _referrals_of(model, referred_pks(model, pks)[:limit])


def _short(obj: models.Model, length: int = 80) -> str:
    text = " ".join(str(obj).split())
    return text if len(text) <= length else text[: length - 1] + "…"


def referral_message(found: list[Referral], total: int = 0) -> str:
    """'Party “Sam Altman” is still referred to by 12 events (first: ...) and 1 claim
    (first: ...).' for each target, then what to do."""
    by_target: dict = {}
    for referral in found:
        by_target.setdefault(referral.target.pk, []).append(referral)
    sentences = []
    for group in list(by_target.values())[:TARGETS_SHOWN]:
        target = group[0].target
        parts = [f"{r.count} {r.noun} (first: {_short(r.first[0])})" for r in group]
        listed = (
            parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        )
        sentences.append(
            f"{target._meta.verbose_name.capitalize()} “{_short(target)}” is still "
            f"referred to by {listed}."
        )
    more = total - len(sentences)
    if more > 0:
        sentences.append(f"And {more} more.")
    sentences.append(
        f"Remove those references first, then delete {'it' if total == 1 else 'them'}."
    )
    return " ".join(sentences)


def refuse_if_referenced(objs: Iterable[models.Model] | models.QuerySet) -> None:
    """Raise ProtectedError naming the referrers if anything refers to these rows.

    `protected_objects` holds the first referring rows of each kind (FIRST_SHOWN),
    not all of them: a party of a big case can have a hundred thousand events.
    """
    model, pks = _model_and_pks(objs)
    if model is None:
        return
    referred = referred_pks(model, pks)
    if referred:
        found = _referrals_of(model, referred[:TARGETS_SHOWN])
        raise ProtectedError(
            referral_message(found, len(referred)),
            {obj for referral in found for obj in referral.first},
        )


@contextlib.contextmanager
def _guarded() -> Iterator[None]:
    token = _checked.set(True)
    try:
        yield
    finally:
        _checked.reset(token)


def _refuse_on_pre_delete(sender, instance, **kwargs) -> None:
    """The backstop for deletes that bypass the checks below (e.g. _base_manager)."""
    if not _checked.get():
        refuse_if_referenced([instance])


class ProtectReferencedQuerySet(models.QuerySet):
    """A QuerySet whose delete() refuses rows that are still referred to."""

    def delete(self):
        refuse_if_referenced(self)
        with _guarded():
            return super().delete()

    delete.alters_data = True
    delete.queryset_only = True


class ProtectReferencedMixin(models.Model):
    """Refuse to delete a row that is still referred to (see the module docstring).

    Give the model a manager built on ProtectReferencedQuerySet too.
    """

    class Meta:
        abstract = True

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # Every concrete and proxy subclass: the collector sends pre_delete per class.
        pre_delete.connect(
            _refuse_on_pre_delete,
            sender=cls,
            weak=False,
            dispatch_uid=f"casetracker_protect_{cls.__module__}.{cls.__qualname__}",
        )

    def delete(self, *args, **kwargs):
        refuse_if_referenced([self])
        with _guarded():
            return super().delete(*args, **kwargs)

    delete.alters_data = True
