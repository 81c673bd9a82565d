"""What the framework catalogues say about a process model: how much of each framework it realises,
which steps several practices claim at once, and which practices it fails to realise."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from usm.model.frameworks.catalogue import (
    CatalogueError,
    Framework,
    Practice,
    as_list,
    framework,
)
from usm.model.process import Step
from usm.model.process_model import ProcessModel
from usm.model.workflow import Workflow

Frameworks = Mapping[str, Framework] | Iterable[Framework] | None


def _steps(model: ProcessModel) -> dict[str, Step]:
    return {step.id: step for step in model.steps}


def missing_steps(model: ProcessModel, practice: Practice) -> tuple[str, ...]:
    """The step ids a practice claims that the model lacks."""
    known = _steps(model)
    return tuple(step_id for step_id in practice.steps if step_id not in known)


def is_realised(model: ProcessModel, practice: Practice) -> bool:
    """Realised means mapped to at least one step, and only to steps the model has."""
    return bool(practice.steps) and not missing_steps(model, practice)


def practice_processes(model: ProcessModel, practice: Practice) -> tuple[str, ...]:
    """The processes a practice lands in, in the model's order."""
    landed = {step.process for step in model.steps if step.id in practice.steps}
    return tuple(code for code in model.processes if code in landed)


def practice_workflows(model: ProcessModel, practice: Practice) -> list[Workflow]:
    """The workflows whose path walks at least one of the practice's steps. Derived, never stored:
    when the model's workflows change, the answer follows."""
    claimed = set(practice.steps)
    return [
        workflow
        for workflow in model.workflows
        if any(path_step.step.id in claimed for path_step in model.path(workflow))
    ]


@dataclass(frozen=True)
class FrameworkCoverage:
    framework: Framework
    realised: tuple[Practice, ...]
    unmapped: tuple[Practice, ...]
    # practice id -> the step ids it claims that the model lacks
    missing: dict[str, tuple[str, ...]]
    # process code -> how many practices have at least one step there
    per_process: dict[str, int]
    # Steps no practice of this framework claims: what the model does beyond the framework.
    unclaimed_steps: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.framework.practices)

    @property
    def complete(self) -> bool:
        return len(self.realised) == self.total

    @property
    def percent(self) -> float:
        return round(100 * len(self.realised) / self.total, 1) if self.total else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "framework": self.framework.id,
            "name": self.framework.name,
            "edition": self.framework.edition,
            "total": self.total,
            "realised": len(self.realised),
            "percent": self.percent,
            "complete": self.complete,
            "per_process": dict(self.per_process),
            "unmapped": [p.id for p in self.unmapped],
            "missing_steps": {key: list(steps) for key, steps in self.missing.items()},
            "unclaimed_steps": list(self.unclaimed_steps),
        }


def coverage(model: ProcessModel, frameworks: Frameworks = None) -> list[FrameworkCoverage]:
    """Per framework: how many practices the model realises and where they land."""
    known = _steps(model)
    report = []
    for catalogue in as_list(frameworks):
        per_process = dict.fromkeys(model.processes, 0)
        claimed: set[str] = set()
        realised, missing = [], {}
        for practice in catalogue.practices:
            claimed.update(practice.steps)
            for code in {known[s].process for s in practice.steps if s in known}:
                per_process[code] += 1
            lacking = tuple(s for s in practice.steps if s not in known)
            if lacking:
                missing[practice.id] = lacking
            elif practice.steps:
                realised.append(practice)
        report.append(
            FrameworkCoverage(
                framework=catalogue,
                realised=tuple(realised),
                unmapped=tuple(p for p in catalogue.practices if not p.steps),
                missing=missing,
                per_process=per_process,
                unclaimed_steps=tuple(s for s in known if s not in claimed),
            )
        )
    return report


@dataclass(frozen=True)
class StepClaim:
    """One step and the practices that each expect to perform it."""

    step: Step
    practices: tuple[Practice, ...]

    @property
    def shared(self) -> bool:
        return len(self.practices) > 1

    @property
    def frameworks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.framework for p in self.practices))

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.step.id,
            "process": self.step.process,
            "name": self.step.name,
            "frameworks": list(self.frameworks),
            "practices": [
                {"key": p.key, "framework": p.framework, "id": p.id, "name": p.name}
                for p in self.practices
            ],
        }


@dataclass(frozen=True)
class Overlap:
    practices: tuple[Practice, ...]
    # Every model step claimed by at least one of the practices, in the model's order.
    claims: tuple[StepClaim, ...]

    @property
    def shared(self) -> tuple[StepClaim, ...]:
        return tuple(claim for claim in self.claims if claim.shared)

    @property
    def claim_count(self) -> int:
        return sum(len(claim.practices) for claim in self.claims)

    @property
    def redundant_claims(self) -> int:
        """How many times a patchwork of these practices would do a step that another practice
        already does; in USM each step is done once, so this is the doubling it removes."""
        return self.claim_count - len(self.claims)

    def as_json(self) -> dict[str, Any]:
        return {
            "frameworks": list(dict.fromkeys(p.framework for p in self.practices)),
            "practices": [p.key for p in self.practices],
            "claims": self.claim_count,
            "distinct_steps": len(self.claims),
            "redundant_claims": self.redundant_claims,
            "shared": [claim.as_json() for claim in self.shared],
        }


def overlap(model: ProcessModel, practices: Iterable[Practice]) -> Overlap:
    """Which steps the chosen practices claim, and which of them several practices claim. Steps
    the model lacks are left out here; `unrealised` reports them."""
    chosen = tuple(dict.fromkeys(practices))
    claims = []
    for step in model.steps:
        claiming = tuple(p for p in chosen if step.id in p.steps)
        if claiming:
            claims.append(StepClaim(step, claiming))
    return Overlap(chosen, tuple(claims))


def unrealised(model: ProcessModel, frameworks: Frameworks = None) -> list[tuple[str, str]]:
    """(where, message) for every practice the model does not realise: design criterion 8."""
    known = _steps(model)
    findings = []
    for catalogue in as_list(frameworks):
        for practice in catalogue.practices:
            label = f"{practice.name} ({catalogue.name})"
            if not practice.steps:
                findings.append((practice.key, f"{label} is realised by no step"))
                continue
            for step_id in practice.steps:
                if step_id not in known:
                    findings.append(
                        (practice.key, f"{label} maps to {step_id}, which the model lacks")
                    )
    return findings


def read_practice_selection(path: Path | str, frameworks: Frameworks = None) -> list[Practice]:
    """The practices an organisation adopts, from a file of `framework:practice-id` entries:
    either plain text, one entry a line (blank lines and `#` comments ignored), or a JSON list of
    strings. Entries are matched case-insensitively; repeated entries count once."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{path}: cannot be read: {exc}") from None
    catalogues = {f.id: f for f in as_list(frameworks)}
    entries = _json_entries(path, text) if _is_json(path, text) else _text_entries(path, text)
    chosen: dict[str, Practice] = {}
    for where, entry in entries:
        practice = _resolve(where, entry, catalogues)
        chosen.setdefault(practice.key, practice)
    if not chosen:
        raise CatalogueError(f"{path}: lists no practices")
    return list(chosen.values())


def _is_json(path: Path, text: str) -> bool:
    return path.suffix.lower() == ".json" or text.lstrip().startswith("[")


def _json_entries(path: Path, text: str) -> list[tuple[str, str]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogueError(f'{path}: expected a JSON list of "framework:practice-id" strings')
    return [(f"{path}: entry {n}", entry) for n, entry in enumerate(value, start=1)]


def _text_entries(path: Path, text: str) -> list[tuple[str, str]]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            entries.append((f"{path}: line {number}", entry))
    return entries


def _resolve(where: str, entry: str, catalogues: Mapping[str, Framework]) -> Practice:
    framework_id, colon, practice_id = entry.strip().partition(":")
    if not colon or not framework_id.strip() or not practice_id.strip():
        raise CatalogueError(f"{where}: '{entry}' is not of the form framework:practice-id")
    try:
        return framework(framework_id, catalogues).practice(practice_id)
    except CatalogueError as exc:
        raise CatalogueError(f"{where}: {exc}") from None
