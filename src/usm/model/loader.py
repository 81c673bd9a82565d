"""Reads process models from their TOML data files into typed objects."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from usm.model.errors import ModelError
from usm.model.process import CallType, Outcome, Process, Step, StepKind
from usm.model.process_model import ProcessModel
from usm.model.workflow import Dynamicity, Workflow, WorkflowKind

DATA = resources.files("usm.model") / "data"


def read_toml(path: Path | Any) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: no such file") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read: {exc.strerror}") from exc


class _Entry:
    """Typed access to one table of a data file, with errors that say where."""

    def __init__(self, table: Any, where: str):
        if not isinstance(table, dict):
            raise ModelError(f"{where}: expected a table")
        self.table, self.where = table, where

    def text(self, key: str, default: str | None = None) -> str:
        value = self.table.get(key, default)
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise ModelError(f"{self.where}: '{key}' must be a non-empty string")
        return value.strip()

    def number(self, key: str) -> int:
        value = self.table.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ModelError(f"{self.where}: '{key}' must be an integer")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ModelError(f"{self.where}: '{key}' must be a list of strings")
        return tuple(value)

    def choice(self, key: str, enum: type, default: str | None = None) -> Any:
        value = self.text(key, default)
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(m.value for m in enum)
            raise ModelError(
                f"{self.where}: '{key}' is '{value}', expected one of {allowed}"
            ) from None

    def tables(self, key: str) -> list[Any]:
        value = self.table.get(key, [])
        if not isinstance(value, list):
            raise ModelError(f"{self.where}: '{key}' must be an array of tables")
        return value


def _process(table: Any, where: str) -> Process:
    entry = _Entry(table, where)
    code = entry.text("code")
    steps = []
    for position, raw in enumerate(entry.tables("step"), start=1):
        step = _Entry(raw, f"{where} ({code}) step {position}")
        steps.append(
            Step(
                id=step.text("id"),
                process=code,
                kind=step.choice("kind", StepKind),
                name=step.text("name"),
                description=step.text("description", ""),
                position=position,
                fork_to=step.texts("fork_to"),
                updates_mir=bool(raw.get("updates_mir", False)),
                raises=step.texts("raises"),
                outcomes=tuple(
                    _outcome(o, f"{where} ({code}) step {position} outcome {n}")
                    for n, o in enumerate(step.tables("outcome"), start=1)
                ),
            )
        )
    return Process(
        code=code,
        verb=entry.text("verb"),
        name=entry.text("name"),
        trigger=entry.text("trigger"),
        purpose=entry.text("purpose", ""),
        output=entry.text("output", ""),
        steps=tuple(steps),
    )


def _outcome(table: Any, where: str) -> Outcome:
    entry = _Entry(table, where)
    return Outcome(
        code=entry.text("code"),
        name=entry.text("name"),
        next=entry.text("next", "") or None,
        marks=entry.text("marks", "") or None,
    )


def _workflow(table: Any, where: str) -> Workflow:
    entry = _Entry(table, where)
    return Workflow(
        number=entry.number("number"),
        slug=entry.text("slug"),
        name=entry.text("name"),
        kind=entry.choice("kind", WorkflowKind),
        trigger=entry.text("trigger"),
        processes=entry.texts("processes") or _missing(where, "processes"),
        dynamicity=entry.choice("dynamicity", Dynamicity),
        description=entry.text("description", ""),
    )


def _missing(where: str, key: str) -> tuple[str, ...]:
    raise ModelError(f"{where}: '{key}' must list at least one process")


def load_model(processes_file: Path | Any, workflows_file: Path | Any) -> ProcessModel:
    """Read a model from a processes file and a workflows file in the built-in format."""
    spec = read_toml(processes_file)
    flows = read_toml(workflows_file)
    processes: dict[str, Process] = {}
    for index, table in enumerate(_Entry(spec, str(processes_file)).tables("process"), start=1):
        process = _process(table, f"{processes_file}: process {index}")
        if process.code in processes:
            raise ModelError(f"{processes_file}: process code {process.code} is declared twice")
        processes[process.code] = process
    call_types = {}
    for index, table in enumerate(_Entry(spec, str(processes_file)).tables("call_type"), start=1):
        entry = _Entry(table, f"{processes_file}: call type {index}")
        call_types[entry.text("code")] = CallType(
            entry.text("code"), entry.text("name"), entry.text("description", "")
        )
    workflows = [
        _workflow(table, f"{workflows_file}: workflow {index}")
        for index, table in enumerate(_Entry(flows, str(workflows_file)).tables("workflow"), 1)
    ]
    return ProcessModel(
        name=str(spec.get("model", "process model")),
        version=str(spec.get("version", "")),
        processes=processes,
        workflows=workflows,
        call_types=call_types,
        source=f"{processes_file} + {workflows_file}",
    )


@cache
def reference_model() -> ProcessModel:
    """The USM reference model shipped with the package."""
    model = load_model(DATA / "processes.toml", DATA / "workflows.toml")
    model.source = "built-in"
    return model


@cache
def criteria() -> tuple[dict[str, Any], ...]:
    return tuple(read_toml(DATA / "criteria.toml")["criterion"])


@cache
def vocabulary() -> dict[str, Any]:
    return read_toml(DATA / "vocabulary.toml")
