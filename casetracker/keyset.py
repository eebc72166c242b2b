"""Pages of the timeline that cost the same at any depth.

A page after (or before) a given event is read from the ordering index with a
row-value comparison on (date, date_rank, id), the timeline's order: the database seeks
straight to the cursor instead of counting past every earlier row as OFFSET does. The
cursor is the last (or first) event's position, written `YYYY-MM-DD.rank.id` so a URL
stays readable and stable.

Search results are ordered by relevance, which has no such index; they, and old
`?page=N` links, are paged by number (`offset_page`).

The testimony and coverage lists seek the same way from the row a link names
(`seek_keys`), one index seek per term of their order.
"""

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connections
from django.db.models import F, OrderBy, Q, QuerySet
from django.db.models.fields.tuple_lookups import TupleGreaterThan, TupleLessThan

from .models.events import TIMELINE_ORDER
from .models.search import timeline_position

# A row's key in a URL: digits that fit in a 64-bit integer.
ROW_KEY = re.compile(r"^[0-9]{1,18}$")

CURSOR = re.compile(r"^(\d{4}-\d{2}-\d{2})\.([0-2])\.(\d{1,18})$")


class CursorError(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    date: dt.date
    rank: int
    id: int

    @classmethod
    def of(cls, event) -> "Cursor":
        return cls(event.date, event.date_rank, event.pk)

    @classmethod
    def parse(cls, text: str) -> "Cursor":
        match = CURSOR.match(text.strip())
        if not match:
            raise CursorError(
                "This link to a page of events is damaged; it should look like "
                "2024-03-01.2.1234."
            )
        try:
            date = dt.date.fromisoformat(match[1])
        except ValueError:
            raise CursorError(
                f"This link to a page of events names a day that does not exist ({match[1]})."
            ) from None
        return cls(date, int(match[2]), int(match[3]))

    def __str__(self) -> str:
        return f"{self.date.isoformat()}.{self.rank}.{self.id}"

    @property
    def values(self) -> tuple:
        return (self.date, self.rank, self.id)


@dataclass
class Page:
    """One page of rows and how to reach its neighbours.

    `next_params` and `previous_params` are the URL parameters of the pages around it;
    `start` is the 1-based position of its first row when it is known (paged by number).
    """

    object_list: list
    next_params: dict = field(default_factory=dict)
    previous_params: dict = field(default_factory=dict)
    start: int | None = None
    # Tells apart the headings of pages appended to one another by "load more".
    anchor: str = "1"

    @property
    def has_next(self) -> bool:
        return bool(self.next_params)

    @property
    def has_previous(self) -> bool:
        return bool(self.previous_params)

    @property
    def end(self) -> int | None:
        return None if self.start is None else self.start + len(self.object_list) - 1

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


def keyset_page(
    events: QuerySet,
    *,
    size: int,
    after: Cursor | None = None,
    before: Cursor | None = None,
    order: Sequence[str] = TIMELINE_ORDER,
) -> Page:
    """The `size` events after `after`, before `before`, or from the start.

    One query, for size + 1 rows: the extra row only says whether there is more.
    `order` names the three values of the timeline order as the queryset has them
    (the event's columns, or annotations that copy them), or one value that holds
    all three (a timeline position, models.search.timeline_position).
    """
    if before is not None:
        rows = list(
            events.filter(_before(order, before)).order_by(
                *(f"-{name}" for name in order)
            )[: size + 1]
        )
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        page = Page(rows, anchor=f"b{before}")
        if rows:
            page.next_params = {"after": str(Cursor.of(rows[-1]))}
            if more_before:
                page.previous_params = {"before": str(Cursor.of(rows[0]))}
        else:
            page.next_params = {"after": str(before)} if before else {}
        return page
    if after is not None:
        events = events.filter(_after(order, after))
    rows = list(events.order_by(*order)[: size + 1])
    more_after = len(rows) > size
    rows = rows[:size]
    page = Page(rows, anchor=f"a{after}" if after else "1", start=None if after else 1)
    if more_after:
        page.next_params = {"after": str(Cursor.of(rows[-1]))}
    if after is not None:
        # Past the end, "earlier" must still include the cursor's own event.
        start = (
            Cursor.of(rows[0]) if rows else Cursor(after.date, after.rank, after.id + 1)
        )
        page.previous_params = {"before": str(start)}
    return page


def _after(order: Sequence[str], cursor: Cursor) -> Q:
    if len(order) == 1:
        return Q(**{f"{order[0]}__gt": timeline_position(*cursor.values)})
    return Q(TupleGreaterThan(tuple(F(name) for name in order), cursor.values))


def _before(order: Sequence[str], cursor: Cursor) -> Q:
    if len(order) == 1:
        return Q(**{f"{order[0]}__lt": timeline_position(*cursor.values)})
    return Q(TupleLessThan(tuple(F(name) for name in order), cursor.values))


def offset_page(events: QuerySet, *, size: int, number: int) -> Page:
    """Page `number` (from 1) by OFFSET: for orders no index serves, such as relevance."""
    number = max(1, number)
    offset = (number - 1) * size
    rows = list(events[offset : offset + size + 1])
    page = Page(rows[:size], anchor=f"p{number}", start=offset + 1)
    if len(rows) > size:
        page.next_params = {"page": number + 1}
    if number > 1:
        page.previous_params = {"page": number - 1}
    return page


def row_key(text: str | None) -> int | None:
    """`text` as a row's key, if it can be one; None for anything else."""
    return int(text) if text and ROW_KEY.match(text) else None


def seek_keys(
    items: QuerySet,
    order: Sequence[OrderBy],
    boundary: int,
    *,
    size: int,
    backwards: bool = False,
) -> list[int] | None:
    """The keys of the `size` rows of `items` that follow the row keyed `boundary` in
    `order` (that precede it, `backwards`), and maybe more; None if that row is not
    among `items`.

    In an order of terms t1, t2 ... tn, the rows after a boundary row are those equal
    to it on t1 ... tk-1 and past it on tk, for each k. Each is an index seek of at
    most `size` rows, and their union is at most n * size keys, which the caller
    orders and cuts: a page deep in the list costs what the second one does. A
    row-value comparison, (t1, t2) > (v1, v2), would need every term in the same
    direction, and the coverage list's dates run newest first while its keys run up.

    A term whose value is NULL in the boundary row takes no seek of its own, nor a
    place among the equal terms: it must follow a term that is the same for all rows
    where it is NULL (models.base.undated_last).

    The seeks are written around the list's own query, compiled once: compiled by
    the ORM one by one, they took 3 ms of Python, as long as OFFSET took to skip
    12,500 keys. Each compares with the boundary row's values as read from one
    common table expression: given a value itself, SQLite puts it in place of the
    column in the order's other terms (its constant propagation), which turns
    "CAST(date IS NULL AS integer) = 0" into a constant, and the index's second
    column goes unsought. (A subquery of the list per value made PostgreSQL spend
    2.4 ms planning the page.) The keys are read apart from the rows: given the
    seeks as a subquery, PostgreSQL took 2 ms to plan the testimony list's rows with
    their joins, against 0.7 for a page read by number.
    """
    connection = connections[items.db]
    quote = connection.ops.quote_name
    names = [quote(f"seek_{n}") for n in range(len(order))]
    listed, listed_params = (
        items.annotate(
            seek_row=F("pk"),
            **{f"seek_{n}": term.expression for n, term in enumerate(order)},
        )
        .order_by()
        .values("seek_row", *(f"seek_{n}" for n in range(len(order))))
        .query.get_compiler(items.db)
        .as_sql()
    )
    row = quote("seek_row")
    named_row = f"SELECT {', '.join(names)} FROM ({listed}) AS listed WHERE {row} = %s"
    named_params = [*listed_params, boundary]
    with connection.cursor() as cursor:
        cursor.execute(named_row, named_params)
        values = cursor.fetchone()
    if values is None:
        return None

    def down(term: OrderBy) -> bool:  # the way this read walks the term
        return term.descending != backwards

    parts, params = [], [*named_params]
    for k, (name, term, value) in enumerate(zip(names, order, values, strict=True)):
        if value is None:
            continue
        conditions = [
            f"{other} = (SELECT {other} FROM seek_boundary)"
            for other, fixed in zip(names[:k], values[:k], strict=True)
            if fixed is not None
        ]
        past = "<" if down(term) else ">"
        conditions.append(f"{name} {past} (SELECT {name} FROM seek_boundary)")
        way = ", ".join(
            f"{later} {'DESC' if down(later_term) else 'ASC'}"
            for later, later_term in zip(names[k:], order[k:], strict=True)
        )
        parts.append(
            f"SELECT * FROM (SELECT {row} FROM ({listed}) AS listed"
            f" WHERE {' AND '.join(conditions)} ORDER BY {way} LIMIT {int(size)})"
            f" AS seek_{k}"
        )
        params.extend(listed_params)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH seek_boundary AS ({named_row}) {' UNION ALL '.join(parts)}", params
        )
        return [key for (key,) in cursor.fetchall()]
