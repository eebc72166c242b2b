"""Shapes the timeline is drawn in, computed from plain values: no database here.

The overview strip (events per month over the whole case, the filter's share marked)
and the lanes layout (one row per party or claim on a shared time axis) are drawn as
SVG on the server, so they need positions, not scripts.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .choices import DatePrecision
from .dates import month_name


def month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


def event_months(events: Iterable) -> dict[dt.date, int]:
    """How many of these events fall in each month (first day of the month -> count)."""
    counts: dict[dt.date, int] = {}
    for event in events:
        month = month_start(event.date)
        counts[month] = counts.get(month, 0) + 1
    return counts


def add_months(value: dt.date, months: int) -> dt.date:
    index = value.year * 12 + value.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from first to last, inclusive, as first days."""
    months, current = [], month_start(first)
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return months


@dataclass(frozen=True)
class StripBar:
    month: dt.date
    total: int
    matched: int | None  # None: the filtered share was not counted
    x: float
    total_height: float
    matched_height: float
    baseline: float

    @property
    def param(self) -> str:
        return f"{self.month.year:04}-{self.month.month:02}"

    @property
    def total_y(self) -> float:
        return round(self.baseline - self.total_height, 2)

    @property
    def matched_y(self) -> float:
        return round(self.baseline - self.matched_height, 2)

    @property
    def label(self) -> str:
        label = f"{month_name(self.month)} {self.month.year}: {self.total} event{'s' if self.total != 1 else ''}"
        return label if self.matched is None else f"{label}, {self.matched} shown"


@dataclass(frozen=True)
class StripTick:
    x: float
    label: str


@dataclass(frozen=True)
class OverviewStrip:
    bars: list[StripBar]
    ticks: list[StripTick]
    width: float
    height: float
    bar_width: float
    baseline: float
    share_known: bool = True


def overview_strip(
    totals: dict[dt.date, int],
    matched: dict[dt.date, int] | None,
    *,
    bar_width: float = 6,
    gap: float = 2,
    chart_height: float = 90,
) -> OverviewStrip | None:
    """Bars for each month of the case that has events, on a continuous month axis.

    `matched` is the filtered share per month, or None when it was not counted.
    """
    if not totals:
        return None
    months = months_between(min(totals), max(totals))
    tallest = max(totals.values())
    step = bar_width + gap
    bars, ticks = [], []
    for index, month in enumerate(months):
        x = index * step
        # Label each January, and the first month unless a January follows closely.
        if month.month == 1 or (index == 0 and month.month <= 6):
            ticks.append(StripTick(x=x, label=str(month.year)))
        total = totals.get(month, 0)
        if not total:
            continue
        shown = None if matched is None else matched.get(month, 0)
        bars.append(
            StripBar(
                month=month,
                total=total,
                matched=shown,
                x=x,
                total_height=max(2.0, chart_height * total / tallest),
                matched_height=chart_height * shown / tallest if shown else 0.0,
                baseline=chart_height,
            )
        )
    return OverviewStrip(
        bars=bars,
        ticks=ticks,
        width=len(months) * step,
        height=chart_height + 22,
        bar_width=bar_width,
        baseline=chart_height,
        share_known=matched is not None,
    )


@dataclass
class LaneMarker:
    x: float
    title: str
    date: str
    url: str
    key: bool


@dataclass
class Lane:
    label: str
    url: str | None
    y: float
    height: float
    markers: list[LaneMarker] = field(default_factory=list)

    @property
    def mid(self) -> float:
        return self.y + self.height / 2

    @property
    def text_y(self) -> float:
        return self.y + self.height / 2 + 4

    @property
    def bottom(self) -> float:
        return self.y + self.height


NO_GROUP = ("None recorded", None)


@dataclass
class Lanes:
    lanes: list[Lane]
    ticks: list[StripTick]
    width: float
    height: float
    label_width: float
    lane_height: float


def lanes_layout(
    events: Sequence,
    lane_of,
    *,
    label_width: float = 200,
    plot_width: float = 640,
    lane_height: float = 28,
    max_lanes: int = 30,
) -> Lanes | None:
    """One lane per group (as given by `lane_of(event) -> [(label, url)]`), busiest first.

    Events without a group go to a last "None recorded" lane; groups beyond
    `max_lanes` are folded into "Others" so the drawing stays readable.
    """
    dated = list(events)
    if not dated:
        return None
    first, last = min(e.date for e in dated), max(e.date for e in dated)
    span = max((last - first).days, 1)

    def x_of(date: dt.date) -> float:
        return label_width + 8 + (plot_width - 16) * (date - first).days / span

    groups: dict[tuple[str, str | None], list] = {}
    for event in dated:
        for group in lane_of(event) or [NO_GROUP]:
            groups.setdefault(group, []).append(event)
    ordered = sorted(
        groups.items(),
        key=lambda item: (item[0] == NO_GROUP, -len(item[1]), item[0][0]),
    )
    if len(ordered) > max_lanes:
        folded = [e for _, evs in ordered[max_lanes - 1 :] for e in evs]
        ordered = [
            *ordered[: max_lanes - 1],
            (("Others", None), list(dict.fromkeys(folded))),
        ]

    lanes = []
    for index, ((label, url), lane_events) in enumerate(ordered):
        lane = Lane(
            label=label, url=url, y=24 + index * lane_height, height=lane_height
        )
        for event in lane_events:
            lane.markers.append(
                LaneMarker(
                    x=round(x_of(event.date), 1),
                    title=event.title,
                    date=event.display_date,
                    url=event.get_absolute_url(),
                    key=event.is_key,
                )
            )
        lanes.append(lane)

    ticks = [
        StripTick(x=round(x_of(year_start), 1), label=str(year_start.year))
        for year_start in (
            dt.date(y, 1, 1) for y in range(first.year + 1, last.year + 1)
        )
    ]
    ticks.insert(
        0, StripTick(x=round(x_of(first), 1), label=f"{first:%b} {first.year}")
    )
    return Lanes(
        lanes=lanes,
        ticks=ticks,
        width=label_width + plot_width,
        height=24 + len(lanes) * lane_height + 8,
        label_width=label_width,
        lane_height=lane_height,
    )


@dataclass
class MonthGroup:
    label: str
    events: list = field(default_factory=list)


@dataclass
class YearGroup:
    year: int
    months: list[MonthGroup] = field(default_factory=list)


def group_by_year_and_month(events: Iterable) -> list[YearGroup]:
    """Consecutive events grouped under year and month headings, in the given order.

    An event known only to the year is grouped under "Month unknown" of its year.
    """
    years: list[YearGroup] = []
    for event in events:
        year = event.date.year
        if not years or years[-1].year != year:
            years.append(YearGroup(year=year))
        if event.date_precision == DatePrecision.YEAR:
            label = f"{event.date.year}, month unknown"
        else:
            label = f"{month_name(event.date)} {event.date.year}"
        months = years[-1].months
        if not months or months[-1].label != label:
            months.append(MonthGroup(label=label))
        months[-1].events.append(event)
    return years
