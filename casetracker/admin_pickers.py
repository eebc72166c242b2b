"""Inline rows whose pickers cost one query for all the rows, not one per row.

An inline of Django's admin builds a form per row, and each row's pickers read on
their own: a search picker (autocomplete) reads the row it shows as chosen, a plain
select reads every choice it offers. A case with 40 party roles ran 130 queries for
its admin page, and the count grew with the case's roles. Here the inline's formset
reads each picker's chosen rows once for every row (`PickedSelect`), and a plain
select's choices once for every row, so an admin page runs as many queries for a
case of 4 roles as for one of 400.
"""

from django import forms
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.forms import BaseForm
from django.utils.functional import cached_property


class PickedMixin:
    """A search picker that shows the labels its formset read for every row
    (`picked`: value -> label) instead of reading its own chosen row.

    `picked` is None outside an inline (a change form's own fields), where the picker
    reads its chosen rows itself, one query, as Django's does. Unlike Django's, it
    leaves out a posted value that is no key ("abc", a number past the column's
    range), which made Django's picker fail with a 500 when it showed the form again
    with its error.
    """

    picked: dict[str, str] | None = None

    def optgroups(self, name, value, attr=None):
        picked = self.picked
        if picked is None:
            picked = picked_labels(self.choices.field, [value])
        options = []
        if not self.is_required and not self.allow_multiple_selected:
            options.append(self.create_option(name, "", "", False, 0))
        empty = self.choices.field.empty_values
        chosen = dict.fromkeys(str(v) for v in value if str(v) not in empty)
        for key in chosen:
            if key in picked:
                options.append(
                    self.create_option(name, key, picked[key], True, len(options))
                )
        return [(None, options, 0)]


class PickedSelect(PickedMixin, widgets.AutocompleteSelect):
    pass


class PickedSelectMultiple(PickedMixin, widgets.AutocompleteSelectMultiple):
    pass


def _inner(widget: forms.Widget) -> forms.Widget:
    """The widget inside the admin's add/change/view links, if it has them."""
    return getattr(widget, "widget", widget)


def picked_labels(field: forms.ModelChoiceField, values) -> dict[str, str]:
    """The labels of the rows that `values` (each a key or a list of keys, as
    BoundField.value() gives them) choose, in one query. A value that is no key of
    the model (a tampered form) is left out, as Django's picker leaves out a key
    that no row has; the form's own check reports it."""
    model = field.queryset.model
    key_field = (
        model._meta.get_field(field.to_field_name)
        if field.to_field_name
        else model._meta.pk
    )
    keys = set()
    for value in values:
        for one in value if isinstance(value, (list, tuple)) else (value,):
            if one in field.empty_values:
                continue
            try:
                key = key_field.to_python(one)
                key_field.run_validators(key)  # in the column's range, too
            except ValidationError:
                continue
            keys.add(key)
    if not keys:
        return {}
    rows: list[Model] = list(field.queryset.filter(**{f"{key_field.name}__in": keys}))
    return {
        str(getattr(row, key_field.attname)): field.label_from_instance(row)
        for row in rows
    }


class SharedPickersFormSet(forms.BaseInlineFormSet):
    """An inline's formset whose rows share what their pickers read (module doc)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._choices: dict[str, list] = {}  # a plain select's, read once per formset

    @cached_property
    def forms(self) -> list[BaseForm]:
        rows = super().forms
        self._share(rows)
        return rows

    @property
    def empty_form(self) -> BaseForm:
        form = super().empty_form
        self._share([form])
        return form

    def _share(self, rows: list[BaseForm]) -> None:
        if not rows:
            return
        for name, field in rows[0].fields.items():
            if not isinstance(field, forms.ModelChoiceField):
                continue
            widget = _inner(field.widget)
            if isinstance(widget, PickedMixin):
                labels = picked_labels(field, [row[name].value() for row in rows])
                for row in rows:
                    _inner(row.fields[name].widget).picked = labels
            elif isinstance(widget, forms.Select):  # not the hidden id field
                if name not in self._choices:
                    self._choices[name] = list(field.choices)
                for row in rows:
                    row.fields[name].choices = self._choices[name]


class PickersMixin:
    """For a ModelAdmin or an inline: its search pickers are PickedSelect."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._picker(db_field, request, kwargs, PickedSelect)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._picker(db_field, request, kwargs, PickedSelectMultiple)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _picker(self, db_field, request, kwargs: dict, widget: type) -> None:
        """Django's own choice of a search picker, with this module's widget."""
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(
            request
        ):
            kwargs["widget"] = widget(
                db_field, self.admin_site, using=kwargs.get("using")
            )


class PickersInlineMixin(PickersMixin):
    """For an inline: its pickers are fed by its formset (SharedPickersFormSet). It
    also reads with its rows what their titles show (`row_related`, select_related)
    and its many-to-many pickers' rows (prefetched), so a row reads nothing of its
    own.
    """

    formset = SharedPickersFormSet
    row_related: tuple[str, ...] = ()

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if self.row_related:
            rows = rows.select_related(*self.row_related)
        many = [
            field.name
            for field in self.model._meta.many_to_many
            if field.name in self.get_autocomplete_fields(request)
        ]
        return rows.prefetch_related(*many) if many else rows
