"""/api/v1/agreements/ through the real API: CRUD, pagination and filters, 422 naming the field,
404 across providers, 409 on a stale version, 401 and 403, deadlines and matrices."""

import json
from datetime import date

import pytest
from django.contrib.auth.models import Permission

from usm.agreements import services
from usm.agreements.models import Agreement, Calendar, Norm, Service
from usm.organisation.models import Customer

from .conftest import week

pytestmark = pytest.mark.django_db
BASE = "/api/v1/agreements"


@pytest.fixture
def api(api_client, staff):
    """A person of Acme allowed to configure agreements."""
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="agreements"))
    return api_client


@pytest.fixture
def theirs(other_provider):
    """Another provider's SA, which Acme's people must not see."""
    customer = Customer.objects.create(provider=other_provider, code="x", name="Their customer")
    calendar = services.create_calendar(other_provider, "Their hours", always_open=True)
    return services.create_agreement(
        other_provider,
        "SA",
        "sa-theirs",
        "Their SA",
        customer=customer,
        calendar=calendar,
        valid_from=date(2026, 1, 1),
        norms=[{"call_type": "incident", "priority": 1, "response": 1, "resolution": 2}],
    )


def send(client, method, path, body):
    return getattr(client, method)(
        f"{BASE}{path}", json.dumps(body), content_type="application/json"
    )


def fields_of(response) -> dict:
    """{field: message} of a 422, several messages for one field joined by " | ". The field is
    the last name in the error's location (a list index after it says which element)."""
    assert response.status_code == 422, response.content
    found: dict[str, list[str]] = {}
    for detail in response.json()["detail"]:
        field = [part for part in detail["loc"] if isinstance(part, str)][-1]
        found.setdefault(field, []).append(detail["msg"])
    return {field: " | ".join(messages) for field, messages in found.items()}


# -- authentication and authorisation ---------------------------------------------------------------
def test_without_credentials_everything_is_401(client, sa):
    for path in ("/services", "/calendars", "/agreements", "/matrices", "/matrices/priority"):
        assert client.get(f"{BASE}{path}").status_code == 401, path
    deadlines = f"/agreements/{sa.pk}/deadlines?call_type=incident&priority=1&opened_at=2026-03-10T09:00:00Z"
    assert client.get(f"{BASE}{deadlines}").status_code == 401
    assert (
        send(client, "post", "/services", {"code": "x", "name": "X", "facility": "x"}).status_code
        == 401
    )
    assert send(client, "patch", f"/agreements/{sa.pk}", {"version": 1}).status_code == 401


def test_writing_needs_the_model_permission(api_client):
    response = send(api_client, "post", "/services", {"code": "x", "name": "X", "facility": "x"})
    assert response.status_code == 403
    assert not Service.objects.exists()


def test_another_providers_agreement_is_404_everywhere(api, theirs):
    path = f"/agreements/{theirs.pk}"
    assert api.get(f"{BASE}{path}").status_code == 404
    assert send(api, "patch", path, {"version": 1, "name": "Mine now"}).status_code == 404
    assert api.delete(f"{BASE}{path}").status_code == 404
    query = "call_type=incident&priority=1&opened_at=2026-03-10T09:00:00Z"
    assert api.get(f"{BASE}{path}/deadlines?{query}").status_code == 404
    assert api.get(f"{BASE}/calendars/{theirs.calendar_id}").status_code == 404
    assert api.get(f"{BASE}/agreements/{2**70}").status_code == 404
    assert api.get(f"{BASE}/agreements").json()["count"] == 0
    assert Agreement.objects.get(pk=theirs.pk).name == "Their SA"


def test_another_providers_rows_cannot_be_named_in_a_body(api, theirs, customer, office):
    response = send(
        api,
        "post",
        "/agreements",
        {
            "kind": "SA",
            "code": "sa-new",
            "name": "New",
            "customer_id": theirs.customer_id,
            "calendar_id": office.pk,
            "valid_from": "2026-01-01",
        },
    )
    assert fields_of(response) == {"customer_id": f"there is no customer {theirs.customer_id}"}


# -- a round trip ------------------------------------------------------------------------------------
def test_setting_up_an_agreement_round_trip(api, provider, customer):
    service = send(
        api,
        "post",
        "/services",
        {"code": "mail", "name": "Mail", "facility": "Mailboxes", "support": "Desk"},
    )
    assert service.status_code == 201, service.content
    service_id = service.json()["id"]
    assert Service.objects.get(pk=service_id).provider == provider

    calendar = send(
        api,
        "post",
        "/calendars",
        {
            "name": "Office",
            "time_zone": "Europe/Amsterdam",
            "opening_hours": week(0, 1, 2, 3, 4),
            "holidays": [{"date": "2026-12-25", "name": "Christmas"}],
            "exceptions": [
                {"date": "2026-12-24", "opens": "08:00", "closes": "12:00", "reason": "Eve"}
            ],
        },
    )
    assert calendar.status_code == 201, calendar.content
    calendar_body = calendar.json()
    assert calendar_body["opening_hours"][:2] == [
        {"weekday": 0, "opens": "08:00", "closes": "12:00"},
        {"weekday": 0, "opens": "13:00", "closes": "17:00"},
    ]
    assert calendar_body["holidays"] == [{"date": "2026-12-25", "name": "Christmas"}]

    created = send(
        api,
        "post",
        "/agreements",
        {
            "kind": "SA",
            "code": "sa-city",
            "name": "City SA",
            "customer_id": customer.pk,
            "calendar_id": calendar_body["id"],
            "services": [service_id],
            "valid_from": "2026-01-01",
            "norms": [
                {"call_type": "incident", "priority": 1, "response": 2, "resolution": 8},
                {
                    "call_type": "incident",
                    "priority": 2,
                    "response": 1,
                    "resolution": 3,
                    "unit": "days",
                },
            ],
        },
    )
    assert created.status_code == 201, created.content
    agreement = created.json()
    assert agreement["version"] == 1 and agreement["services"] == [service_id]
    assert agreement["norms"][0] == {
        "call_type": "incident",
        "priority": 1,
        "response": 2,
        "resolution": 8,
        "unit": "hours",
        "basis": "business",
    }

    changed = send(
        api,
        "patch",
        f"/agreements/{agreement['id']}",
        {"version": 1, "valid_until": "2026-12-31", "norms": [agreement["norms"][0]]},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["version"] == 2
    assert changed.json()["valid_until"] == "2026-12-31"
    assert len(changed.json()["norms"]) == 1
    assert api.get(f"{BASE}/agreements/{agreement['id']}").json() == changed.json()

    assert api.delete(f"{BASE}/agreements/{agreement['id']}?version=2").status_code == 204
    assert not Norm.objects.exists()
    assert api.delete(f"{BASE}/calendars/{calendar_body['id']}").status_code == 204
    assert api.delete(f"{BASE}/services/{service_id}").status_code == 204
    assert not Calendar.objects.exists() and not Service.objects.exists()


def test_a_service_is_changed_in_part(api, mail):
    response = send(api, "patch", f"/services/{mail.pk}", {"status": "retired"})
    assert response.json()["status"] == "retired" and response.json()["name"] == "Mail"


def test_a_calendar_part_sent_replaces_that_part_only(api, office):
    services.add_holiday(office, "2026-04-06")
    response = send(
        api,
        "patch",
        f"/calendars/{office.pk}",
        {"opening_hours": [{"weekday": 5, "opens": "10:00", "closes": "24:00"}]},
    )
    assert response.status_code == 200, response.content
    assert response.json()["opening_hours"] == [{"weekday": 5, "opens": "10:00", "closes": "24:00"}]
    assert response.json()["holidays"] == [{"date": "2026-04-06", "name": ""}]


def test_holidays_are_added_and_removed_one_by_one(api, office):
    added = send(
        api,
        "post",
        f"/calendars/{office.pk}/holidays",
        {"date": "2026-04-06", "name": "Easter Monday"},
    )
    assert added.status_code == 201 and added.json() == {
        "date": "2026-04-06",
        "name": "Easter Monday",
    }
    again = send(api, "post", f"/calendars/{office.pk}/holidays", {"date": "2026-04-06"})
    assert fields_of(again) == {"date": "2026-04-06 is already a holiday"}
    assert api.delete(f"{BASE}/calendars/{office.pk}/holidays/2026-04-06").status_code == 204
    assert api.delete(f"{BASE}/calendars/{office.pk}/holidays/2026-04-06").status_code == 404


# -- conflicts ---------------------------------------------------------------------------------------
def test_a_stale_version_is_409_with_the_current_state(api, sa):
    first = send(api, "patch", f"/agreements/{sa.pk}", {"version": 1, "name": "First"})
    assert first.status_code == 200
    second = send(api, "patch", f"/agreements/{sa.pk}", {"version": 1, "name": "Second"})
    assert second.status_code == 409
    assert second.json()["current_version"] == 2
    assert second.json()["current"]["name"] == "First"
    assert api.delete(f"{BASE}/agreements/{sa.pk}?version=1").status_code == 409
    assert Agreement.objects.get(pk=sa.pk).name == "First"


def test_deleting_what_is_in_use_is_409(api, sa, office, mail):
    assert api.delete(f"{BASE}/calendars/{office.pk}").status_code == 409
    assert api.delete(f"{BASE}/services/{mail.pk}").status_code == 409
    assert (
        Calendar.objects.filter(pk=office.pk).exists()
        and Service.objects.filter(pk=mail.pk).exists()
    )


# -- 422 naming the field ----------------------------------------------------------------------------
def test_an_sa_without_customer_is_422_on_customer(api, office):
    response = send(
        api,
        "post",
        "/agreements",
        {
            "kind": "SA",
            "code": "sa-x",
            "name": "X",
            "calendar_id": office.pk,
            "valid_from": "2026-01-01",
        },
    )
    assert fields_of(response) == {"customer_id": "a service agreement is made with a customer"}


def test_a_uc_with_an_internal_team_is_422_on_team(api, office, team):
    response = send(
        api,
        "post",
        "/agreements",
        {
            "kind": "UC",
            "code": "uc-x",
            "name": "X",
            "team_id": team.pk,
            "calendar_id": office.pk,
            "valid_from": "2026-01-01",
        },
    )
    assert "external supplier" in fields_of(response)["team_id"]


def test_bad_input_is_422_naming_the_field(api, sa, office):
    cases = [
        (
            "post",
            "/calendars",
            {"name": "Z", "time_zone": "Mars/Olympus", "always_open": True},
            "time_zone",
        ),
        (
            "post",
            "/calendars",
            {"name": "Z", "opening_hours": [{"weekday": 9, "opens": "08:00", "closes": "17:00"}]},
            "weekday",
        ),
        (
            "post",
            "/calendars",
            {"name": "Z", "opening_hours": [{"weekday": 1, "opens": "18:00", "closes": "08:00"}]},
            "opening_hours",
        ),
        ("post", "/services", {"code": "mail", "name": "Mail", "facility": "x"}, "code"),
        ("post", "/services", {"code": "x", "name": "X\x00", "facility": "x"}, "name"),
        ("post", "/services", {"code": "x", "name": "X"}, "facility"),
        ("patch", f"/agreements/{sa.pk}", {"name": "No version"}, "version"),
        (
            "patch",
            f"/agreements/{sa.pk}",
            {"version": 1, "valid_until": "2025-01-01"},
            "valid_until",
        ),
        ("patch", f"/agreements/{sa.pk}", {"version": 1, "kind": "XYZ"}, "kind"),
        ("patch", f"/agreements/{sa.pk}", {"version": 1, "services": [2**70]}, "services"),
        (
            "patch",
            f"/agreements/{sa.pk}",
            {
                "version": 1,
                "norms": [{"call_type": "incident", "priority": 1, "response": 5, "resolution": 4}],
            },
            "norms",
        ),
        (
            "patch",
            f"/agreements/{sa.pk}",
            {
                "version": 1,
                "norms": [{"call_type": "incident", "priority": 0, "response": 1, "resolution": 4}],
            },
            "priority",
        ),
        ("put", "/matrices/priority", {"cells": [{"row": 1, "column": 1, "result": 2}]}, "cells"),
    ]
    for method, path, body, field in cases:
        response = send(api, method, path, body)
        assert field in fields_of(response), (path, body, response.json())
    assert Agreement.objects.get(pk=sa.pk).version == 1


def test_unknown_ids_in_the_path_are_404(api):
    for path in ("/services/999", "/calendars/999", "/agreements/999", "/matrices/colour"):
        assert api.get(f"{BASE}{path}").status_code == 404, path


# -- lists: pagination and filters -------------------------------------------------------------------
def test_lists_are_paginated(api, provider):
    for letter in "edcba":
        services.create_service(provider, f"svc-{letter}", f"Service {letter.upper()}", "x")
    page = api.get(f"{BASE}/services?limit=2&offset=1").json()
    assert page["count"] == 5 and (page["limit"], page["offset"]) == (2, 1)
    assert [s["code"] for s in page["items"]] == ["svc-b", "svc-c"]
    assert api.get(f"{BASE}/services?limit=201").status_code == 422
    assert api.get(f"{BASE}/services?offset=-1").status_code == 422
    assert api.get(f"{BASE}/services?q=Service%20D").json()["items"][0]["code"] == "svc-d"
    assert fields_of(api.get(f"{BASE}/services?q=%00")) == {"q": "must not contain NUL characters"}


def test_agreements_are_filtered(api, provider, sa, office, customer, mail, team, supplier):
    ola = services.create_agreement(
        provider, "OLA", "ola-net", "Network OLA", team=team, calendar=office,
        valid_from=date(2026, 1, 1), valid_until=date(2026, 6, 30),
    )  # fmt: skip
    uc = services.create_agreement(
        provider, "UC", "uc-carrier", "Carrier UC", team=supplier, calendar=office,
        valid_from=date(2026, 1, 1), status="draft", services=[mail],
    )  # fmt: skip

    def codes(query):
        response = api.get(f"{BASE}/agreements?{query}")
        assert response.status_code == 200, response.content
        return sorted(item["code"] for item in response.json()["items"])

    assert codes("") == ["ola-net", "sa-city", "uc-carrier"]
    assert codes("kind=OLA") == [ola.code]
    assert codes("status=draft") == [uc.code]
    assert codes(f"customer={customer.pk}") == [sa.code]
    assert codes(f"team={supplier.pk}") == [uc.code]
    assert codes(f"service={mail.pk}") == ["sa-city", "uc-carrier"]
    assert codes("valid_at=2026-07-01") == ["sa-city", "uc-carrier"]
    assert codes("q=network") == [ola.code]
    assert codes("q=city%20council") == [sa.code]  # the customer's name
    assert api.get(f"{BASE}/agreements?kind=XX").status_code == 422


# -- deadlines ---------------------------------------------------------------------------------------
def test_deadlines_over_the_api_in_the_calendars_zone(api, sa):
    # Sat 7 March 2026, 09:00 UTC: counts from Monday 08:00 in Amsterdam.
    response = api.get(
        f"{BASE}/agreements/{sa.pk}/deadlines?call_type=incident&priority=1&opened_at=2026-03-07T09:00:00Z"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["time_zone"] == "Europe/Amsterdam"
    assert body["response_due"] == "2026-03-09T10:00:00+01:00"
    assert body["resolution_due"] == "2026-03-09T17:00:00+01:00"
    assert body["norm"]["resolution"] == 8


def test_a_holiday_added_over_the_api_moves_the_deadline(api, sa, office):
    url = f"{BASE}/agreements/{sa.pk}/deadlines?call_type=incident&priority=1&opened_at=2026-04-03T13:00:00Z"
    assert api.get(url).json()["resolution_due"] == "2026-04-06T15:00:00+02:00"
    send(api, "post", f"/calendars/{office.pk}/holidays", {"date": "2026-04-06"})
    assert api.get(url).json()["resolution_due"] == "2026-04-07T15:00:00+02:00"


def test_deadlines_without_a_norm_are_null(api, sa):
    body = api.get(
        f"{BASE}/agreements/{sa.pk}/deadlines?call_type=wish&priority=1&opened_at=2026-03-07T09:00:00Z"
    ).json()
    assert body["norm"] is None and body["response_due"] is None


def test_deadline_questions_that_make_no_sense_are_422(api, sa):
    base = f"{BASE}/agreements/{sa.pk}/deadlines"
    assert "opened_at" in fields_of(
        api.get(f"{base}?call_type=incident&priority=1&opened_at=2026-03-07T09:00:00")
    )
    assert "opened_at" in fields_of(
        api.get(f"{base}?call_type=incident&priority=1&opened_at=yesterday")
    )
    assert "call_type" in fields_of(
        api.get(f"{base}?call_type=gossip&priority=1&opened_at=2026-03-07T09:00:00Z")
    )
    assert "priority" in fields_of(
        api.get(f"{base}?call_type=incident&priority=0&opened_at=2026-03-07T09:00:00Z")
    )
    late = api.get(f"{base}?call_type=incident&priority=2&opened_at=9999-12-31T12:00:00Z")
    assert "opened_at" in fields_of(late)


# -- matrices ----------------------------------------------------------------------------------------
def test_matrices_are_read_and_replaced(api, provider):
    body = api.get(f"{BASE}/matrices/priority").json()
    assert body["configured"] is False
    assert body["grid"] == [[1, 2, 3], [2, 3, 4], [3, 4, 5]]
    assert (body["row_label"], body["column_label"]) == ("impact", "urgency")
    assert [m["kind"] for m in api.get(f"{BASE}/matrices").json()] == ["priority", "risk"]

    cells = [
        {"row": r, "column": c, "result": 1 if r == c == 1 else 2} for r in (1, 2) for c in (1, 2)
    ]
    replaced = send(api, "put", "/matrices/priority", {"cells": cells})
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["grid"] == [[1, 2], [2, 2]] and replaced.json()["configured"] is True
    assert api.get(f"{BASE}/matrices/priority").json()["grid"] == [[1, 2], [2, 2]]


def test_another_providers_matrix_is_not_read(api, other_provider):
    services.set_matrix(other_provider, "risk", [(1, 1, 1)])
    assert api.get(f"{BASE}/matrices/risk").json()["configured"] is False


def test_openapi_lists_the_agreements_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert f"{BASE}/agreements/{{agreement_id}}/deadlines" in paths
    assert {f"{BASE}/services", f"{BASE}/calendars", f"{BASE}/matrices/{{kind}}"} <= set(paths)
