"""USM's rules as the call services enforce them: the MIR changes only in Change, the error
routes, holds that stop the clock, reclassification, and concurrent completion."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.concurrency import two_workers_at_once
from usm.calls import services
from usm.calls.models import Call, CallEvent
from usm.engine.call_flow import FlowError
from usm.mir.guard import MirClosed
from usm.mir.models import MirChange, MirItem

pytestmark = pytest.mark.django_db

# A Tuesday morning in Amsterdam (UTC+1 in November), inside office hours.
TUESDAY_9 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def walk(call, until: str, actor=None, at=None):
    while call.step != until:
        call = services.complete_step(call, actor, call.step, at=at)
    return call


def test_the_mir_changes_in_change_and_only_there(provider, desk, staff):
    rfc = services.register_call(provider, staff, call_type="rfc", summary="Add a mail relay")
    services.record_mir_changes(
        rfc,
        staff,
        [
            {"action": "create", "identifier": "relay-2", "name": "Mail relay 2", "type": "server"},
        ],
    )
    rfc = walk(Call.objects.get(pk=rfc.pk), "CHM-6", staff)
    ops = services.fork_call(rfc, staff, "OPS")
    ops = walk(ops, "OPS-6", staff)
    services.complete_step(ops, staff, "OPS-6")
    rfc = walk(Call.objects.get(pk=rfc.pk), "CHM-8", staff)
    assert not MirItem.objects.filter(identifier="relay-2").exists()
    services.complete_step(rfc, staff, "CHM-8")
    item = MirItem.objects.get(identifier="relay-2")
    change = MirChange.objects.get(item=item)
    assert change.route == "change" and change.reference == rfc.number
    assert CallEvent.objects.filter(call=rfc, kind="mir_updated").count() == 1
    with pytest.raises(MirClosed):
        MirItem.objects.filter(pk=item.pk).update(name="changed behind Change's back")


def test_only_a_change_may_carry_mir_changes(provider, desk, staff):
    request = services.register_call(provider, staff, call_type="service_request", summary="x")
    with pytest.raises(Exception, match="only a change"):
        services.record_mir_changes(request, staff, [{"action": "create"}])


def test_a_bad_mir_change_leaves_the_step_undone(provider, desk, staff):
    rfc = services.register_call(provider, staff, call_type="rfc", summary="Broken change")
    services.record_mir_changes(rfc, staff, [{"action": "create", "identifier": "Not A Slug!"}])
    rfc = walk(Call.objects.get(pk=rfc.pk), "CHM-6", staff)
    ops = walk(services.fork_call(rfc, staff, "OPS"), "OPS-6", staff)
    services.complete_step(ops, staff, "OPS-6")
    rfc = walk(Call.objects.get(pk=rfc.pk), "CHM-8", staff)
    events_before = CallEvent.objects.count()
    with pytest.raises(Exception):  # noqa: B017 - the MIR services name the field
        services.complete_step(rfc, staff, "CHM-8")
    rfc.refresh_from_db()
    assert rfc.step == "CHM-8" and CallEvent.objects.count() == events_before


def test_abort_ends_every_open_call_of_the_workflow(provider, desk, staff):
    incident = walk(
        services.register_call(provider, staff, call_type="incident", summary="Down"),
        "INC-5",
        staff,
    )
    change = services.fork_call(incident, staff, "CHM")
    aborted = services.abort_workflow(change, staff, "the supplier withdrew the fix")
    assert {c.process for c in aborted} == {"INC", "CHM"}
    assert set(Call.objects.values_list("status", flat=True)) == {"aborted"}
    with pytest.raises(FlowError):
        services.complete_step(Call.objects.get(pk=incident.pk), staff, "INC-5")


def test_hold_stops_the_clock_and_release_moves_the_deadline(provider, desk, staff):
    call = services.register_call(
        provider,
        staff,
        call_type="incident",
        summary="Slow",
        customer=desk["customer"],
        service=desk["service"],
        requester=desk["requester"],
        impact=3,
        urgency=3,
        at=TUESDAY_9,
    )
    due = call.resolution_due
    call = services.complete_step(call, staff, "INC-1", at=TUESDAY_9 + timedelta(minutes=5))
    call = services.hold_call(
        call, staff, "waiting for a log file", at=TUESDAY_9 + timedelta(hours=1)
    )
    call = services.release_call(call, staff, at=TUESDAY_9 + timedelta(hours=3))
    assert call.resolution_due == due + timedelta(hours=2)
    assert call.pauses.get().ended_at == TUESDAY_9 + timedelta(hours=3)


def test_reprioritising_recomputes_the_deadlines(provider, desk, staff):
    call = services.register_call(
        provider,
        staff,
        call_type="incident",
        summary="Slow",
        customer=desk["customer"],
        service=desk["service"],
        requester=desk["requester"],
        impact=3,
        urgency=3,
        at=TUESDAY_9,
    )
    assert call.priority == 5
    call = services.set_priority(call, staff, impact=1, urgency=1, at=TUESDAY_9)
    assert call.priority == 1
    assert call.resolution_due == TUESDAY_9 + timedelta(hours=4)
    assert call.events.filter(kind="priority_changed").get().detail == "priority 5 -> 1"


def test_reclassification_restarts_in_the_new_process(provider, desk, staff):
    call = services.register_call(provider, staff, call_type="incident", summary="New mailbox")
    call = services.reclassify(call, staff, "service_request", "nothing is broken")
    assert (call.call_type, call.process, call.step, call.workflow) == (
        "service_request",
        "OPS",
        "OPS-1",
        5,
    )
    event = call.events.get(kind="reclassified")
    assert event.detail == "Incident -> Service request: nothing is broken"
    call = walk(call, "OPS-3", staff)
    with pytest.raises(FlowError, match="only while it is accepted or classified"):
        services.reclassify(call, staff, "rfc", "too late")


def test_repeat_after_a_correction_is_recorded(provider, desk, staff):
    rfc = walk(
        services.register_call(provider, staff, call_type="rfc", summary="x"), "CHM-5", staff
    )
    rfc = services.repeat_step(rfc, staff, "CHM-4", "tests failed")
    rfc = services.complete_step(rfc, staff, "CHM-4")
    attempts = list(
        rfc.events.filter(kind="step_completed", step="CHM-4").values_list("attempt", flat=True)
    )
    assert attempts == [1, 2]


def test_the_event_log_is_append_only(provider, desk, staff):
    call = services.register_call(provider, staff, call_type="incident", summary="x")
    event = call.events.first()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        CallEvent.objects.filter(call=call).update(detail="rewritten")
    with pytest.raises(PermissionError):
        CallEvent.objects.filter(call=call).delete()


@pytest.mark.django_db(transaction=True)
def test_two_people_completing_one_step_one_wins(provider, desk, staff):
    call = services.register_call(provider, staff, call_type="incident", summary="Race")

    def attempt():
        try:
            services.complete_step(Call.objects.get(pk=call.pk), staff, "INC-1")
            return "won"
        except FlowError as refused:
            return refused.code

    results = two_workers_at_once(attempt)
    assert sorted(results) == ["not_current", "won"]
    assert CallEvent.objects.filter(call_id=call.pk, kind="step_completed").count() == 1


def test_operate_raises_incidents_only_where_the_model_says(provider, desk, staff):
    request = walk(
        services.register_call(
            provider, staff, call_type="service_request", summary="Patch servers"
        ),
        "OPS-4",
        staff,
    )
    with pytest.raises(Exception, match="OPS-3 does not raise incidents"):
        services.complete_step(
            walk(
                services.register_call(provider, staff, call_type="service_request", summary="y"),
                "OPS-3",
                staff,
            ),
            staff,
            "OPS-3",
            raise_incidents=["nope"],
        )
    services.complete_step(
        request,
        staff,
        "OPS-4",
        raise_incidents=["Server 7 did not boot"],
        raise_risks=["Patch window too short"],
    )
    raised = {c.call_type: c for c in Call.objects.filter(channel="internal")}
    assert raised["incident"].summary == "Server 7 did not boot"
    assert raised["risk"].process == "IMP"


def test_a_late_response_is_recorded_once_as_a_breach(provider, desk, staff):
    call = services.register_call(
        provider,
        staff,
        call_type="incident",
        summary="Late",
        customer=desk["customer"],
        service=desk["service"],
        requester=desk["requester"],
        impact=1,
        urgency=1,
        at=TUESDAY_9,
    )
    late = call.response_due + timedelta(minutes=1)
    call = services.complete_step(call, staff, "INC-1", at=late)
    breaches = call.events.filter(kind="deadline_breached")
    assert list(breaches.values_list("outcome", flat=True)) == ["response"]
    services.record_breaches(call, late + timedelta(minutes=5))
    assert call.events.filter(kind="deadline_breached", outcome="response").count() == 1
