"""Writing the event log. Called by `services` only: every row it adds is part of a transition the
services have already decided."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from usm.calls.models import Call, CallEvent
from usm.engine.call_flow import FlowEvent


def record(
    call: Call,
    kind: str,
    at: datetime,
    actor=None,
    *,
    step: str = "",
    attempt: int = 1,
    outcome: str = "",
    status: str = "",
    detail: str = "",
) -> CallEvent:
    return CallEvent.objects.create(
        provider_id=call.provider_id,
        call=call,
        root_id=call.root_id or call.pk,
        process=call.process,
        step=step or "",
        attempt=attempt,
        workflow=call.workflow,
        kind=kind,
        outcome=outcome,
        status=status,
        detail=detail,
        actor=actor if actor is not None and actor.is_authenticated else None,
        profile=call.responsible_profile,
        team=call.assignee_team,
        at=at,
    )


def record_flow(
    call: Call, events: Iterable[FlowEvent], at: datetime, actor=None, notes: str = ""
) -> None:
    for event in events:
        record(
            call,
            event.kind.value,
            at,
            actor,
            step=event.step or "",
            attempt=event.attempt,
            outcome=event.outcome,
            status=event.status.value if event.status else "",
            detail=event.detail or (notes if event.kind.value == "step_completed" else ""),
        )
