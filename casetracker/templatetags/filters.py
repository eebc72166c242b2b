"""Template helpers for the filter forms."""

from django import template

from ..forms import options as field_options

register = template.Library()


@register.filter
def options(bound_field):
    """`{% for option in field|options %}`: the field's choices with their state."""
    return field_options(bound_field)
