"""/api/v1/control over HTTP with real bearer tokens: staff read the figures, customers' users
are refused, bad input is a 422 naming the field."""

from datetime import timedelta

import pytest
from django.test import Client

from tests.control.conftest import MONDAY, register

pytestmark = pytest.mark.django_db
DAY = {"period_start": "2024-03-04", "period_end": "2024-03-04"}


def test_kpis_of_a_day(api_client, walk):
    walk(4)
    walk(5, every=timedelta(minutes=5))
    response = api_client.get("/api/v1/control/kpis", DAY)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["period"] == {"start": "2024-03-04T00:00:00Z", "end": "2024-03-05T00:00:00Z"}
    assert body["totals"]["intake"] == 3 and body["totals"]["throughput"] == 3
    ops = next(p for p in body["processes"] if p["process"] == "OPS")
    # The WF5 call: six actions five minutes apart.
    assert ops["lead_time"]["count"] == 2
    assert ops["lead_time"]["max_seconds"] == 60 * 60
    only_wf5 = api_client.get("/api/v1/control/kpis", {**DAY, "workflow": 5}).json()
    assert only_wf5["totals"]["intake"] == 1
    assert only_wf5["filters"] == {"workflow": 5}


def test_conformance_and_notifications(api_client, desk, staff, walk):
    from usm.control.sweep import sweep

    walk(2)
    late = register(desk, staff, "incident", MONDAY)
    sweep(MONDAY + timedelta(hours=2))
    checked = api_client.get("/api/v1/control/conformance", DAY).json()
    assert (checked["checked"], checked["conforming"], checked["rate"]) == (1, 1, 1.0)
    notes = api_client.get("/api/v1/control/notifications").json()
    assert [(n["call"], n["kind"], n["deadline"]) for n in notes] == [
        (late.number, "breach", "response")
    ]


def test_a_customers_user_is_refused(desk, requester_user):
    from usm.api.tokens import issue_token

    _, plain = issue_token(requester_user, "tests")
    client = Client(headers={"Authorization": f"Bearer {plain}"})
    for path in ("kpis", "conformance", "notifications"):
        assert client.get(f"/api/v1/control/{path}").status_code == 403


def test_without_a_token_nothing(client):
    assert client.get("/api/v1/control/kpis").status_code == 401


@pytest.mark.parametrize(
    "query, field",
    [
        ({"process": "XYZ"}, "process"),
        ({"workflow": 9}, "workflow"),
        ({"period_start": "soon"}, "period_start"),
        ({"period_start": "2024-03-05", "period_end": "2024-03-01"}, "period_end"),
        ({"period_start": "0001-01-01"}, "period_start"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api_client, desk, query, field):
    response = api_client.get("/api/v1/control/kpis", query)
    assert response.status_code == 422, response.content
    assert field in str(response.json()["detail"])
