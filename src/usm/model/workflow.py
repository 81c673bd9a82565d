"""Workflow templates and the path of steps they walk."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from usm.model.process import Step


class WorkflowKind(StrEnum):
    REACTIVE = "reactive"
    PROACTIVE = "proactive"


class Dynamicity(StrEnum):
    STATIC = "static"
    DYNAMIC = "dynamic"


@dataclass(frozen=True)
class Workflow:
    number: int
    slug: str
    name: str
    kind: WorkflowKind
    trigger: str
    processes: tuple[str, ...]
    dynamicity: Dynamicity
    description: str = ""
    # Set only for workflows read from files that list their steps (USM-WIF); built-in templates
    # derive their path from the processes they enter.
    step_ids: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        return f"WF{self.number} {self.name}" if self.number else self.name

    @property
    def start(self) -> str:
        return self.processes[0]


@dataclass(frozen=True)
class PathStep:
    """A step as walked in a workflow: `depth` 0 is the accepting process, 1 the process it forked
    into, and so on."""

    step: Step
    depth: int
