"""Processes, their steps and the call types that trigger them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property


class StepKind(StrEnum):
    ACCEPT = "accept"
    CLASSIFY = "classify"
    CORE = "core"
    FORK = "fork"
    REVIEW = "review"
    EVALUATE = "evaluate"


class Responsibility(StrEnum):
    RESPONSIBLE = "R"
    ACCOUNTABLE = "A"
    CONSULTED = "C"
    INFORMED = "I"


@dataclass(frozen=True)
class CallType:
    code: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Activity:
    """One thing done inside a step. Built-in steps are a single activity; imported USM-WIF steps
    may carry several, each with the RACI of the procedure that wrote them."""

    id: str
    name: str
    description: str = ""
    position: int = 0
    responsibilities: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Outcome:
    """A named way of completing a step besides plain completion."""

    code: str
    name: str
    next: str | None = None  # a later step of the same process to continue at
    marks: str | None = None  # a status the call carries from then on, e.g. known_error


@dataclass(frozen=True)
class Step:
    id: str
    process: str
    kind: StepKind
    name: str
    description: str = ""
    position: int = 0
    fork_to: tuple[str, ...] = ()
    updates_mir: bool = False
    raises: tuple[str, ...] = ()
    activities: tuple[Activity, ...] = ()
    outcomes: tuple[Outcome, ...] = ()

    def outcome(self, code: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.code == code), None)

    @property
    def where(self) -> str:
        """How messages point at this step: our own ids are short and known; ids made up by other
        tools (UUIDs) mean nothing to a reader, so the process and name stand in for them."""
        if re.fullmatch(r"[A-Z]{2,5}-\d+", self.id):
            return self.id
        return f"{self.process} '{self.name}'"

    def activity_where(self, activity: Activity) -> str:
        return f"{self.where} / '{activity.name or activity.id}'"

    @property
    def texts(self) -> list[tuple[str, str]]:
        """Every (where, text) pair of this step that a reader sees."""
        found = [(self.where, self.name), (self.where, self.description)]
        for activity in self.activities:
            where = self.activity_where(activity)
            found += [(where, activity.name), (where, activity.description)]
        return [(where, text) for where, text in found if text]


@dataclass(frozen=True)
class Process:
    code: str
    verb: str
    name: str
    trigger: str
    purpose: str = ""
    output: str = ""
    steps: tuple[Step, ...] = ()

    @property
    def fork_targets(self) -> tuple[str, ...]:
        return tuple(t for s in self.steps if s.kind is StepKind.FORK for t in s.fork_to)

    def step(self, step_id: str) -> Step:
        return self.steps[self._positions[step_id]]

    def after(self, step_id: str) -> str | None:
        """The id of the step that follows `step_id`, None after the last."""
        following = self._positions[step_id] + 1
        return self.steps[following].id if following < len(self.steps) else None

    @cached_property
    def _positions(self) -> dict[str, int]:
        # Where each step id stands in `steps` (the first, should an id repeat), looked up on
        # every step of every call. Kept with the process, which is not changed once built, so
        # it is worked out once; not a field, so the process compares and prints as before.
        positions: dict[str, int] = {}
        for index, candidate in enumerate(self.steps):
            positions.setdefault(candidate.id, index)
        return positions

    @cached_property
    def review(self) -> Step:
        """The review step (a process without one has no delivery to review: StopIteration)."""
        return next(s for s in self.steps if s.kind is StepKind.REVIEW)

    def first(self, kind: StepKind) -> Step | None:
        return next((s for s in self.steps if s.kind is kind), None)

    @property
    def fork_step(self) -> Step | None:
        return self.first(StepKind.FORK)
