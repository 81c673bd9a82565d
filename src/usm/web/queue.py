"""The desk queue: the open calls of the user's teams, most urgent deadline first, read a page at
a time from a cursor (the last row seen) so that new calls never shift the page being read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django import forms
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from usm.agreements import queries
from usm.agreements.models import Service
from usm.api.scoping import scoped
from usm.calls.choices import Status
from usm.calls.models import Call
from usm.calls.services import ENDED
from usm.model import reference_model
from usm.organisation.models import Customer, Team
from usm.web.widgets import FlatSelect, ListedModelChoiceField

PAGE_SIZE = 25
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# A cursor is "<due in microseconds since the epoch or n>-<id>": no signature needed, as a forged
# cursor only moves the reader within what the scoping rule already lets them see.
CURSOR = re.compile(r"^(n|\d{1,17})-(\d{1,18})$")

STATUS_VIEWS = [
    ("todo", "To do (not waiting, not ended)"),
    ("open", "All open (also waiting on a fork)"),
    *[(value, label.capitalize()) for value, label in Status.choices],
    ("ended", "Ended (closed or aborted)"),
    ("any", "Any status"),
]


class QueueFilters(forms.Form):
    team = forms.ChoiceField(required=False, label="Team", widget=FlatSelect)
    process = forms.ChoiceField(required=False, label="Process", widget=FlatSelect)
    call_type = forms.ChoiceField(required=False, label="Call type", widget=FlatSelect)
    status = forms.ChoiceField(
        required=False, choices=STATUS_VIEWS, label="Status", widget=FlatSelect
    )
    priority = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Priority", widget=FlatSelect
    )
    customer = ListedModelChoiceField(
        Customer.objects.none(), required=False, empty_label="Any customer"
    )
    service = ListedModelChoiceField(
        Service.objects.none(), required=False, empty_label="Any service"
    )
    breached = forms.BooleanField(required=False, label="Breached")
    mine = forms.BooleanField(required=False, label="Only mine")
    q = forms.CharField(required=False, max_length=100, label="Search")
    after = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.teams = list(scoped(user, Team.objects.filter(active=True)))
        mine = {t.pk for t in user.person.teams.all()}
        self.my_teams = [t for t in self.teams if t.pk in mine]
        self.fields["team"].choices = [
            ("", "My teams" if self.my_teams else "All teams"),
            ("all", "All teams"),
            *[(str(t.pk), t.name) for t in self.teams],
        ]
        model = reference_model()
        self.fields["process"].choices = [("", "Any process")] + [
            (p.code, f"{p.code} · {p.verb}") for p in model.processes.values()
        ]
        self.fields["call_type"].choices = [("", "Any call type")] + [
            (c.code, c.name) for c in model.call_types.values()
        ]
        # The levels the provider's matrices can yield; a risk's level counts as its priority.
        provider_id = user.person.provider_id
        levels = set()
        for kind in ("priority", "risk"):
            levels |= set(queries.matrix(provider_id, kind)[0].values())
        self.fields["priority"].choices = [("", "Any priority")] + [
            (str(n), f"P{n}") for n in sorted(levels)
        ]
        self.fields["customer"].queryset = scoped(user, Customer.objects.filter(active=True))
        self.fields["service"].queryset = scoped(user, Service.objects.all())


@dataclass
class QueuePage:
    calls: list[Call]
    next_cursor: str | None
    first_page: bool


def _cursor_of(call: Call) -> str:
    due = call.resolution_due
    return f"{'n' if due is None else (due - EPOCH) // MICROSECOND}-{call.pk}"


def _after(calls: QuerySet, cursor: str) -> QuerySet:
    found = CURSOR.match(cursor or "")
    if not found:
        return calls
    due_text, pk = found.group(1), int(found.group(2))
    if due_text == "n":
        return calls.filter(resolution_due__isnull=True, pk__gt=pk)
    due = EPOCH + int(due_text) * MICROSECOND
    return calls.filter(
        Q(resolution_due__gt=due)
        | Q(resolution_due=due, pk__gt=pk)
        | Q(resolution_due__isnull=True)
    )


def filtered(user, filters: QueueFilters) -> QuerySet:
    # A filter that does not make sense is left out (the page names it); the others still apply.
    filters.is_valid()
    data = filters.cleaned_data
    calls = scoped(user, Call.objects.all())
    team = data.get("team", "")
    if team == "" and filters.my_teams:
        calls = calls.filter(assignee_team__in=filters.my_teams)
    elif team not in ("", "all"):
        calls = calls.filter(assignee_team_id=int(team))
    if data.get("process"):
        calls = calls.filter(process=data["process"])
    if data.get("call_type"):
        calls = calls.filter(call_type=data["call_type"])
    status = data.get("status") or "todo"
    if status == "todo":
        calls = calls.filter(to_do=1)
    elif status == "open":
        calls = calls.exclude(status__in=ENDED)
    elif status == "ended":
        calls = calls.filter(status__in=ENDED)
    elif status != "any":
        calls = calls.filter(status=status)
    if data.get("priority") is not None:
        level = data["priority"]
        calls = calls.filter(Q(priority=level) | Q(priority__isnull=True, risk_level=level))
    if data.get("customer"):
        calls = calls.filter(customer=data["customer"])
    if data.get("service"):
        calls = calls.filter(service=data["service"])
    if data.get("breached"):
        calls = calls.filter(_breached(timezone.now()))
    if data.get("mine"):
        calls = calls.filter(assignee=user.person)
    if query := (data.get("q") or "").strip():
        calls = calls.filter(Q(number__icontains=query) | Q(summary__icontains=query))
    return calls


def _breached(now: datetime) -> Q:
    """A deadline still owed after its due time, as the SLA sweep (`usm.calls.deadlines.missed`)
    counts it, and red on the page (`usm.web.sla`). A closed wish without a deal owes nothing."""
    late_response = Q(response_due__lt=now, responded_at__isnull=True)
    late_resolution = Q(resolution_due__lt=now, resolved_at__isnull=True, closed_at__isnull=True)
    return (late_response | late_resolution) & ~Q(status="aborted")


def page(user, filters: QueueFilters) -> QueuePage:
    filters.is_valid()
    cursor = filters.cleaned_data.get("after", "")
    calls = _after(filtered(user, filters), cursor)
    calls = calls.select_related("customer", "assignee_team", "assignee", "service")
    rows = list(calls.order_by(F("resolution_due").asc(nulls_last=True), "pk")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return QueuePage(
        calls=rows,
        next_cursor=_cursor_of(rows[-1]) if more else None,
        first_page=not CURSOR.match(cursor or ""),
    )
