"""The dashboard's forms: the period it shows and the download of the event log."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from usm.api.scoping import provider_id_of, scoped
from usm.control.exports.selection import selection_of
from usm.control.periods import DEFAULT_DAYS, Period, period_of
from usm.model import reference_model
from usm.organisation.models import Customer, Provider

LAST_DAYS = [(7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"), (365, "Last year")]


class PeriodForm(forms.Form):
    days = forms.TypedChoiceField(
        label="Period", choices=LAST_DAYS, coerce=int, required=False, initial=DEFAULT_DAYS
    )
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To (included)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise ValidationError({"end": "The period ends before it starts."})
        try:
            period_of(start, end)
        except ValidationError as error:
            # The period's own checks (years 1970 to 9000) name its fields; show them on ours.
            fields = {"period_start": "start", "period_end": "end"}
            for field, messages in error.message_dict.items():
                for message in messages:
                    self.add_error(fields.get(field), f"This date {message}.")
        return data

    def period(self, now=None) -> Period:
        """The period asked for: dates win over the preset; an invalid form falls back to the
        default, its errors shown beside it."""
        now = now or timezone.now()
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if data.get("start") or data.get("end"):
            return period_of(data.get("start"), data.get("end"), now=now)
        return Period(now - timedelta(days=data.get("days") or DEFAULT_DAYS), now)


EXPORT_FORMATS = [
    ("xes", "XES (one trace per workflow)"),
    ("ocel-json", "OCEL 2.0 JSON"),
    ("ocel-sqlite", "OCEL 2.0 SQLite"),
]
# How a reason the selection gives names the filters: as the page does ("lies before From"),
# not by their query parameters.
EXPORT_FILTER_LABELS = {"start": "From", "end": "To", "process": "Process", "customer": "Customer"}
EXPORT_FIELDS = {"start": "from", "end": "to", "process": "process", "customer": "customer"}


class ExportForm(forms.Form):
    """The dashboard's download of the event log. The fields carry the API's query parameter
    names (`from`, `to`, `process`, `customer`), and the filters are judged by the selection
    itself (`selection_of`), as for the API and `usm export`, so all three refuse the same
    input for the same reason. That is why process and customer are text fields shown as
    lists: a code the list does not hold reaches the selection, which names what is wrong."""

    process = forms.CharField(label="Process", required=False, widget=forms.Select)
    customer = forms.CharField(label="Customer", required=False, widget=forms.Select)
    format = forms.ChoiceField(label="Format", choices=EXPORT_FORMATS, initial="xes")
    # OCEL always holds every logged change; XES holds the completed steps unless asked.
    all_events = forms.BooleanField(label="All events (XES)", required=False)

    def __init__(self, data=None, *, user, **kwargs):
        super().__init__(data, **kwargs)
        self.provider = Provider.objects.get(pk=provider_id_of(user))
        # `from` is a Python keyword, so the period's fields cannot be declared on the class.
        for name, label in (("from", "From"), ("to", "To (included)")):
            self.fields[name] = forms.CharField(
                label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
            )
        self.order_fields(["from", "to", "process", "customer", "format", "all_events"])
        self.fields["process"].widget.choices = [("", "All processes")] + [
            (code, f"{code} {process.verb}")
            for code, process in reference_model().processes.items()
        ]
        customers = scoped(user, Customer.objects.all()).order_by("name")
        self.fields["customer"].widget.choices = [("", "All customers")] + [
            (customer.code, customer.name) for customer in customers.only("code", "name")
        ]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        filters = {key: data.get(field) or None for key, field in EXPORT_FIELDS.items()}
        try:
            data["selection"] = selection_of(self.provider, **filters, names=EXPORT_FILTER_LABELS)
        except ValidationError as error:
            fields = {EXPORT_FILTER_LABELS[key]: field for key, field in EXPORT_FIELDS.items()}
            for label, messages in error.message_dict.items():
                for message in messages:
                    self.add_error(fields.get(label), message)
        return data
