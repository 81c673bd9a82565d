"""How one call walks its process: the state machine of the engine, pure and deterministic.

Every action takes the model and a `CallState` and returns the new state with the events that
record it; an action that USM does not allow raises `FlowError` and changes nothing. The Django
`calls` app persists states and events; it never decides a transition itself.

USM's rules as this module applies them:
- a call walks its process's steps in order; an outcome may send it to a later step (no deal);
- at a fork step the call hands over to an allowed process and waits; when that process has
  delivered (process fulfilled) the caller resumes with the step after its fork;
- the accepting process sets *workflow fulfilled* at its review, a forked-into one *process
  fulfilled*; every call ends *closed* after evaluate & close;
- errors: repeat from a corrected earlier step, or abort the workflow; both are recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from usm.model import Process, ProcessModel, Step, StepKind


class CallStatus(StrEnum):
    OPEN = "open"  # registered; accept not yet completed
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"  # waiting on the requester: the SLA clock pauses
    WAITING = "waiting"  # waiting for the process it forked into
    PROCESS_FULFILLED = "process_fulfilled"
    WORKFLOW_FULFILLED = "workflow_fulfilled"
    CLOSED = "closed"
    ABORTED = "aborted"


ENDED = frozenset({CallStatus.CLOSED, CallStatus.ABORTED})
# Statuses in which the current step may be worked on.
WORKABLE = frozenset(
    {
        CallStatus.OPEN,
        CallStatus.IN_PROGRESS,
        CallStatus.PROCESS_FULFILLED,
        CallStatus.WORKFLOW_FULFILLED,
    }
)


class FlowError(Exception):
    """An action USM does not allow in the call's current state. `code` is stable for clients."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class EventKind(StrEnum):
    STEP_COMPLETED = "step_completed"
    FORKED = "forked"
    RESUMED = "resumed"
    STATUS_CHANGED = "status_changed"
    REPEATED = "repeated"
    ABORTED = "aborted"
    HELD = "held"
    RELEASED = "released"


@dataclass(frozen=True)
class FlowEvent:
    kind: EventKind
    step: str | None
    attempt: int = 1
    outcome: str = ""
    detail: str = ""
    status: CallStatus | None = None


@dataclass(frozen=True)
class CallState:
    process: str
    step: str | None  # the step to do next; None once the call has ended
    status: CallStatus
    accepting: bool  # True for the call that accepted the workflow, False for a forked-into one
    waiting_for: str | None = None
    attempts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    marks: frozenset[str] = frozenset()
    held_status: CallStatus | None = None  # the status to return to when released


def _process(model: ProcessModel, process: str) -> Process:
    try:
        return model.processes[process]
    except KeyError:
        raise FlowError("unknown_process", f"the model has no process {process}") from None


def _process_steps(model: ProcessModel, process: str) -> tuple[Step, ...]:
    return _process(model, process).steps


def _step(model: ProcessModel, state: CallState, step_id: str) -> Step:
    try:
        return _process(model, state.process).step(step_id)
    except KeyError:
        raise FlowError("unknown_step", f"{step_id} is not a step of {state.process}") from None


def _after(model: ProcessModel, state: CallState, step: Step) -> str | None:
    return _process(model, state.process).after(step.id)


def _skips_review(model: ProcessModel, state: CallState, following: str | None) -> bool:
    if following is None:
        return False
    review = _process(model, state.process).review
    return _step(model, state, following).position > review.position


def _bump(attempts: Mapping[str, int], step_id: str) -> tuple[Mapping[str, int], int]:
    counted = dict(attempts)
    counted[step_id] = counted.get(step_id, 0) + 1
    return MappingProxyType(counted), counted[step_id]


def _require_current(state: CallState, step_id: str) -> None:
    if state.status in ENDED:
        raise FlowError("ended", f"the call is {state.status.value}")
    if state.status is CallStatus.WAITING:
        raise FlowError("waiting", f"the call is waiting for {state.waiting_for}")
    if state.status is CallStatus.ON_HOLD:
        raise FlowError("on_hold", "the call is on hold; release it first")
    if step_id != state.step:
        raise FlowError("not_current", f"{step_id} is not the current step ({state.step})")


def start(model: ProcessModel, process: str, *, accepting: bool = True) -> CallState:
    """A newly registered call, at its process's accept step."""
    first = _process_steps(model, process)[0]
    if first.kind is not StepKind.ACCEPT:
        raise FlowError("no_accept", f"{process} does not start with an accept step")
    return CallState(process=process, step=first.id, status=CallStatus.OPEN, accepting=accepting)


def complete(
    model: ProcessModel, state: CallState, step_id: str, outcome: str | None = None
) -> tuple[CallState, list[FlowEvent]]:
    """Complete the current step (not a fork step: that is `fork`)."""
    _require_current(state, step_id)
    step = _step(model, state, step_id)
    if step.kind is StepKind.FORK:
        raise FlowError(
            "fork_step", f"{step_id} hands over to another process: choose where to fork"
        )
    chosen = None
    if outcome:
        chosen = step.outcome(outcome)
        if chosen is None:
            allowed = ", ".join(o.code for o in step.outcomes) or "none"
            raise FlowError("unknown_outcome", f"{step_id} has no outcome '{outcome}' ({allowed})")
    attempts, attempt = _bump(state.attempts, step_id)
    marks = state.marks | ({chosen.marks} if chosen and chosen.marks else set())
    following = chosen.next if chosen and chosen.next else _after(model, state, step)
    status = state.status
    delivered = CallStatus.WORKFLOW_FULFILLED if state.accepting else CallStatus.PROCESS_FULFILLED
    if step.kind is StepKind.EVALUATE:
        status, following = CallStatus.CLOSED, None
    elif step.kind is StepKind.REVIEW or _skips_review(model, state, following):
        # An outcome that jumps past the review (a wish with no deal) has delivered the process's
        # result all the same: the caller of a forked call must get it back and resume.
        status = delivered
    elif status is CallStatus.OPEN:
        status = CallStatus.IN_PROGRESS
    events = [FlowEvent(EventKind.STEP_COMPLETED, step_id, attempt, outcome or "")]
    if status is not state.status:
        events.append(FlowEvent(EventKind.STATUS_CHANGED, step_id, status=status))
    new = replace(state, step=following, status=status, attempts=attempts, marks=frozenset(marks))
    return new, events


def fork(
    model: ProcessModel, state: CallState, step_id: str, target: str
) -> tuple[CallState, list[FlowEvent]]:
    """Hand the call over to `target` at its fork step; the caller waits for it."""
    _require_current(state, step_id)
    step = _step(model, state, step_id)
    if step.kind is not StepKind.FORK:
        raise FlowError("not_a_fork", f"{step_id} is not a fork step")
    if target not in step.fork_to:
        allowed = " or ".join(step.fork_to)
        raise FlowError("fork_target", f"{step_id} forks to {allowed}, not to {target}")
    attempts, attempt = _bump(state.attempts, step_id)
    new = replace(state, status=CallStatus.WAITING, waiting_for=target, attempts=attempts)
    return new, [
        FlowEvent(EventKind.STEP_COMPLETED, step_id, attempt, outcome=target),
        FlowEvent(EventKind.FORKED, step_id, attempt, outcome=target),
        FlowEvent(EventKind.STATUS_CHANGED, step_id, status=CallStatus.WAITING),
    ]


def resume(model: ProcessModel, state: CallState) -> tuple[CallState, list[FlowEvent]]:
    """The forked-into process has delivered: go on with the step after the fork."""
    if state.status is not CallStatus.WAITING:
        raise FlowError("not_waiting", f"the call is {state.status.value}, not waiting")
    step = _step(model, state, state.step)
    new = replace(
        state,
        step=_after(model, state, step),
        status=CallStatus.IN_PROGRESS,
        waiting_for=None,
    )
    return new, [
        FlowEvent(EventKind.RESUMED, state.step, outcome=state.waiting_for or ""),
        FlowEvent(EventKind.STATUS_CHANGED, state.step, status=CallStatus.IN_PROGRESS),
    ]


def repeat(
    model: ProcessModel, state: CallState, step_id: str, reason: str
) -> tuple[CallState, list[FlowEvent]]:
    """USM's first error route: after a correction, go back to an earlier (or the current) step
    of the same process and walk on from there."""
    if state.status in ENDED or state.status in (CallStatus.WAITING, CallStatus.ON_HOLD):
        raise FlowError("cannot_repeat", f"a {state.status.value} call cannot repeat a step")
    if not reason.strip():
        raise FlowError("reason_required", "say what was corrected")
    target = _step(model, state, step_id)
    current = _step(model, state, state.step)
    if target.position > current.position:
        raise FlowError("not_earlier", f"{step_id} comes after the current step {state.step}")
    # Once delivery is reviewed the caller may already have resumed; only what follows the
    # review can still be redone.
    fulfilled = state.status in (CallStatus.PROCESS_FULFILLED, CallStatus.WORKFLOW_FULFILLED)
    review = _process(model, state.process).review
    if fulfilled and target.position <= review.position:
        raise FlowError("delivered", f"delivery was reviewed; {step_id} can no longer be redone")
    if target.kind is StepKind.ACCEPT:
        raise FlowError("not_earlier", "a call is accepted once; register a new call instead")
    new = replace(state, step=step_id, status=state.status)
    return new, [FlowEvent(EventKind.REPEATED, step_id, detail=reason.strip())]


def abort(state: CallState, reason: str) -> tuple[CallState, list[FlowEvent]]:
    """USM's second error route: stop the workflow. The caller aborts every open call of it."""
    if state.status in ENDED:
        raise FlowError("ended", f"the call is already {state.status.value}")
    if not reason.strip():
        raise FlowError("reason_required", "say why the workflow is aborted")
    new = replace(state, step=None, status=CallStatus.ABORTED, waiting_for=None, held_status=None)
    return new, [
        FlowEvent(EventKind.ABORTED, state.step, detail=reason.strip()),
        FlowEvent(EventKind.STATUS_CHANGED, state.step, status=CallStatus.ABORTED),
    ]


def hold(state: CallState, reason: str) -> tuple[CallState, list[FlowEvent]]:
    """Wait on the requester; the SLA clock pauses until `release`."""
    if state.status not in (CallStatus.OPEN, CallStatus.IN_PROGRESS):
        raise FlowError("cannot_hold", f"a {state.status.value} call cannot be put on hold")
    new = replace(state, status=CallStatus.ON_HOLD, held_status=state.status)
    return new, [
        FlowEvent(EventKind.HELD, state.step, detail=reason.strip()),
        FlowEvent(EventKind.STATUS_CHANGED, state.step, status=CallStatus.ON_HOLD),
    ]


def release(state: CallState) -> tuple[CallState, list[FlowEvent]]:
    if state.status is not CallStatus.ON_HOLD:
        raise FlowError("not_on_hold", f"the call is {state.status.value}, not on hold")
    back = state.held_status or CallStatus.IN_PROGRESS
    new = replace(state, status=back, held_status=None)
    return new, [
        FlowEvent(EventKind.RELEASED, state.step),
        FlowEvent(EventKind.STATUS_CHANGED, state.step, status=back),
    ]


def workflows_for(model: ProcessModel, chain: tuple[str, ...]) -> list[int]:
    """The workflow templates a chain of processes entered so far can still be: one number once
    the path is fixed (a static workflow from the start, a dynamic one at its fork)."""
    return [
        w.number
        for w in model.workflows
        if w.processes[: len(chain)] == chain and model.processes[chain[0]].trigger == w.trigger
    ]
