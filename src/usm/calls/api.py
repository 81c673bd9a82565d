"""/api/v1/calls: the call register over REST. Reads go through the scoping rule; writes through
`services`; a refused transition is a 409 (the state moved on) or a 422 (the request is wrong)."""

# No `from __future__ import annotations`: django-ninja reads the parameter annotations at import.
from django.shortcuts import get_object_or_404
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import CursorPagination, paginate

from usm.api.crud import RowId
from usm.api.scoping import provider_id_of, scoped, scoped_get
from usm.calls import services
from usm.calls.models import Call, CallEvent
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


@router.post("/", response={201: CallOut, 200: CallOut}, summary="Register a call")
def register(request, payload: CallIn):
    from usm.agreements.models import Service
    from usm.mir.models import MirItem
    from usm.organisation.models import Customer, Person

    key = request.headers.get("Idempotency-Key")
    provider = _provider(request)
    if key and (known := Call.objects.filter(provider=provider, idempotency_key=key).first()):
        return Status(200, known)
    call = services.register_call(
        provider,
        request.auth,
        call_type=payload.call_type,
        summary=payload.summary,
        description=payload.description,
        channel=payload.channel,
        requester=_in_provider(request, Person, payload.requester_id),
        customer=_in_provider(request, Customer, payload.customer_id),
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
    return CallEvent.objects.filter(call=_call(request, number)).order_by("at", "id")


@router.post(
    "/{number}/steps/{step}/complete", response=CallOut, summary="Complete the current step"
)
def complete(request, number: str, step: str, payload: StepIn):
    return services.complete_step(
        _call(request, number),
        request.auth,
        step.upper(),
        outcome=payload.outcome,
        notes=payload.notes,
        version=payload.version,
        raise_risks=payload.raise_risks,
    )


@router.post("/{number}/fork", response={201: CallOut}, summary="Fork into another process")
def fork(request, number: str, payload: ForkIn):
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
    return services.repeat_step(
        _call(request, number), request.auth, payload.step.upper(), payload.reason
    )


@router.post("/{number}/abort", response=list[CallOut], summary="Abort the whole workflow")
def abort(request, number: str, payload: ReasonIn):
    return services.abort_workflow(_call(request, number), request.auth, payload.reason)


@router.post("/{number}/hold", response=CallOut, summary="Wait on the requester")
def hold(request, number: str, payload: ReasonIn):
    return services.hold_call(_call(request, number), request.auth, payload.reason)


@router.post("/{number}/release", response=CallOut, summary="Stop waiting on the requester")
def release(request, number: str):
    return services.release_call(_call(request, number), request.auth)


@router.post("/{number}/reclassify", response=CallOut, summary="Change the call type")
def reclassify(request, number: str, payload: ReclassifyIn):
    return services.reclassify(
        _call(request, number), request.auth, payload.call_type, payload.reason
    )


@router.post("/{number}/priority", response=CallOut, summary="Reprioritise")
def priority(request, number: str, payload: PriorityIn):
    return services.set_priority(
        _call(request, number),
        request.auth,
        impact=payload.impact,
        urgency=payload.urgency,
        version=payload.version,
    )


@router.post("/{number}/assign", response=CallOut, summary="Give the work to a person")
def assign(request, number: str, payload: AssignIn):
    from usm.organisation.models import Person

    person = _in_provider(request, Person, payload.person_id)
    return services.assign_call(_call(request, number), request.auth, person)


@router.post("/{number}/mir-changes", response=CallOut, summary="Record MIR changes of a change")
def mir_changes(request, number: str, payload: MirChangesIn):
    return services.record_mir_changes(_call(request, number), request.auth, payload.changes)


@router.post("/{number}/links", response={201: dict}, summary="Link to another call")
def link(request, number: str, payload: LinkIn):
    link = services.link_calls(
        _call(request, number), _call(request, payload.target), request.auth, payload.kind
    )
    return Status(
        201, {"source": link.source.number, "kind": link.kind, "target": link.target.number}
    )


@router.post("/{number}/notes", response={201: dict}, summary="Add a note")
def note(request, number: str, payload: NoteIn):
    note = services.add_note(
        _call(request, number), request.auth, payload.text, internal=payload.internal
    )
    return Status(
        201,
        {
            "id": note.pk,
            "text": note.text,
            "internal": note.internal,
            "created_at": note.created_at,
        },
    )


@router.post("/{number}/attachments", response={201: dict}, summary="Attach a file")
def attach(request, number: str, file: File[UploadedFile]):
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
