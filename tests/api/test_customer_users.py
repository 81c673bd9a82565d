"""What a customer's user (a requester, not staff) may do over the API, with a real bearer token:
register calls for their customers, read their calls, add public notes and answer the desk, as
the portal lets them. Every other write on a call is refused with a 403 and changes nothing;
the provider's staff still do all of it. Agreements: their customers' SAs, with their norms and
service hours, and the service catalogue; never another customer's SA, nor an OLA or UC."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from usm.agreements import services as agreements
from usm.api.scoping import is_staff, scoped
from usm.api.tokens import issue_token
from usm.calls import services as calls
from usm.calls.models import Call, CallAttachment, CallEvent, CallLink, CallNote, CallPause
from usm.control.models import Notification
from usm.organisation import services as organisation
from usm.organisation.models import Person, Team

pytestmark = pytest.mark.django_db
CALLS = "/api/v1/calls"
AGREEMENTS = "/api/v1/agreements"
HOURS = [{"weekday": day, "opens": "08:00", "closes": "17:00"} for day in range(5)]


def bearer(user) -> Client:
    _, plain = issue_token(user, "tests")
    return Client(headers={"Authorization": f"Bearer {plain}"})


def send(client, method: str, path: str, body=None):
    if method == "get":
        return client.get(path, body or {})
    if isinstance(body, dict) and any(hasattr(v, "read") for v in body.values()):
        return client.post(path, body)  # multipart, for a file
    return client.post(path, body or {}, content_type="application/json")


@pytest.fixture
def world(desk, provider, staff):
    """City Council (the desk's customer, with Rita as its requester, logged in) and Harbour
    Authority (Otto), each with an SA on its own calendar; the desk team's OLA on a third one;
    one incident of each customer, registered by the desk (Dana, `staff`)."""
    city, rita = desk["customer"], desk["requester"]
    organisation.set_login(rita, "rita", None)
    harbour = organisation.create_customer(provider, "port", "Harbour Authority")
    otto = organisation.create_person(provider, "Otto Other", email="otto@port.test")
    organisation.authorise_requester(harbour, otto, [])
    harbour_hours = agreements.create_calendar(provider, "Harbour hours", opening_hours=HOURS)
    harbour_sa = agreements.create_agreement(
        provider,
        "SA",
        "sa-port",
        "Harbour SA",
        calendar=harbour_hours,
        valid_from=date(2020, 1, 1),
        customer=harbour,
        services=[desk["service"]],
        norms=[{"call_type": "incident", "priority": 1, "response": 1, "resolution": 2}],
    )
    desk_hours = agreements.create_calendar(provider, "Desk hours", always_open=True)
    ola = agreements.create_agreement(
        provider,
        "OLA",
        "ola-desk",
        "Desk OLA",
        calendar=desk_hours,
        valid_from=date(2020, 1, 1),
        team=desk["team"],
    )
    city_call = calls.register_call(
        provider,
        staff,
        call_type="incident",
        summary="Mail is down",
        customer=city,
        requester=rita,
        service=desk["service"],
        impact=2,
        urgency=2,
    )
    harbour_call = calls.register_call(
        provider,
        staff,
        call_type="incident",
        summary="Cranes stopped",
        customer=harbour,
        requester=otto,
        impact=2,
        urgency=2,
        idempotency_key="harbour-cranes-1",
    )
    assert is_staff(staff) and not is_staff(rita.user)
    return {
        **desk,
        "city": city,
        "rita": rita,
        "harbour": harbour,
        "otto": otto,
        "harbour_sa": harbour_sa,
        "harbour_hours": harbour_hours,
        "ola": ola,
        "desk_hours": desk_hours,
        "city_call": city_call,
        "harbour_call": harbour_call,
        "dana": staff.person,
    }


@pytest.fixture
def rita(world):
    return bearer(world["rita"].user)


@pytest.fixture
def dana(world, staff):
    return bearer(staff)


def snapshot(call: Call) -> dict:
    """Everything a write on the call could change, read from the database."""
    row = Call.objects.filter(pk=call.pk).values().get()
    return {
        "call": row,
        "calls": Call.objects.count(),
        "events": CallEvent.objects.filter(call=call).count(),
        "notes": CallNote.objects.filter(call=call).count(),
        "links": CallLink.objects.count(),
        "attachments": CallAttachment.objects.filter(call=call).count(),
        "pauses": CallPause.objects.filter(call=call).count(),
    }


# -- calls: what is refused -------------------------------------------------------------------------
def _on_hold(world, call, staff):
    return calls.hold_call(call, staff, "Which mailbox?")


def _at_recovery(world, call, staff):
    for step in ("INC-1", "INC-2", "INC-3", "INC-4"):
        call = calls.complete_step(call, staff, step)
    return call


def _a_change(world, call, staff):
    return calls.register_call(
        call.provider,
        staff,
        call_type="rfc",
        summary="New mail filter",
        customer=world["city"],
        requester=world["rita"],
    )


def _another_city_call(world, call, staff):
    world["other"] = calls.register_call(
        call.provider,
        staff,
        call_type="incident",
        summary="Mail is slow",
        customer=world["city"],
        requester=world["rita"],
    )
    return call


# (what, how the call gets ready, method, path under the call, body); every request is one the
# staff may make in that state, so that the refusal is about who asks, not about the call.
STAFF_ONLY = [
    ("complete", None, "post", "/steps/INC-1/complete", {}),
    ("fork", _at_recovery, "post", "/fork", {"target": "OPS"}),
    ("repeat", _at_recovery, "post", "/repeat", {"step": "INC-3", "reason": "wrong analysis"}),
    ("abort", None, "post", "/abort", {"reason": "not ours"}),
    ("hold", None, "post", "/hold", {"reason": "Which mailbox?"}),
    ("release", _on_hold, "post", "/release", {}),
    ("reclassify", None, "post", "/reclassify", {"call_type": "service_request", "reason": "x"}),
    ("priority", None, "post", "/priority", {"impact": 1, "urgency": 1}),
    ("assign", None, "post", "/assign", {"person_id": "dana"}),
    ("mir-changes", _a_change, "post", "/mir-changes", {"changes": [{"identifier": "mx-1"}]}),
    ("link", _another_city_call, "post", "/links", {"target": "other", "kind": "duplicate"}),
    ("attach", None, "post", "/attachments", {"file": "upload"}),
    ("internal note", None, "post", "/notes", {"text": "Rita again", "internal": True}),
    ("events", None, "get", "/events", None),
]


def _body(world, body):
    """The case's body with the rows it names filled in (they exist only once `world` does)."""
    if body is None:
        return None
    filled = dict(body)
    if filled.get("person_id") == "dana":
        filled["person_id"] = world["dana"].pk
    if filled.get("target") == "other":
        filled["target"] = world["other"].number
    if filled.get("file") == "upload":
        filled["file"] = SimpleUploadedFile("log.txt", b"error 42", content_type="text/plain")
    return filled


@pytest.mark.parametrize(
    "prepare, method, path, body", [case[1:] for case in STAFF_ONLY], ids=[c[0] for c in STAFF_ONLY]
)
def test_a_customers_user_may_not_work_a_call(
    world, rita, dana, staff, prepare, method, path, body
):
    call = world["city_call"]
    if prepare is not None:
        call = prepare(world, call, staff)
    url = f"{CALLS}/{call.number}{path}"
    assert rita.get(f"{CALLS}/{call.number}").status_code == 200  # their call: they read it
    before = snapshot(call)

    refused = send(rita, method, url, _body(world, body))

    assert refused.status_code == 403, refused.content
    assert "only the provider's staff may" in refused.json()["detail"]
    assert snapshot(call) == before
    # The same request from the desk goes through.
    done = send(dana, method, url, _body(world, body))
    assert done.status_code in (200, 201), done.content


def test_the_refusal_does_not_say_whether_a_call_exists(world, rita):
    for number in (world["harbour_call"].number, "INC-999999"):
        answer = rita.post(f"{CALLS}/{number}/abort", {"reason": "x"}, "application/json")
        assert answer.status_code == 403, number
    assert world["harbour_call"].status == Call.objects.get(pk=world["harbour_call"].pk).status


def test_desk_tools_beside_a_call_are_refused(world, rita, dana):
    team = world["team"].pk
    assert rita.get(f"{CALLS}/queue", {"team_id": team}).status_code == 403
    assert dana.get(f"{CALLS}/queue", {"team_id": team}).status_code == 200
    event = {"source": "nagios", "key": "mail-1", "summary": "Mail queue full"}
    before = Call.objects.count()
    answer = rita.post("/api/v1/monitoring/events", event, "application/json")
    assert answer.status_code == 403 and Call.objects.count() == before
    assert dana.post("/api/v1/monitoring/events", event, "application/json").status_code == 201


# -- calls: what is allowed -------------------------------------------------------------------------
def test_a_customers_user_registers_a_call_as_themselves(world, rita):
    answer = rita.post(
        f"{CALLS}/",
        {"call_type": "incident", "summary": "Printer on fire", "impact": 2, "urgency": 1},
        "application/json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["requester_id"] == world["rita"].pk
    assert body["customer_id"] == world["city"].pk
    assert body["channel"] == "api"
    assert rita.get(f"{CALLS}/{body['number']}").status_code == 200


def test_a_customers_user_is_not_shown_the_profiles_holding_the_call(world, rita, dana, provider):
    call = world["city_call"]
    # The profiles the engine put on it, or two of the provider's if the step named none.
    if call.responsible_profile_id is None or call.accountable_profile_id is None:
        profile = organisation.create_profile(provider, "First line")
        Call.objects.filter(pk=call.pk).update(
            responsible_profile=profile, accountable_profile=profile
        )
    call.refresh_from_db()
    for client, shown in ((dana, True), (rita, False)):
        one = client.get(f"{CALLS}/{call.number}").json()
        listed = next(r for r in client.get(f"{CALLS}/").json()["results"] if r["id"] == call.pk)
        for body in (one, listed):
            expected = (
                (call.responsible_profile_id, call.accountable_profile_id)
                if shown
                else (None, None)
            )
            assert (body["responsible_profile_id"], body["accountable_profile_id"]) == expected


@pytest.mark.parametrize(
    "sent, field",
    [
        ({"call_type": "rfc"}, "call_type"),
        ({"call_type": "risk"}, "call_type"),
        ({"channel": "monitoring"}, "channel"),
        ({"category": "hardware"}, "category"),
        ({"effect": 1}, "effect"),
    ],
)
def test_a_customers_user_may_not_register_what_the_desk_decides(world, rita, sent, field):
    body = {"call_type": "incident", "summary": "Printer on fire", **sent}
    before = Call.objects.count()
    answer = rita.post(f"{CALLS}/", body, "application/json")
    assert answer.status_code == 422, answer.content
    assert [error["loc"][-1] for error in answer.json()["detail"]] == [field]
    assert Call.objects.count() == before


def test_a_customers_user_registers_only_for_their_own_customers(world, rita, provider):
    body = {"call_type": "incident", "summary": "x", "customer_id": world["harbour"].pk}
    assert rita.post(f"{CALLS}/", body, "application/json").status_code == 404
    # Another customer's requester is unknown to them; a colleague they see is refused by name.
    colleague = organisation.create_person(provider, "Carl Colleague")
    organisation.authorise_requester(world["city"], colleague, [])
    for requester, status in ((world["otto"], 404), (colleague, 422)):
        body = {"call_type": "incident", "summary": "x", "requester_id": requester.pk}
        answer = rita.post(f"{CALLS}/", body, "application/json")
        assert answer.status_code == status, requester
    assert answer.json()["detail"][0]["loc"][-1] == "requester_id"
    before = Call.objects.count()
    # A second authorisation: the call must say which customer it is for.
    organisation.authorise_requester(world["harbour"], world["rita"], [])
    answer = rita.post(f"{CALLS}/", {"call_type": "incident", "summary": "x"}, "application/json")
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "customer_id"
    assert Call.objects.count() == before


def test_an_idempotency_key_does_not_hand_over_another_customers_call(world, rita):
    answer = rita.post(
        f"{CALLS}/",
        {"call_type": "incident", "summary": "Mine"},
        "application/json",
        headers={"Idempotency-Key": "harbour-cranes-1"},
    )
    assert answer.status_code == 409
    assert "Cranes" not in answer.content.decode()


def test_a_customers_user_adds_public_notes_only(world, rita, dana):
    number = world["city_call"].number
    added = rita.post(f"{CALLS}/{number}/notes", {"text": "It is back"}, "application/json")
    assert added.status_code == 201 and added.json()["internal"] is False
    internal = dana.post(
        f"{CALLS}/{number}/notes", {"text": "Rita again", "internal": True}, "application/json"
    )
    assert internal.status_code == 201
    texts = scoped(world["rita"].user, CallNote.objects.all()).values_list("text", flat=True)
    assert list(texts) == ["It is back"]
    everything = scoped(world["dana"].user, CallNote.objects.all()).values_list("text", flat=True)
    assert sorted(everything) == ["It is back", "Rita again"]


def test_a_note_on_an_ended_call_is_refused_to_the_customer(world, rita, dana, staff):
    call = world["city_call"]
    calls.abort_workflow(call, staff, "raised twice")
    answer = rita.post(f"{CALLS}/{call.number}/notes", {"text": "Any news?"}, "application/json")
    assert answer.status_code == 409 and "register a new call" in answer.json()["detail"]
    assert not CallNote.objects.filter(call=call).exists()
    staff_note = dana.post(f"{CALLS}/{call.number}/notes", {"text": "Merged"}, "application/json")
    assert staff_note.status_code == 201


def test_the_requester_answers_the_desk(world, rita, staff):
    call = world["city_call"]
    url = f"{CALLS}/{call.number}/reply"
    not_asked = rita.post(url, {"text": "Hello?"}, "application/json")
    assert not_asked.status_code == 409 and not CallNote.objects.filter(call=call).exists()
    calls.hold_call(call, staff, "Which mailbox?")
    answer = rita.post(url, {"text": "The shared one"}, "application/json")
    assert answer.status_code == 201, answer.content
    call.refresh_from_db()
    assert call.waiting_for == ""
    assert list(CallNote.objects.filter(call=call).values_list("text", "internal")) == [
        ("The shared one", False)
    ]


def test_a_customers_user_does_not_see_the_providers_own_calls(world, rita, staff, provider):
    """A call the desk forks for its own work, or a risk it raises about a customer, is not the
    customer's to follow, over the API as in the portal."""
    city_call = world["city_call"]
    forked = calls.register_call(
        provider,
        staff,
        call_type="service_request",
        summary="Restart the mail server",
        customer=world["city"],
        parent=city_call,
    )
    risk = calls.register_call(
        provider, staff, call_type="risk", summary="Mail server ageing", customer=world["city"]
    )
    listed = [row["number"] for row in rita.get(f"{CALLS}/").json()["results"]]
    assert listed == [city_call.number]
    for hidden in (forked, risk, world["harbour_call"]):
        assert rita.get(f"{CALLS}/{hidden.number}").status_code == 404, hidden.call_type
    calls.add_note(forked, staff, "Reboot at 22:00")
    assert not scoped(world["rita"].user, CallNote.objects.all()).exists()


def test_the_staff_on_the_providers_own_calls_stay_unseen(world, staff, provider):
    """The people and teams working a risk the provider raised about a customer are the
    provider's business; the staff on the customer's own calls are shown, and so are the
    notifications about those calls only."""
    city_call, user = world["city_call"], world["rita"].user
    sam = organisation.create_person(provider, "Sam Sysadmin")
    ops = organisation.create_team(provider, "Server room", members=[sam])
    risk = calls.register_call(
        provider, staff, call_type="risk", summary="Mail server ageing", customer=world["city"]
    )
    # Work given out the way routing would: the risk to Sam's team, the city's call to Dana's.
    Call.objects.filter(pk=risk.pk).update(assignee_team=ops, assignee=sam)
    Call.objects.filter(pk=city_call.pk).update(assignee_team=world["team"], assignee=world["dana"])
    for call in (risk, city_call):
        Notification.objects.create(
            provider=provider,
            call=call,
            recipient=world["rita"],
            kind="warning",
            deadline="resolution",
            due=call.created_at,
            created_at=call.created_at,
        )
    people = set(scoped(user, Person.objects.all()).values_list("name", flat=True))
    assert "Sam Sysadmin" not in people and world["dana"].name in people
    teams = list(scoped(user, Team.objects.all()).values_list("name", flat=True))
    assert teams == [world["team"].name]
    seen = list(scoped(user, Notification.objects.all()).values_list("call", flat=True))
    assert seen == [city_call.pk]
    assert set(scoped(staff, Person.objects.all())) >= {sam, world["dana"]}


def test_the_call_records_behind_a_call_are_scoped_for_customers_users(world, staff):
    city_call, harbour_call = world["city_call"], world["harbour_call"]
    for call in (city_call, harbour_call):
        calls.hold_call(call, staff, "Waiting")
    calls.link_calls(city_call, harbour_call, staff, "related")
    user = world["rita"].user
    assert list(scoped(user, CallPause.objects.all()).values_list("call", flat=True)) == [
        city_call.pk
    ]
    assert not scoped(user, CallEvent.objects.all()).exists()
    assert not scoped(user, CallLink.objects.all()).exists()
    assert scoped(staff, CallEvent.objects.all()).count() == CallEvent.objects.count()
    assert scoped(staff, CallLink.objects.all()).count() == 1


# -- agreements --------------------------------------------------------------------------------------
def _ids(client, path: str) -> list[int]:
    body = client.get(path).json()
    found = [row["id"] for row in body["items"]]
    assert body["count"] == len(found) == len(set(found)), body
    return sorted(found)


def test_a_customers_user_sees_their_customers_sas_only(world, rita):
    city_sa = world["agreement"]
    assert _ids(rita, f"{AGREEMENTS}/agreements") == [city_sa.pk]
    own = rita.get(f"{AGREEMENTS}/agreements/{city_sa.pk}").json()
    assert own["customer_id"] == world["city"].pk and len(own["norms"]) == 25
    for hidden in (world["harbour_sa"], world["ola"]):
        assert rita.get(f"{AGREEMENTS}/agreements/{hidden.pk}").status_code == 404, hidden.kind
        due = rita.get(
            f"{AGREEMENTS}/agreements/{hidden.pk}/deadlines",
            {"call_type": "incident", "priority": 1, "opened_at": "2026-03-10T09:00:00Z"},
        )
        assert due.status_code == 404
    mine = rita.get(
        f"{AGREEMENTS}/agreements/{city_sa.pk}/deadlines",
        {"call_type": "incident", "priority": 1, "opened_at": "2026-03-10T09:00:00Z"},
    )
    assert mine.status_code == 200 and mine.json()["response_due"] is not None


def test_a_customers_user_sees_the_service_hours_of_their_sas_and_the_catalogue(world, rita):
    assert _ids(rita, f"{AGREEMENTS}/calendars") == [world["agreement"].calendar_id]
    for hidden in (world["harbour_hours"], world["desk_hours"]):
        assert rita.get(f"{AGREEMENTS}/calendars/{hidden.pk}").status_code == 404
    assert _ids(rita, f"{AGREEMENTS}/services") == [world["service"].pk]
    assert [m["kind"] for m in rita.get(f"{AGREEMENTS}/matrices").json()] == ["priority", "risk"]


def test_a_customers_user_may_not_write_agreements(world, rita):
    city_sa = world["agreement"]
    answer = rita.patch(
        f"{AGREEMENTS}/agreements/{city_sa.pk}",
        {"version": city_sa.version, "name": "Free for all"},
        "application/json",
    )
    assert answer.status_code == 403
    city_sa.refresh_from_db()
    assert city_sa.name == "City SA"


def test_staff_see_every_agreement_and_calendar(world, dana):
    expected = [world["agreement"].pk, world["harbour_sa"].pk, world["ola"].pk]
    assert _ids(dana, f"{AGREEMENTS}/agreements") == sorted(expected)
    calendars = [world["agreement"].calendar_id, world["harbour_hours"].pk, world["desk_hours"].pk]
    assert _ids(dana, f"{AGREEMENTS}/calendars") == sorted(calendars)
    due = dana.get(
        f"{AGREEMENTS}/agreements/{world['harbour_sa'].pk}/deadlines",
        {"call_type": "incident", "priority": 1, "opened_at": "2026-03-10T09:00:00Z"},
    )
    assert due.status_code == 200 and due.json()["norm"]["resolution"] == 2
    assert dana.get(f"{AGREEMENTS}/matrices/priority").status_code == 200
