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


def display(instance, name: str) -> str:
    """`get_<name>_display()` from a dict built once per field: Django's own builds
    the dict on every call. `instance` is a model instance or values read for one
    (selectors.CitedSource), whose class names its `model`."""
    value = getattr(instance, name)
    model = getattr(type(instance), "model", type(instance))
    return str(_labels(model, name).get(value, value))


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

    `event` comes from selectors.timeline_rows or timeline_page: its testimony
    count, parties and citations are read with it, and the citations give the
    counts of sources and news items. The page's `search_query`, if any, is
    marked in the title and the summary, so a row renders the same whether its
    page searches or not.
    """
    if title_tag not in TITLE_TAGS:
        raise template.TemplateSyntaxError(f"Not a heading for a row: {title_tag!r}")
    query = str(context.get("search_query") or "")
    url = escape(event.get_absolute_url())
    summary = _highlighted(event.summary, query)
    cited = event.row_citations
    coverage = sum(1 for citation in cited if citation.source.is_coverage)
    counts = []
    if event.testimony_count:
        count = event.testimony_count
        counts.append(f"<span>{count} testimony excerpt{_plural(count)}</span>")
    if coverage:
        counts.append(f"<span>{coverage} news item{_plural(coverage)}</span>")
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
            sources=len(cited),
            sources_plural=_plural(len(cited)),
            counts="\n      ".join(counts),
            parties=PARTIES.format(", ".join(escape(p.name) for p in parties))
            if parties
            else "",
            summary=f"<p>{summary}</p>" if summary else "",
            citations=citations(cited),
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


ROLE = (
    '<li><a href="{url}">{party}</a>: {role}{proceeding}{represents}\n'
    "      {confidence}</li>"
)


@register.simple_tag
def role_item(role) -> SafeString:
    """A party's role in the case's list of participants: who, what role, in which
    proceeding, for whom, and a confidence badge unless the role is confirmed.

    `role` comes from selectors.case_party_list. The overview lists every role of a
    case (40 in the benchmark's), at 75 microseconds each through the template
    language.
    """
    represented = list(role.represents.all())
    return mark_safe(
        ROLE.format(
            url=escape(role.get_absolute_url()),
            party=escape(role.party.name),
            role=escape(display(role, "role")),
            proceeding=f" ({escape(role.proceeding.name)})" if role.proceeding else "",
            represents=", for " + ", ".join(escape(p.name) for p in represented)
            if represented
            else "",
            confidence=confidence(role) if role.confidence != "confirmed" else "",
        )
    )


CLAIM_ROW = """\
<tr>
        <th scope="row"><a href="{url}">{title}</a>{count}</th>
        <td>{proceeding}</td>
        <td><ol class="lifecycle">{steps}</ol></td>
        <td>{current}{outcome}</td>
      </tr>"""
STEP = '<li>{status} <span class="muted">{date}</span></li>'
NO_STEP = '<li class="muted">No dated step recorded</li>'


@register.simple_tag
def claim_row(claim) -> SafeString:
    """A claim as a row of the overview's table: its dated steps, the last of which
    is its current status ("Unknown" without one).

    `claim` comes from selectors.claim_list. Through the template language each row
    cost 120 microseconds, mostly walking the steps twice.
    """
    steps = list(claim.history.all())
    proceeding = claim.proceeding.name if claim.proceeding else ""
    return mark_safe(
        CLAIM_ROW.format(
            url=escape(claim.get_absolute_url()),
            title=escape(claim.title),
            count=f' <span class="muted">({escape(claim.count_label)})</span>'
            if claim.count_label
            else "",
            proceeding=escape(proceeding) if proceeding else "—",
            steps="".join(
                STEP.format(
                    status=escape(display(step, "status")),
                    date=escape(step.display_date),
                )
                for step in steps
            )
            or NO_STEP,
            current=escape(display(steps[-1], "status")) if steps else "Unknown",
            outcome=f'<br><span class="muted">{escape(claim.outcome_note)}</span>'
            if claim.outcome_note
            else "",
        )
    )
