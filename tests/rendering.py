"""Rendering the Python-written components (templatetags/components.py) in tests."""

from django.template import engines


def render(source: str, **context) -> str:
    """`source`, a template string, with the components library loaded."""
    return (
        engines["django"].from_string("{% load components %}" + source).render(context)
    )


def render_row(event, **context) -> str:
    """A timeline row of `event` (from selectors.timeline_rows)."""
    return render("{% timeline_event event %}", event=event, **context)
