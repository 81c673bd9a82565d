"""The call page: what it shows, and every action on it, through htmx and without script."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from usm.calls import services
from usm.calls.models import Call, CallLink
from usm.model import StepKind, reference_model

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def act(client, call, action, htmx=True, **fields):
    call.refresh_from_db()
    data = {f"{action}-version": call.version}
    data.update({f"{action}-{name}": value for name, value in fields.items()})
    return client.post(f"/calls/{call.number}/{action}/", data, headers=HTMX if htmx else {})


def walk_to(call, staff, step_id):
    while call.step != step_id:
        call = services.complete_step(call, staff, call.step)
    return call


# -- what the page shows --------------------------------------------------------------------------
def test_the_page_shows_the_header_path_and_timeline(desk_client, register, desk):
    call = register()
    page = desk_client.get(f"/calls/{call.number}/").content.decode()
    assert call.number in page and "Mail is down" in page
    assert "City Council" in page and "Rita Requester" in page and "Service desk" in page
    assert f"Priority {call.priority}" in page and "City SA" in page
    for step in reference_model().processes["INC"].steps:
        assert step.id in page
    current = re.search(r'<li class="stop stop-current[^"]*" aria-current="step"', page)
    assert current and "INC-1" in page[current.start() : current.start() + 300]
    assert "Registered" in page
    # Before the fork an incident can still become workflow 3 or 4.
    assert 'href="/model/workflows/3/"' in page and 'href="/model/workflows/4/"' in page
    assert "decided at the fork" in page and "<svg" not in page


def test_a_fixed_workflow_shows_its_diagram_with_the_current_step_outlined(desk_client, register):
    call = register("service_request", summary="New laptop")
    call = services.complete_step(call, None, "OPS-1")
    page = desk_client.get(f"/calls/{call.number}/").content.decode()
    assert "<svg" in page
    model = reference_model()
    position = [p.step.id for p in model.path(model.workflow(5))].index("OPS-2") + 1
    highlighted = f"usm-wf5-step-{position}"
    assert f"#{highlighted} .usm-step-box" in page
    assert f'id="{highlighted}"' in page and 'class="usm-step-box' in page


def test_unknown_calls_and_actions_are_404(desk_client, register):
    call = register()
    assert desk_client.get("/calls/INC-999999/").status_code == 404
    assert desk_client.post(f"/calls/{call.number}/explode/").status_code == 404
    assert desk_client.get(f"/calls/{call.number}/complete/").status_code == 405
    long_number = "INC-" + "9" * 300
    assert desk_client.get(f"/calls/{long_number}/").status_code == 404


# -- walking the steps --------------------------------------------------------------------------
def test_complete_through_htmx_returns_the_refreshed_call(desk_client, register):
    call = register()
    response = act(desk_client, call, "complete", notes="Caller confirmed")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="call-body"') and "<html" not in body
    assert "Completed INC-1." in body and "Caller confirmed" in body
    call.refresh_from_db()
    assert call.step == "INC-2" and call.status == "in_progress"


def test_complete_without_script_redirects_back(desk_client, register):
    call = register()
    response = act(desk_client, call, "complete", htmx=False)
    assert response.status_code == 302 and response["Location"] == f"/calls/{call.number}/"
    assert "Completed INC-1." in desk_client.get(response["Location"]).content.decode()


def test_a_stale_page_is_told_to_reload_and_writes_nothing(desk_client, register, staff):
    call = register()
    read = call.version
    services.complete_step(call, staff, "INC-1")
    response = desk_client.post(
        f"/calls/{call.number}/complete/", {"complete-version": read}, headers=HTMX
    )
    assert response.status_code == 409
    assert "Someone else changed this call" in response.content.decode()
    call.refresh_from_db()
    assert call.step == "INC-2"
    for action, fields in (("hold", {"reason": "x"}), ("assign", {"person": ""})):
        data = {f"{action}-version": read, **{f"{action}-{k}": v for k, v in fields.items()}}
        stale = desk_client.post(f"/calls/{call.number}/{action}/", data, headers=HTMX)
        assert stale.status_code == 409
    call.refresh_from_db()
    assert call.status == "in_progress" and call.assignee is None


def test_outcomes_of_the_step_are_offered(desk_client, register):
    wish = register("wish", summary="A new service")
    wish = walk_to(wish, None, "CTM-5")
    page = desk_client.get(f"/calls/{wish.number}/").content.decode()
    assert 'value="no_deal"' in page and "No deal: reservations released" in page
    act(desk_client, wish, "complete", outcome="no_deal")
    wish.refresh_from_db()
    assert wish.step == "CTM-8"
    bad = act(desk_client, wish, "complete", outcome="no_deal")
    assert bad.status_code == 422 and Call.objects.get(pk=wish.pk).step == "CTM-8"


def test_fork_and_resume(desk_client, register, staff):
    call = walk_to(register(), staff, "INC-5")
    page = desk_client.get(f"/calls/{call.number}/").content.decode()
    assert 'value="CHM"' in page and 'value="OPS"' in page
    wrong = act(desk_client, call, "fork", target="CTM")
    assert wrong.status_code == 422 and Call.objects.count() == 1
    response = act(desk_client, call, "fork", target="OPS")
    child = Call.objects.get(parent=call)
    assert response.status_code == 200 and "Forked into" in response.content.decode()
    assert child.process == "OPS" and child.workflow == 4
    call.refresh_from_db()
    assert call.status == "waiting"
    waiting = desk_client.get(f"/calls/{call.number}/").content.decode()
    assert f'href="/calls/{child.number}/"' in waiting and "Waiting for OPS" in waiting
    refused = act(desk_client, call, "complete")
    assert refused.status_code == 409
    child_page = desk_client.get(f"/calls/{child.number}/").content.decode()
    assert "Forked from" in child_page and call.number in child_page
    while child.step != "OPS-6":
        child = services.complete_step(child, staff, child.step)
    act(desk_client, child, "complete")
    call.refresh_from_db()
    assert call.status == "in_progress" and call.step == "INC-6"


def test_raising_risks_at_evaluate_and_close(desk_client, register, staff):
    call = walk_to(register("service_request", summary="New laptop"), staff, "OPS-6")
    page = desk_client.get(f"/calls/{call.number}/").content.decode()
    assert "Raise risks" in page and "Raise incidents" not in page
    act(desk_client, call, "complete", raise_risks="Laptop stock runs low\n\n")
    risk = Call.objects.get(call_type="risk")
    assert risk.summary == "Laptop stock runs low"
    assert CallLink.objects.filter(source=call, kind="raised", target=risk).exists()
    assert risk.number in desk_client.get(f"/calls/{call.number}/").content.decode()


def test_operate_execution_may_raise_incidents(desk_client, register, staff):
    call = walk_to(register("service_request", summary="Patch servers"), staff, "OPS-4")
    act(desk_client, call, "complete", raise_incidents="Backup failed on db2")
    assert Call.objects.filter(call_type="incident", summary="Backup failed on db2").exists()


# -- hold, repeat, abort, priority, assignment, classification ----------------------------------
def test_hold_and_release(desk_client, register):
    call = register()
    assert act(desk_client, call, "hold", reason="").status_code == 422
    response = act(desk_client, call, "hold", reason="Asked for a screenshot")
    assert "Asked for a screenshot" in response.content.decode()
    call.refresh_from_db()
    assert call.status == "on_hold"
    assert act(desk_client, call, "hold", reason="again").status_code == 409
    act(desk_client, call, "release")
    call.refresh_from_db()
    assert call.status == "open"


def test_repeat_an_earlier_step(desk_client, register, staff):
    call = walk_to(register(), staff, "INC-4")
    page = desk_client.get(f"/calls/{call.number}/").content.decode()
    assert 'value="INC-2"' in page and 'value="INC-1"' not in page.split("repeat-step")[1]
    assert act(desk_client, call, "repeat", step="INC-3", reason="").status_code == 422
    assert act(desk_client, call, "repeat", step="INC-1", reason="x").status_code == 422
    act(desk_client, call, "repeat", step="INC-3", reason="Wrong analysis")
    call.refresh_from_db()
    assert call.step == "INC-3"
    act(desk_client, call, "complete")
    call.refresh_from_db()
    assert call.attempts["INC-3"] == 2
    assert "done ×2" in desk_client.get(f"/calls/{call.number}/").content.decode()


def test_abort_needs_a_reason_and_a_confirmation(desk_client, register, staff):
    call = walk_to(register(), staff, "INC-5")
    child = services.fork_call(call, staff, "OPS")
    unconfirmed = act(desk_client, call, "abort", reason="Duplicate")
    assert unconfirmed.status_code == 422
    assert "tick the box" in unconfirmed.content.decode()
    assert Call.objects.get(pk=call.pk).status == "waiting"
    act(desk_client, call, "abort", reason="Duplicate", confirm="on")
    assert {c.status for c in Call.objects.filter(pk__in=[call.pk, child.pk])} == {"aborted"}
    page = desk_client.get(f"/calls/{call.number}/").content.decode()
    assert "Abort the workflow" not in page and "Duplicate" in page


def test_reprioritise(desk_client, register):
    call = register()
    assert act(desk_client, call, "priority", impact="1", urgency="9").status_code == 422
    act(desk_client, call, "priority", impact="1", urgency="1")
    call.refresh_from_db()
    assert call.priority == 1


def test_assign_to_me_to_a_colleague_and_back(desk_client, register, staff, provider, desk):
    from usm.organisation.models import Person

    call = register()
    page = desk_client.get(f"/calls/{call.number}/").content.decode()
    assert "Assign to me" in page
    act(desk_client, call, "assign", person=staff.person.pk)
    call.refresh_from_db()
    assert call.assignee == staff.person
    outsider = Person.objects.create(provider=provider, name="Nina Network")
    refused = act(desk_client, call, "assign", person=outsider.pk)
    assert refused.status_code == 422
    act(desk_client, call, "assign", person="")
    call.refresh_from_db()
    assert call.assignee is None


def test_reclassify_while_accepting(desk_client, register, staff):
    call = register()
    assert (
        act(desk_client, call, "reclassify", call_type="service_request", reason="").status_code
        == 422
    )
    act(desk_client, call, "reclassify", call_type="service_request", reason="Password reset")
    call.refresh_from_db()
    assert call.call_type == "service_request" and call.step == "OPS-1"
    later = walk_to(register(), staff, "INC-3")
    page = desk_client.get(f"/calls/{later.number}/").content.decode()
    assert "Reclassify" not in page
    assert act(desk_client, later, "reclassify", call_type="rfc", reason="x").status_code == 409


# -- links, notes, files ------------------------------------------------------------------------
def test_link_to_another_call(desk_client, register, other_call):
    call, other = register(), register(summary="Mail slow")
    assert act(desk_client, call, "link", target="INC-424242", kind="related").status_code == 422
    assert act(desk_client, call, "link", target=call.number, kind="related").status_code == 422
    act(desk_client, call, "link", target=other.number.lower(), kind="duplicate")
    assert CallLink.objects.filter(source=call, target=other, kind="duplicate").exists()
    page = desk_client.get(f"/calls/{other.number}/").content.decode()
    assert f'href="/calls/{call.number}/"' in page


def test_notes_are_internal_unless_made_public(desk_client, register):
    call = register()
    act(desk_client, call, "note", text="Looks like the relay")
    act(desk_client, call, "note", text="We are on it", public="on")
    assert [n.internal for n in call.notes.order_by("pk")] == [True, False]
    assert act(desk_client, call, "note", text="  ").status_code == 422
    page = desk_client.get(f"/calls/{call.number}/").content.decode()
    assert "Internal note" in page and "We are on it" in page


def test_attach_and_download_a_file(desk_client, register, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call = register()
    upload = SimpleUploadedFile("log.txt", b"relay refused", content_type="text/plain")
    response = desk_client.post(
        f"/calls/{call.number}/attach/", {"attach-file": upload}, headers=HTMX
    )
    assert response.status_code == 200
    attachment = call.attachments.get()
    url = f"/calls/{call.number}/attachments/{attachment.pk}/"
    assert url in response.content.decode()
    download = desk_client.get(url)
    assert b"".join(download.streaming_content) == b"relay refused"
    assert "log.txt" in download["Content-Disposition"]
    assert desk_client.post(f"/calls/{call.number}/attach/", {}).status_code == 422
    other = register(summary="other")
    assert desk_client.get(f"/calls/{other.number}/attachments/{attachment.pk}/").status_code == 404
    assert desk_client.get(f"/calls/{call.number}/attachments/{2**64}/").status_code == 404


@pytest.mark.parametrize("action", ["complete", "fork", "hold", "repeat", "priority", "assign"])
def test_garbage_input_is_refused_without_a_server_error(desk_client, register, action):
    call = register()
    data = {
        f"{action}-version": "not a number",
        f"{action}-person": "99999999999999999999",
        f"{action}-impact": "x",
        f"{action}-step": "ZZZ-1",
        f"{action}-target": "NOPE",
    }
    response = desk_client.post(f"/calls/{call.number}/{action}/", data, headers=HTMX)
    assert response.status_code in (409, 422)
    assert Call.objects.get(pk=call.pk).version == call.version


def test_every_step_kind_has_a_primary_action(desk_client, register, staff):
    """Walking workflow 5 by the page alone: each step offers its own button."""
    call = register("service_request", summary="New laptop")
    for step in reference_model().processes["OPS"].steps:
        page = desk_client.get(f"/calls/{call.number}/").content.decode()
        assert f"Complete {step.id}" in page and step.kind is not StepKind.FORK
        act(desk_client, call, "complete")
    call.refresh_from_db()
    assert call.status == "closed"


# -- the MIR of a change --------------------------------------------------------------------------
@pytest.fixture
def relay(provider, staff):
    """One item in the MIR, brought in the administrator's way."""
    from usm.mir.models import MirItem
    from usm.mir.services import admin_import

    row = {"identifier": "relay-1", "name": "Mail relay", "type": "server", "attributes": {}}
    report = admin_import(provider, [row], actor=staff, batch="setup")
    assert report.written, report.errors
    return MirItem.objects.get(provider=provider, identifier="relay-1")


def test_a_change_records_mir_changes_that_update_mir_applies(desk_client, register, staff, relay):
    change = register("rfc", summary="Turn on TLS on the relay", mir_items=[relay])
    page = desk_client.get(f"/calls/{change.number}/").content.decode()
    assert "relay-1" in page and "Mail relay" in page
    assert "Record a MIR change" in page and "None recorded" in page

    recorded = act(
        desk_client,
        change,
        "mir",
        what="update",
        identifier="relay-1",
        attributes="tls = true\nport = 587",
    )
    assert recorded.status_code == 200, recorded.content.decode()
    assert "update relay-1: tls = true, port = 587" in recorded.content.decode()
    change.refresh_from_db()
    assert change.mir_changes == [
        {
            "action": "update",
            "identifier": "relay-1",
            "version": relay.version,
            "attributes": {"tls": True, "port": 587},
        }
    ]
    relay.refresh_from_db()
    assert relay.attributes == {}  # recorded, not applied: only Update MIR alters the MIR

    change = walk_to(change, staff, "CHM-6")
    ops = services.fork_call(change, staff, "OPS")
    while ops.status not in ("process_fulfilled", "closed"):
        ops = services.complete_step(ops, staff, ops.step)
    change.refresh_from_db()
    change = walk_to(change, staff, "CHM-8")
    done = act(desk_client, change, "complete")
    body = done.content.decode()
    assert done.status_code == 200 and "Completed CHM-8." in body
    relay.refresh_from_db()
    assert relay.attributes == {"tls": True, "port": 587}
    assert "Applied at Update MIR" in body and "altered attributes" in body
    assert "MIR updated" in body  # the event log's entry
    assert "Record a MIR change" not in body  # too late once the MIR was updated


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"what": "update", "identifier": "nope"}, "identifier", "nope is not in the MIR"),
        ({"what": "update", "identifier": "relay-1"}, "attributes", "at least one"),
        (
            {"what": "create", "identifier": "relay-1", "name": "x", "type": "y"},
            "identifier",
            "already in the MIR",
        ),
        ({"what": "create", "identifier": "relay-2"}, "name", "a new item needs it"),
        ({"what": "relate", "identifier": "relay-1"}, "target", "name the related item"),
        (
            {"what": "update", "identifier": "relay-1", "attributes": "no equals sign"},
            "attributes",
            "is not &#x27;name = value&#x27;",
        ),
    ],
)
def test_bad_mir_changes_are_refused_on_the_form(
    desk_client, register, relay, fields, field, message
):
    change = register("rfc", summary="Another relay")
    response = act(desk_client, change, "mir", **fields)
    assert response.status_code == 422
    body = response.content.decode()
    # The message sits on the field it is about.
    on_field = re.search(
        rf'class="field [^"]*has-error">\s*<label for="id_mir-{field}".*?</div>', body, re.S
    )
    assert on_field and message in on_field.group(0)
    change.refresh_from_db()
    assert change.mir_changes == []


def test_only_a_change_offers_to_record_mir_changes(desk_client, register, relay):
    incident = register(mir_items=[relay])
    page = desk_client.get(f"/calls/{incident.number}/").content.decode()
    assert "relay-1" in page and "Record a MIR change" not in page
    refused = act(
        desk_client, incident, "mir", what="update", identifier="relay-1", attributes="tls = true"
    )
    assert refused.status_code == 422
    incident.refresh_from_db()
    assert incident.mir_changes == []


def test_update_mir_on_an_item_changed_since_is_a_conflict_not_an_error(
    desk_client, register, staff, provider, relay
):
    from usm.mir.services import admin_import

    change = register("rfc", summary="Turn on TLS", mir_items=[relay])
    act(desk_client, change, "mir", what="update", identifier="relay-1", attributes="tls = true")
    row = {"identifier": "relay-1", "name": "Mail relay (renamed)", "type": "server"}
    assert admin_import(provider, [row], actor=staff, batch="meanwhile").written
    change = walk_to(Call.objects.get(pk=change.pk), staff, "CHM-6")
    ops = services.fork_call(change, staff, "OPS")
    while ops.status not in ("process_fulfilled", "closed"):
        ops = services.complete_step(ops, staff, ops.step)
    change = walk_to(Call.objects.get(pk=change.pk), staff, "CHM-8")
    response = act(desk_client, change, "complete")
    body = response.content.decode()
    assert response.status_code == 409
    assert "MIR item relay-1 was changed by someone else" in body
    assert "planned on an earlier state of that item" in body
    relay.refresh_from_db()
    assert "tls" not in relay.attributes
    change.refresh_from_db()
    assert change.step == "CHM-8" and not change.attempts.get("CHM-8")
