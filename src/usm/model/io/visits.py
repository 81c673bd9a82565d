"""A workflow's path seen as calls: which process visit each walked step belongs to, and how each
step leads to the next (within a call, into a forked call, or back to the caller).

Both diagram formats draw this structure, so they agree on what a "visit" is: one call in one
process. A fork opens a new visit one level deeper; the caller's visit stays open and takes the
steps after its resume, so its steps before and after the fork are one visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from usm.model.process import Process, Step, StepKind
from usm.model.process_model import ProcessModel
from usm.model.workflow import Workflow


class Move(StrEnum):
    NEXT = "next"
    FORK = "fork"
    RESUME = "resume"


@dataclass(frozen=True)
class Visit:
    index: int
    process: str
    depth: int
    # The calling visit and its step that forked into this one; None for the accepting process.
    caller: int | None
    forked_by: Step | None


@dataclass(frozen=True)
class Stop:
    """One entry of the path: the step walked, in the visit it belongs to."""

    index: int
    step: Step
    depth: int
    visit: int


@dataclass(frozen=True)
class Transition:
    source: Stop
    target: Stop
    move: Move


@dataclass(frozen=True)
class Walk:
    workflow: Workflow
    stops: tuple[Stop, ...]
    visits: tuple[Visit, ...]
    transitions: tuple[Transition, ...]

    def children(self, visit: int | None) -> list[Visit]:
        return [v for v in self.visits if v.caller == visit]

    def stops_of(self, visit: int) -> list[Stop]:
        return [s for s in self.stops if s.visit == visit]


def walk(model: ProcessModel, workflow: Workflow) -> Walk:
    visits: list[Visit] = []
    stops: list[Stop] = []
    # The open calls, outermost first.
    open_calls: list[Visit] = []
    for index, path_step in enumerate(model.path(workflow)):
        step, depth = path_step.step, path_step.depth
        while open_calls and open_calls[-1].depth > depth:
            open_calls.pop()
        if not open_calls or open_calls[-1].depth != depth:
            caller = open_calls[-1] if open_calls else None
            visit = Visit(
                index=len(visits),
                process=step.process,
                depth=depth,
                caller=caller.index if caller else None,
                forked_by=stops[-1].step if caller else None,
            )
            visits.append(visit)
            open_calls.append(visit)
        stops.append(Stop(index, step, depth, open_calls[-1].index))
    first_of_visit = {v.index: next(s for s in stops if s.visit == v.index) for v in visits}
    transitions = []
    for source, target in pairwise(stops):
        if source.visit == target.visit:
            move = Move.NEXT
        elif first_of_visit[target.visit] is target:
            move = Move.FORK
        else:
            move = Move.RESUME
        transitions.append(Transition(source, target, move))
    return Walk(workflow, tuple(stops), tuple(visits), tuple(transitions))


def call_type_name(model: ProcessModel, code: str) -> str:
    call_type = model.call_types.get(code)
    return call_type.name if call_type else code


def entry_step(process: Process) -> Step | None:
    """Where a call arriving in `process` starts: its accept step, else its first step."""
    return process.first(StepKind.ACCEPT) or (process.steps[0] if process.steps else None)


def fork_label(model: ProcessModel, process_code: str) -> str:
    """What a fork into `process_code` creates: a call of the type that process accepts."""
    return f"fork: {call_type_name(model, model.processes[process_code].trigger)}"
