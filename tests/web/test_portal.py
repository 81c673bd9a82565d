"""The portal: a requester sees their organisation's calls and nothing else."""

import pytest

from usm.calls import services
from usm.calls.models import Call

pytestmark = pytest.mark.django_db


def test_the_list_holds_only_my_organisations_calls(portal_client, register, other_call):
    mine = register()
    page = portal_client.get("/portal/").content.decode()
    assert mine.number in page and "Mail is down" in page
    assert other_call.number not in page and "Cranes stopped" not in page
    assert "Received" in page  # the status in the requester's words


def test_another_customers_call_is_not_found(portal_client, other_call):
    assert portal_client.get(f"/portal/calls/{other_call.number}/").status_code == 404
    response = portal_client.post(f"/portal/calls/{other_call.number}/note/", {"note-text": "hi"})
    assert response.status_code == 404
    assert not other_call.notes.exists()


def test_closed_calls_are_listed_apart(portal_client, register):
    open_call, ended = register(summary="still open"), register(summary="all done")
    services.abort_workflow(ended, None, "solved by phone")
    assert "all done" not in portal_client.get("/portal/").content.decode()
    assert "all done" in portal_client.get("/portal/?show=ended").content.decode()
    everything = portal_client.get("/portal/?show=all").content.decode()
    assert open_call.number in everything and ended.number in everything
    assert "Cancelled" in everything


@pytest.mark.parametrize("query", ["before=abc", "before=" + "9" * 40, "show=x", "q=" + "y" * 400])
def test_bad_list_parameters_never_fail(portal_client, register, query):
    register()
    assert portal_client.get(f"/portal/?{query}").status_code == 200


def test_submitting_a_call(portal_client, desk):
    page = portal_client.get("/portal/new/").content.decode()
    assert 'value="incident"' in page and 'value="rfc"' not in page and 'value="risk"' not in page
    response = portal_client.post(
        "/portal/new/",
        {
            "call_type": "incident",
            "service": desk["service"].pk,
            "summary": "Cannot send mail",
            "description": "Outbox is stuck",
            "impact": "3",
            "urgency": "2",
        },
    )
    call = Call.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/calls/{call.number}/"
    assert call.requester == desk["requester"] and call.customer == desk["customer"]
    assert call.channel == "portal" and call.priority is not None
    assert "Your call is registered" in portal_client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"call_type": "rfc"}, "Select a valid choice"),
        ({"call_type": "risk"}, "Select a valid choice"),
        ({"summary": ""}, "This field is required"),
        ({"impact": "7"}, "Select a valid choice"),
        ({"service": "abc"}, "Select a valid choice"),
    ],
)
def test_bad_submissions_show_errors_and_write_nothing(portal_client, desk, overrides, message):
    data = {"call_type": "incident", "summary": "Cannot send mail", "impact": "2", "urgency": "2"}
    response = portal_client.post("/portal/new/", {**data, **overrides})
    assert response.status_code == 422 and message in response.content.decode()
    assert Call.objects.count() == 0


def test_a_service_the_authorisation_does_not_cover_is_not_offered(portal_client, desk, provider):
    from usm.agreements.models import Service
    from usm.organisation.models import Requester

    payroll = Service.objects.create(provider=provider, code="pay", name="Payroll", facility="x")
    Requester.objects.get(person=desk["requester"]).services.add(desk["service"])
    page = portal_client.get("/portal/new/").content.decode()
    assert "Payroll" not in page and "Mail" in page
    response = portal_client.post(
        "/portal/new/",
        {
            "call_type": "incident",
            "summary": "x",
            "impact": "2",
            "urgency": "2",
            "service": payroll.pk,
        },
    )
    assert response.status_code == 422 and Call.objects.count() == 0


def test_the_conversation_hides_internal_notes_and_the_event_log(portal_client, register, staff):
    call = register()
    services.add_note(call, staff, "Relay logs point at the firewall", internal=True)
    services.add_note(call, staff, "We are looking into it")
    call = services.complete_step(call, staff, "INC-1")
    page = portal_client.get(f"/portal/calls/{call.number}/").content.decode()
    assert "We are looking into it" in page and "Dana Desk" in page
    assert "firewall" not in page and "Completed INC-1" not in page
    assert "Being worked on" in page


def test_adding_a_note(portal_client, register):
    call = register()
    response = portal_client.post(f"/portal/calls/{call.number}/note/", {"note-text": "Still down"})
    assert response.status_code == 302
    note = call.notes.get()
    assert note.text == "Still down" and not note.internal
    empty = portal_client.post(f"/portal/calls/{call.number}/note/", {"note-text": " "})
    assert empty.status_code == 422 and call.notes.count() == 1


def test_no_note_on_an_ended_call(portal_client, register):
    call = register()
    services.abort_workflow(call, None, "registered twice")
    page = portal_client.get(f"/portal/calls/{call.number}/").content.decode()
    assert "Add a note" not in page
    response = portal_client.post(f"/portal/calls/{call.number}/note/", {"note-text": "Hello?"})
    assert response.status_code == 409 and "This call has ended" in response.content.decode()
    assert not call.notes.exists()


def test_replying_releases_a_call_on_hold(portal_client, register, staff):
    call = register()
    services.hold_call(call, staff, "Which mailbox is it?")
    page = portal_client.get(f"/portal/calls/{call.number}/").content.decode()
    assert "We are waiting for your reply" in page and "Which mailbox is it?" in page
    response = portal_client.post(
        f"/portal/calls/{call.number}/reply/", {"reply-text": "The council inbox"}
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.status == "open" and call.notes.get().text == "The council inbox"


def test_a_reply_to_a_call_no_longer_on_hold_writes_nothing(portal_client, register):
    call = register()
    response = portal_client.post(f"/portal/calls/{call.number}/reply/", {"reply-text": "Hi"})
    assert response.status_code == 409
    assert "no longer waiting for you" in response.content.decode()
    assert not call.notes.exists() and not call.events.filter(kind="released").exists()


def test_the_providers_own_calls_stay_off_the_portal(portal_client, register, staff):
    incident = register()
    risk = register("risk", summary="Relay certificate expires", impact=None, urgency=None)
    for step in ("INC-1", "INC-2", "INC-3", "INC-4"):
        incident = services.complete_step(incident, staff, step)
    fork = services.fork_call(incident, staff, "OPS")
    page = portal_client.get("/portal/?show=all").content.decode()
    assert incident.number in page
    assert fork.number not in page and risk.number not in page
    assert portal_client.get(f"/portal/calls/{fork.number}/").status_code == 404
    assert portal_client.get(f"/portal/calls/{risk.number}/").status_code == 404
