"""The model as plain data, for `--json` output and the API."""

from __future__ import annotations

from usm.model.process import Process, Step
from usm.model.process_model import ProcessModel
from usm.model.workflow import Workflow


def step_as_json(step: Step) -> dict:
    return {
        "id": step.id,
        "process": step.process,
        "kind": step.kind.value,
        "name": step.name,
        "description": step.description,
        "fork_to": list(step.fork_to),
        "updates_mir": step.updates_mir,
        "raises": list(step.raises),
    }


def process_as_json(process: Process) -> dict:
    return {
        "code": process.code,
        "verb": process.verb,
        "name": process.name,
        "trigger": process.trigger,
        "purpose": process.purpose,
        "output": process.output,
        "fork_targets": list(process.fork_targets),
        "steps": [step_as_json(s) for s in process.steps],
    }


def workflow_as_json(model: ProcessModel, workflow: Workflow) -> dict:
    return {
        "number": workflow.number,
        "slug": workflow.slug,
        "name": workflow.name,
        "kind": workflow.kind.value,
        "trigger": workflow.trigger,
        "processes": list(workflow.processes),
        "dynamicity": workflow.dynamicity.value,
        "description": workflow.description,
        "path": [{"step": p.step.id, "depth": p.depth} for p in model.path(workflow)],
    }


def model_as_json(model: ProcessModel) -> dict:
    return {
        "name": model.name,
        "version": model.version,
        "source": model.source,
        "call_types": [
            {"code": c.code, "name": c.name, "description": c.description}
            for c in model.call_types.values()
        ],
        "processes": [process_as_json(p) for p in model.processes.values()],
        "workflows": [workflow_as_json(model, w) for w in model.workflows],
    }
