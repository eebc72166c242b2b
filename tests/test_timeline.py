"""The timeline's drawing shapes (overview strip, lanes, year/month groups): pure
functions over plain values, tested without a database."""

import datetime as dt
from dataclasses import dataclass

import pytest

from casetracker.choices import DatePrecision
from casetracker.timeline import (
    add_months,
    group_by_year_and_month,
    lanes_layout,
    months_between,
    overview_strip,
)


@dataclass(eq=False)  # hashed by identity, as lanes_layout de-duplicates events
class FakeEvent:
    """Just what the layouts read from an Event."""

    title: str
    date: dt.date | None
    date_precision: str = DatePrecision.DAY
    is_key: bool = False

    @property
    def display_date(self) -> str:
        return self.date.isoformat() if self.date else "Date unknown"

    def get_absolute_url(self) -> str:
        return f"/events/{self.title}/"


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# months_between / add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2024-11-01", 1, "2024-12-01"),
        ("2024-12-01", 1, "2025-01-01"),
        ("2024-12-31", 1, "2025-01-01"),
        ("2024-01-15", -1, "2023-12-01"),
        ("2024-03-01", 22, "2026-01-01"),
        ("2024-03-01", 0, "2024-03-01"),
        ("2025-01-01", -13, "2023-12-01"),
    ],
)
def test_add_months_returns_the_first_of_the_target_month(start, months, expected):
    """add_months crosses year ends both ways and always lands on the 1st."""
    assert add_months(d(start), months) == d(expected)


def test_months_between_spans_a_year_end_inclusively():
    """Every month from first to last, as first days, across a year end."""
    assert months_between(d("2024-11-20"), d("2025-02-03")) == [
        d("2024-11-01"),
        d("2024-12-01"),
        d("2025-01-01"),
        d("2025-02-01"),
    ]


def test_months_between_one_month_and_empty_range():
    """A range inside one month gives that month; last before first gives none."""
    assert months_between(d("2025-03-04"), d("2025-03-30")) == [d("2025-03-01")]
    assert months_between(d("2025-03-04"), d("2025-02-28")) == []


# overview_strip


def test_overview_strip_is_none_without_data():
    """No months with events: nothing to draw."""
    assert overview_strip({}, {}) is None


def test_overview_strip_has_one_bar_per_month_with_events_on_a_continuous_axis():
    """Bars step by bar_width + gap per month; empty months leave a gap, no bar."""
    totals = {d("2024-11-01"): 2, d("2025-01-01"): 4, d("2025-04-01"): 1}

    strip = overview_strip(totals, {}, bar_width=6, gap=2)

    assert [bar.month for bar in strip.bars] == sorted(totals)
    # Nov 2024 is month 0, Jan 2025 month 2, Apr 2025 month 5 of the axis.
    assert [bar.x for bar in strip.bars] == [0, 16, 40]
    assert strip.width == 6 * 8  # Nov..Apr: six months
    assert strip.bar_width == 6


def test_overview_strip_heights_scale_to_the_tallest_month():
    """The busiest month fills the chart; matched bars are proportional to it."""
    totals = {d("2025-01-01"): 10, d("2025-02-01"): 5}
    matched = {d("2025-01-01"): 4, d("2025-02-01"): 5}

    strip = overview_strip(totals, matched, chart_height=90)

    january, february = strip.bars
    assert january.total_height == 90
    assert january.total_y == 0
    assert february.total_height == 45
    assert january.matched_height == pytest.approx(36)
    assert february.matched_height == pytest.approx(45)
    assert january.baseline == strip.baseline == 90
    assert january.matched_y == pytest.approx(54)


def test_overview_strip_keeps_a_small_month_visible():
    """A month far smaller than the busiest still gets a bar at least 2 high."""
    strip = overview_strip({d("2025-01-01"): 1, d("2025-02-01"): 1000}, {})

    assert strip.bars[0].total_height == 2.0


def test_overview_strip_month_with_nothing_matched_has_no_matched_bar():
    """A month none of whose events pass the filter keeps its total, matched 0."""
    strip = overview_strip({d("2025-01-01"): 3}, {})

    (bar,) = strip.bars
    assert bar.matched == 0
    assert bar.matched_height == 0


def test_overview_strip_bar_param_and_label():
    """param is the month as YYYY-MM; the label names the month, total and shown."""
    strip = overview_strip(
        {d("2025-03-01"): 3, d("2025-04-01"): 1},
        {d("2025-03-01"): 1, d("2025-04-01"): 1},
    )

    march, april = strip.bars
    assert march.param == "2025-03"
    assert march.label == "March 2025: 3 events, 1 shown"
    assert april.label == "April 2025: 1 event, 1 shown"


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # Starts in the first half of a year: the first month is labelled.
        ("2024-03-01", "2025-02-01", [(0, "2024"), (10 * 8, "2025")]),
        # Starts in the second half: only the January that follows is labelled.
        ("2024-09-01", "2025-02-01", [(4 * 8, "2025")]),
        # Starts on a January: one tick, not two.
        ("2024-01-01", "2024-05-01", [(0, "2024")]),
        # June is still the first half.
        ("2024-06-01", "2024-08-01", [(0, "2024")]),
        # Two year ends crossed.
        (
            "2023-12-01",
            "2025-01-01",
            [(1 * 8, "2024"), (13 * 8, "2025")],
        ),
    ],
)
def test_overview_strip_ticks_on_each_january(first, last, expected):
    """Ticks mark each January, and the first month only in the first half-year."""
    strip = overview_strip({d(first): 1, d(last): 1}, {}, bar_width=6, gap=2)

    assert [(tick.x, tick.label) for tick in strip.ticks] == expected


# lanes_layout


def by_groups(mapping: dict):
    """A lane_of function: event title -> its group labels (url derived from label)."""

    def lane_of(event):
        return [(label, f"/{label}/") for label in mapping.get(event.title, [])]

    return lane_of


def test_lanes_layout_is_none_without_events():
    assert lanes_layout([], by_groups({})) is None


def test_lanes_layout_puts_the_busiest_lane_first():
    """Lanes are ordered by number of events, most first; ties by label."""
    events = [
        FakeEvent("a", d("2025-01-01")),
        FakeEvent("b", d("2025-02-01")),
        FakeEvent("c", d("2025-03-01")),
    ]
    lane_of = by_groups({"a": ["Zed", "Beta"], "b": ["Zed", "Alpha"], "c": ["Zed"]})

    lanes = lanes_layout(events, lane_of)

    assert [lane.label for lane in lanes.lanes] == ["Zed", "Alpha", "Beta"]
    assert [len(lane.markers) for lane in lanes.lanes] == [3, 1, 1]
    assert lanes.lanes[0].url == "/Zed/"
    assert [lane.y for lane in lanes.lanes] == [24, 24 + 28, 24 + 56]


def test_lanes_layout_shows_an_event_of_two_groups_in_both_lanes():
    """One event with two parties is a marker in each party's lane."""
    event = FakeEvent("shared", d("2025-05-05"))

    lanes = lanes_layout([event], by_groups({"shared": ["Alpha", "Beta"]}))

    assert {lane.label: [m.title for m in lane.markers] for lane in lanes.lanes} == {
        "Alpha": ["shared"],
        "Beta": ["shared"],
    }


def test_lanes_layout_collects_ungrouped_events_under_none_recorded():
    """Events for which lane_of gives no group go to a "None recorded" lane."""
    events = [
        FakeEvent("a", d("2025-01-01")),
        FakeEvent("b", d("2025-02-01")),
        FakeEvent("c", d("2025-03-01")),
    ]

    lanes = lanes_layout(events, by_groups({"a": ["Alpha"], "b": ["Alpha"]}))

    none_recorded = lanes.lanes[-1]
    assert none_recorded.label == "None recorded"
    assert none_recorded.url is None
    assert [m.title for m in none_recorded.markers] == ["c"]


def test_lanes_layout_none_recorded_lane_is_last_even_when_busiest():
    """The "None recorded" lane stays last whatever its size, as documented."""
    events = [
        FakeEvent("a", d("2025-01-01")),
        FakeEvent("b", d("2025-02-01")),
        FakeEvent("c", d("2025-03-01")),
    ]

    lanes = lanes_layout(events, by_groups({"a": ["Alpha"]}))

    assert [lane.label for lane in lanes.lanes] == ["Alpha", "None recorded"]


def test_lanes_layout_folds_groups_beyond_max_lanes_into_others():
    """Past max_lanes, the smallest groups share one "Others" lane, each event once."""
    shared = FakeEvent("shared", d("2025-06-01"))
    events = [
        FakeEvent("big-1", d("2025-01-01")),
        FakeEvent("big-2", d("2025-02-01")),
        FakeEvent("mid-1", d("2025-03-01")),
        shared,
    ]
    lane_of = by_groups(
        {
            "big-1": ["Big"],
            "big-2": ["Big"],
            "mid-1": ["Mid"],
            "shared": ["Mid", "Small 1", "Small 2", "Small 3"],
        }
    )

    lanes = lanes_layout(events, lane_of, max_lanes=3)

    assert [lane.label for lane in lanes.lanes] == ["Big", "Mid", "Others"]
    others = lanes.lanes[-1]
    assert others.url is None
    # "shared" is in all three small groups, yet one marker in "Others".
    assert [m.title for m in others.markers] == ["shared"]
    assert lanes.height == 24 + 3 * 28 + 8


def test_lanes_layout_keeps_max_lanes_groups_unfolded():
    """Exactly max_lanes groups: no "Others" lane."""
    events = [FakeEvent(str(n), d("2025-01-01") + dt.timedelta(n)) for n in range(3)]
    lane_of = by_groups({"0": ["A"], "1": ["B"], "2": ["C"]})

    lanes = lanes_layout(events, lane_of, max_lanes=3)

    assert [lane.label for lane in lanes.lanes] == ["A", "B", "C"]


def test_lanes_layout_positions_increase_with_date_inside_the_plot():
    """Markers move right with the date and stay between the label column and the
    right edge of the plot."""
    dates = ["2024-02-10", "2024-07-01", "2025-01-01", "2025-12-31"]
    events = [FakeEvent(date, d(date)) for date in dates]
    lane_of = by_groups({date: ["All"] for date in dates})

    lanes = lanes_layout(events, lane_of, label_width=200, plot_width=640)

    xs = [marker.x for marker in lanes.lanes[0].markers]
    assert xs == sorted(xs)
    assert len(set(xs)) == len(xs)
    assert all(200 <= x <= 200 + 640 for x in xs)
    assert lanes.width == 840
    assert lanes.label_width == 200


def test_lanes_layout_single_date_is_placed_inside_the_plot():
    """All events on one day (a zero time span) still get valid positions."""
    events = [FakeEvent("a", d("2025-01-01")), FakeEvent("b", d("2025-01-01"))]

    lanes = lanes_layout(events, by_groups({"a": ["A"], "b": ["A"]}))

    assert all(200 <= m.x <= 840 for m in lanes.lanes[0].markers)


def test_lanes_layout_markers_carry_the_event_fields_and_key_flag():
    """Each marker has the event's title, display date, URL and key flag."""
    key_event = FakeEvent("ruling", d("2025-01-02"), is_key=True)
    other = FakeEvent("filing", d("2025-03-04"))

    lanes = lanes_layout([key_event, other], by_groups({"ruling": ["A"]}))

    markers = {m.title: m for lane in lanes.lanes for m in lane.markers}
    assert markers["ruling"].key is True
    assert markers["filing"].key is False
    assert markers["ruling"].date == "2025-01-02"
    assert markers["ruling"].url == "/events/ruling/"


def test_lanes_layout_ticks_first_date_then_each_january():
    """The first tick names the first month; then one tick per following January."""
    events = [FakeEvent("a", d("2024-03-15")), FakeEvent("b", d("2026-02-01"))]

    lanes = lanes_layout(events, by_groups({}))

    assert [tick.label for tick in lanes.ticks] == ["Mar 2024", "2025", "2026"]
    xs = [tick.x for tick in lanes.ticks]
    assert xs == sorted(xs)


# group_by_year_and_month


def test_group_by_year_and_month_groups_in_the_given_order():
    """Years, then months within them, follow the order of the events."""
    events = [
        FakeEvent("a", d("2024-12-05")),
        FakeEvent("b", d("2024-12-20")),
        FakeEvent("c", d("2025-01-02")),
        FakeEvent("d", d("2025-03-01"), DatePrecision.MONTH),
        FakeEvent("e", d("2025-03-09")),
    ]

    groups = group_by_year_and_month(events)

    assert [
        (year.year, [(m.label, [e.title for e in m.events]) for m in year.months])
        for year in groups
    ] == [
        (2024, [("December 2024", ["a", "b"])]),
        (2025, [("January 2025", ["c"]), ("March 2025", ["d", "e"])]),
    ]


def test_group_by_year_and_month_labels_year_precision_events():
    """An event known only to the year sits under "<year>, month unknown"."""
    events = [
        FakeEvent("year only", d("2016-01-01"), DatePrecision.YEAR),
        FakeEvent("later", d("2016-05-01")),
    ]

    (year,) = group_by_year_and_month(events)

    assert year.year == 2016
    assert [m.label for m in year.months] == ["2016, month unknown", "May 2016"]


def test_group_by_year_and_month_of_nothing_is_empty():
    """No events, no groups."""
    assert group_by_year_and_month([]) == []


def test_strip_bars_escape_the_link_and_never_localize_numbers():
    from django.utils import translation

    from casetracker.templatetags.strip import strip_bars

    totals = {dt.date(2024, 1, 1): 3, dt.date(2024, 3, 1): 2}
    strip = overview_strip(totals, {dt.date(2024, 1, 1): 1}, bar_width=2.5, gap=1)
    with translation.override("de"):
        html = strip_bars(strip, '/t/?q="<b>&x=1&')

    assert html.count('<a class="bar"') == 2
    assert (
        'href="/t/?q=&quot;&lt;b&gt;&amp;x=1&amp;from=2024-01&amp;to=2024-01"' in html
    )
    assert "<b>" not in html
    assert 'width="2.5"' in html and "2,5" not in html
    assert 'x="7.0"' in html  # March: the third month on the axis
    assert html.count('class="bar-matched"') == 1
    assert "<title>January 2024: 3 events, 1 shown</title>" in html
