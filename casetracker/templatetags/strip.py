"""The overview strip's bars, written in Python.

A case of twelve years has 144 bars of a dozen values each: through the template
language they were a third of a timeline page's rendering time, and through
format_html (which escapes every value) still 17 ms. Here only the two values that
can hold text are escaped: the link (once for all bars) and the label. The rest are
numbers and the month's digits.
"""

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..timeline import OverviewStrip
from .components import escape

register = template.Library()

BAR = (
    '<a class="bar" href="{href}from={month}&amp;to={month}"'
    ' hx-get="{href}from={month}&amp;to={month}"'
    ' hx-target="#timeline" hx-swap="outerHTML" hx-push-url="true"'
    ' aria-label="{label}" data-month="{month}"><title>{label}</title>'
    '<rect class="bar-total" x="{x}" y="{y}" width="{width}" height="{height}"></rect>'
    "{matched}</a>"
)
MATCHED = '<rect class="bar-matched" x="{}" y="{}" width="{}" height="{}"></rect>'


@register.simple_tag
def strip_bars(strip: OverviewStrip, href: str) -> SafeString:
    """Each bar: a link narrowing the timeline to its month, with its two heights."""
    href = escape(href)
    width = strip.bar_width
    # Numbers as str() writes them, never localized: SVG wants "2.5", not "2,5".
    bars = []
    for bar in strip.bars:
        x = bar.x
        matched = (
            MATCHED.format(x, bar.matched_y, width, bar.matched_height)
            if bar.matched
            else ""
        )
        bars.append(
            BAR.format(
                href=href,
                month=bar.param,
                label=escape(bar.label),
                x=x,
                y=bar.total_y,
                width=width,
                height=bar.total_height,
                matched=matched,
            )
        )
    return mark_safe("\n".join(bars))
