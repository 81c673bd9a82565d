"""Tracking numbers: readable, per provider and process (INC-000123), never reused."""

from __future__ import annotations

from django.db.models import F

from usm.calls.models import CallCounter


def next_number(provider_id: int, prefix: str) -> str:
    """The next number for `prefix`. Must run inside the registering transaction: the counter row
    is locked until it commits, so two desks never get the same number."""
    counter, _ = CallCounter.objects.get_or_create(provider_id=provider_id, prefix=prefix)
    CallCounter.objects.filter(pk=counter.pk).update(last=F("last") + 1)
    counter = CallCounter.objects.select_for_update().get(pk=counter.pk)
    return f"{prefix}-{counter.last:06d}"
