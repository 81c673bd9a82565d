"""What the call page shows: the call's place in its process and workflow, what may be done next,
what happened (the event log, notes, files) and the calls it is linked to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.safestring import mark_safe

from usm.api.scoping import scoped
from usm.calls.choices import EventKind, Status
from usm.calls.models import Call, CallEvent
from usm.engine.call_flow import WORKABLE, CallStatus, workflows_for
from usm.model import Step, StepKind, reference_model
from usm.model.io.svg import workflow_to_svg
from usm.organisation.models import Person
from usm.web import forms as web_forms
from usm.web import mir_changes
from usm.web.sla import call_deadlines

ENDED = ("closed", "aborted")
EVENT_LABELS = dict(EventKind.choices)
STATUS_LABELS = dict(Status.choices)


@dataclass
class PathStop:
    step: Step
    state: str  # done, current, waiting, todo
    attempts: int
    forked: list[Call] = field(default_factory=list)


@dataclass
class TimelineEntry:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    actor: object = None
    link: str = ""
    internal: bool = False
    minor: bool = False
    attachment: object = None


def current_step(call: Call) -> Step | None:
    return reference_model().step(call.step) if call.step else None


def process_path(call: Call) -> list[PathStop]:
    model = reference_model()
    forks: dict[str, list[Call]] = {}
    for child in call.forks.order_by("pk"):
        forks.setdefault(child.process, []).append(child)
    stops = []
    for step in model.processes[call.process].steps:
        if call.status not in ENDED and step.id == call.step:
            state = "waiting" if call.status == CallStatus.WAITING else "current"
        elif call.attempts.get(step.id):
            state = "done"
        else:
            state = "todo"
        forked = [c for target in step.fork_to for c in forks.get(target, [])]
        stops.append(PathStop(step, state, call.attempts.get(step.id, 0), forked))
    return stops


def workflow_view(call: Call) -> dict:
    """The workflow number once the path fixes it, with its diagram and the current step marked;
    before that, the templates the call can still become."""
    model = reference_model()
    if not call.workflow:
        return {"number": None, "candidates": workflows_for(model, call.process_chain())}
    workflow = model.workflow(call.workflow)
    highlight = ""
    if call.step and call.status not in ENDED:
        for index, path_step in enumerate(model.path(workflow)):
            if path_step.step.id == call.step:
                # workflow_to_svg names each step's group "usm-wf<N>-step-<position in path>".
                highlight = f"usm-wf{workflow.number}-step-{index + 1}"
    return {
        "number": workflow.number,
        "workflow": workflow,
        "candidates": [],
        "svg": mark_safe(workflow_to_svg(model, workflow)),  # escaped by the generator
        "highlight": highlight,
    }


def repeatable_steps(call: Call) -> list[Step]:
    """Earlier steps a call may go back to (the engine has the last word): never the accept step,
    and once delivery was reviewed only what follows the review."""
    step = current_step(call)
    if step is None or call.status in (*ENDED, "waiting", "on_hold"):
        return []
    steps = reference_model().processes[call.process].steps
    review = next(s for s in steps if s.kind is StepKind.REVIEW)
    fulfilled = call.status in ("process_fulfilled", "workflow_fulfilled")
    return [
        s
        for s in steps
        if s.position < step.position
        and s.kind is not StepKind.ACCEPT
        and not (fulfilled and s.position <= review.position)
    ]


def assignable_people(user, call: Call):
    if call.assignee_team_id:
        return call.assignee_team.members.filter(active=True).order_by("name")
    staff = Person.objects.filter(active=True, teams__isnull=False).distinct()
    return scoped(user, staff).order_by("name")


def available_actions(user, call: Call) -> dict[str, bool]:
    step = current_step(call)
    status = CallStatus(call.status)
    workable = status in WORKABLE and step is not None
    first_two = {s.id for s in reference_model().processes[call.process].steps[:2]}
    ended = call.status in ENDED
    return {
        "complete": workable and step.kind is not StepKind.FORK,
        "fork": workable and step.kind is StepKind.FORK,
        "hold": status in (CallStatus.OPEN, CallStatus.IN_PROGRESS),
        "release": status is CallStatus.ON_HOLD,
        "repeat": bool(repeatable_steps(call)),
        "abort": not ended,
        "priority": not ended,
        "assign": not ended,
        "reclassify": not ended and not call.parent_id and call.step in first_two,
        "mir": mir_changes.may_record(call),
        "link": True,
        "note": True,
        "attach": True,
    }


def action_forms(user, call: Call, bound: dict | None = None) -> dict:
    """An unbound form for each action the call allows now; `bound` carries a form the person
    just sent back with its errors."""
    allowed = available_actions(user, call)
    initial = {"version": call.version}
    step = current_step(call)
    built: dict = {}
    for action, ok in allowed.items():
        if ok:
            built[action] = build_form(
                action, user, call, step, initial=dict(initial), prefix=action
            )
    for action, form in (bound or {}).items():
        built[action] = form
    if "priority" in built and not built["priority"].is_bound:
        built["priority"].initial.update(impact=call.impact, urgency=call.urgency)
    return built


def build_form(action: str, user, call: Call, step: Step | None, **kwargs):
    """The form for `action`, bound when `data`/`files` are given."""
    if action == "complete":
        return web_forms.CompleteForm(step, **kwargs)
    if action == "fork":
        return web_forms.ForkForm(step, **kwargs)
    if action == "hold":
        return web_forms.ReasonForm(**kwargs)
    if action == "release":
        return web_forms.VersionForm(**kwargs)
    if action == "abort":
        return web_forms.AbortForm(**kwargs)
    if action == "repeat":
        return web_forms.RepeatForm(repeatable_steps(call), **kwargs)
    if action == "priority":
        return web_forms.PriorityForm(call.provider_id, **kwargs)
    if action == "assign":
        return web_forms.AssignForm(assignable_people(user, call), **kwargs)
    if action == "reclassify":
        return web_forms.ReclassifyForm(call.call_type, **kwargs)
    if action == "mir":
        return mir_changes.MirChangeForm(user, **kwargs)
    if action == "link":
        return web_forms.LinkForm(**_without_version(kwargs))
    if action == "note":
        return web_forms.NoteForm(**_without_version(kwargs))
    if action == "attach":
        return web_forms.AttachForm(**_without_version(kwargs))
    raise KeyError(action)


def _without_version(kwargs: dict) -> dict:
    return {k: v for k, v in kwargs.items() if k != "initial"}


def linked_calls(user, call: Call) -> dict:
    visible = scoped(user, Call.objects.all())
    related = [
        (link.get_kind_display(), link.target)
        for link in call.links_out.exclude(kind="forked_into").select_related("target")
        if visible.filter(pk=link.target_id).exists()
    ]
    related += [
        (f"{link.get_kind_display()} (from)", link.source)
        for link in call.links_in.exclude(kind="forked_into").select_related("source")
        if visible.filter(pk=link.source_id).exists()
    ]
    return {
        "parent": call.parent,
        "root": call.root if call.root_id not in (None, call.pk, call.parent_id) else None,
        "children": list(call.forks.order_by("pk")),
        "related": related,
    }


def _event_entry(event: CallEvent) -> TimelineEntry:
    model = reference_model()
    label = EVENT_LABELS.get(event.kind, event.kind)
    step = f"{event.step} {_step_name(model, event.step)}" if event.step else ""
    detail, link, minor = event.detail, "", False
    if event.kind == "step_completed":
        title = f"Completed {step}"
        outcome = model.step(event.step).outcome(event.outcome) if event.outcome else None
        if outcome is not None:
            title += f": {outcome.name}"
        elif event.outcome:
            title += f" → {event.outcome}"
        if event.attempt > 1:
            title += f" (attempt {event.attempt})"
    elif event.kind == "forked":
        title = f"Forked into {event.outcome} at {event.step}"
    elif event.kind == "resumed":
        title = f"Resumed: {event.outcome} delivered"
    elif event.kind == "status_changed":
        title, minor = f"Status: {STATUS_LABELS.get(event.status, event.status)}", True
    elif event.kind == "repeated":
        title = f"Back to {step}"
    elif event.kind == "assigned":
        title = f"Assigned to {event.outcome}" if event.outcome else "Handed back to the team"
        detail = ""
    elif event.kind == "linked":
        title = "Raised" if event.detail == "raised" else f"Linked ({event.detail})"
        link, detail = event.outcome, ""
    elif event.kind == "deadline_breached":
        title = f"{event.outcome.capitalize()} deadline breached"
    else:
        title = label
    return TimelineEntry(event.at, event.kind, title, detail, event.actor, link=link, minor=minor)


def _step_name(model, step_id: str) -> str:
    try:
        return model.step(step_id).name
    except KeyError:
        return ""


def timeline(call: Call, *, include_internal: bool = True) -> list[TimelineEntry]:
    """Newest first: the event log, the notes and the files, in one stream."""
    entries = [
        _event_entry(e) for e in call.events.select_related("actor__person").order_by("at", "id")
    ]
    notes = call.notes.select_related("author__person")
    if not include_internal:
        notes = notes.filter(internal=False)
    entries += [
        TimelineEntry(
            n.created_at,
            "note",
            "Internal note" if n.internal else "Note",
            n.text,
            n.author,
            internal=n.internal,
        )
        for n in notes
    ]
    entries += [
        TimelineEntry(
            a.uploaded_at, "attachment", "Attached a file", "", a.uploaded_by, attachment=a
        )
        for a in call.attachments.select_related("uploaded_by__person")
    ]
    return sorted(entries, key=lambda e: e.at, reverse=True)


def context(request, call: Call, *, bound: dict | None = None, error: str = "", notice=None):
    user = request.user
    now = timezone.now()
    step = current_step(call)
    return {
        "call": call,
        "process": reference_model().processes[call.process],
        "step": step,
        "path": process_path(call),
        "deadlines": call_deadlines(call, now),
        "workflow": workflow_view(call),
        "actions": available_actions(user, call),
        "forms": action_forms(user, call, bound),
        "can_assign_me": _can_take(user, call),
        "links": linked_calls(user, call),
        "mir": mir_changes.mir_view(call),
        "timeline": timeline(call),
        "hold_reason": _hold_reason(call),
        "error": error,
        "notice": notice,
    }


def _can_take(user, call: Call) -> bool:
    if call.status in ENDED or call.assignee_id == user.person.pk:
        return False
    return (
        not call.assignee_team_id or call.assignee_team.members.filter(pk=user.person.pk).exists()
    )


def _hold_reason(call: Call) -> str:
    if call.status != "on_hold":
        return ""
    pause = call.pauses.filter(ended_at__isnull=True).order_by("-started_at").first()
    return pause.reason if pause else ""
