"""Form widgets for pages drawn on every request (the desk's filter bar), where Django's
one-template-per-option rendering and its server-side cursor per model choice list cost more than
the queue query itself (measured on PostgreSQL at 10k calls: about a third of the desk page)."""

from __future__ import annotations

from django import forms
from django.forms.models import ModelChoiceIterator


class FlatSelect(forms.Select):
    """A select of flat options (no groups, no per-option attributes), written in one loop."""

    template_name = "web/widgets/select.html"


class ListedChoices(ModelChoiceIterator):
    """Model choices read with one plain query: Django streams them through `iterator()`, which on
    PostgreSQL declares, fetches from and closes a server-side cursor for a list of a few dozen
    rows."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class ListedModelChoiceField(forms.ModelChoiceField):
    iterator = ListedChoices
    widget = FlatSelect
