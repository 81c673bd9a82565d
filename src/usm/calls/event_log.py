"""Writing the event log. Called by `services` only: every row it adds is part of a transition the
services have already decided."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from usm.calls import rows
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
) -> None:
    rows.insert([_event(call, kind, at, actor, step, attempt, outcome, status, detail)])


def record_flow(
    call: Call, events: Iterable[FlowEvent], at: datetime, actor=None, notes: str = ""
) -> None:
    """The events of one transition, written in one statement: a step that also changes the
    status costs one insert, not two."""
    rows.insert(
        [
            _event(
                call,
                event.kind.value,
                at,
                actor,
                event.step or "",
                event.attempt,
                event.outcome,
                event.status.value if event.status else "",
                event.detail or (notes if event.kind.value == "step_completed" else ""),
            )
            for event in events
        ]
    )


def _event(call, kind, at, actor, step, attempt, outcome, status, detail) -> CallEvent:
    return CallEvent(
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
        profile_id=call.responsible_profile_id,
        team_id=call.assignee_team_id,
        at=at,
    )
