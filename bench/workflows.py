"""Driving a whole workflow through the real services, the way a desk would: register the call,
complete each step of the template's path, fork where the path forks. Used for the measured runs
and to make the templates the background data is cloned from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from usm.model import StepKind, reference_model


@dataclass(frozen=True)
class Operation:
    """One service call of a workflow run: a registration, a step completion or a fork."""

    kind: str  # register | complete | fork
    depth: int
    step: str = ""
    target: str = ""


def operations(number: int) -> list[Operation]:
    """The service calls that walk workflow `number` from registration to its close."""
    model = reference_model()
    path = model.path(model.workflow(number))
    found = [Operation("register", 0)]
    for index, walked in enumerate(path):
        if walked.step.kind is StepKind.FORK:
            target = path[index + 1].step.process
            found.append(Operation("fork", walked.depth, walked.step.id, target))
        else:
            found.append(Operation("complete", walked.depth, walked.step.id))
    return found


def step_count(number: int) -> int:
    """Steps executed by one run: each completion and each fork (a fork executes its step)."""
    return sum(1 for op in operations(number) if op.kind != "register")


@dataclass
class Desk:
    """Who registers calls, and for whom."""

    provider: object
    actor: object
    customer: object
    requester: object
    service: object


def run(
    number: int,
    desk: Desk,
    *,
    impact: int = 2,
    urgency: int = 2,
    clock: Callable[[], datetime | None] = lambda: None,
    after: Callable[[Operation, dict], None] | None = None,
    summary: str = "",
) -> dict:
    """Run workflow `number` to its close. `clock` gives each operation's time (None: now);
    `after` sees each operation and the calls by depth once it is done. Returns the calls by
    depth."""
    from usm.calls import services

    model = reference_model()
    workflow = model.workflow(number)
    calls: dict = {}
    for op in operations(number):
        at = clock()
        if op.kind == "register":
            calls[0] = services.register_call(
                desk.provider,
                desk.actor,
                call_type=workflow.trigger,
                summary=summary or f"WF{number} bench run",
                customer=desk.customer,
                requester=desk.requester,
                service=desk.service,
                impact=impact,
                urgency=urgency,
                effect=impact,
                likelihood=urgency,
                at=at,
            )
        elif op.kind == "fork":
            calls[op.depth + 1] = services.fork_call(calls[op.depth], desk.actor, op.target, at=at)
        else:
            calls[op.depth] = services.complete_step(calls[op.depth], desk.actor, op.step, at=at)
        if after is not None:
            after(op, calls)
    return calls


def ticking(start: datetime, every: timedelta) -> Callable[[], datetime]:
    """A clock that moves on by `every` at each reading."""
    moments = iter(range(10**9))
    return lambda: start + every * next(moments)


@dataclass(frozen=True)
class Shape:
    """What one run of a workflow records: the step completions and status changes the peer's
    ticket must match."""

    step_completions: int
    status_changes: int
    calls: int


def shape(number: int) -> Shape:
    """Walk workflow `number` in the pure engine (no database) and count its events."""
    from usm.engine import call_flow
    from usm.engine.call_flow import CallStatus, EventKind

    model = reference_model()
    states: dict[int, call_flow.CallState] = {}
    events: list = []
    for op in operations(number):
        if op.kind == "register":
            states[0] = call_flow.start(model, model.workflow(number).start)
            continue
        if op.kind == "fork":
            states[op.depth], found = call_flow.fork(model, states[op.depth], op.step, op.target)
            states[op.depth + 1] = call_flow.start(model, op.target, accepting=False)
        else:
            states[op.depth], found = call_flow.complete(model, states[op.depth], op.step)
            delivered = any(e.status is CallStatus.PROCESS_FULFILLED for e in found)
            if delivered:
                caller = op.depth - 1
                states[caller], resumed = call_flow.resume(model, states[caller])
                found = [*found, *resumed]
        events += found
    return Shape(
        sum(1 for e in events if e.kind is EventKind.STEP_COMPLETED),
        sum(1 for e in events if e.kind is EventKind.STATUS_CHANGED),
        len(states),
    )
