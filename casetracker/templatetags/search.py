"""{% load search %}: `{% highlighted event.title %}` marks the page's search matches."""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

from .. import search

register = template.Library()


@register.simple_tag(takes_context=True)
def highlighted(context, value) -> SafeString:
    """The value escaped, with the words of the page's `search_query` marked
    (search.highlight).

    The query comes from the context, so a row renders the same whether its page
    searches or not (`search_query` absent or blank: the value only escaped); the
    title and the summary read it without each repeating the test.
    """
    text = "" if value is None else str(value)
    query = context.get("search_query") or ""
    if not query:
        return conditional_escape(text)
    return search.highlight(text, str(query))
