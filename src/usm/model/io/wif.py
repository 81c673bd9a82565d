"""USM-WIF, the USM workflow interchange format (JSON), read and written.

Reading follows the format's must-ignore rule: members we do not know are skipped, member order
means nothing, and `sort-index` may be a number or a numeric string. Our own exports add `x-usm-*`
members (step kind, fork targets, workflow number) so that a round trip gives back the same model;
files from other tools lack them, and then step kinds are inferred (see `_infer_kinds`).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from usm import __version__
from usm.model.errors import ModelError
from usm.model.loader import reference_model
from usm.model.process import Activity, Outcome, Process, Step, StepKind
from usm.model.process_model import ProcessModel, Profile
from usm.model.wording import normal_text
from usm.model.workflow import Dynamicity, Workflow, WorkflowKind

WIF_VERSION = "1.0.0"
SOURCE_SYSTEM = "usm-project-org:usm"
TEMPLATE_SUFFIX = ".workflow-template.json"
MIME_TEMPLATE = "application/x-usm-workflow-template"
DOCUMENT_TYPES = ("workflow-template", "workflow")


def _verbs(model: ProcessModel) -> dict[str, str]:
    """WIF names processes by their verb in lower case (agree, change, ...)."""
    return {p.verb.lower(): p.code for p in model.processes.values()}


# -- writing ----------------------------------------------------------------------------------------
def workflow_to_wif(
    model: ProcessModel, workflow: Workflow, *, now: datetime | None = None
) -> dict:
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    steps = []
    for index, path_step in enumerate(model.path(workflow), start=1):
        step = path_step.step
        entry: dict[str, Any] = {
            "id": step.id,
            "sort-index": index,
            "name": step.name,
            "description": step.description,
            "process": model.processes[step.process].verb.lower(),
            "activities": [_activity_to_wif(step, a) for a in step.activities]
            or [
                {
                    "id": f"{step.id}.1",
                    "sort-index": 0,
                    "name": step.name,
                    "description": step.description,
                    "responsibilities": {},
                }
            ],
            "x-usm-kind": step.kind.value,
        }
        if step.fork_to:
            entry["x-usm-fork-to"] = list(step.fork_to)
        if step.updates_mir:
            entry["x-usm-updates-mir"] = True
        if step.raises:
            entry["x-usm-raises"] = list(step.raises)
        if step.outcomes:
            entry["x-usm-outcomes"] = [
                {k: v for k, v in asdict(o).items() if v is not None} for o in step.outcomes
            ]
        steps.append(entry)
    return {
        "usm-wif-version": WIF_VERSION,
        "source-system-type": SOURCE_SYSTEM,
        "source-system-version": __version__,
        "source-system-instance": model.name,
        "workflow-version": model.version,
        "created-at": stamp,
        "modified-at": stamp,
        "process": model.processes[workflow.start].verb.lower(),
        "dynamicity": workflow.dynamicity.value,
        "type": "workflow-template",
        "context": "",
        "slug": workflow.slug,
        "name": workflow.name,
        "description": workflow.description,
        "steps": steps,
        "profiles": [{"id": p.id, "name": p.name} for p in model.profiles.values()],
        "x-usm-number": workflow.number,
        "x-usm-kind": workflow.kind.value,
        "x-usm-trigger": workflow.trigger,
    }


def _activity_to_wif(step: Step, activity: Activity) -> dict:
    return {
        "id": activity.id,
        "sort-index": activity.position,
        "name": activity.name,
        "description": activity.description,
        "responsibilities": {p: list(rs) for p, rs in activity.responsibilities.items()},
    }


def wif_file_name(workflow: Workflow) -> str:
    return f"{workflow.number}-{workflow.slug}{TEMPLATE_SUFFIX}"


def write_wif_files(
    model: ProcessModel, out_dir: Path, numbers: list[int] | None = None
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for workflow in model.workflows:
        if numbers and workflow.number not in numbers:
            continue
        target = out_dir / wif_file_name(workflow)
        document = workflow_to_wif(model, workflow)
        target.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
        written.append(target)
    return written


# -- reading ----------------------------------------------------------------------------------------
def read_wif_document(path: Path) -> dict:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: not valid JSON: {exc}") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read: {exc.strerror}") from None
    if not isinstance(document, dict):
        raise ModelError(f"{path}: a USM-WIF document must be a JSON object")
    for member in ("slug", "name"):
        if not isinstance(document.get(member), str) or not document[member].strip():
            raise ModelError(f"{path}: the required member '{member}' is missing or empty")
    kind = document.get("type", "workflow-template")
    if kind not in DOCUMENT_TYPES:
        raise ModelError(f"{path}: 'type' is '{kind}', expected one of {', '.join(DOCUMENT_TYPES)}")
    if not isinstance(document.get("steps", []), list):
        raise ModelError(f"{path}: 'steps' must be an array")
    return document


def _sort_index(value: Any, where: str) -> int:
    # The proposal says integer; its own examples write strings.
    if isinstance(value, bool):
        raise ModelError(f"{where}: 'sort-index' must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    if value is None:
        return 0
    raise ModelError(f"{where}: 'sort-index' is {value!r}, expected an integer")


def _object(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ModelError(f"{where}: expected a JSON object")
    return value


def _text(member: dict, key: str) -> str:
    value = member.get(key, "")
    return value.strip() if isinstance(value, str) else ""


@dataclass
class _Draft:
    """Steps of one process as collected from several files, before kinds are settled."""

    code: str
    steps: list[Step] = field(default_factory=list)
    marked: set[str] = field(default_factory=set)  # step ids whose kind a file stated


def _activities(raw: dict, where: str) -> tuple[Activity, ...]:
    activities = []
    listed = raw.get("activities", [])
    if not isinstance(listed, list):
        raise ModelError(f"{where}: 'activities' must be an array")
    for index, item in enumerate(listed):
        item = _object(item, f"{where} activity {index + 1}")
        spot = f"{where} activity {index + 1}"
        responsibilities = _object(item.get("responsibilities", {}) or {}, spot)
        raci = {}
        for profile, letters in responsibilities.items():
            if isinstance(letters, str):
                letters = [letters]
            if not isinstance(letters, list) or not all(isinstance(x, str) for x in letters):
                raise ModelError(
                    f"{spot}: responsibilities of '{profile}' must be a list of letters"
                )
            raci[str(profile)] = tuple(x.strip().upper() for x in letters)
        activities.append(
            Activity(
                id=str(item.get("id") or f"{index + 1}"),
                name=_text(item, "name"),
                description=_text(item, "description"),
                position=_sort_index(item.get("sort-index"), spot),
                responsibilities=raci,
            )
        )
    return tuple(sorted(activities, key=lambda a: a.position))


def _outcomes(listed: Any, where: str) -> tuple[Outcome, ...]:
    if listed is None:
        return ()
    if not isinstance(listed, list):
        raise ModelError(f"{where}: 'x-usm-outcomes' must be an array")
    outcomes = []
    for item in listed:
        item = _object(item, f"{where} outcome")
        if not _text(item, "code"):
            raise ModelError(f"{where}: an outcome needs a 'code'")
        outcomes.append(
            Outcome(
                code=_text(item, "code"),
                name=_text(item, "name") or _text(item, "code"),
                next=_text(item, "next") or None,
                marks=_text(item, "marks") or None,
            )
        )
    return tuple(outcomes)


def _folds_into_step(step_name: str, description: str, activities: tuple[Activity, ...]) -> bool:
    # Our template export writes a step as one activity with the step's own texts; reading it back
    # gives the step alone, as the built-in model has it.
    return (
        len(activities) == 1
        and activities[0].name == step_name
        and activities[0].description == description
        and not activities[0].responsibilities
    )


def model_from_wif(paths: list[Path], base: ProcessModel | None = None) -> ProcessModel:
    """Build one process model from USM-WIF files. Processes (verb, trigger, purpose, allowed
    forks) are USM's own, taken from `base`; steps, workflows and profiles come from the files."""
    base = base or reference_model()
    verbs = _verbs(base)
    drafts: dict[str, _Draft] = {code: _Draft(code) for code in base.processes}
    workflows: list[Workflow] = []
    profiles: dict[str, Profile] = {}
    problems: list[tuple[int, str, str]] = []
    by_name: dict[tuple[str, str], Step] = {}

    for number_hint, path in enumerate(paths, start=1):
        document = read_wif_document(path)
        label = f"{Path(path).name}"
        for raw in document.get("profiles", []) or []:
            raw = _object(raw, f"{label} profile")
            if raw.get("id"):
                profiles[str(raw["id"])] = Profile(str(raw["id"]), _text(raw, "name"))
        ordered = []
        for index, raw in enumerate(document.get("steps", [])):
            raw = _object(raw, f"{label} step {index + 1}")
            ordered.append(
                (_sort_index(raw.get("sort-index"), f"{label} step {index + 1}"), index, raw)
            )
        ordered.sort(key=lambda item: (item[0], item[1]))

        step_ids: list[str] = []
        for _, index, raw in ordered:
            where = f"{label} step {index + 1}"
            name = _text(raw, "name")
            verb = _text(raw, "process").lower()
            code = verbs.get(verb)
            if code is None:
                problems.append((7, where, f"names the unknown process '{verb or '(none)'}'"))
                continue
            step_id = str(raw.get("id") or f"{document['slug']}-{index + 1}")
            description = _text(raw, "description")
            activities = _activities(raw, where)
            if _folds_into_step(name, description, activities):
                activities = ()
            stated_kind = raw.get("x-usm-kind")
            fork_to = raw.get("x-usm-fork-to")
            step = Step(
                id=step_id,
                process=code,
                kind=StepKind(stated_kind) if stated_kind in set(StepKind) else StepKind.CORE,
                name=name,
                description=description,
                fork_to=tuple(fork_to) if isinstance(fork_to, list) else (),
                updates_mir=raw.get("x-usm-updates-mir") is True,
                raises=tuple(raw.get("x-usm-raises") or ()),
                activities=activities,
                outcomes=_outcomes(raw.get("x-usm-outcomes"), where),
            )
            known = _same_step(drafts[code], step, by_name)
            if known is None:
                drafts[code].steps.append(step)
                by_name[(code, step.name.casefold())] = step
                if stated_kind in set(StepKind):
                    drafts[code].marked.add(step.id)
                known = step
            elif _differs(known, step):
                problems.append(
                    (
                        9,
                        known.where,
                        f"'{known.name}' is written differently in {label}; "
                        "an integrated model holds one definition of each step",
                    )
                )
            step_ids.append(known.id)

        workflows.append(_workflow(document, step_ids, drafts, verbs, base, number_hint, label))

    processes = {
        code: replace(base.processes[code], steps=_infer_kinds(base.processes[code], drafts[code]))
        for code in base.processes
        if drafts[code].steps
    }
    # Steps were rebuilt with their kinds; point the workflows at the final ids (unchanged).
    return ProcessModel(
        name=", ".join(Path(p).name for p in paths)
        if len(paths) <= 3
        else f"{len(paths)} USM-WIF files",
        version="",
        processes=processes,
        workflows=workflows,
        call_types=dict(base.call_types),
        profiles=profiles,
        source=", ".join(str(p) for p in paths),
        reading_violations=problems,
        partial=len(processes) < len(base.processes),
    )


def _same_step(draft: _Draft, step: Step, by_name: dict) -> Step | None:
    for known in draft.steps:
        if known.id == step.id:
            return known
    # Tools that export one file per workflow give the same step a new id in every file; the same
    # name in the same process is the same step.
    return by_name.get((draft.code, step.name.casefold()))


def _differs(known: Step, step: Step) -> bool:
    def shape(s: Step) -> tuple:
        texts = [(a.name, a.description) for a in s.activities]
        return (normal_text(s.description), tuple(tuple(map(normal_text, t)) for t in texts))

    return shape(known) != shape(step)


def _infer_kinds(reference: Process, draft: _Draft) -> tuple[Step, ...]:
    """Settle each step's kind and position. Kinds a file stated are kept. Otherwise, when the
    process has as many steps as USM's reference process, step N takes the kind of reference step
    N (the skeleton is fixed: accept, classify, core..., fork, review, evaluate); failing that the
    first step accepts, the second classifies, the last evaluates and a step named "review" reviews."""
    steps = draft.steps
    aligned = len(steps) == len(reference.steps)
    settled = []
    for position, step in enumerate(steps, start=1):
        kind, fork_to = step.kind, step.fork_to
        if step.id not in draft.marked:
            if aligned:
                model_step = reference.steps[position - 1]
                kind, fork_to = model_step.kind, model_step.fork_to
            elif position == 1:
                kind = StepKind.ACCEPT
            elif position == len(steps):
                kind = StepKind.EVALUATE
            elif position == 2:
                kind = StepKind.CLASSIFY
            elif "review" in step.name.casefold():
                kind = StepKind.REVIEW
            else:
                kind = StepKind.CORE
        settled.append(replace(step, kind=kind, fork_to=fork_to, position=position))
    return tuple(settled)


def _workflow(
    document: dict,
    step_ids: list[str],
    drafts: dict[str, _Draft],
    verbs: dict[str, str],
    base: ProcessModel,
    number_hint: int,
    label: str,
) -> Workflow:
    entered: list[str] = []
    for step_id in step_ids:
        code = next(c for c, d in drafts.items() if any(s.id == step_id for s in d.steps))
        if code not in entered:
            entered.append(code)
    start = verbs.get(_text(document, "process").lower()) or (entered[0] if entered else "")
    if start and start not in entered:
        entered.insert(0, start)
    number = document.get("x-usm-number")
    if not isinstance(number, int):
        match = re.match(r"(\d+)-", label)
        number = int(match.group(1)) if match else number_hint
    dynamicity = _text(document, "dynamicity") or "static"
    if dynamicity not in {d.value for d in Dynamicity}:
        raise ModelError(f"{label}: 'dynamicity' is '{dynamicity}', expected static or dynamic")
    trigger = document.get("x-usm-trigger")
    if not isinstance(trigger, str):
        trigger = base.processes[start].trigger if start in base.processes else ""
    kind = document.get("x-usm-kind")
    if kind not in {k.value for k in WorkflowKind}:
        kind = WorkflowKind.PROACTIVE if trigger == "risk" else WorkflowKind.REACTIVE
    return Workflow(
        number=number,
        slug=document["slug"].strip(),
        name=document["name"].strip(),
        kind=WorkflowKind(kind),
        trigger=trigger,
        processes=tuple(entered),
        dynamicity=Dynamicity(dynamicity),
        description=_text(document, "description"),
        step_ids=tuple(step_ids),
    )
