"""The dashboard and the monthly report pages, through Django's test client: who may open them,
and that they show the figures of the register."""

from datetime import timedelta

import pytest
from django.test import Client

from tests.control.conftest import MONDAY, register
from usm.control.services import record_workflow_checks

pytestmark = pytest.mark.django_db
DAY = {"start": "2024-03-04", "end": "2024-03-04"}


def test_anonymous_is_sent_to_log_in(client):
    for path in ("/control/", "/control/reports/city/2024-03/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_a_customers_user_is_refused(desk, requester_user):
    client = Client()
    client.force_login(requester_user)
    assert client.get("/control/").status_code == 403
    assert client.get("/control/reports/city/2024-03/").status_code == 403


def test_the_dashboard_shows_the_figures_of_the_period(desk_client, walk):
    walk(4)
    walk(3, every=timedelta(minutes=20))
    walk(5, start=MONDAY - timedelta(days=3))  # before the period: not counted
    record_workflow_checks()  # what the worker does in the background
    response = desk_client.get("/control/", DAY)
    assert response.status_code == 200
    page = response.content.decode()
    context = response.context
    assert context["totals"]["intake"] == 5  # two incidents, a change, two operations calls
    assert context["conformance"]["checked"] == 2
    assert context["conformance"]["rate"] == 1.0
    inc = next(p for p in context["processes"] if p["process"] == "INC")
    assert (inc["intake"], inc["conformance"]["rate"]) == (2, 1.0)
    assert "Process control" in page and "<svg" in page
    assert "From 2024-03-04 00:00 to 2024-03-04 23:59 UTC" in page
    # Report links for the customer with a service agreement: March and February.
    assert "/control/reports/city/2024-03/" in page
    assert "/control/reports/city/2024-02/" in page


def test_a_breach_and_a_deviation_are_listed(desk_client, desk, provider, walk, staff):
    from usm.calls.models import CallEvent
    from usm.control.sweep import sweep

    late = register(desk, staff, "incident", MONDAY)  # left alone: respond by 08:00 UTC
    assert sweep(MONDAY + timedelta(hours=2)).breaches == [f"{late.number} response"]
    root = walk(4)
    inc4 = CallEvent.objects.get(call=root, step="INC-4", kind="step_completed")
    CallEvent.objects.create(
        provider=provider,
        call=root,
        root=root,
        process="INC",
        step="INC-3",
        attempt=2,
        kind="step_completed",
        at=inc4.at + timedelta(minutes=1),
    )
    record_workflow_checks()  # what the worker does in the background
    response = desk_client.get("/control/", DAY)
    page = response.content.decode()
    assert response.context["totals"]["breaches"] == {"response": 1, "resolution": 0}
    assert f'href="/calls/{late.number}/"' in page
    assert "INC-3 completed again, with no repeat recorded" in page


def test_a_bad_period_is_explained_not_failed(desk_client):
    response = desk_client.get("/control/", {"start": "2024-03-05", "end": "2024-03-01"})
    assert response.status_code == 200
    assert "The period ends before it starts." in response.content.decode()
    response = desk_client.get("/control/", {"start": "yesterday"})
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()
    response = desk_client.get("/control/", {"start": "0001-01-01", "days": "many"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "This date lies outside the years 1970 to 9000." in page
    assert "Select a valid choice." in page


def test_the_monthly_report_page(desk_client, walk):
    for minutes in (10, 20, 30):
        walk(4, every=timedelta(minutes=minutes))
    response = desk_client.get("/control/reports/city/2024-03/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "March 2024" in page and "City SA" in page
    section = response.context["sections"][0]
    assert section["resolution"] == {"met": 5, "missed": 1, "pending": 0, "rate": 0.8333}
    assert "83.3 %" in page


def test_unknown_reports_are_not_found(desk_client, other_provider):
    from usm.organisation.models import Customer

    Customer.objects.create(provider=other_provider, code="elsewhere", name="Elsewhere")
    assert desk_client.get("/control/reports/nobody/2024-03/").status_code == 404
    assert desk_client.get("/control/reports/elsewhere/2024-03/").status_code == 404
    assert desk_client.get("/control/reports/city/2024-13/").status_code == 404
    assert desk_client.get("/control/reports/city/march/").status_code == 404
    missing = desk_client.get("/control/reports/city/2024-03/", {"agreement": "nope"})
    assert missing.status_code == 404
