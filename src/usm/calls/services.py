"""The only code that changes calls. Each function is one transaction: it locks the calls it
touches, lets the engine (`usm.engine.call_flow`) decide the transition, stores the new state and
appends the events. A refused transition raises `FlowError` and writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from usm.agreements import configuration
from usm.calls import assignment, deadlines, event_log, rows
from usm.calls.models import (
    PREFIX,
    Call,
    CallAttachment,
    CallEvent,
    CallLink,
    CallNote,
    CallPause,
)
from usm.conflicts import StaleUpdate
from usm.engine import call_flow
from usm.engine.call_flow import CallState, CallStatus, FlowError
from usm.model import Step, StepKind, reference_model

ENDED = ("closed", "aborted")


# -- the engine's state, stored flat on the row ---------------------------------------------------
def state_of(call: Call) -> CallState:
    return CallState(
        process=call.process,
        step=call.step,
        status=CallStatus(call.status),
        accepting=call.accepting,
        waiting_for=call.waiting_for or None,
        attempts=dict(call.attempts),
        marks=frozenset(call.marks),
        held_status=CallStatus(call.held_status) if call.held_status else None,
    )


# What a move along the steps changes on the row: the engine's state, who has the next step and
# when the call was answered, resolved or closed. Saving only these keeps a step's UPDATE small.
MOVED_FIELDS = (
    "step",
    "status",
    "waiting_for",
    "attempts",
    "marks",
    "held_status",
    "updated_at",
    "version",
    "responsible_profile",
    "accountable_profile",
    "assignee_team",
    "responded_at",
    "resolved_at",
    "closed_at",
)


def _store(call: Call, state: CallState, at: datetime) -> None:
    call.step = state.step
    call.status = state.status.value
    call.waiting_for = state.waiting_for or ""
    call.attempts = dict(state.attempts)
    call.marks = sorted(state.marks)
    call.held_status = state.held_status.value if state.held_status else ""
    call.updated_at = at
    call.version += 1


# Read with the call, so that the move's assignment needs no statement of its own to know whether
# the configuration it keeps is current: `call.configuration_stamp`.
WITH_STAMP = {"configuration_stamp": configuration.STAMP_SQL}
# Read with a call about to be evaluated and closed: how many of the calls it forked are still
# open (`_require_forks_closed`).
OPEN_FORKS = {
    "open_forks": f"(SELECT COUNT(*) FROM {Call._meta.db_table} AS fork "
    f"WHERE fork.{Call._meta.get_field('parent').column} = {Call._meta.db_table}.id "
    f"AND fork.status NOT IN ({', '.join(repr(status) for status in ENDED)}))"
}
# What a fork hands on to the call it makes, read with the caller in one statement: its parties,
# the configuration stamp, and whether it has MIR items at all (most have none to copy).
PARTIES = ("provider", "requester", "customer", "service")
MIR_ITEMS = Call.mir_items.through
FORK_READ = WITH_STAMP | {
    "has_mir_items": f"EXISTS (SELECT 1 FROM {MIR_ITEMS._meta.db_table} AS item "
    f"WHERE item.{Call.mir_items.field.m2m_column_name()} = {Call._meta.db_table}.id)",
    # For a root: whether its workflow is still itself alone (it has not forked before).
    "alone_in_workflow": f"NOT EXISTS (SELECT 1 FROM {Call._meta.db_table} AS member "
    f"WHERE member.{Call._meta.get_field('root').column} = {Call._meta.db_table}.id "
    f"AND member.id <> {Call._meta.db_table}.id)",
}
# A fork may also fix the workflow number of the root that forks.
FORK_FIELDS = (*MOVED_FIELDS, "workflow")


def _locked(
    call: Call | int,
    version: int | None = None,
    *,
    also: dict[str, str] = WITH_STAMP,
    related: tuple[str, ...] = (),
) -> Call:
    """The call (or the call with that id) re-read under a row lock, so that two completions of
    one step queue up and the second sees the first's result. `also` and `related`: what is read
    with it (`rows.locked`)."""
    pk = call if isinstance(call, int) else call.pk
    fresh = rows.locked(Call, pk, also=also, related=related)
    if version is not None and version != fresh.version:
        raise StaleUpdate(
            f"call {fresh.number}", fresh.version, {"status": fresh.status, "step": fresh.step}
        )
    return fresh


def _fix_workflow(call: Call) -> None:
    """Once the path leaves one template possible, every call of the workflow carries its number."""
    candidates = call_flow.workflows_for(reference_model(), call.process_chain())
    if len(candidates) != 1:
        return
    call.workflow = candidates[0]


def _share_workflow(call: Call) -> None:
    """The calls already in a forked call's workflow learn the number its fork fixed (one
    statement; a no-op for those that know it)."""
    root = call.root_id or call.pk
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Call._meta.db_table} SET workflow = %s WHERE (id = %s OR root_id = %s) "
            "AND (workflow IS NULL OR workflow <> %s)",
            [call.workflow, root, root, call.workflow],
        )


def _same_provider(provider_id: int, **objects) -> None:
    errors = {
        field: "belongs to another provider"
        for field, value in objects.items()
        if value is not None and getattr(value, "provider_id", provider_id) != provider_id
    }
    if errors:
        raise ValidationError(errors)


def _check_requester(requester, customer, service):
    """Refuse a requester the customer has not authorised (for this service). Returns the
    configuration stamp, read in the same statement, or `configuration.UNREAD` when there was
    nothing to check."""
    if requester is None or customer is None:
        return configuration.UNREAD
    from usm.organisation.models import Requester

    # The authorisation, the services it is limited to and the configuration stamp the
    # registration goes on to use, in one statement: every call a requester raises asks it.
    authorisation = Requester._meta.db_table
    limits = Requester.services.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.service_id, {configuration.STAMP_SQL} FROM {authorisation} r "
            f"LEFT JOIN {limits} s ON s.requester_id = r.id "
            "WHERE r.person_id = %s AND r.customer_id = %s AND r.active = %s",
            [requester.pk, customer.pk, True],
        )
        found = cursor.fetchall()
    if not found:
        raise ValidationError({"requester": f"{requester} is not authorised by {customer}"})
    allowed = {service_id for (service_id, _) in found if service_id is not None}
    if service is not None and allowed and service.pk not in allowed:
        raise ValidationError({"service": f"{requester} may not submit calls for {service}"})
    return found[0][1]


# -- registering --------------------------------------------------------------------------------
def register_call(provider, actor, **details) -> Call:
    """Put a call in the register, at its process's accept step. With an idempotency key, a retry
    of the same request returns the call the first attempt made. `details`: see `_register`."""
    with transaction.atomic():
        return _register(provider, actor, **details)


def _register(
    provider,
    actor,
    *,
    call_type: str,
    summary: str,
    description: str = "",
    channel: str = "portal",
    requester=None,
    customer=None,
    service=None,
    mir_items: Sequence = (),
    category: str = "",
    impact: int | None = None,
    urgency: int | None = None,
    effect: int | None = None,
    likelihood: int | None = None,
    idempotency_key: str | None = None,
    external_ref: str | None = None,
    parent: Call | None = None,
    at: datetime | None = None,
    stamp=configuration.UNREAD,
    workflow_shared: bool = False,
) -> Call:
    """`register_call` inside a transaction already open: the services that register a call as
    part of their own work (a fork, a raised risk) call this, and need no savepoint of their own
    (an error undoes their whole transaction). `stamp`: the configuration stamp when the caller
    has just read it. `workflow_shared`: the forking caller has already given the calls of its
    workflow the number this registration fixes."""
    at = at or timezone.now()
    model = reference_model()
    process = model.process_for(call_type)
    if process is None:
        raise ValidationError({"call_type": f"'{call_type}' is not a call type"})
    if not summary.strip():
        raise ValidationError({"summary": "say in a line what the call is about"})
    if idempotency_key:
        existing = Call.objects.filter(provider=provider, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    _same_provider(provider.pk, requester=requester, customer=customer, service=service)
    for item in mir_items:
        _same_provider(provider.pk, mir_items=item)
    if customer is None and requester is not None:
        authorisations = list(requester.authorisations.filter(active=True)[:2])
        if len(authorisations) == 1:
            customer = authorisations[0].customer
    checked_at = _check_requester(requester, customer, service)
    if stamp is configuration.UNREAD:
        stamp = checked_at
    state = call_flow.start(model, process.code, accepting=parent is None)
    call = Call(
        provider=provider,
        number=_number(provider.pk, call_type),
        call_type=call_type,
        process=process.code,
        channel=channel,
        requester=requester,
        customer=customer,
        service=service,
        summary=summary.strip(),
        description=description,
        category=category,
        idempotency_key=idempotency_key or None,
        external_ref=external_ref,
        parent=parent,
        accepting=state.accepting,
        root_id=parent.root_id if parent else None,
        workflow=parent.workflow if parent else None,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=at,
        updated_at=at,
    )
    _store(call, state, at)
    call.version = 1
    # Everything the row needs is known before it is written: its priority, the workflow when the
    # path already fixes it, who does the accept step, and (from that team's OLA or the
    # customer's SA) the deadlines, so the call is inserted once, whole.
    with configuration.pinned():
        if stamp is not configuration.UNREAD:
            configuration.of(provider.pk, stamp)  # pins the configuration of that stamp
        _classify_levels(call, impact=impact, urgency=urgency, effect=effect, likelihood=likelihood)
        _fix_workflow(call)
        assignment.apply(call)
        deadlines.apply(call)
    if idempotency_key:
        try:
            with transaction.atomic():  # a savepoint, so that the retry below can still read
                rows.insert_one(call)
        except IntegrityError:  # the same request, retried while the first was committing
            return Call.objects.get(provider=provider, idempotency_key=idempotency_key)
    else:
        rows.insert_one(call)
    registered = (CallEvent, [_registered(call, actor, at)])
    if call.root_id is None:
        call.root_id = call.pk
        rows.save_fields(call, ("root",), then_insert=registered)
    else:
        rows.insert_rows(*registered)
    if mir_items:
        call.mir_items.set(mir_items)
    if parent is not None and call.workflow is not None and not workflow_shared:
        _share_workflow(call)
    return call


def _registered(call: Call, actor, at: datetime) -> dict:
    return event_log.row_of(
        call,
        "registered",
        at,
        actor,
        step=call.step,
        status=call.status,
        detail=f"{_label('call_type', call.call_type)} via {_label('channel', call.channel)}",
    )


@cache
def _labels(field: str) -> dict[str, str]:
    # The choices are plain strings (no translation): their labels are the same for every call,
    # where `get_..._display` builds the field's whole lookup again on each call.
    return {value: str(label) for value, label in Call._meta.get_field(field).flatchoices}


def _label(field: str, value: str) -> str:
    """What `call.get_<field>_display()` gives for `value`."""
    return _labels(field).get(value, value)


def _number(provider_id: int, call_type: str) -> str:
    from usm.calls.numbering import next_number

    return next_number(provider_id, PREFIX[call_type])


def _classify_levels(call: Call, **levels) -> None:
    from usm.agreements import queries

    for field, value in levels.items():
        if value is not None and not 1 <= value <= 9:
            raise ValidationError({field: "must be a level from 1 (highest) to 9"})
        setattr(call, field, value)
    if call.impact and call.urgency:
        call.priority = queries.priority(call.provider, call.impact, call.urgency)
    if call.effect and call.likelihood:
        call.risk_level = queries.risk_level(call.provider, call.effect, call.likelihood)


# -- walking the steps --------------------------------------------------------------------------
@transaction.atomic
def complete_step(
    call: Call,
    actor,
    step: str,
    *,
    outcome: str | None = None,
    notes: str = "",
    version: int | None = None,
    raise_risks: Iterable[str] = (),
    raise_incidents: Iterable[str] = (),
    at: datetime | None = None,
) -> Call:
    """Complete the call's current step. Change's Update MIR step applies the MIR changes recorded
    on the call. New calls may be raised (one summary each): risks at evaluate & close, and
    incidents or risks where the step says so (Operate's execution, from monitoring)."""
    at = at or timezone.now()
    model = reference_model()
    done = _step_or_none(model, step)
    evaluating = done is not None and done.kind is StepKind.EVALUATE
    call = _locked(call, version, also=WITH_STAMP | OPEN_FORKS if evaluating else WITH_STAMP)
    read = rows.values_of(call, MOVED_FIELDS)
    state, events = call_flow.complete(model, state_of(call), step, outcome)
    if evaluating:
        _require_forks_closed(call)
    raisable = set(done.raises) | ({"risk"} if done.kind is StepKind.EVALUATE else set())
    raised = [("risk", s) for s in raise_risks] + [("incident", s) for s in raise_incidents]
    for call_type, _ in raised:
        if call_type not in raisable:
            raise ValidationError({f"raise_{call_type}s": f"{step} does not raise {call_type}s"})
    if done.updates_mir:
        _apply_mir_changes(call, actor, at)
    _store(call, state, at)
    if done.kind is StepKind.ACCEPT and call.responded_at is None:
        call.responded_at = at
    if state.status in (CallStatus.PROCESS_FULFILLED, CallStatus.WORKFLOW_FULFILLED):
        call.resolved_at = call.resolved_at or at
    if state.status is CallStatus.CLOSED:
        call.closed_at = at
    assignment.apply(call, call.configuration_stamp)
    flow = event_log.flow_rows(call, events, at, actor, notes)
    rows.save_fields(call, MOVED_FIELDS, then_insert=(CallEvent, flow), read=read)
    record_breaches(call, at)
    if state.status is CallStatus.PROCESS_FULFILLED and call.parent_id:
        _resume(call.parent_id, actor, at)
    for call_type, summary in raised:
        _raise(call, actor, call_type, summary, at)
    return call


def _step_or_none(model, step_id: str) -> Step | None:
    try:
        return model.step(step_id)
    except KeyError:
        return None  # the engine refuses the step, with its own message


def _require_forks_closed(call: Call) -> None:
    """A workflow is closed by the process that accepted it, so each caller closes after the calls
    it forked: a forked call that has handed back still has its own evaluation to do. The call
    was read with the count of its open forks (`OPEN_FORKS`); their numbers are read only to
    say which."""
    if not call.open_forks:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT number FROM {Call._meta.db_table} WHERE parent_id = %s "
            "AND status NOT IN (%s, %s) ORDER BY number",
            [call.pk, *ENDED],
        )
        still_open = [number for (number,) in cursor.fetchall()]
    if still_open:
        raise call_flow.FlowError(
            "forks_open",
            f"{', '.join(still_open)} must be evaluated and closed first: "
            "a workflow closes last in the process that accepted it",
        )


def record_breaches(call: Call, at: datetime) -> list[str]:
    """Record each deadline the call has missed, once: a late response or resolution when it
    happens, or (called by the SLA sweep) an open call whose due time has passed."""
    missed = deadlines.missed(call, at)
    if not missed:
        return []  # the usual case, answered without asking the database
    recorded = set(call.events.filter(kind="deadline_breached").values_list("outcome", flat=True))
    new = [which for which in missed if which not in recorded]
    for which in new:
        event_log.record(
            call,
            "deadline_breached",
            at,
            step=call.step or "",
            outcome=which,
            detail=f"{which} due {getattr(call, which + '_due'):%Y-%m-%d %H:%M} UTC",
        )
    return new


def _resume(caller_id: int, actor, at: datetime) -> None:
    caller = _locked(caller_id)
    if caller.status != CallStatus.WAITING.value:
        return  # aborted or already resumed: nothing to hand back to
    read = rows.values_of(caller, MOVED_FIELDS)
    state, events = call_flow.resume(reference_model(), state_of(caller))
    _store(caller, state, at)
    assignment.apply(caller, caller.configuration_stamp)
    flow = event_log.flow_rows(caller, events, at, actor)
    rows.save_fields(caller, MOVED_FIELDS, then_insert=(CallEvent, flow), read=read)


def _apply_mir_changes(call: Call, actor, at: datetime) -> None:
    from usm.mir.services import apply_changes

    if call.mir_changes:
        apply_changes(call.provider, call.mir_changes, reference=call.number, actor=actor)
    event_log.record(
        call,
        "mir_updated",
        at,
        actor,
        step=call.step,
        detail=f"{len(call.mir_changes)} change(s) applied",
    )


def _raise(source: Call, actor, call_type: str, summary: str, at: datetime) -> Call:
    raised = _register(
        source.provider,
        actor,
        call_type=call_type,
        summary=summary,
        description=f"Raised by {source.number}: {source.summary}",
        channel="internal",
        customer=source.customer,
        service=source.service,
        mir_items=list(source.mir_items.all()),
        at=at,
    )
    CallLink.objects.create(source=source, kind="raised", target=raised)
    event_log.record(source, "linked", at, actor, outcome=raised.number, detail="raised")
    return raised


@transaction.atomic
def fork_call(
    call: Call,
    actor,
    target: str,
    *,
    summary: str = "",
    version: int | None = None,
    at: datetime | None = None,
) -> Call:
    """At the fork step, hand the call over to `target`: a new call there adopts this one's
    details, and this one waits until it is delivered. Returns the new call."""
    at = at or timezone.now()
    call = _locked(call, version, also=FORK_READ, related=PARTIES)
    read = rows.values_of(call, FORK_FIELDS)
    model = reference_model()
    state, events = call_flow.fork(model, state_of(call), call.step or "", target)
    _store(call, state, at)
    flow = event_log.flow_rows(call, events, at, actor)  # under the number known until now
    shared = call.parent_id is None and call.alone_in_workflow
    if shared:
        # A root's first fork: the root is the only call the number this fork may fix is to be
        # shared with (`_share_workflow`), so it is stored with the root's own move.
        fixed = call_flow.workflows_for(model, (*call.process_chain(), target))
        if len(fixed) == 1:
            call.workflow = fixed[0]
    rows.save_fields(call, FORK_FIELDS, then_insert=(CallEvent, flow), read=read)
    child = _register(
        call.provider,
        actor,
        call_type=model.processes[target].trigger,
        summary=summary.strip() or call.summary,
        description=call.description,
        channel="internal",
        requester=call.requester,
        customer=call.customer,
        service=call.service,
        mir_items=list(call.mir_items.all()) if call.has_mir_items else [],
        category=call.category,
        impact=call.impact,
        urgency=call.urgency,
        parent=call,
        at=at,
        stamp=call.configuration_stamp,
        workflow_shared=shared,
    )
    rows.insert([CallLink(source=call, kind="forked_into", target=child)])
    call.workflow = child.workflow  # registration fixed it for the whole workflow when it could
    return child


@transaction.atomic
def repeat_step(
    call: Call,
    actor,
    step: str,
    reason: str,
    *,
    version: int | None = None,
    at: datetime | None = None,
) -> Call:
    at = at or timezone.now()
    call = _locked(call, version)
    state, events = call_flow.repeat(reference_model(), state_of(call), step, reason)
    _store(call, state, at)
    assignment.apply(call, call.configuration_stamp)
    call.save()
    event_log.record_flow(call, events, at, actor)
    return call


@transaction.atomic
def abort_workflow(call: Call, actor, reason: str, *, at: datetime | None = None) -> list[Call]:
    """USM's second error route: every open call of the workflow ends aborted."""
    at = at or timezone.now()
    root_id = call.root_id or call.pk
    aborted = []
    for member in Call.objects.select_for_update().filter(root_id=root_id).order_by("pk"):
        if member.status in ENDED:
            continue
        state, events = call_flow.abort(state_of(member), reason)
        _store(member, state, at)
        member.closed_at = at
        member.save()
        event_log.record_flow(member, events, at, actor)
        aborted.append(member)
    if not aborted:
        raise FlowError("ended", "every call of this workflow has already ended")
    return aborted


@transaction.atomic
def hold_call(call: Call, actor, reason: str, *, at: datetime | None = None) -> Call:
    """Wait on the requester: the SLA clock stops until `release_call`."""
    at = at or timezone.now()
    call = _locked(call)
    state, events = call_flow.hold(state_of(call), reason)
    _store(call, state, at)
    call.save()
    CallPause.objects.create(call=call, started_at=at, reason=reason.strip())
    event_log.record_flow(call, events, at, actor)
    return call


@transaction.atomic
def release_call(call: Call, actor, *, at: datetime | None = None) -> Call:
    at = at or timezone.now()
    call = _locked(call)
    state, events = call_flow.release(state_of(call))
    _store(call, state, at)
    call.pauses.filter(ended_at__isnull=True).update(ended_at=at)
    deadlines.apply(call)
    call.save()
    event_log.record_flow(call, events, at, actor)
    return call


# -- classification -----------------------------------------------------------------------------
@transaction.atomic
def reclassify(
    call: Call, actor, call_type: str, reason: str, *, at: datetime | None = None
) -> Call:
    """The desk corrects the call type. Only before the call's own work starts (at accept or
    classify) and never once forked: the call restarts in the process of its new type."""
    at = at or timezone.now()
    call = _locked(call)
    model = reference_model()
    process = model.process_for(call_type)
    if process is None:
        raise ValidationError({"call_type": f"'{call_type}' is not a call type"})
    if not reason.strip():
        raise ValidationError({"reason": "say why the call type changes"})
    first_two = {s.id for s in model.processes[call.process].steps[:2]}
    if call.parent_id or call.status in ENDED or call.step not in first_two:
        raise FlowError(
            "too_late", "a call is reclassified only while it is accepted or classified"
        )
    if call_type == call.call_type:
        raise ValidationError(
            {"call_type": f"the call already is a {call.get_call_type_display()}"}
        )
    before = call.get_call_type_display()
    call.call_type, call.process, call.workflow = call_type, process.code, None
    _store(call, call_flow.start(model, process.code), at)
    _fix_workflow(call)
    assignment.apply(call)
    deadlines.apply(call)
    call.save()
    event_log.record(
        call,
        "reclassified",
        at,
        actor,
        step=call.step,
        status=call.status,
        outcome=call_type,
        detail=f"{before} -> {call.get_call_type_display()}: {reason}",
    )
    return call


@transaction.atomic
def set_priority(
    call: Call,
    actor,
    *,
    impact: int,
    urgency: int,
    version: int | None = None,
    at: datetime | None = None,
) -> Call:
    """Reprioritise: the priority and the deadlines follow."""
    at = at or timezone.now()
    call = _locked(call, version)
    before = call.priority
    _classify_levels(call, impact=impact, urgency=urgency)
    deadlines.apply(call)
    call.version += 1
    call.updated_at = at
    call.save()
    event_log.record(
        call,
        "priority_changed",
        at,
        actor,
        step=call.step or "",
        outcome=str(call.priority),
        detail=f"priority {before} -> {call.priority}",
    )
    return call


@transaction.atomic
def record_mir_changes(
    call: Call, actor, changes: list[dict], *, at: datetime | None = None
) -> Call:
    """Note the MIR changes a change will make; its Update MIR step applies them."""
    call = _locked(call)
    if call.process != "CHM":
        raise ValidationError({"mir_changes": "only a change (CHM) alters the MIR"})
    if call.status in ENDED or call.attempts.get("CHM-8"):
        raise FlowError("too_late", "the MIR has already been updated for this change")
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        raise ValidationError({"mir_changes": "a list of change records"})
    call.mir_changes = [*call.mir_changes, *changes]
    call.version += 1
    call.save()
    return call


@transaction.atomic
def assign_call(call: Call, actor, person, *, at: datetime | None = None) -> Call:
    """Give the call's current work to one person (their personal queue); None hands it back to
    the team."""
    at = at or timezone.now()
    call = _locked(call)
    if call.status in ENDED:
        raise FlowError("ended", f"the call is {call.status}")
    if person is not None:
        _same_provider(call.provider_id, person=person)
        if not person.active:
            raise ValidationError({"person": f"{person} is not active"})
        if call.assignee_team_id and not person.teams.filter(pk=call.assignee_team_id).exists():
            raise ValidationError({"person": f"{person} is not in {call.assignee_team}"})
    call.assignee = person
    call.version += 1
    call.updated_at = at
    call.save()
    event_log.record(
        call,
        "assigned",
        at,
        actor,
        step=call.step or "",
        outcome=str(person) if person else "",
        detail="to the team" if not person else "",
    )
    return call


# -- links, notes -------------------------------------------------------------------------------
@transaction.atomic
def link_calls(
    source: Call, target: Call, actor, kind: str = "related", *, at: datetime | None = None
) -> CallLink:
    at = at or timezone.now()
    if kind not in ("related", "duplicate"):
        raise ValidationError({"kind": "link as 'related' or 'duplicate'"})
    if source.provider_id != target.provider_id:
        raise ValidationError({"target": "belongs to another provider"})
    if source.pk == target.pk:
        raise ValidationError({"target": "a call is not linked to itself"})
    link, _ = CallLink.objects.get_or_create(source=source, target=target, kind=kind)
    event_log.record(source, "linked", at, actor, outcome=target.number, detail=kind)
    return link


MAX_ATTACHMENT = 20 * 1024 * 1024


def attach_file(call: Call, actor, upload) -> CallAttachment:
    if upload.size > MAX_ATTACHMENT:
        raise ValidationError({"file": f"larger than {MAX_ATTACHMENT // (1024 * 1024)} MB"})
    return CallAttachment.objects.create(
        call=call,
        file=upload,
        name=upload.name[:255],
        content_type=(upload.content_type or "application/octet-stream")[:100],
        size=upload.size,
        uploaded_by=actor,
    )


def add_note(call: Call, actor, text: str, *, internal: bool = False) -> CallNote:
    if not text.strip():
        raise ValidationError({"text": "a note needs text"})
    return CallNote.objects.create(call=call, author=actor, text=text.strip(), internal=internal)


# -- monitoring ---------------------------------------------------------------------------------
def _serialise_on(key: str) -> None:
    """Two first events for one key must not both open an incident. SQLite already runs one write
    transaction at a time; PostgreSQL needs a lock on the key itself, as no row exists yet."""
    if connection.vendor == "postgresql":
        digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [digest])


@transaction.atomic
def monitoring_event(
    provider,
    actor,
    *,
    source: str,
    key: str,
    summary: str,
    description: str = "",
    service=None,
    mir_item=None,
    impact: int | None = None,
    urgency: int | None = None,
    at: datetime | None = None,
) -> tuple[Call, bool]:
    """An event from a monitoring tool showing a failure, or one about to happen. The first event
    for (source, key) opens an incident; repeats while it is open are recorded on it, not
    registered again. Returns the incident and whether it is new."""
    at = at or timezone.now()
    if not source.strip() or not key.strip():
        raise ValidationError({"key": "monitoring events need a source and a key"})
    ref = f"{source.strip()}:{key.strip()}"
    _serialise_on(ref)
    open_incident = (
        Call.objects.select_for_update()
        .filter(provider=provider, call_type="incident", external_ref=ref)
        .exclude(status__in=ENDED)
        .first()
    )
    if open_incident is not None:
        event_log.record(open_incident, "monitoring_repeat", at, actor, detail=summary)
        return open_incident, False
    if service is None and mir_item is not None:
        # The failing item tells which service is hit, and so which agreements set the deadline.
        service = mir_item.services.order_by("code").first()
    incident = _register(
        provider,
        actor,
        call_type="incident",
        summary=summary,
        description=description,
        channel="monitoring",
        service=service,
        mir_items=[mir_item] if mir_item else [],
        impact=impact,
        urgency=urgency,
        external_ref=ref,
        at=at,
    )
    return incident, True
