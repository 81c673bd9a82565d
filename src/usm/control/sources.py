"""The rows process control reads, narrowed by the scoping rule: calls and their event log."""

from __future__ import annotations

from django.db.models import QuerySet

from usm.api.scoping import is_staff, provider_id_of, scoped
from usm.calls.models import Call, CallEvent


def visible(user) -> tuple[QuerySet[Call], QuerySet[CallEvent]]:
    """The calls `user` may see and the events of those calls. The event log carries the
    provider but not the customer, so were a customer's user ever let in, they would see the
    events through their own calls only."""
    calls = scoped(user, Call.objects.all())
    events = scoped(user, CallEvent.objects.all())
    if not is_staff(user):
        events = events.filter(call__in=calls.values("pk"))
    return calls, events


def whole_log_of(user) -> int | None:
    """The provider whose whole event log `visible(user)` gives (its staff see all of it), for
    the KPIs to read its kept day tallies; None for anyone who sees only part of it."""
    return provider_id_of(user) if is_staff(user) else None


def of_provider(provider_id: int) -> tuple[QuerySet[Call], QuerySet[CallEvent]]:
    """Everything of one provider, for the command line (run by an administrator)."""
    return (
        Call.objects.filter(provider_id=provider_id),
        CallEvent.objects.filter(provider_id=provider_id),
    )
