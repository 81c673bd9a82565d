"""The call page and the actions on it. Every action is a POST that hands over to
`usm.calls.services`; with htmx the answer is the refreshed call (or the form with the refusal),
without it the browser is redirected back to the call page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from usm.api.errors import STATE_CONFLICTS
from usm.api.scoping import scoped
from usm.calls import services
from usm.calls.models import Call, CallAttachment
from usm.conflicts import StaleUpdate
from usm.engine.call_flow import FlowError
from usm.web import call_page, mir_changes
from usm.web.access import staff_required, visible_call
from usm.web.forms import put_on_form

STALE = "Someone else changed this call in the meantime. Reload the page to see what they did."
# Services that take the version the person read check it inside their transaction; for the
# others the page compares it just before, which catches all but a photo finish.
STALE_MIR = "the change was planned on an earlier state of that item, so nothing was applied."
VERSIONED = {"complete", "fork", "repeat", "priority"}
MAX_ROW_ID = 2**63 - 1


def _call(request, number: str) -> Call:
    return visible_call(request.user, Call.objects.all(), number)


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


@staff_required
@require_GET
def call_detail(request, number: str):
    call = _call(request, number)
    return render(request, "web/calls/call.html", call_page.context(request, call))


# -- the actions ---------------------------------------------------------------------------------
def _complete(request, call, data):
    services.complete_step(
        call,
        request.user,
        data["step"],
        outcome=data["outcome"] or None,
        notes=data["notes"],
        version=data["version"],
        raise_risks=data.get("raise_risks", []),
        raise_incidents=data.get("raise_incidents", []),
    )
    return f"Completed {data['step']}."


def _fork(request, call, data):
    child = services.fork_call(
        call, request.user, data["target"], summary=data["summary"], version=data["version"]
    )
    url = reverse("web:call", args=[child.number])
    return format_html('Forked into <a href="{}">{}</a>.', url, child.number)


def _hold(request, call, data):
    services.hold_call(call, request.user, data["reason"])
    return "On hold: the SLA clock stops until the call is released."


def _release(request, call, data):
    services.release_call(call, request.user)
    return "Released: the SLA clock runs again."


def _repeat(request, call, data):
    services.repeat_step(call, request.user, data["step"], data["reason"], version=data["version"])
    return f"Back to {data['step']}."


def _abort(request, call, data):
    aborted = services.abort_workflow(call, request.user, data["reason"])
    return f"Aborted: {', '.join(c.number for c in aborted)}."


def _priority(request, call, data):
    changed = services.set_priority(
        call,
        request.user,
        impact=data["impact"],
        urgency=data["urgency"],
        version=data["version"],
    )
    return f"Priority is now {changed.priority}."


def _assign(request, call, data):
    person = data["person"]
    services.assign_call(call, request.user, person)
    return f"Assigned to {person}." if person else "Handed back to the team."


def _reclassify(request, call, data):
    changed = services.reclassify(call, request.user, data["call_type"], data["reason"])
    return f"Now a {changed.get_call_type_display().lower()}, at {changed.step}."


def _mir(request, call, data):
    services.record_mir_changes(call, request.user, [data["change"]])
    return f"MIR change recorded; {mir_changes.UPDATE_MIR_STEP} Update MIR applies it."


def _link(request, call, data):
    target = scoped(request.user, Call.objects.all()).filter(number=data["target"]).first()
    if target is None:
        raise ValidationError({"target": f"there is no call {data['target']}"})
    services.link_calls(call, target, request.user, data["kind"])
    return f"Linked to {target.number}."


def _note(request, call, data):
    services.add_note(call, request.user, data["text"], internal=not data["public"])
    return "Note added."


def _attach(request, call, data):
    services.attach_file(call, request.user, data["file"])
    return "File attached."


ACTIONS = {
    "complete": _complete,
    "fork": _fork,
    "hold": _hold,
    "release": _release,
    "repeat": _repeat,
    "abort": _abort,
    "priority": _priority,
    "assign": _assign,
    "reclassify": _reclassify,
    "mir": _mir,
    "link": _link,
    "note": _note,
    "attach": _attach,
}


def _refused(request, call, action, form, message: str, status: int):
    fresh = Call.objects.get(pk=call.pk)
    bound = {action: form} if form is not None and status == 422 else None
    context = call_page.context(request, fresh, bound=bound, error=message)
    context["error_action"] = action
    if is_htmx(request):
        return render(request, "web/calls/_body.html", context, status=status)
    return render(request, "web/calls/call.html", context, status=status)


@staff_required
@require_POST
def act(request, number: str, action: str):
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404(f"No action '{action}'.")
    call = _call(request, number)
    step = call_page.current_step(call)
    if action in ("complete", "fork") and step is None:
        return _refused(request, call, action, None, f"The call is {call.status}.", 409)
    form = call_page.build_form(
        action, request.user, call, step, data=request.POST, files=request.FILES, prefix=action
    )
    if not form.is_valid():
        return _refused(request, call, action, form, "Check the fields marked below.", 422)
    data = dict(form.cleaned_data)
    if action == "complete":
        data["step"] = step.id
    read = data.get("version")
    if read is not None and action not in VERSIONED and read != call.version:
        return _refused(request, call, action, form, STALE, 409)
    try:
        notice = handler(request, call, data)
    except StaleUpdate as conflict:
        # The call itself, or (at Update MIR) an item the change was planned on.
        message = f"{conflict}; {STALE_MIR}" if str(conflict).startswith("MIR") else STALE
        return _refused(request, call, action, form, message, 409)
    except FlowError as refusal:
        if refusal.code == "not_current":
            return _refused(request, call, action, form, STALE, 409)
        status = 409 if refusal.code in STATE_CONFLICTS else 422
        return _refused(request, call, action, form, str(refusal), status)
    except ValidationError as refusal:
        put_on_form(form, refusal)
        return _refused(request, call, action, form, "; ".join(refusal.messages), 422)
    if is_htmx(request):
        fresh = Call.objects.get(pk=call.pk)
        return render(
            request, "web/calls/_body.html", call_page.context(request, fresh, notice=notice)
        )
    messages.success(request, notice)
    return redirect("web:call", number=call.number)


@staff_required
@require_GET
def attachment(request, number: str, pk: int):
    call = _call(request, number)
    if pk > MAX_ROW_ID:
        raise Http404("No such file.")
    found = get_object_or_404(CallAttachment, call=call, pk=pk)
    try:
        handle = found.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is no longer stored.") from None
    return FileResponse(
        handle, as_attachment=True, filename=found.name, content_type=found.content_type
    )
