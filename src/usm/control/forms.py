"""The period filter of the dashboard."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from usm.control.periods import DEFAULT_DAYS, Period, period_of

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
