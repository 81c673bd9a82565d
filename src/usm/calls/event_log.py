"""Writing the event log. Called by `services` only: every row it adds is part of a transition the
services have already decided.

A row is written from its column values (`rows.insert_rows`), not from a `CallEvent` instance:
the log is append-only and nothing reads a row back in the transaction that writes it, so
building an instance per event would only cost time on every step.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from usm.calls import rows
from usm.calls.models import Call, CallEvent
from usm.engine.call_flow import EventKind, FlowEvent


def record(call: Call, kind: str, at: datetime, actor=None, **fields) -> None:
    """Log one event of `call`; `fields`: see `row_of`."""
    rows.insert_rows(CallEvent, [row_of(call, kind, at, actor, **fields)])


def row_of(
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
) -> dict:
    """The row `record` writes, for a caller that writes it with the call's own UPDATE
    (`rows.save_fields`)."""
    return _row(call, kind, at, _actor_id(actor), step, attempt, outcome, status, detail)


def record_flow(
    call: Call, events: Iterable[FlowEvent], at: datetime, actor=None, notes: str = ""
) -> None:
    """The events of one transition, written in one statement: a step that also changes the
    status costs one insert, not two."""
    rows.insert_rows(CallEvent, flow_rows(call, events, at, actor, notes))


def flow_rows(
    call: Call, events: Iterable[FlowEvent], at: datetime, actor=None, notes: str = ""
) -> list[dict]:
    """The rows `record_flow` writes, for a caller that writes them with the call's own UPDATE
    (`rows.save_fields`)."""
    actor_id = _actor_id(actor)
    return [
        _row(
            call,
            event.kind.value,
            at,
            actor_id,
            event.step or "",
            event.attempt,
            event.outcome,
            event.status.value if event.status else "",
            event.detail or (notes if event.kind is EventKind.STEP_COMPLETED else ""),
        )
        for event in events
    ]


def _actor_id(actor) -> int | None:
    return actor.pk if actor is not None and actor.is_authenticated else None


def _row(call, kind, at, actor_id, step, attempt, outcome, status, detail) -> dict:
    # Every column of `CallEvent` but its id, by attribute name.
    return {
        "provider_id": call.provider_id,
        "call_id": call.pk,
        "root_id": call.root_id or call.pk,
        "process": call.process,
        "step": step or "",
        "attempt": attempt,
        "workflow": call.workflow,
        "kind": kind,
        "outcome": outcome,
        "status": status,
        "detail": detail,
        "actor_id": actor_id,
        "profile_id": call.responsible_profile_id,
        "team_id": call.assignee_team_id,
        "at": at,
    }
