"""The desk queue and registering a call."""

from datetime import timedelta

import pytest
from django.utils import timezone

from usm.calls import services
from usm.calls.models import Call
from usm.web.queue import PAGE_SIZE

pytestmark = pytest.mark.django_db


def rows(page: str) -> list[str]:
    """Call numbers in the order the queue lists them."""
    import re

    return re.findall(r'<a href="/calls/([A-Z]+-\d+)/">', page)


# -- the queue ----------------------------------------------------------------------------------
def test_queue_lists_open_calls_of_my_team_by_resolution_due(desk_client, register):
    later = register(summary="Printer jams", impact=3, urgency=3)
    sooner = register(summary="Mail is down", impact=1, urgency=1)
    done = register(summary="Old one")
    services.abort_workflow(done, None, "registered twice")
    page = desk_client.get("/desk/").content.decode()
    assert rows(page) == [sooner.number, later.number]
    assert "Mail is down" in page and "Old one" not in page
    assert "Accept incident" in page  # the step the call is at
    ended = desk_client.get("/desk/?status=ended").content.decode()
    assert rows(ended) == [done.number]


def test_filters_narrow_the_queue(desk_client, register, staff):
    incident = register(summary="Mail is down")
    request = register("service_request", summary="New laptop")
    assert rows(desk_client.get("/desk/?process=OPS").content.decode()) == [request.number]
    assert rows(desk_client.get("/desk/?call_type=incident").content.decode()) == [incident.number]
    assert rows(desk_client.get("/desk/?q=laptop").content.decode()) == [request.number]
    assert rows(desk_client.get(f"/desk/?q={incident.number.lower()}").content.decode()) == [
        incident.number
    ]
    assert rows(desk_client.get("/desk/?mine=on").content.decode()) == []
    services.assign_call(incident, staff, staff.person)
    assert rows(desk_client.get("/desk/?mine=on").content.decode()) == [incident.number]


def test_priority_customer_service_and_breach_filters(
    desk_client, register, desk, other_call, provider, staff
):
    from usm.agreements.models import Service

    urgent = register(summary="Mail is down", impact=1, urgency=1)
    calm = register(summary="Printer jams", impact=3, urgency=3, service=None)
    risk = register(
        "risk", summary="Certificate expires", impact=None, urgency=None, effect=1, likelihood=1
    )
    everyone = "/desk/?team=all"
    first = rows(desk_client.get(f"{everyone}&priority={urgent.priority}").content.decode())
    assert urgent.number in first and calm.number not in first
    # A risk has a level, not a priority; the filter reads one as the other.
    by_level = rows(desk_client.get(f"{everyone}&priority={risk.risk_level}").content.decode())
    assert risk.number in by_level and calm.number not in by_level
    city = rows(desk_client.get(f"{everyone}&customer={desk['customer'].pk}").content.decode())
    assert other_call.number not in city and urgent.number in city
    harbour = other_call.customer.pk
    assert rows(desk_client.get(f"{everyone}&customer={harbour}").content.decode()) == [
        other_call.number
    ]
    mail = rows(desk_client.get(f"{everyone}&service={desk['service'].pk}").content.decode())
    assert urgent.number in mail and calm.number not in mail
    unused = Service.objects.create(provider=provider, code="web", name="Web")
    assert rows(desk_client.get(f"{everyone}&service={unused.pk}").content.decode()) == []

    assert rows(desk_client.get(f"{everyone}&breached=on").content.decode()) == []
    now = timezone.now()
    Call.objects.filter(pk=calm.pk).update(resolution_due=now - timedelta(minutes=1))
    Call.objects.filter(pk=urgent.pk).update(
        response_due=now - timedelta(minutes=1), responded_at=None
    )
    breached = rows(desk_client.get(f"{everyone}&breached=on").content.decode())
    assert sorted(breached) == sorted([calm.number, urgent.number])
    # Answered in time later on, the response no longer counts as breached.
    services.complete_step(urgent, staff, "INC-1")
    assert rows(desk_client.get(f"{everyone}&breached=on").content.decode()) == [calm.number]


def test_team_filter(desk_client, register, desk, provider):
    from usm.organisation.models import Team

    call = register()
    other = Team.objects.create(provider=provider, name="Network")
    assert rows(desk_client.get(f"/desk/?team={desk['team'].pk}").content.decode()) == [call.number]
    assert rows(desk_client.get(f"/desk/?team={other.pk}").content.decode()) == []
    assert rows(desk_client.get("/desk/?team=all").content.decode()) == [call.number]


def test_deadlines_are_red_when_breached_and_amber_when_near(desk_client, register):
    breached, near, calm = register(summary="a"), register(summary="b"), register(summary="c")
    now = timezone.now()
    Call.objects.filter(pk=breached.pk).update(resolution_due=now - timedelta(minutes=5))
    Call.objects.filter(pk=near.pk).update(
        created_at=now - timedelta(hours=4), resolution_due=now + timedelta(minutes=20)
    )
    Call.objects.filter(pk=calm.pk).update(created_at=now, resolution_due=now + timedelta(hours=8))
    page = desk_client.get("/desk/").content.decode()
    assert page.count('class="due due-breached"') == 1
    assert page.count('class="due due-near"') == 1
    assert page.count('class="due due-running"') == 1
    assert "breached" in page and "due soon" in page


def test_queue_pages_by_cursor_without_overlap(desk_client, register):
    made = [register(summary=f"call {n}").number for n in range(PAGE_SIZE + 5)]
    first = desk_client.get("/desk/").content.decode()
    assert len(rows(first)) == PAGE_SIZE
    import re

    cursor = re.search(r"after=([n0-9]+-[0-9]+)", first).group(1)
    second = desk_client.get(f"/desk/?after={cursor}").content.decode()
    assert len(rows(second)) == 5
    assert sorted(rows(first) + rows(second)) == sorted(made)
    assert "First page" in second and "after=" not in second.split("First page")[1]


def test_the_queue_answers_htmx_with_the_results_only(desk_client, register):
    register()
    response = desk_client.get("/desk/?q=mail", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="queue-results"') and "<html" not in body


@pytest.mark.parametrize(
    "query",
    [
        "team=abc",
        "team=99999999999999999999999",
        "status=nonsense",
        "process=XYZ",
        "after=garbage",
        "after=99999999999999999-999999999999999999",
        "q=" + "x" * 500,
        "mine=maybe",
        "priority=x",
        "priority=99999999999999999999",
        "customer=-1",
        "service=abc",
        "breached=perhaps",
    ],
)
def test_bad_queue_parameters_never_fail(desk_client, register, query):
    register()
    assert desk_client.get(f"/desk/?{query}").status_code == 200


def test_a_bad_filter_is_named_and_left_out_while_the_others_apply(desk_client, register):
    wanted = register(summary="Printer on fire")
    register(summary="Mail is slow")
    page = desk_client.get("/desk/?q=Printer&priority=x").content.decode()
    assert wanted.number in page and "Mail is slow" not in page
    assert "Left out" in page and "priority" in page


# -- registering --------------------------------------------------------------------------------
def form_data(desk, **overrides):
    return {
        "within_agreement": "on",
        "failure": "on",
        "channel": "phone",
        "customer": desk["customer"].pk,
        "requester": desk["requester"].pk,
        "service": desk["service"].pk,
        "summary": "Mail is down for the whole council",
        "description": "Since 9:00",
        "impact": "1",
        "urgency": "2",
        **overrides,
    }


def test_register_form_shows_the_proposal(desk_client):
    page = desk_client.get("/desk/new/").content.decode()
    assert 'id="proposal"' in page and "Service request" in page
    assert 'hx-get="/desk/new/propose/"' in page
    assert 'for="id_summary"' in page


@pytest.mark.parametrize(
    "facts, proposed",
    [
        ("failure=on&within_agreement=on", "Incident"),
        ("within_agreement=on", "Service request"),
        ("within_agreement=on&permanent_mir_effect=on", "Request for change"),
        ("", "Wish"),
        ("provider_side=on", "Risk"),
    ],
)
def test_the_classification_helper_proposes_a_call_type(desk_client, facts, proposed):
    page = desk_client.get(f"/desk/new/propose/?{facts}").content.decode()
    assert f"<strong>{proposed}</strong>" in page


def test_registering_takes_the_proposal_and_opens_the_call(desk_client, desk):
    response = desk_client.post("/desk/new/", form_data(desk))
    call = Call.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/calls/{call.number}/"
    assert call.call_type == "incident" and call.channel == "phone"
    assert call.priority == 2 and call.resolution_due is not None
    assert call.requester == desk["requester"] and call.customer == desk["customer"]
    page = desk_client.get(response["Location"]).content.decode()
    assert f"Registered {call.number}" in page


def test_an_explicit_call_type_wins_over_the_proposal(desk_client, desk):
    desk_client.post("/desk/new/", form_data(desk, call_type="service_request"))
    assert Call.objects.get().call_type == "service_request"


def test_register_with_mir_items(desk_client, desk, provider):
    from usm.mir.services import apply_changes

    item = {"action": "create", "identifier": "mx1", "name": "Mail relay", "type": "server"}
    apply_changes(provider, [item], reference="CHM-000001")
    desk_client.post("/desk/new/", form_data(desk, mir_items="mx1"))
    assert [i.identifier for i in Call.objects.get().mir_items.all()] == ["mx1"]


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"summary": ""}, "summary", "This field is required"),
        ({"summary": "   "}, "summary", "This field is required"),
        ({"impact": "1", "urgency": ""}, "urgency", "give both impact and urgency"),
        ({"impact": "99"}, "impact", "Select a valid choice"),
        ({"customer": "abc"}, "customer", "Select a valid choice"),
        ({"service": "99999999999999999999999"}, "service", "Select a valid choice"),
        ({"mir_items": "nope"}, "mir_items", "not in the MIR: nope"),
        ({"call_type": "ticket"}, "call_type", "Select a valid choice"),
    ],
)
def test_bad_input_shows_errors_and_writes_nothing(desk_client, desk, overrides, field, message):
    response = desk_client.post("/desk/new/", form_data(desk, **overrides))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert Call.objects.count() == 0


def test_a_requester_the_customer_does_not_authorise_is_refused(desk_client, desk, other_customer):
    response = desk_client.post(
        "/desk/new/", form_data(desk, requester=other_customer["requester"].pk)
    )
    assert response.status_code == 422
    assert Call.objects.count() == 0


def test_the_services_refusal_lands_on_its_field(desk_client, desk, provider):
    from usm.agreements.models import Service
    from usm.organisation.models import Requester

    payroll = Service.objects.create(provider=provider, code="pay", name="Payroll", facility="x")
    Requester.objects.get(person=desk["requester"]).services.add(desk["service"])
    response = desk_client.post("/desk/new/", form_data(desk, service=payroll.pk))
    assert response.status_code == 422
    assert "may not submit calls for Payroll" in response.content.decode()
    assert Call.objects.count() == 0


def test_changing_the_customer_narrows_the_requesters(desk_client, desk, other_customer):
    page = desk_client.get(
        f"/desk/new/parties/?customer={other_customer['customer'].pk}"
    ).content.decode()
    assert "Otto Other" in page and "Rita Requester" not in page
    everyone = desk_client.get("/desk/new/parties/").content.decode()
    assert "Otto Other" in everyone and "Rita Requester" in everyone


def test_the_filter_bar_keeps_what_was_chosen_and_lists_only_what_the_user_may_see(
    desk_client, desk, other_call
):
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    chosen = desk["customer"].pk
    with CaptureQueriesContext(connection) as queries:
        page = desk_client.get(f"/desk/?team=all&status=open&customer={chosen}").content.decode()
    customers = re.search(r'<select name="customer"[^>]*>(.*?)</select>', page, re.S).group(1)
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', customers)
    assert options[0] == ("", "", "Any customer")
    assert [value for value, selected, _ in options if selected] == [str(chosen)]
    # The staff see every customer of their provider; each is listed once.
    values = [value for value, _, _ in options[1:]]
    assert str(other_call.customer.pk) in values and len(values) == len(set(values))
    status = re.search(r'<select name="status"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option value="(\w+)" selected>', status) == ["open"]
    # The choice lists are read with plain queries, not server-side cursors (PostgreSQL).
    assert not [q for q in queries.captured_queries if q["sql"].startswith("DECLARE")]
