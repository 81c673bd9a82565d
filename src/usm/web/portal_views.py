"""The portal for customers' users: their organisation's calls, a new call, and the conversation
on one call. Requesters never see internal notes, the event log or other customers' calls."""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from usm.api.scoping import scoped
from usm.calls import services
from usm.calls.models import Call
from usm.engine.call_flow import FlowError
from usm.web.access import requester_required, visible_call
from usm.web.forms import PortalCallForm, ReplyForm, put_on_form

PAGE_SIZE = 25
ENDED = ("closed", "aborted")


def _customer_calls(user):
    """The calls a requester follows: those their organisation put in (scoped). The calls the
    provider forks or raises for itself (risks among them) are its own work, not theirs."""
    return scoped(user, Call.objects.filter(Call.shown_to_customers))


def _call(request, number: str) -> Call:
    return visible_call(request.user, _customer_calls(request.user), number)


@requester_required
@require_GET
def portal(request):
    calls = _customer_calls(request.user).select_related("service", "customer")
    show = request.GET.get("show", "open")
    if show == "open":
        calls = calls.exclude(status__in=ENDED)
    elif show == "ended":
        calls = calls.filter(status__in=ENDED)
    # A NUL would reach PostgreSQL, which refuses it in a query; nobody searches for one.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    if query:
        calls = calls.filter(Q(number__icontains=query) | Q(summary__icontains=query))
    before = request.GET.get("before", "")
    if re.fullmatch(r"\d{1,18}", before):
        calls = calls.filter(pk__lt=int(before))
    rows = list(calls.order_by("-pk")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render(
        request,
        "web/portal/list.html",
        {
            "calls": rows,
            "show": show,
            "q": query,
            "next_before": rows[-1].pk if more else None,
            "first_page": not before,
        },
    )


@requester_required
@require_http_methods(["GET", "POST"])
def new_call(request):
    form = PortalCallForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            call = services.register_call(
                request.user.person.provider,
                request.user,
                call_type=data["call_type"],
                summary=data["summary"],
                description=data["description"],
                channel="portal",
                requester=request.user.person,
                customer=data["customer"],
                service=data["service"],
                impact=data["impact"],
                urgency=data["urgency"],
            )
        except ValidationError as refusal:
            put_on_form(form, refusal)
        else:
            messages.success(request, f"Thank you. Your call is registered as {call.number}.")
            return redirect("web:portal-call", number=call.number)
    return render(
        request, "web/portal/new.html", {"form": form}, status=422 if form.is_bound else 200
    )


def _detail(request, call: Call, *, note_form=None, reply_form=None, error="", status=200):
    pause = call.pauses.filter(ended_at__isnull=True).order_by("-started_at").first()
    return render(
        request,
        "web/portal/call.html",
        {
            "call": call,
            "notes": call.notes.filter(internal=False).select_related("author__person"),
            "note_form": note_form or ReplyForm(prefix="note"),
            "reply_form": reply_form or ReplyForm(prefix="reply"),
            "hold_reason": pause.reason if pause else "",
            "error": error,
        },
        status=status,
    )


@requester_required
@require_GET
def portal_call(request, number: str):
    return _detail(request, _call(request, number))


@requester_required
@require_POST
def portal_note(request, number: str):
    call = _call(request, number)
    form = ReplyForm(request.POST, prefix="note")
    if not form.is_valid():
        return _detail(request, call, note_form=form, status=422)
    if call.status in ENDED:
        # The page offers no note on an ended call; a note nobody will read is refused outright.
        return _detail(
            request,
            call,
            error="This call has ended. To follow it up, report a new call.",
            status=409,
        )
    services.add_note(call, request.user, form.cleaned_data["text"])
    messages.success(request, "Your note was added.")
    return redirect("web:portal-call", number=call.number)


@requester_required
@require_POST
def portal_reply(request, number: str):
    """The requester answers what the desk asked: the answer is noted and the call released, so
    that the SLA clock runs again. Both or neither."""
    call = _call(request, number)
    form = ReplyForm(request.POST, prefix="reply")
    if not form.is_valid():
        return _detail(request, call, reply_form=form, status=422)
    try:
        with transaction.atomic():
            services.release_call(call, request.user)
            services.add_note(call, request.user, form.cleaned_data["text"])
    except FlowError:
        return _detail(
            request,
            Call.objects.get(pk=call.pk),
            note_form=ReplyForm(initial={"text": form.cleaned_data["text"]}, prefix="note"),
            error="The call is no longer waiting for you; your answer is below, add it as a note.",
            status=409,
        )
    messages.success(request, "Thank you. Your answer was sent and we carry on with the call.")
    return redirect("web:portal-call", number=call.number)
