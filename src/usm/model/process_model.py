"""A whole process model: processes, call types and the workflows that chain them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from usm.model.process import CallType, Process, Step, StepKind
from usm.model.workflow import PathStep, Workflow


@dataclass(frozen=True)
class Profile:
    id: str
    name: str


@dataclass(frozen=True)
class _Index:
    steps: dict[str, Step]
    workflows: dict[int, Workflow]
    triggered: dict[str, Process]  # by the call type that triggers it


@dataclass
class ProcessModel:
    name: str
    version: str
    processes: dict[str, Process]
    workflows: list[Workflow]
    call_types: dict[str, CallType]
    profiles: dict[str, Profile] = field(default_factory=dict)
    # Where the model was read from, for messages.
    source: str = "built-in"
    # Defects found while reading that are design-criterion violations, not unreadable input:
    # (criterion, where, message), e.g. a USM-WIF step in a process that does not exist.
    reading_violations: list[tuple[int, str, str]] = field(default_factory=list)
    # True when the model was read from files that hold only some of its processes (a few USM-WIF
    # workflows): what is missing was not given, so it is not judged missing.
    partial: bool = False

    @property
    def steps(self) -> Iterator[Step]:
        for process in self.processes.values():
            yield from process.steps

    def step(self, step_id: str) -> Step:
        return self._index.steps[step_id]

    def workflow(self, number: int) -> Workflow:
        return self._index.workflows[number]

    def process_for(self, call_type: str) -> Process | None:
        return self._index.triggered.get(call_type)

    @cached_property
    def _index(self) -> _Index:
        # The engine looks steps, workflows and processes up on every step of every call. A
        # model is not changed once read (the loaders build it whole), so the lookups are worked
        # out once, on first use, keeping the first match where the lists would have found it
        # first. Not a field: the model's data stays what the files say.
        index = _Index({}, {}, {})
        for process in self.processes.values():
            index.triggered.setdefault(process.trigger, process)
            for step in process.steps:
                index.steps.setdefault(step.id, step)
        for workflow in self.workflows:
            index.workflows.setdefault(workflow.number, workflow)
        return index

    def path(self, workflow: Workflow) -> list[PathStep]:
        """The steps a workflow walks, in order. Processes or steps the model lacks are skipped;
        the validator reports them."""
        if workflow.step_ids is not None:
            return list(self._listed_path(workflow.step_ids))
        return list(self._derived_path(workflow.processes, 0))

    def _derived_path(self, chain: tuple[str, ...], depth: int) -> Iterator[PathStep]:
        process = self.processes.get(chain[0])
        if process is None:
            return
        for step in process.steps:
            yield PathStep(step, depth)
            # USM's resume rule: the forked-into process runs whole, then the caller goes on with
            # the step after its fork.
            if step.kind is StepKind.FORK and len(chain) > 1:
                yield from self._derived_path(chain[1:], depth + 1)

    def _listed_path(self, step_ids: tuple[str, ...]) -> Iterator[PathStep]:
        calling: list[str] = []
        for step_id in step_ids:
            try:
                step = self.step(step_id)
            except KeyError:
                continue
            if step.process in calling:
                del calling[calling.index(step.process) + 1 :]
            else:
                calling.append(step.process)
            yield PathStep(step, len(calling) - 1)
