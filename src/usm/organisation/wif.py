"""A procedure as a USM-WIF `workflow` document, written and read.

The export is the workflow template of the process model with the procedure's profiles and, on
every activity, the RACI of its step, so any USM-WIF reader (`usm model validate` among them) can
check that every activity has exactly one Accountable (design criterion 10).

Reading matches steps by id, or by process and name for files whose tools made up their own ids,
and profiles by name; a file exported from the same provider also finds a profile renamed since
by its id. Members we do not know are ignored, as the format asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from usm.model import reference_model
from usm.model.errors import ModelError
from usm.model.io.wif import read_wif_document, workflow_to_wif
from usm.organisation import services
from usm.organisation.models import Procedure, Profile, Provider


def procedure_to_wif(procedure: Procedure, *, now: datetime | None = None) -> dict:
    model = reference_model()
    workflow = model.workflow(procedure.workflow)
    document = workflow_to_wif(model, workflow, now=now or procedure.updated_at)
    raci = services.procedure_raci(procedure)
    profiles = sorted(
        {profile for assignments in raci.values() for profile in assignments},
        key=lambda p: p.name.casefold(),
    )
    for step in document["steps"]:
        responsibilities = {
            str(profile.pk): list(letters)
            for profile, letters in sorted(
                raci.get(step["id"], {}).items(), key=lambda item: item[0].name.casefold()
            )
        }
        for activity in step["activities"]:
            activity["responsibilities"] = responsibilities
    document.update(
        {
            "type": "workflow",
            "name": procedure.name,
            "workflow-version": str(procedure.version),
            "source-system-instance": procedure.provider.slug,
            "profiles": [{"id": str(p.pk), "name": p.name} for p in profiles],
            "x-usm-model-version": model.version,
            "x-usm-procedure": {
                "provider": procedure.provider.slug,
                "version": procedure.version,
                "active": procedure.active,
            },
        }
    )
    return document


def read_procedure_file(path: Path) -> dict:
    """The document in `path`, or a ValidationError naming the file and what is wrong."""
    try:
        return read_wif_document(Path(path))
    except ModelError as exc:
        raise ValidationError({"file": str(exc)}) from None


def _workflow_number(document: Mapping) -> int:
    model = reference_model()
    number = document.get("x-usm-number")
    if isinstance(number, int) and not isinstance(number, bool):
        if any(w.number == number for w in model.workflows):
            return number
        raise ValidationError({"workflow": f"x-usm-number {number} is not a workflow of USM"})
    slug = document.get("slug")
    name = document.get("name")
    for workflow in model.workflows:
        if workflow.slug == slug or (isinstance(name, str) and workflow.name == name.strip()):
            return workflow.number
    raise ValidationError(
        {
            "workflow": f"cannot tell which of USM's workflows '{slug}' is: it has no x-usm-number "
            "and its slug matches none of them"
        }
    )


def _step_ids(workflow_number: int) -> tuple[list[str], dict[tuple[str, str], str]]:
    model = reference_model()
    path = [p.step for p in model.path(model.workflow(workflow_number))]
    by_name = {
        (model.processes[step.process].verb.lower(), step.name.casefold()): step.id for step in path
    }
    return [step.id for step in path], by_name


def _listed(document: Mapping, member: str) -> list:
    value = document.get(member) or []
    if not isinstance(value, list):
        raise ValidationError({member: "must be an array"})
    return value


def _raci_by_wif_id(document: Mapping, workflow_number: int) -> dict[str, dict[str, list]]:
    """Per model step id, the letters per profile id as the file writes them, all activities of
    a step together (a procedure holds one RACI per step)."""
    path, by_name = _step_ids(workflow_number)
    raci: dict[str, dict[str, list]] = {}
    problems = []
    for index, step in enumerate(_listed(document, "steps"), start=1):
        if not isinstance(step, Mapping):
            problems.append(f"step {index} is not an object")
            continue
        step_id = step.get("id")
        if step_id not in path:
            process = str(step.get("process", "")).lower()
            step_id = by_name.get((process, str(step.get("name", "")).strip().casefold()))
        if step_id is None:
            problems.append(
                f"step {index} ('{step.get('id') or step.get('name')}') is not a step of "
                f"workflow {workflow_number}"
            )
            continue
        activities = step.get("activities") or []
        if not isinstance(activities, list):
            problems.append(f"{step_id}: 'activities' must be an array")
            continue
        for activity in activities:
            given = activity.get("responsibilities") if isinstance(activity, Mapping) else None
            if not isinstance(given, Mapping):
                continue
            for profile_id, letters in given.items():
                if isinstance(letters, str):
                    letters = [letters]
                if not isinstance(letters, list):
                    problems.append(f"{step_id}: the letters of '{profile_id}' must be a list")
                    continue
                raci.setdefault(step_id, {}).setdefault(str(profile_id), []).extend(letters)
    if problems:
        raise ValidationError({"steps": problems})
    return raci


def _profile_names(document: Mapping) -> dict[str, str]:
    names = {}
    for entry in _listed(document, "profiles"):
        if isinstance(entry, Mapping) and entry.get("id") is not None:
            name = entry.get("name")
            names[str(entry["id"])] = name.strip() if isinstance(name, str) else ""
    return names


def _match_profiles(
    provider: Provider, document: Mapping, wif_ids: set[str], create_profiles: bool
) -> dict[str, Profile]:
    names = _profile_names(document)
    own = list(Profile.objects.filter(provider=provider))
    by_name = {p.name.casefold(): p for p in own}
    by_id = {str(p.pk): p for p in own}
    # Ids are this installation's row ids: only a file this provider exported may be read by them.
    same_source = document.get("source-system-instance") == provider.slug
    matched, unknown = {}, []
    for wif_id in sorted(wif_ids):
        name = names.get(wif_id) or wif_id
        profile = by_name.get(name.casefold()) or (by_id.get(wif_id) if same_source else None)
        if profile is None and create_profiles:
            profile = services.create_profile(provider, name)
            by_name[name.casefold()] = profile
        if profile is None:
            unknown.append(f"'{name}'" if name == wif_id else f"'{name}' (id {wif_id})")
        else:
            matched[wif_id] = profile
    if unknown:
        raise ValidationError(
            {
                "profiles": f"{provider} has no profile {', '.join(unknown)}; create "
                f"{'it' if len(unknown) == 1 else 'them'} first or import with --create-profiles"
            }
        )
    return matched


@transaction.atomic
def procedure_from_wif(
    provider: Provider,
    document: Mapping[str, Any],
    *,
    create_profiles: bool = False,
    name: str | None = None,
) -> Procedure:
    """Put the RACI of a USM-WIF `workflow` document in force as the provider's procedure for
    that workflow (a new version). Unknown profiles are refused, or created when asked."""
    kind = document.get("type", "workflow-template")
    if kind != "workflow":
        raise ValidationError(
            {
                "type": f"is '{kind}'; a procedure is read from a 'workflow' document that carries "
                "responsibilities"
            }
        )
    number = _workflow_number(document)
    by_wif_id = _raci_by_wif_id(document, number)
    wif_ids = {wif_id for assignments in by_wif_id.values() for wif_id in assignments}
    profiles = _match_profiles(provider, document, wif_ids, create_profiles)
    raci: dict[str, dict[Profile, list]] = {}
    for step_id, assignments in by_wif_id.items():
        for wif_id, letters in assignments.items():
            # Two ids of the file may name the same profile here; their letters add up.
            raci.setdefault(step_id, {}).setdefault(profiles[wif_id], []).extend(letters)
    title = name or document.get("name")
    return services.set_procedure(provider, number, title if isinstance(title, str) else "", raci)
