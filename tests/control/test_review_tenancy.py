"""A review that tries to break process control across tenants and with bad input: staff of one
provider never read another provider's calls, figures, reports or notifications, whatever ids
they send; customers' users are refused; odd parameters are a clear error, never a 500."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.test import Client

from tests.control.conftest import MONDAY, register

pytestmark = pytest.mark.django_db
DAY = {"period_start": "2024-03-04", "period_end": "2024-03-04"}
NUL = "2024\x00"
HUGE = "9" * 30


@pytest.fixture
def tenant_b(other_provider, django_user_model):
    """Provider B: a customer under an SA, a staff member, a late call with its breach and a
    notification about it."""
    from usm.agreements import services as agreements
    from usm.agreements.models import Agreement, Calendar, Norm, OpeningHours, Service
    from usm.calls import services
    from usm.control.models import Notification
    from usm.control.sweep import sweep
    from usm.organisation.models import Customer, Person, Requester, Team

    agreements.install_default_matrices(other_provider)
    user = django_user_model.objects.create_user("bert")
    person = Person.objects.create(provider=other_provider, user=user, name="Bert B")
    team = Team.objects.create(provider=other_provider, name="B desk")
    team.members.add(person)
    customer = Customer.objects.create(provider=other_provider, code="bcust", name="B Customer")
    requester = Person.objects.create(provider=other_provider, name="Bea Requester")
    Requester.objects.create(provider=other_provider, person=requester, customer=customer)
    service = Service.objects.create(provider=other_provider, code="bsvc", name="B Service")
    calendar = Calendar.objects.create(provider=other_provider, name="B round the clock")
    for weekday in range(7):
        OpeningHours.objects.create(
            calendar=calendar, weekday=weekday, opens=time(0), closes=time(23, 59)
        )
    agreement = Agreement.objects.create(
        provider=other_provider,
        kind="SA",
        code="sa-b",
        name="B SA",
        customer=customer,
        calendar=calendar,
        valid_from=date(2020, 1, 1),
    )
    agreement.services.add(service)
    for priority in range(1, 6):
        Norm.objects.create(
            agreement=agreement,
            call_type="incident",
            priority=priority,
            response=1,
            resolution=2,
            unit="hours",
        )
    calls = [
        services.register_call(
            other_provider,
            user,
            call_type="incident",
            summary=f"B secret {n}",
            requester=requester,
            customer=customer,
            service=service,
            impact=1,
            urgency=1,
            at=MONDAY,
        )
        for n in range(3)
    ]
    sweep(MONDAY + timedelta(hours=5))
    notification = Notification.objects.create(
        provider=other_provider,
        call=calls[0],
        recipient=person,
        kind="breach",
        deadline="response",
        due=MONDAY,
        created_at=MONDAY + timedelta(hours=5),
    )
    return {
        "user": user,
        "customer": customer,
        "service": service,
        "team": team,
        "agreement": agreement,
        "calls": calls,
        "notification": notification,
    }


def _token_client(user) -> Client:
    from usm.api.tokens import issue_token

    _, plain = issue_token(user, "tests")
    return Client(headers={"Authorization": f"Bearer {plain}"})


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_kpis_of_a_provider_leave_the_other_out(api_client, desk, staff, tenant_b):
    register(desk, staff, "incident", MONDAY)
    body = api_client.get("/api/v1/control/kpis", DAY).json()
    assert body["totals"]["intake"] == 1
    assert body["totals"]["breaches"] == {"response": 0, "resolution": 0}
    names = str(body)
    assert "B Customer" not in names and "B SA" not in names and "B desk" not in names
    # B's own figures are there for B.
    theirs = _token_client(tenant_b["user"]).get("/api/v1/control/kpis", DAY).json()
    assert theirs["totals"]["intake"] == 3 and theirs["totals"]["breaches"]["response"] == 3


def test_kpis_sliced_by_another_providers_row_are_empty(api_client, desk, staff, tenant_b):
    register(desk, staff, "incident", MONDAY)
    for field, row in (("customer_id", "customer"), ("service_id", "service"), ("team_id", "team")):
        response = api_client.get("/api/v1/control/kpis", {**DAY, field: tenant_b[row].pk})
        assert response.status_code == 200
        body = response.json()
        assert body["totals"]["intake"] == 0 and body["totals"]["backlog"] == 0, field
        assert tenant_b[row].name not in str(body)


def test_conformance_and_notifications_stay_with_their_provider(api_client, desk, tenant_b):
    assert api_client.get("/api/v1/control/notifications").json() == []
    checked = api_client.get("/api/v1/control/conformance", DAY).json()
    assert "B secret" not in str(checked)
    theirs = _token_client(tenant_b["user"]).get("/api/v1/control/notifications").json()
    assert [n["call"] for n in theirs] == [tenant_b["calls"][0].number]


def test_a_requesters_token_reads_nothing_of_control(desk, requester_user, tenant_b):
    client = _token_client(requester_user)
    for path in ("kpis", "conformance", "notifications"):
        response = client.get(f"/api/v1/control/{path}", {"customer_id": desk["customer"].pk})
        assert response.status_code == 403


ODD_QUERIES = [
    {"period_start": NUL},
    {"period_end": NUL},
    {"process": "\x00"},
    {"period_start": "2024-03-04T25:00"},
    {"period_start": "9999-12-31"},
    {"period_end": "0001-01-01"},
    {"period_start": "x" * 500},
    {"customer_id": HUGE},
    {"service_id": "-1"},
    {"team_id": "abc"},
    {"workflow": HUGE},
    {"limit": HUGE},
    {"limit": "0"},
]


def test_odd_parameters_are_a_422(api_client, desk):
    for query in ODD_QUERIES:
        for path in ("kpis", "conformance", "notifications"):
            response = api_client.get(f"/api/v1/control/{path}", query)
            # The notifications list takes only `limit`; the other parameters are ignored there.
            assert response.status_code in (200, 422), (path, query, response.content)
            if response.status_code == 422:
                assert response.json()["detail"], (path, query)
        response = api_client.get("/api/v1/control/kpis", query)
        if "limit" not in query:
            assert response.status_code == 422, query


# -- the pages -------------------------------------------------------------------------------------
def test_the_dashboard_of_a_provider_leaves_the_other_out(desk, staff, tenant_b):
    register(desk, staff, "incident", MONDAY)
    response = _login(staff).get("/control/", {"start": "2024-03-04", "end": "2024-03-04"})
    assert response.status_code == 200
    assert response.context["totals"]["intake"] == 1
    page = response.content.decode()
    assert "B Customer" not in page and "B secret" not in page and "bcust" not in page
    theirs = _login(tenant_b["user"]).get("/control/", {"start": "2024-03-04", "end": "2024-03-04"})
    assert theirs.context["totals"]["intake"] == 3
    assert "City Council" not in theirs.content.decode()


def test_reports_of_another_providers_customer_or_agreement_are_not_found(desk, staff, tenant_b):
    client = _login(staff)
    assert client.get("/control/reports/bcust/2024-03/").status_code == 404
    # A's customer with B's agreement code: not one of the customer's agreements.
    response = client.get("/control/reports/city/2024-03/", {"agreement": "sa-b"})
    assert response.status_code == 404
    assert client.get("/control/reports/city/2024-03/", {"agreement": "sa-city"}).status_code == 200
    # And B cannot read A's.
    assert _login(tenant_b["user"]).get("/control/reports/city/2024-03/").status_code == 404


def test_a_report_asked_for_an_agreement_code_with_a_nul_is_not_found(desk, staff):
    """Regression: the code went to PostgreSQL, which refuses a NUL (500 there)."""
    response = _login(staff).get("/control/reports/city/2024-03/", {"agreement": "sa\x00city"})
    assert response.status_code == 404


BAD_PERIODS = [
    ({"start": "garbage"}, "start"),
    ({"end": "2024-02-30"}, "end"),
    ({"start": "2024-03-05", "end": "2024-03-01"}, "end"),
    ({"start": "0001-01-01"}, "start"),
    ({"end": "9999-12-31"}, "end"),
    ({"start": "\x00"}, "start"),
    ({"days": "3"}, "days"),
    ({"days": HUGE}, "days"),
]


def test_a_bad_period_on_the_dashboard_is_shown_beside_the_field(desk, staff):
    client = _login(staff)
    for query, field in BAD_PERIODS:
        response = client.get("/control/", query)
        assert response.status_code == 200
        assert field in response.context["form"].errors, query
        # The figures fall back to the last 30 days.
        period = response.context["period"]
        assert timedelta(days=29) < period.end - period.start <= timedelta(days=31)


def test_a_month_that_is_none_is_not_found(desk, staff):
    client = _login(staff)
    for month in ["2024-13", "1969-12", "9000-01", "2024-03-01", "x-y", "-"]:
        assert client.get(f"/control/reports/city/{month}/").status_code == 404, month
