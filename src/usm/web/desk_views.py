"""The service desk: the queue of the user's teams and registering a call."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from usm.api.scoping import is_staff
from usm.calls import services
from usm.web import queue
from usm.web.access import person_of, staff_required
from usm.web.forms import FactsForm, RegisterForm, put_on_form
from usm.web.sla import call_deadlines


@require_GET
def home(request):
    """Where a login lands: staff on the desk, requesters on the portal, anyone else on the
    process model that everybody may read."""
    if person_of(request.user) is None:
        return redirect("web:model")
    return redirect("web:desk" if is_staff(request.user) else "web:portal")


@staff_required
@require_GET
def desk(request):
    filters = queue.QueueFilters(request.user, request.GET)
    found = queue.page(request.user, filters)
    now = timezone.now()
    rows = [(call, call_deadlines(call, now)) for call in found.calls]
    template = (
        "web/desk/_queue_results.html"
        if request.headers.get("HX-Request") == "true"
        else "web/desk/queue.html"
    )
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        template,
        {"filters": filters, "page": found, "rows": rows, "query": query.urlencode()},
    )


@staff_required
@require_http_methods(["GET", "POST"])
def register(request):
    form = RegisterForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            call = services.register_call(
                request.user.person.provider,
                request.user,
                call_type=data["call_type"],
                summary=data["summary"],
                description=data["description"],
                channel=data["channel"],
                requester=data["requester"],
                customer=data["customer"],
                service=data["service"],
                mir_items=data["mir_items"],
                impact=data["impact"],
                urgency=data["urgency"],
                effect=data["effect"],
                likelihood=data["likelihood"],
            )
        except ValidationError as refusal:
            put_on_form(form, refusal)
        else:
            messages.success(request, f"Registered {call.number}: {call.summary}")
            return redirect("web:call", number=call.number)
    status = 422 if form.is_bound else 200
    return render(
        request,
        "web/desk/register.html",
        {"form": form, "proposal": form.proposal()},
        status=status,
    )


@staff_required
@require_GET
def propose(request):
    """The call type that the facts ticked so far point to (htmx, while the form is filled in)."""
    form = FactsForm(request.GET)
    return render(request, "web/desk/_proposal.html", {"proposal": form.proposal()})


@staff_required
@require_GET
def parties(request):
    """The requesters a chosen customer authorises (htmx, when the customer changes)."""
    form = RegisterForm(request.user, request.GET)
    return render(request, "web/desk/_parties.html", {"form": form, "quiet": True})
