"""Conformance: does each closed workflow follow its template of the process model?

A workflow is checked once every call of it has ended. Its event log is replayed against the
template (`usm.model`), call by call and in the order the events were recorded:

- the calls are the template's processes in the template's nesting: the accepting call in the
  first, the call it forked into in the second, and so on, one fork per call;
- each call walks the steps of its process in order. A step outcome of the model may skip ahead
  (no deal at CTM-5 goes to evaluation, so that wish enters no other process); repeating an
  earlier step after a correction is allowed and flagged, not a deviation;
- a forked-into call delivers (its review) between its caller's fork and the caller's
  resumption, and nothing of the caller happens in between;
- the accepting call fulfils and closes the workflow: no other call sets *workflow fulfilled*,
  and no call closes after it;
- and, as a whole, the steps walked are `model.path(workflow)`, less what an outcome skipped.

Workflows with an aborted call are not judged: they are listed apart with where they stopped.

A closed workflow's check is kept (`WorkflowCheckRecord`) the first time it is made, so a view of
the dashboard replays only the workflows closed since the last one: what is replayed (the calls'
steps, forks, statuses) no longer changes once every call of a workflow has ended. A record made
with another process model or checker revision (`CHECKED_WITH`) is made again.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db.models import QuerySet

from usm.calls.models import Call, CallEvent
from usm.control.periods import Period
from usm.model import ProcessModel, StepKind, Workflow, reference_model

REPLAYED = (
    "registered",
    "reclassified",
    "step_completed",
    "forked",
    "resumed",
    "repeated",
    "aborted",
    "status_changed",
)
CHUNK = 500
# Raise when a change to this module changes what a check finds: every kept check is then made
# again from the log.
CHECKER_REVISION = 1


@dataclass(frozen=True)
class CallFacts:
    id: int
    number: str
    process: str
    parent_id: int | None
    status: str


@dataclass(frozen=True)
class EventFacts:
    call_id: int
    process: str
    step: str
    attempt: int
    kind: str
    outcome: str = ""
    status: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Deviation:
    call: str
    step: str
    code: str
    message: str


@dataclass
class WorkflowCheck:
    root: str
    workflow: int | None
    aborted: bool = False
    deviations: list[Deviation] = field(default_factory=list)
    # (call number, step, how many times it was repeated)
    repeats: list[tuple[str, str, int]] = field(default_factory=list)
    # (call number, process) of every call of the workflow
    calls: list[tuple[str, str]] = field(default_factory=list)
    # Where an aborted workflow stopped: (call number, step, reason)
    stopped: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def conforming(self) -> bool:
        return not self.aborted and not self.deviations

    def deviating_calls(self) -> set[str]:
        return {d.call for d in self.deviations}

    def as_record(self) -> dict:
        return {
            "root": self.root,
            "workflow": self.workflow,
            "aborted": self.aborted,
            "deviations": [[d.call, d.step, d.code, d.message] for d in self.deviations],
            "repeats": [list(r) for r in self.repeats],
            "calls": [list(c) for c in self.calls],
            "stopped": [list(s) for s in self.stopped],
        }

    @classmethod
    def from_record(cls, record: dict) -> WorkflowCheck:
        return cls(
            root=record["root"],
            workflow=record["workflow"],
            aborted=record["aborted"],
            deviations=[Deviation(*d) for d in record["deviations"]],
            repeats=[tuple(r) for r in record["repeats"]],
            calls=[tuple(c) for c in record["calls"]],
            stopped=[tuple(s) for s in record["stopped"]],
        )


class _Walk:
    """One call's replay: where it is in its process and what it has done."""

    def __init__(self, model: ProcessModel, call: CallFacts, depth: int):
        self.model, self.call, self.depth = model, call, depth
        self.enter(call.process)
        self.completed: Counter[str] = Counter()
        self.repeats: Counter[str] = Counter()
        self.order: list[str] = []  # steps in the order of their first completion
        self.skipped: set[str] = set()
        self.waiting_for: str | None = None
        self.forked_at = self.resumed_at = self.delivered_at = self.closed_at = None
        self.first_at: int | None = None

    def enter(self, process: str) -> None:
        self.process = process
        self.steps = [s.id for s in self.model.processes[process].steps]
        self.next: int | None = 0

    @property
    def expected(self) -> str | None:
        return None if self.next is None else self.steps[self.next]


class _Replay:
    def __init__(self, model: ProcessModel, check: WorkflowCheck, template: Workflow | None):
        self.model, self.check, self.template = model, check, template

    def deviate(self, call: CallFacts, step: str, code: str, message: str) -> None:
        self.check.deviations.append(Deviation(call.number, step, code, message))

    def expected_process(self, depth: int) -> str | None:
        if self.template is None or depth >= len(self.template.processes):
            return None
        return self.template.processes[depth]

    # -- one event -------------------------------------------------------------------------------
    def event(self, walk: _Walk, event: EventFacts, position: int) -> None:
        if walk.first_at is None:
            walk.first_at = position
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            handler(walk, event, position)

    def _on_registered(self, walk, event, position):
        if event.process in self.model.processes:
            walk.enter(event.process)

    def _on_reclassified(self, walk, event, position):
        # The desk corrected the call type before the work began: the call starts over in the
        # process of its new type, as the engine allows.
        walk.enter(event.process)
        walk.completed.clear()
        walk.order.clear()

    def _on_step_completed(self, walk, event, position):
        call, step = walk.call, event.step
        if step not in walk.steps:
            self.deviate(call, step, "wrong_process", f"{step} is not a step of {walk.process}")
            return
        walk.completed[step] += 1
        if walk.waiting_for:
            self.deviate(
                call,
                step,
                "while_waiting",
                f"{step} completed while waiting for {walk.waiting_for}",
            )
        if walk.next is None:
            self.deviate(call, step, "after_close", f"{step} completed after the call was closed")
            return
        index = walk.steps.index(step)
        if index < walk.next:
            # Done again with no repeat recorded: the walk stays where it was.
            self.deviate(
                call,
                step,
                "unrecorded_repeat",
                f"{step} completed again, with no repeat recorded, where {walk.expected} was due",
            )
            return
        if index > walk.next:
            self.deviate(call, step, "skipped", f"{step} completed before {walk.expected}")
        elif event.attempt != walk.completed[step]:
            self.deviate(
                call,
                step,
                "attempt",
                f"{step} recorded as attempt {event.attempt}, "
                f"but it is completion {walk.completed[step]}",
            )
        if step not in walk.order:
            walk.order.append(step)
        self._advance(walk, step, event.outcome, position)

    def _advance(self, walk: _Walk, step_id: str, outcome: str, position: int) -> None:
        step = self.model.step(step_id)
        index = walk.steps.index(step_id)
        walk.next = index + 1 if index + 1 < len(walk.steps) else None
        chosen = step.outcome(outcome) if outcome else None
        if chosen is not None and chosen.next:
            target = walk.steps.index(chosen.next)
            walk.skipped.update(walk.steps[index + 1 : target])
            walk.next = target
        if step.kind is StepKind.FORK:
            walk.forked_at = position
            walk.waiting_for = outcome or "?"
        elif step.kind is StepKind.REVIEW:
            walk.delivered_at = position
        elif step.kind is StepKind.EVALUATE:
            walk.next, walk.closed_at = None, position

    def _on_forked(self, walk, event, position):
        wanted = self.expected_process(walk.depth + 1)
        if self.template is not None and event.outcome != wanted:
            where = f"forks to {wanted}" if wanted else "does not fork"
            self.deviate(
                walk.call,
                event.step,
                "wrong_fork",
                f"forked to {event.outcome}; WF{self.template.number} {where} here",
            )

    def _on_resumed(self, walk, event, position):
        if walk.waiting_for is None:
            self.deviate(walk.call, event.step, "resumed", "resumed without having forked")
        walk.waiting_for, walk.resumed_at = None, position

    def _on_repeated(self, walk, event, position):
        step = event.step
        if step not in walk.steps or walk.next is None or walk.steps.index(step) > walk.next:
            self.deviate(
                walk.call,
                step,
                "bad_repeat",
                f"repeat of {step}, which is not an earlier step of {walk.process}",
            )
            return
        walk.repeats[step] += 1
        walk.next = walk.steps.index(step)

    def _on_status_changed(self, walk, event, position):
        if event.status == "workflow_fulfilled" and walk.depth != 0:
            self.deviate(
                walk.call,
                event.step,
                "fulfilled_by_other",
                "fulfilled the workflow, which only its accepting call does",
            )


def check_workflow(
    model: ProcessModel,
    root_id: int,
    workflow: int | None,
    calls: Iterable[CallFacts],
    events: Iterable[EventFacts],
) -> WorkflowCheck:
    """Replay one workflow's `events` (in the order they were recorded) against its template."""
    calls = sorted(calls, key=lambda c: c.id)
    by_id = {c.id: c for c in calls}
    root = by_id[root_id]
    events = list(events)
    check = WorkflowCheck(root.number, workflow, calls=[(c.number, c.process) for c in calls])
    if any(c.status == "aborted" for c in calls) or any(e.kind == "aborted" for e in events):
        check.aborted = True
        check.stopped = [
            (by_id[e.call_id].number, e.step, e.detail) for e in events if e.kind == "aborted"
        ]
        return check
    try:
        template = model.workflow(workflow) if workflow is not None else None
    except KeyError:
        template = None
    replay = _Replay(model, check, template)
    if template is None:
        reason = "was never decided" if workflow is None else "is not in the model"
        replay.deviate(root, "", "no_workflow", f"the workflow number {reason}")

    children: dict[int | None, list[CallFacts]] = defaultdict(list)
    for call in calls:
        children[call.parent_id].append(call)
    walks: dict[int, _Walk] = {}
    for call in calls:
        depth, parent = 0, call.parent_id
        while parent is not None and parent in by_id and depth <= len(calls):
            depth, parent = depth + 1, by_id[parent].parent_id
        walks[call.id] = _Walk(model, call, depth)
        _check_nesting(replay, call, depth, children[call.id])

    for position, event in enumerate(events):
        if event.call_id in walks:
            replay.event(walks[event.call_id], event, position)

    root_walk = walks[root_id]
    for walk in walks.values():
        _check_ending(replay, walk, children[walk.call.id], walks, root_walk)
    if not check.deviations and template is not None:
        _check_path(replay, model, template, walks, children, root_walk)
    check.repeats = [
        (walk.call.number, step, n)
        for walk in walks.values()
        for step, n in sorted(walk.repeats.items())
    ]
    return check


def _check_nesting(replay: _Replay, call: CallFacts, depth: int, forks: list[CallFacts]) -> None:
    wanted = replay.expected_process(depth)
    template = replay.template
    if template is None:
        return
    if wanted is None:
        replay.deviate(
            call,
            "",
            "wrong_nesting",
            f"{call.process} entered at depth {depth}; "
            f"WF{template.number} enters only {' > '.join(template.processes)}",
        )
    elif call.process != wanted:
        replay.deviate(
            call,
            "",
            "wrong_process",
            f"the call is in {call.process}; WF{template.number} enters {wanted} here",
        )
    if len(forks) > 1:
        numbers = ", ".join(c.number for c in forks)
        replay.deviate(call, "", "extra_fork", f"forked more than once ({numbers})")


def _check_ending(replay, walk: _Walk, forks, walks, root_walk: _Walk) -> None:
    call = walk.call
    if walk.next is not None:
        replay.deviate(call, walk.expected, "not_walked", f"the call ended without {walk.expected}")
    fork_step = next((s for s in walk.steps if replay.model.step(s).kind is StepKind.FORK), None)
    deeper = replay.expected_process(walk.depth + 1)
    if deeper and fork_step and fork_step not in walk.skipped and not forks:
        replay.deviate(
            call, fork_step, "missing_process", f"no {deeper} call was forked into the workflow"
        )
    for child in forks:
        inner = walks[child.id]
        if walk.forked_at is None or (inner.first_at or 0) < walk.forked_at:
            replay.deviate(child, "", "outside_fork", f"began before {call.number} forked into it")
        if inner.delivered_at is not None and (
            walk.resumed_at is None or walk.resumed_at < inner.delivered_at
        ):
            replay.deviate(
                call,
                walk.steps[walk.steps.index(fork_step) + 1] if fork_step else "",
                "resumed_early",
                f"went on before {child.number} delivered",
            )
    if (
        walk is not root_walk
        and walk.closed_at is not None
        and root_walk.closed_at is not None
        and walk.closed_at > root_walk.closed_at
    ):
        replay.deviate(
            call,
            walk.steps[-1],
            "closed_after_root",
            f"closed after {root_walk.call.number} had closed the workflow",
        )


def _check_path(replay, model, template, walks, children, root_walk) -> None:
    """The steps walked, nested at each fork as the template nests them, against the template's
    path less what outcomes skipped."""
    skipped = set().union(*(w.skipped for w in walks.values()))

    def walked(walk: _Walk) -> Iterator[str]:
        for step in walk.order:
            yield step
            if model.step(step).kind is StepKind.FORK:
                for child in children[walk.call.id]:
                    yield from walked(walks[child.id])

    expected, depth_skipped = [], None
    for path_step in model.path(template):
        if depth_skipped is not None and path_step.depth > depth_skipped:
            continue
        depth_skipped = None
        if path_step.step.id in skipped:
            if path_step.step.kind is StepKind.FORK:
                depth_skipped = path_step.depth
            continue
        expected.append(path_step.step.id)
    observed = list(walked(root_walk))
    if observed != expected:
        where = next(
            (i for i, (a, b) in enumerate(zip(observed, expected, strict=False)) if a != b),
            min(len(observed), len(expected)),
        )
        step = expected[where] if where < len(expected) else observed[where]
        replay.deviate(
            root_walk.call,
            step,
            "path_mismatch",
            f"the steps walked differ from WF{template.number}'s path from {step} on",
        )


# -- over the register --------------------------------------------------------------------------
def _chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def checked_with(model: ProcessModel) -> str:
    """What a kept check was made with: a check made with anything else is made again."""
    return f"{model.name} {model.version} / checker {CHECKER_REVISION}"[:200]


def checks(
    calls: QuerySet[Call], events: QuerySet[CallEvent], period: Period
) -> Iterator[WorkflowCheck]:
    """Every workflow whose accepting call ended in `period` and whose calls have all ended,
    checked: read from its kept check, or replayed from the log (and then kept). Works a chunk
    of workflows at a time, so memory stays bounded."""
    from usm.control.models import WorkflowCheckRecord

    model = reference_model()
    made_with = checked_with(model)
    roots = list(
        calls.filter(
            accepting=True,
            status__in=("closed", "aborted"),
            closed_at__gte=period.start,
            closed_at__lt=period.end,
        )
        .order_by("closed_at", "pk")
        .values_list("pk", "workflow")
    )
    for chunk in _chunks(roots):
        kept = dict(
            WorkflowCheckRecord.objects.filter(
                root_id__in=[root_id for root_id, _ in chunk], checked_with=made_with
            ).values_list("root_id", "result")
        )
        missing = [(root_id, workflow) for root_id, workflow in chunk if root_id not in kept]
        fresh = dict(_replayed(model, calls, events, missing)) if missing else {}
        if fresh:
            # Two readers may check the same workflow at once: the later write wins, and both
            # wrote the same check.
            WorkflowCheckRecord.objects.bulk_create(
                [
                    WorkflowCheckRecord(root_id=root_id, checked_with=made_with, result=check)
                    for root_id, check in ((r, c.as_record()) for r, c in fresh.items())
                ],
                update_conflicts=True,
                unique_fields=["root"],
                update_fields=["checked_with", "result"],
            )
        for root_id, _ in chunk:
            if root_id in kept:
                yield WorkflowCheck.from_record(kept[root_id])
            elif root_id in fresh:
                yield fresh[root_id]


def _replayed(
    model: ProcessModel,
    calls: QuerySet[Call],
    events: QuerySet[CallEvent],
    roots: list[tuple[int, int | None]],
) -> Iterator[tuple[int, WorkflowCheck]]:
    """The workflows of `roots` whose calls have all ended, replayed from the log."""
    workflow_of = dict(roots)
    members: dict[int, list[CallFacts]] = defaultdict(list)
    for root_id, *facts in calls.filter(root_id__in=workflow_of).values_list(
        "root_id", "pk", "number", "process", "parent_id", "status"
    ):
        members[root_id].append(CallFacts(*facts))
    logs: dict[int, list[EventFacts]] = defaultdict(list)
    rows = (
        events.filter(root_id__in=workflow_of, kind__in=REPLAYED)
        .order_by("root_id", "at", "pk")
        .values_list(
            "root_id",
            "call_id",
            "process",
            "step",
            "attempt",
            "kind",
            "outcome",
            "status",
            "detail",
        )
    )
    for root_id, *facts in rows.iterator(chunk_size=5000):
        logs[root_id].append(EventFacts(*facts))
    for root_id, workflow in roots:
        workflow_calls = members[root_id]
        if any(c.status not in ("closed", "aborted") for c in workflow_calls):
            continue  # not yet a closed workflow: a forked-into call is still at work
        yield root_id, check_workflow(model, root_id, workflow, workflow_calls, logs[root_id])


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def conformance(
    calls: QuerySet[Call], events: QuerySet[CallEvent], period: Period, *, limit: int = 100
) -> dict:
    """Conformance of the workflows closed in `period`: rates per workflow and per process, the
    deviations (the first `limit`), repeats and aborted workflows."""
    model = reference_model()
    per_workflow: dict[int | None, Counter] = defaultdict(Counter)
    per_process: dict[str, Counter] = defaultdict(Counter)
    deviations, repeats, aborted = [], [], []
    totals: Counter = Counter()
    for check in checks(calls, events, period):
        figures = per_workflow[check.workflow]
        if check.aborted:
            figures["aborted"] += 1
            totals["aborted"] += 1
            aborted.extend(
                {"root": check.root, "workflow": check.workflow, "call": c, "step": s, "reason": r}
                for c, s, r in check.stopped
            )
            continue
        figures["checked"] += 1
        totals["checked"] += 1
        figures["conforming"] += check.conforming
        totals["conforming"] += check.conforming
        figures["with_repeats"] += bool(check.repeats)
        totals["with_repeats"] += bool(check.repeats)
        deviant = check.deviating_calls()
        for number, process in check.calls:
            per_process[process]["calls"] += 1
            per_process[process]["conforming"] += number not in deviant
        totals["deviations"] += len(check.deviations)
        deviations.extend(
            {"root": check.root, "workflow": check.workflow, **vars(d)} for d in check.deviations
        )
        repeats.extend(
            {"root": check.root, "call": c, "step": s, "count": n} for c, s, n in check.repeats
        )
    return {
        "period": period.as_dict(),
        "checked": totals["checked"],
        "conforming": totals["conforming"],
        "rate": _rate(totals["conforming"], totals["checked"]),
        "with_repeats": totals["with_repeats"],
        "aborted": totals["aborted"],
        "workflows": [
            {
                "workflow": w.number,
                "name": w.name,
                "checked": per_workflow[w.number]["checked"],
                "conforming": per_workflow[w.number]["conforming"],
                "rate": _rate(
                    per_workflow[w.number]["conforming"], per_workflow[w.number]["checked"]
                ),
                "with_repeats": per_workflow[w.number]["with_repeats"],
                "aborted": per_workflow[w.number]["aborted"],
            }
            for w in model.workflows
        ],
        "aborted_before_the_fork": per_workflow[None]["aborted"],
        "processes": [
            {
                "process": code,
                "name": process.name,
                "calls": per_process[code]["calls"],
                "conforming": per_process[code]["conforming"],
                "rate": _rate(per_process[code]["conforming"], per_process[code]["calls"]),
            }
            for code, process in model.processes.items()
        ],
        "deviations_total": totals["deviations"],
        "deviations": deviations[:limit],
        "repeats": repeats[:limit],
        "aborted_workflows": aborted[:limit],
    }
