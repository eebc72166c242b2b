"""The admin's date drill-down, its dates found by stepping through an index.

Django's drill-down asks for the distinct years (then months, then days) of the
whole filtered list: the database truncates the date of every row, 1.9 s for a
million events on SQLite. The same answer comes from asking, period after period,
for the first date on or after the next period's start: one index seek per year,
month or day shown, whatever the number of rows. The list's date index serves it
(Event's event_order, or event_case_order once a case is chosen).

A searched list of events on SQLite steps through the full-text index instead,
whose row numbers are the events' places on the timeline (search.py): a word found
in half a million events took 1.5 s to list its years the other way. On PostgreSQL,
whose index has no order, a searched list keeps Django's way: its matches are read
once, not once per period.
"""

import copy
import datetime as dt

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.contrib.admin.utils import get_fields_from_path
from django.db.models import DateTimeField, QuerySet

from .. import search
from ..models.search import timeline_position

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def stepped_date_hierarchy(cl) -> dict | None:
    field = get_fields_from_path(cl.model, cl.date_hierarchy)[-1]
    in_index_order = search.INDEX_ORDER in cl.queryset.query.annotations
    if (in_index_order or not cl.query) and not isinstance(field, DateTimeField):
        cl = copy.copy(cl)
        cl.queryset = SteppedDates(cl.queryset)
    return date_hierarchy(cl)


class SteppedDates:
    """A changelist's rows as the drill-down reads them: their first and last date
    (its `aggregate` call) and the periods that hold any (its `dates` call)."""

    def __init__(self, queryset: QuerySet) -> None:
        self.queryset = queryset

    def aggregate(self, *, first, last) -> dict[str, dt.date | None]:
        dates = self._ordered(first.source_expressions[0].name)
        return {"first": dates.first(), "last": dates.reverse().first()}

    def dates(self, field: str, kind: str) -> list[dt.date]:
        ordered = self._ordered(field)
        found = []
        day = ordered.first()
        while day is not None:
            start = period_start(day, kind)
            found.append(start)
            following = next_period(start, kind)
            if following is None:
                break
            if self.in_index_order:
                after = {
                    f"{search.INDEX_ORDER}__gte": timeline_position(following, 0, 0)
                }
            else:
                after = {f"{field}__gte": following}
            day = ordered.filter(**after).first()
        return found

    @property
    def in_index_order(self) -> bool:
        """Events searched on SQLite: the full-text index's order is the timeline's,
        of the events' date (the only date the drill-down of events is by)."""
        return search.INDEX_ORDER in self.queryset.query.annotations

    def _ordered(self, field: str) -> QuerySet:
        rows = self.queryset.filter(**{f"{field}__isnull": False})
        order = search.INDEX_ORDER if self.in_index_order else field
        return rows.order_by(order).values_list(field, flat=True)


def period_start(day: dt.date, kind: str) -> dt.date:
    if kind == "year":
        return day.replace(month=1, day=1)
    if kind == "month":
        return day.replace(day=1)
    return day


def next_period(start: dt.date, kind: str) -> dt.date | None:
    """The first day of the period after the one starting on `start`; None past
    the last date there is."""
    try:
        if kind == "year":
            return start.replace(year=start.year + 1)
        if kind == "month":
            return (start + dt.timedelta(days=31)).replace(day=1)
        return start + dt.timedelta(days=1)
    except (OverflowError, ValueError):
        return None
