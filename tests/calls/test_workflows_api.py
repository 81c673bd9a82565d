"""All eight workflows end to end through the REST API, and what the event log says of them."""

from collections import Counter

import pytest

from usm.calls.models import Call, CallEvent
from usm.model import StepKind, reference_model

MODEL = reference_model()
pytestmark = pytest.mark.django_db


def post(client, url, body=None, **headers):
    response = client.post(url, body or {}, content_type="application/json", headers=headers)
    assert response.status_code in (200, 201), (url, response.status_code, response.content)
    return response.json()


def run_workflow(client, desk, number: int) -> dict:
    """Register the workflow's call and drive it along the template: returns the root call."""
    workflow = MODEL.workflow(number)
    path = MODEL.path(workflow)
    root = post(
        client,
        "/api/v1/calls/",
        {
            "call_type": workflow.trigger,
            "summary": f"WF{number} run",
            "requester_id": desk["requester"].pk,
            "customer_id": desk["customer"].pk,
            "service_id": desk["service"].pk,
            "impact": 2,
            "urgency": 2,
            "effect": 3,
            "likelihood": 3,
        },
    )
    by_depth = {0: root["number"]}
    for index, path_step in enumerate(path):
        step = path_step.step
        number_at_depth = by_depth[path_step.depth]
        if step.kind is StepKind.FORK:
            target = path[index + 1].step.process
            child = post(client, f"/api/v1/calls/{number_at_depth}/fork", {"target": target})
            by_depth[path_step.depth + 1] = child["number"]
        else:
            post(client, f"/api/v1/calls/{number_at_depth}/steps/{step.id}/complete", {})
    return client.get(f"/api/v1/calls/{root['number']}").json()


@pytest.mark.parametrize("number", range(1, 9))
def test_workflow_runs_end_to_end_and_leaves_a_conforming_log(api_client, desk, number):
    root = run_workflow(api_client, desk, number)
    assert root["status"] == "closed" and root["workflow"] == number
    calls = Call.objects.filter(root_id=root["id"])
    assert {c.status for c in calls} == {"closed"}
    assert {c.workflow for c in calls} == {number}
    assert [c.process for c in calls.order_by("pk")] == list(MODEL.workflow(number).processes)
    steps = CallEvent.objects.filter(root_id=root["id"], kind="step_completed").order_by("at", "id")
    expected = [p.step.id for p in MODEL.path(MODEL.workflow(number))]
    assert [e.step for e in steps] == expected
    # Every step once, each recorded in the process it belongs to.
    assert Counter(e.step for e in steps).most_common(1)[0][1] == 1
    assert all(MODEL.step(e.step).process == e.process for e in steps)
    # Closed by the process that accepted it.
    closing = CallEvent.objects.filter(root_id=root["id"], kind="status_changed", status="closed")
    assert closing.order_by("at", "id").last().process == MODEL.workflow(number).start


def test_statuses_of_a_nested_workflow(api_client, desk):
    root = run_workflow(api_client, desk, 3)
    change = Call.objects.get(root_id=root["id"], process="CHM")
    statuses = list(change.events.filter(kind="status_changed").values_list("status", flat=True))
    assert "process_fulfilled" in statuses and "workflow_fulfilled" not in statuses
    root_statuses = list(
        CallEvent.objects.filter(call_id=root["id"], kind="status_changed").values_list(
            "status", flat=True
        )
    )
    assert root_statuses == [
        "in_progress",
        "waiting",
        "in_progress",
        "workflow_fulfilled",
        "closed",
    ]


def test_deadlines_come_from_the_agreement(api_client, desk):
    call = post(
        api_client,
        "/api/v1/calls/",
        {
            "call_type": "incident",
            "summary": "Mail is down",
            "customer_id": desk["customer"].pk,
            "service_id": desk["service"].pk,
            "requester_id": desk["requester"].pk,
            "impact": 1,
            "urgency": 1,
        },
    )
    assert call["priority"] == 1 and call["agreement_id"] == desk["agreement"].pk
    assert call["response_due"] and call["resolution_due"]
    assert call["response_due"] < call["resolution_due"]


def test_assignment_follows_the_procedure(api_client, desk):
    call = post(
        api_client, "/api/v1/calls/", {"call_type": "service_request", "summary": "New mailbox"}
    )
    assert call["assignee_team_id"] == desk["team"].pk
    assert call["responsible_profile_id"] == call["accountable_profile_id"] == desk["profile"].pk


def test_retried_creation_with_the_same_idempotency_key_makes_one_call(api_client, desk):
    body = {"call_type": "incident", "summary": "Printer on fire"}
    first = api_client.post(
        "/api/v1/calls/",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "abc-123"},
    )
    second = api_client.post(
        "/api/v1/calls/",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "abc-123"},
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["number"] == second.json()["number"]
    assert Call.objects.filter(idempotency_key="abc-123").count() == 1


def test_completing_a_step_twice_is_a_conflict(api_client, desk):
    call = post(api_client, "/api/v1/calls/", {"call_type": "incident", "summary": "Slow"})
    url = f"/api/v1/calls/{call['number']}/steps/INC-1/complete"
    assert api_client.post(url, {}, content_type="application/json").status_code == 200
    again = api_client.post(url, {}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "not_current"
    stale = api_client.post(
        f"/api/v1/calls/{call['number']}/steps/INC-2/complete",
        {"version": call["version"]},
        content_type="application/json",
    )
    assert stale.status_code == 409 and stale.json()["current_version"] > call["version"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"call_type": "ticket", "summary": "x"}, "call_type"),
        ({"call_type": "incident", "summary": ""}, "summary"),
        ({"call_type": "incident", "summary": "x", "impact": 0}, "impact"),
        ({"call_type": "incident", "summary": "x", "service_id": 999999}, None),
    ],
)
def test_bad_registrations_are_refused_clearly(api_client, desk, body, field):
    response = api_client.post("/api/v1/calls/", body, content_type="application/json")
    if field is None:
        assert response.status_code == 404
    else:
        assert response.status_code == 422
        assert field in str(response.json()["detail"])
    assert not Call.objects.exists()


def test_refused_transitions(api_client, desk):
    call = post(api_client, "/api/v1/calls/", {"call_type": "incident", "summary": "VPN down"})
    number = call["number"]
    for step in ("INC-1", "INC-2", "INC-3", "INC-4"):
        post(api_client, f"/api/v1/calls/{number}/steps/{step}/complete")
    wrong = api_client.post(
        f"/api/v1/calls/{number}/fork", {"target": "CTM"}, content_type="application/json"
    )
    assert wrong.status_code == 422
    as_step = api_client.post(
        f"/api/v1/calls/{number}/steps/INC-5/complete", {}, content_type="application/json"
    )
    assert as_step.status_code == 422
    assert api_client.get("/api/v1/calls/INC-999999").status_code == 404


def test_monitoring_intake_is_idempotent(api_client, desk):
    event = {"source": "zabbix", "key": "host42/disk", "summary": "Disk nearly full"}
    first = api_client.post("/api/v1/monitoring/events", event, content_type="application/json")
    again = api_client.post("/api/v1/monitoring/events", event, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    incident = Call.objects.get(number=first.json()["number"])
    assert incident.channel == "monitoring" and incident.call_type == "incident"
    assert incident.events.filter(kind="monitoring_repeat").count() == 1


def test_evaluation_raises_linked_risks(api_client, desk):
    call = post(api_client, "/api/v1/calls/", {"call_type": "service_request", "summary": "Reset"})
    number = call["number"]
    for step in ("OPS-1", "OPS-2", "OPS-3", "OPS-4", "OPS-5"):
        post(api_client, f"/api/v1/calls/{number}/steps/{step}/complete")
    post(
        api_client,
        f"/api/v1/calls/{number}/steps/OPS-6/complete",
        {"raise_risks": ["Resets take too long"]},
    )
    risk = Call.objects.get(call_type="risk")
    assert risk.summary == "Resets take too long" and risk.process == "IMP"
    assert risk.links_in.get().source.number == number


def test_operate_execution_raises_linked_incidents_and_nothing_else_does(api_client, desk):
    call = post(api_client, "/api/v1/calls/", {"call_type": "service_request", "summary": "Patch"})
    number = call["number"]
    for step in ("OPS-1", "OPS-2", "OPS-3"):
        post(api_client, f"/api/v1/calls/{number}/steps/{step}/complete")
    post(
        api_client,
        f"/api/v1/calls/{number}/steps/OPS-4/complete",
        {"raise_incidents": ["Server 7 did not come back"]},
    )
    incident = Call.objects.get(call_type="incident")
    assert incident.summary == "Server 7 did not come back" and incident.process == "INC"
    assert incident.links_in.get().source.number == number
    refused = api_client.post(
        f"/api/v1/calls/{number}/steps/OPS-5/complete",
        {"raise_incidents": ["not here"]},
        content_type="application/json",
    )
    assert refused.status_code == 422 and Call.objects.filter(call_type="incident").count() == 1


def test_a_note_longer_than_the_portal_allows_is_422(api_client, desk):
    call = post(api_client, "/api/v1/calls/", {"call_type": "incident", "summary": "Long"})
    url = f"/api/v1/calls/{call['number']}/notes"
    long = api_client.post(url, {"text": "x" * 10_001}, content_type="application/json")
    assert long.status_code == 422 and "text" in str(long.json())
    assert post(api_client, url, {"text": "x" * 10_000})["text"] == "x" * 10_000


def test_requester_sees_only_own_customers_calls(client, desk, provider, django_user_model):
    from usm.api.tokens import issue_token
    from usm.organisation.models import Customer, Person, Requester

    other = Customer.objects.create(provider=provider, code="port", name="Port Authority")
    user = django_user_model.objects.create_user("rita", password="a long passphrase 1")
    desk["requester"].user = user
    desk["requester"].save()
    outsider = Person.objects.create(provider=provider, name="Otto")
    Requester.objects.create(provider=provider, person=outsider, customer=other)
    from usm.calls import services

    mine = services.register_call(
        provider,
        None,
        call_type="incident",
        summary="Mine",
        requester=desk["requester"],
        customer=desk["customer"],
    )
    services.register_call(
        provider, None, call_type="incident", summary="Theirs", requester=outsider, customer=other
    )
    _, token = issue_token(user, "portal")
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/calls/", headers=headers).json()["results"]
    assert [c["number"] for c in listed] == [mine.number]


def test_personal_queue_and_team_queue(api_client, desk, staff):
    call = post(api_client, "/api/v1/calls/", {"call_type": "incident", "summary": "Queue me"})
    team_queue = api_client.get(f"/api/v1/calls/queue?team_id={desk['team'].pk}").json()
    assert [c["number"] for c in team_queue] == [call["number"]]
    post(api_client, f"/api/v1/calls/{call['number']}/assign", {"person_id": staff.person.pk})
    mine = api_client.get(f"/api/v1/calls/?assignee_id={staff.person.pk}").json()["results"]
    assert [c["number"] for c in mine] == [call["number"]]
    outsider = api_client.post(
        f"/api/v1/calls/{call['number']}/assign",
        {"person_id": desk["requester"].pk},
        content_type="application/json",
    )
    assert outsider.status_code == 422 and "not in Service desk" in str(outsider.json())


def test_notes_links_events_and_attachments(api_client, desk):
    first = post(api_client, "/api/v1/calls/", {"call_type": "incident", "summary": "One"})
    second = post(api_client, "/api/v1/calls/", {"call_type": "incident", "summary": "Two"})
    post(
        api_client,
        f"/api/v1/calls/{first['number']}/links",
        {"target": second["number"], "kind": "duplicate"},
    )
    post(api_client, f"/api/v1/calls/{first['number']}/notes", {"text": "Called back"})
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("log.txt", b"error 42", content_type="text/plain")
    attached = api_client.post(f"/api/v1/calls/{first['number']}/attachments", {"file": upload})
    assert attached.status_code == 201 and attached.json()["size"] == 8
    kinds = [e["kind"] for e in api_client.get(f"/api/v1/calls/{first['number']}/events").json()]
    assert kinds == ["registered", "linked"]
    bad = api_client.post(
        f"/api/v1/calls/{first['number']}/links",
        {"target": first["number"]},
        content_type="application/json",
    )
    assert bad.status_code == 422


def test_a_forked_negotiation_without_a_deal_hands_back_to_the_improvement(api_client, desk):
    risk = post(
        api_client,
        "/api/v1/calls/",
        {"call_type": "risk", "summary": "Backups too slow", "effect": 3, "likelihood": 3},
    )["number"]
    for step in ("IMP-1", "IMP-2", "IMP-3", "IMP-4"):
        post(api_client, f"/api/v1/calls/{risk}/steps/{step}/complete")
    wish = post(api_client, f"/api/v1/calls/{risk}/fork", {"target": "CTM"})["number"]
    for step in ("CTM-1", "CTM-2", "CTM-3", "CTM-4"):
        post(api_client, f"/api/v1/calls/{wish}/steps/{step}/complete")
    post(api_client, f"/api/v1/calls/{wish}/steps/CTM-5/complete", {"outcome": "no_deal"})
    assert Call.objects.get(number=wish).status == "process_fulfilled"
    resumed = Call.objects.get(number=risk)
    assert resumed.status == "in_progress" and resumed.step == "IMP-6"
    post(api_client, f"/api/v1/calls/{wish}/steps/CTM-8/complete")
    assert Call.objects.get(number=wish).status == "closed"


def test_a_monitored_failure_is_due_by_the_strictest_agreement_of_its_service(
    api_client, desk, provider, staff
):
    from usm.agreements.models import Agreement, Norm
    from usm.mir.models import MirItem
    from usm.mir.services import admin_import
    from usm.organisation.models import Customer

    port = Customer.objects.create(provider=provider, code="port", name="Port Authority")
    strict = Agreement.objects.create(
        provider=provider,
        kind="SA",
        code="sa-port",
        name="Port SA",
        customer=port,
        calendar=desk["agreement"].calendar,
        valid_from=desk["agreement"].valid_from,
    )
    strict.services.add(desk["service"])
    for priority in range(1, 6):
        Norm.objects.create(
            agreement=strict,
            call_type="incident",
            priority=priority,
            response=1,
            resolution=priority,
            unit="hours",
        )
    row = {"identifier": "mx-01", "name": "Mail relay", "type": "server", "services": ["mail"]}
    assert admin_import(provider, [row], actor=staff, batch="setup").written
    item = MirItem.objects.get(provider=provider, identifier="mx-01")
    event = {
        "source": "zabbix",
        "key": "mx-01/smtp",
        "summary": "SMTP down",
        "mir_item_id": item.pk,
        "impact": 1,
        "urgency": 1,
    }
    incident = post(api_client, "/api/v1/monitoring/events", event)
    call = Call.objects.get(number=incident["number"])
    assert call.customer is None and call.service == desk["service"]
    assert call.agreement == strict and call.resolution_due is not None


def test_the_accepting_call_closes_after_the_calls_it_forked(api_client, desk):
    incident = post(api_client, "/api/v1/calls/", {"call_type": "incident", "summary": "Slow VPN"})
    number = incident["number"]
    for step in ("INC-1", "INC-2", "INC-3", "INC-4"):
        post(api_client, f"/api/v1/calls/{number}/steps/{step}/complete")
    ops = post(api_client, f"/api/v1/calls/{number}/fork", {"target": "OPS"})["number"]
    for step in ("OPS-1", "OPS-2", "OPS-3", "OPS-4", "OPS-5"):
        post(api_client, f"/api/v1/calls/{ops}/steps/{step}/complete")
    post(api_client, f"/api/v1/calls/{number}/steps/INC-6/complete")
    early = api_client.post(
        f"/api/v1/calls/{number}/steps/INC-7/complete", {}, content_type="application/json"
    )
    assert early.status_code == 409 and early.json()["code"] == "forks_open"
    assert ops in early.json()["detail"]
    assert Call.objects.get(number=number).status == "workflow_fulfilled"
    post(api_client, f"/api/v1/calls/{ops}/steps/OPS-6/complete")
    post(api_client, f"/api/v1/calls/{number}/steps/INC-7/complete")
    assert Call.objects.get(number=number).status == "closed"


def test_a_forked_call_is_due_by_the_ola_of_the_team_doing_it(api_client, desk, provider):
    from usm.agreements.models import Agreement, Norm

    ola = Agreement.objects.create(
        provider=provider,
        kind="OLA",
        code="ola-desk",
        name="Desk OLA",
        team=desk["team"],
        calendar=desk["agreement"].calendar,
        valid_from=desk["agreement"].valid_from,
    )
    for priority in range(1, 6):
        Norm.objects.create(
            agreement=ola,
            call_type="service_request",
            priority=priority,
            response=1,
            resolution=2,
            unit="hours",
        )
    body = {
        "call_type": "incident",
        "summary": "No VPN",
        "customer_id": desk["customer"].pk,
        "service_id": desk["service"].pk,
        "impact": 2,
        "urgency": 2,
    }
    number = post(api_client, "/api/v1/calls/", body)["number"]
    for step in ("INC-1", "INC-2", "INC-3", "INC-4"):
        post(api_client, f"/api/v1/calls/{number}/steps/{step}/complete")
    child = post(api_client, f"/api/v1/calls/{number}/fork", {"target": "OPS"})
    forked = Call.objects.get(number=child["number"])
    assert forked.assignee_team == desk["team"] and forked.agreement == ola
    assert Call.objects.get(number=number).agreement == desk["agreement"]
