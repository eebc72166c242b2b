"""{% load components %}: the pieces a page repeats by the dozen, written in Python.

A timeline page repeats its event row 25 times and its filter checkboxes about 80
times. Through the template language, with the row's citations and confidence badge
as includes, those two were three quarters of the page's rendering: about 0.4 ms a
row and 70 microseconds a checkbox, each value looked up, localized and escaped
through the template engine's general machinery. As format strings a row costs 80
microseconds, and the checkboxes mostly the reading of the case's parties and claims.
A first render is what a reader waits for after every edit and for every new
combination of filters.

The markup is what the templates wrote. Every value that comes from the database or
from the request goes through `escape` (or is already safe: a highlighted title, a
nested component); only counts and fixed literals are written as they are.
"""

import html
from collections.abc import Iterable
from functools import cache

from django import template
from django.db import models
from django.utils.safestring import SafeString, mark_safe

from .. import search
from ..forms import options

register = template.Library()


def escape(value) -> str:
    """What the template engine's autoescape writes, without its lazy-text checks,
    which cost more than the escaping here."""
    return html.escape(str(value))


@cache
def _labels(model: type[models.Model], name: str) -> dict:
    return dict(model._meta.get_field(name).flatchoices)


def display(instance: models.Model, name: str) -> str:
    """`get_<name>_display()` from a dict built once per field: Django's own builds
    the dict on every call."""
    value = getattr(instance, name)
    return str(_labels(type(instance), name).get(value, value))


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _highlighted(text: str | None, query: str) -> str:
    """The text escaped, with the search's words marked (search.highlight)."""
    text = text or ""
    return search.highlight(text, query) if query else escape(text)


CONFIDENCE = (
    '<span class="badge confidence confidence-{key}" title="{note}">{label}</span>'
)


@register.simple_tag
def confidence(item) -> SafeString:
    """How well `item` (an event, testimony, claim or role) is sourced, as a badge."""
    return mark_safe(
        CONFIDENCE.format(
            key=escape(item.confidence),
            note=escape(item.confidence_note),
            label=escape(display(item, "confidence")),
        )
    )


CITATION = (
    "  <li>\n    {opening}{outlet}{original}{closing}{headline}, {date}{pin}\n"
    '    <span class="badge reliability reliability-{reliability}">'
    "Reliability: {reliability_label}</span>\n  </li>\n"
)
NO_CITATION = '  <li class="muted">None recorded.</li>\n'


@register.simple_tag
def citations(items: Iterable) -> SafeString:
    """The sources of a fact, each with its pin cite and reliability.

    A source links out only when its address is http(s) (Source.link_url).
    """
    rows = []
    for citation in items:
        source = citation.source
        link = source.link_url
        rows.append(
            CITATION.format(
                opening=f'<a href="{escape(link)}" rel="noopener noreferrer">'
                if link
                else "",
                outlet=escape(source.outlet),
                original=f" (from {escape(source.original_outlet)})"
                if source.original_outlet
                else "",
                closing="</a>" if link else "",
                headline=f": “{escape(source.headline)}”" if source.headline else "",
                date=escape(source.display_date),
                pin=f", {escape(citation.pin_cite)}" if citation.pin_cite else "",
                reliability=escape(source.reliability),
                reliability_label=escape(display(source, "reliability")),
            )
        )
    return mark_safe(
        '<ul class="citations">\n' + ("".join(rows) or NO_CITATION) + "</ul>"
    )


EVENT = """\
<li class="event{key_class}" id="event-{slug}">
  <article aria-labelledby="title-{slug}">
    <p class="event-date"><time datetime="{iso_date}">{date}</time></p>
    <{h} class="event-title" id="title-{slug}"><a href="{url}">{title}</a></{h}>
    <p class="event-meta">
      <span class="badge kind">{kind}</span>
      {badges}{confidence}
      <span>{sources} source{sources_plural}</span>
      {counts}
    </p>
    {parties}
    <details class="event-more" hx-get="{url}" hx-trigger="toggle once" \
hx-target="find .event-more-body" hx-swap="innerHTML">
      <summary>Details<span class="visually-hidden"> of “{plain_title}”</span></summary>
      <div class="event-more-body">
        {summary}
        <p><a href="{url}">Open the event page</a></p>
      </div>
    </details>
    <div class="print-only">
      {summary}
      {citations}
    </div>
  </article>
</li>"""
KEY_BADGE = '<span class="badge key">Key event</span>\n      '
CONTEXT_BADGE = '<span class="badge">Related context</span>\n      '
PARTIES = (
    '<p class="event-parties"><span class="visually-hidden">Parties: </span>{}</p>'
)
# A row's title is an h4 under the timeline's month headings, an h3 elsewhere.
TITLE_TAGS = frozenset({"h2", "h3", "h4", "h5"})


@register.simple_tag(takes_context=True)
def timeline_event(context, event, title_tag: str = "h4") -> SafeString:
    """One event as a timeline row: date, title, badges, parties, and, opened or
    printed, its summary and sources.

    `event` comes from selectors.timeline_rows (its counts, parties and citations
    are read with it). The page's `search_query`, if any, is marked in the title
    and the summary, so a row renders the same whether its page searches or not.
    """
    if title_tag not in TITLE_TAGS:
        raise template.TemplateSyntaxError(f"Not a heading for a row: {title_tag!r}")
    query = str(context.get("search_query") or "")
    url = escape(event.get_absolute_url())
    summary = _highlighted(event.summary, query)
    counts = []
    if event.testimony_count:
        count = event.testimony_count
        counts.append(f"<span>{count} testimony excerpt{_plural(count)}</span>")
    if event.coverage_count:
        count = event.coverage_count
        counts.append(f"<span>{count} news item{_plural(count)}</span>")
    parties = event.row_parties
    return mark_safe(
        EVENT.format(
            key_class=" is-key" if event.is_key else "",
            slug=escape(event.slug),
            iso_date=event.date.isoformat(),
            date=escape(event.display_date),
            h=title_tag,
            url=url,
            title=_highlighted(event.title, query),
            plain_title=escape(event.title),
            kind=escape(display(event, "kind")),
            badges=(KEY_BADGE if event.is_key else "")
            + (CONTEXT_BADGE if event.is_context else ""),
            confidence=confidence(event),
            sources=event.source_count,
            sources_plural=_plural(event.source_count),
            counts="\n      ".join(counts),
            parties=PARTIES.format(", ".join(escape(p.name) for p in parties))
            if parties
            else "",
            summary=f"<p>{summary}</p>" if summary else "",
            citations=citations(event.row_citations),
        )
    )


CHOICE = (
    '<div><label for="{id}"><input type="{type}" name="{name}" value="{value}"'
    ' id="{id}"{checked}{invalid}> {label}</label></div>'
)


@register.simple_tag
def choice_inputs(field, input_type: str) -> SafeString:
    """A choice field as a group of checkboxes or radio buttons (forms.options).

    Through Django's widget templates each choice cost more than a timeline row.
    """
    if input_type not in ("checkbox", "radio"):
        raise template.TemplateSyntaxError(f"Not a choice input: {input_type!r}")
    name = escape(field.html_name)
    invalid = ' aria-invalid="true"' if field.errors else ""
    inputs = "".join(
        CHOICE.format(
            id=escape(option.id),
            type=input_type,
            name=name,
            value=escape(option.value),
            checked=" checked" if option.checked else "",
            invalid=invalid,
            label=escape(option.label),
        )
        for option in options(field)
    )
    return mark_safe(f'<div id="{escape(field.auto_id)}">{inputs}</div>')
