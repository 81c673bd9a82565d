"""A review that tries to break the desk's and the portal's POST forms: every action of the call
page, the register form and the portal's forms, sent with nothing, with garbage, with NUL bytes,
with numbers past 64 bits and with another provider's rows, answers a form with its errors (never
500) and leaves the call as it was."""

from __future__ import annotations

import pytest
from django.test import Client

from usm.calls import services
from usm.calls.models import Call

pytestmark = pytest.mark.django_db

NUL = "bad\x00value"
HUGE = "9" * 30
ACTIONS = [
    "complete",
    "fork",
    "hold",
    "release",
    "repeat",
    "abort",
    "priority",
    "assign",
    "reclassify",
    "mir",
    "link",
    "note",
    "attach",
]
FIELDS = [
    "outcome",
    "notes",
    "raise_risks",
    "raise_incidents",
    "target",
    "summary",
    "reason",
    "confirm",
    "step",
    "impact",
    "urgency",
    "person",
    "call_type",
    "what",
    "identifier",
    "name",
    "type",
    "attributes",
    "kind",
    "text",
    "public",
    "version",
]


def _everything(action: str, value: str) -> dict:
    return {f"{action}-{field}": value for field in FIELDS}


BAD_DATA = {
    "empty": lambda action: {},
    "nul": lambda action: _everything(action, NUL),
    "huge": lambda action: _everything(action, HUGE),
    "negative": lambda action: _everything(action, "-1"),
}


@pytest.fixture
def other_provider_call(other_provider, django_user_model):
    from usm.agreements import services as agreements
    from usm.organisation.models import Customer, Person, Requester

    agreements.install_default_matrices(other_provider)
    user = django_user_model.objects.create_user("bert")
    Person.objects.create(provider=other_provider, user=user, name="Bert B")
    customer = Customer.objects.create(provider=other_provider, code="b", name="B Customer")
    person = Person.objects.create(provider=other_provider, name="Bea Requester")
    Requester.objects.create(provider=other_provider, person=person, customer=customer)
    # A kind of call the desk's provider has none of, so that the number is B's alone.
    return services.register_call(
        other_provider,
        user,
        call_type="service_request",
        summary="B's secret request",
        requester=person,
        customer=customer,
    )


def _state(call: Call) -> tuple:
    fresh = Call.objects.get(pk=call.pk)
    return (
        fresh.version,
        fresh.status,
        fresh.step,
        fresh.priority,
        fresh.call_type,
        fresh.notes.count(),
        fresh.attachments.count(),
        fresh.links_out.count(),
        list(fresh.mir_changes or []),
    )


def test_every_action_refuses_bad_input_with_a_form(desk_client, register):
    call = register()
    failures = []
    for kind, action in [(kind, action) for kind in BAD_DATA for action in ACTIONS]:
        before = _state(call)
        # The htmx answer (the call's body alone) is built by the same code: one kind will do.
        for htmx in (False, True) if kind == "nul" else (False,):
            headers = {"HX-Request": "true"} if htmx else {}
            response = desk_client.post(
                f"/calls/{call.number}/{action}/", BAD_DATA[kind](action), headers=headers
            )
            # 302: a few actions have nothing to get wrong (release), and succeed.
            if response.status_code not in (302, 200, 409, 422):
                failures.append((kind, action, htmx, response.status_code))
            if response.status_code in (409, 422) and b"<form" not in response.content:
                failures.append((kind, action, htmx, "no form shown"))
        if response.status_code in (409, 422):
            assert _state(call) == before, (kind, action)
    assert failures == []


PLAUSIBLE = {
    "complete": {"complete-notes": "done"},
    "fork": {"fork-target": "CHM"},
    "hold": {"hold-reason": "waiting for the requester"},
    "release": {},
    "repeat": {"repeat-step": "INC-2", "repeat-reason": "again"},
    "abort": {"abort-reason": "gone", "abort-confirm": "on"},
    "priority": {"priority-impact": "1", "priority-urgency": "1"},
    "assign": {"assign-person": ""},
    "reclassify": {"reclassify-call_type": "service_request", "reclassify-reason": "wrong"},
    "mir": {"mir-what": "update", "mir-identifier": "x", "mir-attributes": "a = 1"},
    "link": {"link-target": "INC-000001", "link-kind": "related"},
    "note": {"note-text": "hello"},
}


def test_actions_the_state_does_not_allow_are_refused_with_a_form(desk_client, register):
    held, aborted = register(), register()
    services.hold_call(held, None, "waiting for a part")
    services.abort_workflow(aborted, None, "solved by phone")
    failures = []
    for call, action, data in [(c, a, d) for c in (held, aborted) for a, d in PLAUSIBLE.items()]:
        fresh = Call.objects.get(pk=call.pk)
        data = {**data, f"{action}-version": fresh.version}
        response = desk_client.post(f"/calls/{call.number}/{action}/", data)
        if response.status_code not in (302, 409, 422):
            failures.append((call.status, action, response.status_code))
    assert failures == []


def test_the_call_number_with_a_nul_byte_is_not_found(desk_client, portal_client, register):
    """Regression: PostgreSQL refused the NUL in the lookup and the page failed with 500."""
    call = register()
    for path in (
        f"/calls/{call.number}%00/",
        f"/calls/{call.number}%00/note/",
        f"/calls/{call.number}%00/attachments/1/",
    ):
        method = desk_client.post if path.endswith("note/") else desk_client.get
        assert method(path, {"note-text": "x"}).status_code == 404, path
    for path in (f"/portal/calls/{call.number}%00/", f"/portal/calls/{call.number}%00/note/"):
        method = portal_client.post if path.endswith("note/") else portal_client.get
        assert method(path, {"note-text": "x"}).status_code == 404, path
    too_long = "INC-" + "0" * 40
    assert desk_client.get(f"/calls/{too_long}/").status_code == 404
    assert not call.notes.exists()


def test_the_portal_search_ignores_a_nul_byte(portal_client, register):
    """Regression: ?q= with a NUL byte reached PostgreSQL and failed with 500."""
    call = register()
    response = portal_client.get("/portal/", {"q": "Mail\x00", "show": "all"})
    assert response.status_code == 200
    assert call.number in response.content.decode()


def test_a_link_to_another_providers_call_is_refused_like_an_unknown_one(
    desk_client, register, other_provider_call
):
    call = register()
    response = desk_client.post(
        f"/calls/{call.number}/link/",
        {"link-target": other_provider_call.number, "link-kind": "related"},
    )
    assert response.status_code == 422
    assert f"there is no call {other_provider_call.number}" in response.content.decode()
    assert not call.links_out.exists()


def test_assigning_another_providers_person_is_refused(desk_client, register, other_provider):
    from usm.organisation.models import Person

    outsider = Person.objects.create(provider=other_provider, name="Olga Outsider")
    call = register()
    before = _state(call)
    response = desk_client.post(f"/calls/{call.number}/assign/", {"assign-person": outsider.pk})
    assert response.status_code == 422
    assert _state(call) == before and Call.objects.get(pk=call.pk).assignee is None


def test_a_stale_version_is_a_conflict_and_changes_nothing(desk_client, register):
    call = register()
    services.add_note(call, None, "someone else was here")
    services.hold_call(call, None, "waiting for a part")
    services.release_call(call, None)
    before = _state(call)
    response = desk_client.post(
        f"/calls/{call.number}/hold/", {"hold-reason": "again", "hold-version": call.version}
    )
    assert response.status_code == 409
    assert "Someone else changed this call" in response.content.decode()
    assert _state(call) == before


def test_mir_attributes_that_json_cannot_hold_are_kept_as_text(
    desk_client, register, provider, staff
):
    """Regression: `x = NaN` was read as a float that no JSON column takes (500 on both
    databases: SQLite's JSON_VALID check and PostgreSQL's jsonb refuse it)."""
    import json

    from usm.mir.models import MirItem
    from usm.mir.services import admin_import

    row = {"identifier": "relay-1", "name": "Mail relay", "type": "server", "attributes": {}}
    assert admin_import(provider, [row], actor=staff, batch="setup").written
    relay = MirItem.objects.get(provider=provider, identifier="relay-1")
    change = register("rfc", summary="Tune the relay", mir_items=[relay])
    odd = ["NaN", "Infinity", "-Infinity", "[1, NaN]", "1e400"]
    lines = [f"odd{n} = {value}" for n, value in enumerate(odd)] + ["port = 25", "tls = true"]
    response = desk_client.post(
        f"/calls/{change.number}/mir/",
        {
            "mir-what": "update",
            "mir-identifier": "relay-1",
            "mir-attributes": "\n".join(lines),
            "mir-version": change.version,
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    recorded = Call.objects.get(pk=change.pk).mir_changes
    expected = {f"odd{n}": value for n, value in enumerate(odd)}
    assert recorded[-1]["attributes"] == {**expected, "port": 25, "tls": True}
    json.dumps(recorded, allow_nan=False)  # strict JSON throughout


def test_register_form_with_bad_input_rerenders_with_errors(desk_client, desk):
    bad = {
        "summary": NUL,
        "description": NUL,
        "channel": NUL,
        "customer": HUGE,
        "requester": "-1",
        "service": NUL,
        "impact": HUGE,
        "urgency": "x",
        "mir_items": "nothing-like-this " + NUL,
        "call_type": NUL,
    }
    count = Call.objects.count()
    response = desk_client.post("/desk/new/", bad)
    assert response.status_code == 422
    assert 'class="errorlist' in response.content.decode() or "error" in response.content.decode()
    assert Call.objects.count() == count
    # The htmx helpers read the same fields from the query string.
    assert desk_client.get("/desk/new/parties/", bad).status_code == 200
    assert desk_client.get("/desk/new/propose/", bad).status_code == 200


def test_portal_forms_with_bad_input_rerender_with_errors(portal_client, register):
    call = register()
    count = Call.objects.count()
    bad = {"call_type": NUL, "customer": HUGE, "service": "-1", "summary": NUL, "impact": HUGE}
    assert portal_client.post("/portal/new/", bad).status_code == 422
    assert Call.objects.count() == count
    for form in ("note", "reply"):
        response = portal_client.post(f"/portal/calls/{call.number}/{form}/", {f"{form}-text": NUL})
        assert response.status_code == 422, form
    assert not call.notes.exists()


def test_a_person_no_customer_authorises_cannot_submit_a_call(desk, provider, django_user_model):
    """Regression: a login whose person no customer authorises (nor staff yet) reached the
    portal and registered a call for no customer, which it could then not open (404)."""
    from usm.organisation.models import Person

    user = django_user_model.objects.create_user("newcomer")
    Person.objects.create(provider=provider, user=user, name="Nina Newcomer")
    client = Client()
    client.force_login(user)
    response = client.post(
        "/portal/new/",
        {"call_type": "incident", "summary": "Help", "impact": "2", "urgency": "2"},
    )
    assert response.status_code == 422
    assert "authorised you to submit calls" in response.content.decode()
    assert not Call.objects.exists()
