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

A closed workflow's check is kept (`WorkflowCheckRecord`): what is replayed (the calls' steps,
forks, statuses) no longer changes once every call of a workflow has ended. The checks are made
in the background (`usm.control.services.record_workflow_checks`, run by every SLA sweep), so a
view only reads them; an ended workflow not yet checked is counted as awaiting its check, never
as conforming or not. A record made with another process model or checker revision
(`checked_with`) counts as missing and is made again.

The sweep finds the workflows to check from the event log, not the register: a workflow's last
call ends by an event carrying the workflow's root, and a call never reopens, so the roots with
events after the conformance mark (`ConformanceMark`), less those with a current check
(`unchecked_among`), are all that can have ended unchecked since the last sweep.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from usm.calls.models import Call, CallEvent
from usm.control.periods import Period
from usm.model import PathStep, ProcessModel, Step, StepKind, Workflow, reference_model

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
ENDED = ("closed", "aborted")
CHUNK = 1000
# Raise when a change to this module changes what a check finds: every kept check is then made
# again from the log.
CHECKER_REVISION = 1


class CallFacts(NamedTuple):
    id: int
    number: str
    process: str
    parent_id: int | None
    status: str


class EventFacts(NamedTuple):
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

    def summary(self) -> dict:
        """What a period's figures add up, kept beside the record (`WorkflowCheckRecord`)."""
        return {
            "workflow": self.workflow,
            "aborted": self.aborted,
            "conforming": self.conforming,
            "with_repeats": bool(self.repeats),
            "deviations": len(self.deviations),
        }

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


class _Lookups:
    """What the replay asks of the model at every event, as dictionaries: a step by its id, the
    position of a step in its process, a process's fork step, a template's path. The model's own
    look-ups walk its lists, which made them most of the cost of a check."""

    def __init__(self, model: ProcessModel):
        self.model = model
        self.step: dict[str, Step] = {}
        for step in model.steps:
            self.step.setdefault(step.id, step)
        self.steps = {code: [s.id for s in p.steps] for code, p in model.processes.items()}
        self.position = {
            code: {step: index for index, step in reversed(list(enumerate(steps)))}
            for code, steps in self.steps.items()
        }
        self.fork_step = {
            code: next((s for s in steps if self.step[s].kind is StepKind.FORK), None)
            for code, steps in self.steps.items()
        }
        self._paths: dict[int, list[PathStep]] = {}
        # The shapes of workflows found conforming, with their repeats (see `_check_by_shape`).
        self.conforming_shapes: dict[tuple, list[tuple[int, str, int]]] = {}

    def path(self, template: Workflow) -> list[PathStep]:
        if template.number not in self._paths:
            self._paths[template.number] = self.model.path(template)
        return self._paths[template.number]


_last_lookups: list[_Lookups] = []


def _lookups(model: ProcessModel) -> _Lookups:
    """The look-ups of `model`, kept for the last model asked about (the reference model, but
    for tests and imported models)."""
    if not _last_lookups or _last_lookups[0].model is not model:
        _last_lookups[:] = [_Lookups(model)]
    return _last_lookups[0]


class _Walk:
    """One call's replay: where it is in its process and what it has done."""

    def __init__(self, lookups: _Lookups, call: CallFacts, depth: int):
        self.lookups, self.call, self.depth = lookups, call, depth
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
        # A process the model lacks has no steps to walk: every step completed in it deviates.
        self.steps = self.lookups.steps.get(process, [])
        self.position = self.lookups.position.get(process, {})
        self.next: int | None = 0 if self.steps else None

    @property
    def expected(self) -> str | None:
        return None if self.next is None else self.steps[self.next]


class _Replay:
    def __init__(self, lookups: _Lookups, check: WorkflowCheck, template: Workflow | None):
        self.lookups, self.check, self.template = lookups, check, template

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
        handler = _HANDLERS.get(event.kind)
        if handler is not None:
            handler(self, walk, event, position)

    def _on_registered(self, walk, event, position):
        if event.process in self.lookups.steps:
            walk.enter(event.process)

    def _on_reclassified(self, walk, event, position):
        # The desk corrected the call type before the work began: the call starts over in the
        # process of its new type, as the engine allows.
        walk.enter(event.process)
        walk.completed.clear()
        walk.order.clear()

    def _on_step_completed(self, walk, event, position):
        call, step = walk.call, event.step
        index = walk.position.get(step)
        if index is None:
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
        self._advance(walk, step, index, event.outcome, position)

    def _advance(self, walk: _Walk, step_id: str, index: int, outcome: str, position: int) -> None:
        step = self.lookups.step[step_id]
        walk.next = index + 1 if index + 1 < len(walk.steps) else None
        chosen = step.outcome(outcome) if outcome else None
        target = walk.position.get(chosen.next) if chosen is not None and chosen.next else None
        if target is not None:
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
        index = walk.position.get(step)
        if index is None or walk.next is None or index > walk.next:
            self.deviate(
                walk.call,
                step,
                "bad_repeat",
                f"repeat of {step}, which is not an earlier step of {walk.process}",
            )
            return
        walk.repeats[step] += 1
        walk.next = index

    def _on_status_changed(self, walk, event, position):
        if event.status == "workflow_fulfilled" and walk.depth != 0:
            self.deviate(
                walk.call,
                event.step,
                "fulfilled_by_other",
                "fulfilled the workflow, which only its accepting call does",
            )


_HANDLERS = {
    name.removeprefix("_on_"): handler
    for name, handler in vars(_Replay).items()
    if name.startswith("_on_")
}


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
    lookups = _lookups(model)
    replay = _Replay(lookups, check, template)
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
        walks[call.id] = _Walk(lookups, call, depth)
        _check_nesting(replay, call, depth, children[call.id])

    for position, event in enumerate(events):
        if event.call_id in walks:
            replay.event(walks[event.call_id], event, position)

    root_walk = walks[root_id]
    for walk in walks.values():
        _check_ending(replay, walk, children[walk.call.id], walks, root_walk)
    if not check.deviations and template is not None:
        _check_path(replay, template, walks, children, root_walk)
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
    fork_step = replay.lookups.fork_step.get(walk.process)
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
                walk.steps[walk.position[fork_step] + 1] if fork_step else "",
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


def _check_path(replay, template, walks, children, root_walk) -> None:
    """The steps walked, nested at each fork as the template nests them, against the template's
    path less what outcomes skipped."""
    lookups = replay.lookups
    skipped = set().union(*(w.skipped for w in walks.values()))

    def walked(walk: _Walk) -> Iterator[str]:
        for step in walk.order:
            yield step
            if lookups.step[step].kind is StepKind.FORK:
                for child in children[walk.call.id]:
                    yield from walked(walks[child.id])

    expected, depth_skipped = [], None
    for path_step in lookups.path(template):
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
def _chunks(ids: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def checked_with(model: ProcessModel) -> str:
    """What a kept check was made with: a check made with anything else is made again."""
    return f"{model.name} {model.version} / checker {CHECKER_REVISION}"[:200]


def unchecked(calls: QuerySet[Call], made_with: str) -> QuerySet[Call]:
    """The accepting calls among `calls` whose workflow has ended (every call of it closed or
    aborted) and has no check kept that was made `made_with`: the workflows left to check."""
    from usm.control.models import WorkflowCheckRecord

    kept = WorkflowCheckRecord.objects.filter(root_id=OuterRef("pk"), checked_with=made_with)
    still_open = Call.objects.filter(root_id=OuterRef("pk")).exclude(status__in=ENDED)
    # The kept check is asked first: on a register checked up to date it rules out nearly every
    # row with one primary-key look-up.
    return (
        calls.filter(accepting=True, status__in=ENDED)
        .exclude(Exists(kept))
        .exclude(Exists(still_open))
    )


def unchecked_among(ids: Iterable[int], made_with: str) -> list[int]:
    """`unchecked` among the calls `ids`, lowest first. Asked CHUNK ids at a time: given the
    ids themselves (not a subquery the planner cannot size), PostgreSQL looks each call, its
    check and its workflow's calls up by key instead of scanning the register."""
    ids = sorted(set(ids))
    return [
        pk
        for chunk in _chunks(ids)
        for pk in unchecked(Call.objects.filter(pk__in=chunk), made_with)
        .order_by("pk")
        .values_list("pk", flat=True)
    ]


def replay(
    model: ProcessModel, roots: list[tuple[int, int | None]]
) -> Iterator[tuple[int, WorkflowCheck]]:
    """The workflows of `roots` (accepting call, workflow number) whose calls have all ended,
    replayed from the log: two queries, whatever the number of workflows."""
    workflow_of = dict(roots)
    members: dict[int, list[CallFacts]] = defaultdict(list)
    for root_id, *facts in Call.objects.filter(root_id__in=workflow_of).values_list(
        "root_id", "pk", "number", "process", "parent_id", "status"
    ):
        members[root_id].append(CallFacts._make(facts))
    logs: dict[int, list[tuple]] = defaultdict(list)
    rows = (
        CallEvent.objects.filter(root_id__in=workflow_of, kind__in=REPLAYED)
        .order_by("root_id", "at", "pk")
        .values_list("root_id", *EventFacts._fields)
    )
    # A batch's log is read whole (a few events per call): a server-side cursor, which
    # `.iterator()` opens on PostgreSQL, cost more round trips than it saved memory.
    for row in rows:
        logs[row[0]].append(row)
    shapes = _lookups(model).conforming_shapes
    for root_id, workflow in roots:
        workflow_calls = members[root_id]
        if any(c.status not in ENDED for c in workflow_calls):
            continue  # not yet a closed workflow: a forked-into call is still at work
        yield (
            root_id,
            _check_by_shape(model, shapes, root_id, workflow, workflow_calls, logs[root_id]),
        )


# Conforming shapes remembered per model at most; past it they are forgotten and found again.
SHAPES_KEPT = 10_000


def _check_by_shape(
    model: ProcessModel,
    shapes: dict[tuple, list[tuple[int, str, int]] | None],
    root_id: int,
    workflow: int | None,
    calls: list[CallFacts],
    rows: list[tuple],
) -> WorkflowCheck:
    """`check_workflow`, answered without a replay when a workflow of the same shape was found
    conforming before. The shape is everything the check reads but the calls' ids and numbers:
    the calls (process, parent and status, by their position in id order) and every replayed
    event (its call's position, process, step, attempt, kind, outcome and status). Two workflows
    of one shape replay alike, step for step, and most workflows walk one of a few shapes, so a
    register is mostly checked by a dictionary look-up. Deviating and aborted shapes are always
    replayed: their findings name calls."""
    calls = sorted(calls, key=lambda c: c.id)
    position = {c.id: i for i, c in enumerate(calls)}
    shape = (
        workflow,
        position.get(root_id),
        tuple((c.process, position.get(c.parent_id, -1), c.status) for c in calls),
        tuple((position.get(row[1], -1), *row[2:8]) for row in rows),
    )
    repeats = shapes.get(shape)
    if repeats is not None:
        return WorkflowCheck(
            calls[position[root_id]].number,
            workflow,
            calls=[(c.number, c.process) for c in calls],
            repeats=[(calls[i].number, step, n) for i, step, n in repeats],
        )
    events = [EventFacts._make(row[1:]) for row in rows]
    check = check_workflow(model, root_id, workflow, calls, events)
    if check.conforming:
        if len(shapes) >= SHAPES_KEPT:
            shapes.clear()
        number_at = {c.number: i for i, c in enumerate(calls)}
        shapes[shape] = [(number_at[number], step, n) for number, step, n in check.repeats]
    return check


def _kept_in(calls: QuerySet[Call], period: Period, made_with: str):
    """The current kept checks of the workflows whose accepting call (among `calls`) ended in
    `period`, and those ended workflows."""
    from usm.control.models import WorkflowCheckRecord

    ended = calls.filter(
        accepting=True, status__in=ENDED, closed_at__gte=period.start, closed_at__lt=period.end
    )
    kept = WorkflowCheckRecord.objects.filter(
        root_id__in=ended.values("pk"), checked_with=made_with
    )
    return kept, ended


def _listed(kept, wanted: int | None = None) -> Iterator[WorkflowCheck]:
    """The checks of `kept` in the order their workflows ended, read from their JSON a chunk at
    a time; `wanted`: stop once that many were read."""
    read = 0
    rows = kept.order_by("root__closed_at", "root_id").values_list("result", flat=True)
    while wanted is None or read < wanted:
        chunk = list(rows[read : read + CHUNK])
        for record in chunk:
            yield WorkflowCheck.from_record(record)
        read += len(chunk)
        if len(chunk) < CHUNK:
            return


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def conformance(
    calls: QuerySet[Call], events: QuerySet[CallEvent], period: Period, *, limit: int = 100
) -> dict:
    """Conformance of the workflows closed in `period`, as kept: rates per workflow and per
    process, the deviations (the first `limit`), repeats and aborted workflows, and how many
    ended workflows are still awaiting their check (`awaiting_check`), which the figures leave
    out rather than count as anything. Nothing is replayed here, and `events` is not read: the
    worker's sweep (or `usm control conformance`) keeps the checks, made from each workflow's
    whole log.

    The rates are sums of the summary kept beside each check; only the JSON of the workflows
    listed is read: every deviating one (the rate per process needs which of its calls
    deviated), and those with repeats or aborted up to `limit` entries."""
    model = reference_model()
    made_with = checked_with(model)
    kept, ended = _kept_in(calls, period, made_with)
    per_workflow = {
        row.pop("workflow"): row
        for row in kept.order_by()
        .values("workflow")
        .annotate(
            checked=Count("pk", filter=Q(aborted=False)),
            conforming=Count("pk", filter=Q(conforming=True)),
            with_repeats=Count("pk", filter=Q(aborted=False, with_repeats=True)),
            aborted=Count("pk", filter=Q(aborted=True)),
            deviations=Sum("deviations", default=0),
        )
    }
    totals = Counter()
    for figures in per_workflow.values():
        totals.update(figures)
    judged = kept.filter(aborted=False)
    per_process: dict[str, Counter] = defaultdict(Counter)
    for process, count in (
        Call.objects.filter(root_id__in=judged.values("root_id"))
        .order_by()
        .values_list("process")
        .annotate(Count("pk"))
    ):
        per_process[process]["calls"] = per_process[process]["conforming"] = count
    # The sums say which lists have anything to read.
    deviating = totals["checked"] > totals["conforming"]
    deviations = []
    for check in _listed(judged.filter(conforming=False)) if deviating else ():
        deviant = check.deviating_calls()
        for number, process in check.calls:
            per_process[process]["conforming"] -= number in deviant
        deviations.extend(
            {"root": check.root, "workflow": check.workflow, **vars(d)} for d in check.deviations
        )
    # Every workflow with repeats has one at least: the first `limit` of them list enough.
    repeats = [
        {"root": check.root, "call": c, "step": s, "count": n}
        for check in (
            _listed(judged.filter(with_repeats=True), limit) if totals["with_repeats"] else ()
        )
        for c, s, n in check.repeats
    ]
    aborted = []
    for check in _listed(kept.filter(aborted=True)) if totals["aborted"] and limit else ():
        if len(aborted) >= limit:
            break
        aborted.extend(
            {"root": check.root, "workflow": check.workflow, "call": c, "step": s, "reason": r}
            for c, s, r in check.stopped
        )
    empty = Counter()
    return {
        "period": period.as_dict(),
        "checked": totals["checked"],
        "conforming": totals["conforming"],
        "rate": _rate(totals["conforming"], totals["checked"]),
        "with_repeats": totals["with_repeats"],
        "aborted": totals["aborted"],
        "awaiting_check": unchecked(ended, made_with).count(),
        "workflows": [
            {
                "workflow": w.number,
                "name": w.name,
                "checked": per_workflow.get(w.number, empty)["checked"],
                "conforming": per_workflow.get(w.number, empty)["conforming"],
                "rate": _rate(
                    per_workflow.get(w.number, empty)["conforming"],
                    per_workflow.get(w.number, empty)["checked"],
                ),
                "with_repeats": per_workflow.get(w.number, empty)["with_repeats"],
                "aborted": per_workflow.get(w.number, empty)["aborted"],
            }
            for w in model.workflows
        ],
        "aborted_before_the_fork": per_workflow.get(None, empty)["aborted"],
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
