"""/api/v1/calls: the call register over REST. Reads go through the scoping rule; writes through
`services`; a refused transition is a 409 (the state moved on) or a 422 (the request is wrong).

A customer's user may do over the API what the portal lets them do: register a call for one of
their customers, read their customers' calls, add a public note and reply when the desk waits on
them. Working a call (steps, forks, holds, priority, assignment, MIR changes, links, files,
internal notes, the event log) is the provider's: `require_staff` answers them 403."""

# No `from __future__ import annotations`: django-ninja reads the parameter annotations at import.
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from ninja import Field, File, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.pagination import CursorPagination, paginate

from usm.api.crud import RowId, require_staff
from usm.api.scoping import is_staff, provider_id_of, scoped, scoped_get
from usm.calls import services
from usm.calls.models import CUSTOMER_CALL_TYPES, Call, CallEvent
from usm.calls.schemas import (
    AssignIn,
    CallIn,
    CallOut,
    EventOut,
    FactsIn,
    ForkIn,
    LinkIn,
    MirChangesIn,
    MonitoringIn,
    NoteIn,
    PriorityIn,
    ReasonIn,
    ReclassifyIn,
    RepeatIn,
    StepIn,
)
from usm.engine.classification import ContactFacts, propose_call_type

router = Router(tags=["calls"])

# Set by the desk when it accepts and classifies the call.
DESK_FIELDS = {
    "mir_item_ids": "the desk links the MIR items",
    "category": "the desk sets the category",
    "effect": "effect and likelihood weigh a risk, which the provider raises",
    "likelihood": "effect and likelihood weigh a risk, which the provider raises",
}


class NoteOut(Schema):
    id: int
    text: str
    internal: bool
    created_at: datetime


class ReplyIn(Schema):
    text: str = Field(min_length=1, max_length=10_000)


class CallFilters(Schema):
    status: str | None = Field(None, max_length=20)
    process: str | None = Field(None, max_length=5)
    call_type: str | None = Field(None, max_length=20)
    customer_id: RowId | None = None
    service_id: RowId | None = None
    team_id: RowId | None = None
    assignee_id: RowId | None = None
    workflow: int | None = Field(None, ge=1, le=8)
    open: bool | None = None
    q: str | None = Field(None, max_length=200)


def _call(request, number: str) -> Call:
    return scoped_get(request.auth, Call, number=number.upper())


def _provider(request):
    from usm.organisation.models import Provider

    return get_object_or_404(Provider, pk=provider_id_of(request.auth))


def _in_provider(request, model, pk):
    return None if pk is None else scoped_get(request.auth, model, pk=pk)


def _customers_registration(request, payload: CallIn) -> tuple:
    """What a customer's user may register, as the portal has it: one of the portal's call types,
    as themselves, for a customer that authorises them, over the API. The fields the desk fills
    in are refused, each with its reason."""
    from usm.organisation.models import Person

    person = request.auth.person
    # Someone the caller cannot see is unknown (404), as everywhere; a colleague is refused.
    named = _in_provider(request, Person, payload.requester_id)
    errors = {
        field: reason
        for field, reason in DESK_FIELDS.items()
        if getattr(payload, field) not in (None, "", [])
    }
    if payload.call_type not in CUSTOMER_CALL_TYPES:
        errors["call_type"] = "a customer registers an incident, a service_request or a wish"
    if named not in (None, person):
        errors["requester_id"] = "a customer's user registers calls as themselves"
    if payload.channel != "api":
        errors["channel"] = "a customer's user's calls come in over the api"
    customer_id = payload.customer_id
    if customer_id is None:
        # The call would be registered for nobody, and hidden from the one who put it in.
        authorisations = list(person.authorisations.filter(active=True)[:2])
        if len(authorisations) != 1:
            errors["customer_id"] = (
                "say which of your customers the call is for"
                if authorisations
                else "no customer has authorised you to submit calls"
            )
        else:
            customer_id = authorisations[0].customer_id
    if errors:
        raise ValidationError(errors)
    return person, customer_id


@router.post("/", response={201: CallOut, 200: CallOut}, summary="Register a call")
def register(request, payload: CallIn):
    from usm.agreements.models import Service
    from usm.mir.models import MirItem
    from usm.organisation.models import Customer, Person

    key = request.headers.get("Idempotency-Key")
    provider = _provider(request)
    if key and (known := Call.objects.filter(provider=provider, idempotency_key=key).first()):
        if not scoped(request.auth, Call.objects.filter(pk=known.pk)).exists():
            # Someone else's call: neither it nor what it is about is the caller's to read.
            raise HttpError(409, "this Idempotency-Key was used for another request")
        return Status(200, known)
    if is_staff(request.auth):
        requester = _in_provider(request, Person, payload.requester_id)
        customer_id, channel = payload.customer_id, payload.channel
    else:
        requester, customer_id = _customers_registration(request, payload)
        channel = "api"
    call = services.register_call(
        provider,
        request.auth,
        call_type=payload.call_type,
        summary=payload.summary,
        description=payload.description,
        channel=channel,
        requester=requester,
        customer=_in_provider(request, Customer, customer_id),
        service=_in_provider(request, Service, payload.service_id),
        mir_items=[scoped_get(request.auth, MirItem, pk=pk) for pk in payload.mir_item_ids],
        category=payload.category,
        impact=payload.impact,
        urgency=payload.urgency,
        effect=payload.effect,
        likelihood=payload.likelihood,
        idempotency_key=key,
    )
    return Status(201, call)


@router.get("/", response=list[CallOut], summary="List calls, newest first")
@paginate(CursorPagination, ordering=("-id",), page_size=50, max_page_size=500)
def list_calls(request, filters: Query[CallFilters]):
    calls = scoped(request.auth, Call.objects.all())
    for field in ("status", "process", "call_type", "customer_id", "service_id", "workflow"):
        value = getattr(filters, field)
        if value is not None:
            calls = calls.filter(**{field: value.upper() if field == "process" else value})
    if filters.team_id is not None:
        calls = calls.filter(assignee_team_id=filters.team_id)
    if filters.assignee_id is not None:
        calls = calls.filter(assignee_id=filters.assignee_id)
    if filters.open is not None:
        ended = calls.filter(status__in=services.ENDED)
        calls = calls.exclude(pk__in=ended) if filters.open else ended
    if filters.q:
        calls = calls.filter(summary__icontains=filters.q) | calls.filter(number=filters.q.upper())
    return calls


@router.get("/queue", response=list[CallOut], summary="Open calls of a team, most urgent first")
def queue(request, team_id: RowId, limit: int = Query(50, ge=1, le=200)):
    require_staff(request, "read the teams' queues")
    calls = scoped(request.auth, Call.objects.all()).filter(assignee_team_id=team_id)
    calls = calls.filter(to_do=1)
    return calls.order_by("resolution_due", "id")[:limit]


@router.post("/classify", summary="Propose a call type from what the desk established")
def classify(request, facts: FactsIn):
    proposal = propose_call_type(ContactFacts(**facts.dict()))
    return {"call_type": proposal.call_type, "reason": proposal.reason}


@router.get("/{number}", response=CallOut, summary="One call")
def read(request, number: str):
    return _call(request, number)


@router.get("/{number}/events", response=list[EventOut], summary="The call's event log")
def events(request, number: str):
    require_staff(request, "read a call's event log")
    return CallEvent.objects.filter(call=_call(request, number)).order_by("at", "id")


@router.post(
    "/{number}/steps/{step}/complete", response=CallOut, summary="Complete the current step"
)
def complete(request, number: str, step: str, payload: StepIn):
    require_staff(request, "complete steps")
    return services.complete_step(
        _call(request, number),
        request.auth,
        step.upper(),
        outcome=payload.outcome,
        notes=payload.notes,
        version=payload.version,
        raise_risks=payload.raise_risks,
        raise_incidents=payload.raise_incidents,
    )


@router.post("/{number}/fork", response={201: CallOut}, summary="Fork into another process")
def fork(request, number: str, payload: ForkIn):
    require_staff(request, "fork calls")
    child = services.fork_call(
        _call(request, number),
        request.auth,
        payload.target.upper(),
        summary=payload.summary,
        version=payload.version,
    )
    return Status(201, child)


@router.post("/{number}/repeat", response=CallOut, summary="Repeat a step after a correction")
def repeat(request, number: str, payload: RepeatIn):
    require_staff(request, "repeat steps")
    return services.repeat_step(
        _call(request, number), request.auth, payload.step.upper(), payload.reason
    )


@router.post("/{number}/abort", response=list[CallOut], summary="Abort the whole workflow")
def abort(request, number: str, payload: ReasonIn):
    require_staff(request, "abort workflows")
    return services.abort_workflow(_call(request, number), request.auth, payload.reason)


@router.post("/{number}/hold", response=CallOut, summary="Wait on the requester")
def hold(request, number: str, payload: ReasonIn):
    require_staff(request, "put calls on hold")
    return services.hold_call(_call(request, number), request.auth, payload.reason)


@router.post("/{number}/release", response=CallOut, summary="Stop waiting on the requester")
def release(request, number: str):
    require_staff(request, "release calls; answer the desk with /reply")
    return services.release_call(_call(request, number), request.auth)


@router.post("/{number}/reclassify", response=CallOut, summary="Change the call type")
def reclassify(request, number: str, payload: ReclassifyIn):
    require_staff(request, "reclassify calls")
    return services.reclassify(
        _call(request, number), request.auth, payload.call_type, payload.reason
    )


@router.post("/{number}/priority", response=CallOut, summary="Reprioritise")
def priority(request, number: str, payload: PriorityIn):
    require_staff(request, "reprioritise calls")
    return services.set_priority(
        _call(request, number),
        request.auth,
        impact=payload.impact,
        urgency=payload.urgency,
        version=payload.version,
    )


@router.post("/{number}/assign", response=CallOut, summary="Give the work to a person")
def assign(request, number: str, payload: AssignIn):
    require_staff(request, "assign calls")
    from usm.organisation.models import Person

    person = _in_provider(request, Person, payload.person_id)
    return services.assign_call(_call(request, number), request.auth, person)


@router.post("/{number}/mir-changes", response=CallOut, summary="Record MIR changes of a change")
def mir_changes(request, number: str, payload: MirChangesIn):
    require_staff(request, "record MIR changes")
    return services.record_mir_changes(_call(request, number), request.auth, payload.changes)


@router.post("/{number}/links", response={201: dict}, summary="Link to another call")
def link(request, number: str, payload: LinkIn):
    require_staff(request, "link calls")
    link = services.link_calls(
        _call(request, number), _call(request, payload.target), request.auth, payload.kind
    )
    return Status(
        201, {"source": link.source.number, "kind": link.kind, "target": link.target.number}
    )


def _talked_to(request, call: Call) -> None:
    """A customer's user adds nothing to an ended call, as in the portal: nobody would read it."""
    if call.status in services.ENDED and not is_staff(request.auth):
        raise HttpError(409, "this call has ended; to follow it up, register a new call")


@router.post("/{number}/notes", response={201: NoteOut}, summary="Add a note")
def note(request, number: str, payload: NoteIn):
    if payload.internal:
        require_staff(request, "add internal notes")
    call = _call(request, number)
    _talked_to(request, call)
    note = services.add_note(call, request.auth, payload.text, internal=payload.internal)
    return Status(201, note)


@router.post(
    "/{number}/reply",
    response={201: NoteOut},
    summary="Answer what the desk asked: the answer is noted and the call no longer waits",
)
def reply(request, number: str, payload: ReplyIn):
    call = _call(request, number)
    _talked_to(request, call)
    # Both or neither: an answer left unnoted, or a call left on hold with its answer in, would
    # keep the requester waiting on the desk and the desk on the requester.
    with transaction.atomic():
        services.release_call(call, request.auth)
        note = services.add_note(call, request.auth, payload.text)
    return Status(201, note)


@router.post("/{number}/attachments", response={201: dict}, summary="Attach a file")
def attach(request, number: str, file: File[UploadedFile]):
    require_staff(request, "attach files")
    attachment = services.attach_file(_call(request, number), request.auth, file)
    return Status(
        201,
        {
            "id": attachment.pk,
            "name": attachment.name,
            "size": attachment.size,
            "content_type": attachment.content_type,
        },
    )


monitoring = Router(tags=["monitoring"])


@monitoring.post(
    "/events",
    response={201: CallOut, 200: CallOut},
    summary="A monitoring event: opens an incident, or is recorded on the open one",
)
def monitoring_event(request, payload: MonitoringIn):
    require_staff(request, "report monitoring events")
    from usm.agreements.models import Service
    from usm.mir.models import MirItem

    incident, created = services.monitoring_event(
        _provider(request),
        request.auth,
        source=payload.source,
        key=payload.key,
        summary=payload.summary,
        description=payload.description,
        service=_in_provider(request, Service, payload.service_id),
        mir_item=_in_provider(request, MirItem, payload.mir_item_id),
        impact=payload.impact,
        urgency=payload.urgency,
    )
    return Status(201 if created else 200, incident)


# Mounted by usm.api.v1: the calls at /api/v1/calls/, monitoring at /api/v1/monitoring/.
ROUTERS = {"calls": router, "monitoring": monitoring}
