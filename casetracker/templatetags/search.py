"""{% load search %}: `{{ event.title|highlight:search_query }}` marks search matches."""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

from .. import search

register = template.Library()


@register.filter(needs_autoescape=True)
def highlight(value, query, autoescape=True) -> SafeString | str:
    """The value escaped, with the words `query` matched in <mark> (search.highlight).

    Without a query, the plain value, escaped as usual.
    """
    text = "" if value is None else str(value)
    if not query:
        return conditional_escape(text) if autoescape else text
    return search.highlight(text, str(query))
