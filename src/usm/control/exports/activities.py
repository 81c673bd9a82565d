"""The names events carry in the exports. A step is named by its id and its name ("INC-3 Analyse"):
the id alone means nothing to an analyst, and the name alone is not unique ("Review delivery"
closes every process). XES and OCEL use the same names, so results from either can be compared."""

from __future__ import annotations

from functools import cache

from usm.calls.choices import EventKind
from usm.model import reference_model


@cache
def step_activity(step_id: str) -> str:
    try:
        step = reference_model().step(step_id)
    except KeyError:
        # A log outlives model versions: a step no longer in the model keeps its id.
        return step_id
    return f"{step.id} {step.name}"


@cache
def _kind_label(kind: str) -> str:
    try:
        label = str(EventKind(kind).label)
    except ValueError:
        return kind.replace("_", " ")
    # "Step repeated" reads "step repeated" mid-name; an abbreviation ("MIR updated") stays.
    return label if label[:2].isupper() else label[0].lower() + label[1:]


def activity(kind: str, process: str, step_id: str, status: str = "") -> str:
    """The activity of any log row: a completed step by its step, other changes by the process
    they happened in and what happened ("INC forked", "CHM status waiting")."""
    if kind == "step_completed":
        return step_activity(step_id)
    if kind == "status_changed":
        return f"{process} status {status.replace('_', ' ')}"
    return f"{process} {_kind_label(kind)}"


def fork_activity(from_process: str, to_process: str) -> str:
    return f"{from_process} fork to {to_process}"
