"""/api/v1/organisation/ through the real API: CRUD, 422 naming the field, 404 across providers,
401 and 403, pagination and filters."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from usm.agreements.models import Service
from usm.organisation import services
from usm.organisation.models import Customer, Procedure

from .conftest import full_raci, path_of

pytestmark = pytest.mark.django_db
BASE = "/api/v1/organisation"


@pytest.fixture
def api(api_client, staff):
    """A person of Acme allowed to configure the organisation."""
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="organisation"))
    return api_client


def post(client, path, body):
    return client.post(f"{BASE}{path}", json.dumps(body), content_type="application/json")


def patch(client, path, body):
    return client.patch(f"{BASE}{path}", json.dumps(body), content_type="application/json")


def fields_of(response) -> dict:
    """{field: message}, several messages for one field joined by " | "."""
    assert response.status_code == 422, response.content
    found: dict[str, list[str]] = {}
    for detail in response.json()["detail"]:
        found.setdefault(detail["loc"][-1], []).append(detail["msg"])
    return {field: " | ".join(messages) for field, messages in found.items()}


def test_without_credentials_every_list_is_401(client):
    for path in ("/customers", "/requesters", "/units", "/teams", "/profiles", "/people"):
        assert client.get(f"{BASE}{path}").status_code == 401, path
    for path in ("/procedures", "/work-instructions"):
        assert client.get(f"{BASE}{path}").status_code == 401, path
    assert post(client, "/customers", {"code": "x", "name": "X"}).status_code == 401


def test_a_customer_round_trip(api, provider):
    created = post(api, "/customers", {"code": "town", "name": "Town Hall", "kind": "internal"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert Customer.objects.get(pk=body["id"]).provider == provider

    changed = patch(api, f"/customers/{body['id']}", {"active": False})
    assert changed.json()["active"] is False and changed.json()["name"] == "Town Hall"
    assert api.get(f"{BASE}/customers/{body['id']}").json()["kind"] == "internal"
    assert api.delete(f"{BASE}/customers/{body['id']}").status_code == 204
    assert api.get(f"{BASE}/customers/{body['id']}").status_code == 404


def test_bad_input_is_422_naming_the_field(api, provider):
    services.create_customer(provider, "town", "Town Hall")
    assert fields_of(post(api, "/customers", {"code": "town", "name": "Again"})) == {
        "code": "there is already a customer code 'town'"
    }
    assert "kind" in fields_of(post(api, "/customers", {"code": "b", "name": "B", "kind": "alien"}))
    assert "name" in fields_of(post(api, "/customers", {"code": "c", "name": "x" * 201}))
    assert "name" in fields_of(post(api, "/customers", {"code": "d", "name": "a\x00b"}))
    assert "parent_id" in fields_of(post(api, "/units", {"name": "IT", "parent_id": 424242}))
    assert post(api, "/customers", {"code": "e"}).status_code == 422
    assert api.post(f"{BASE}/customers", "{", content_type="application/json").status_code in (
        400,
        422,
    )


def test_other_providers_rows_are_404_and_never_listed(api, provider, other_provider):
    mine = services.create_customer(provider, "mine", "Mine")
    theirs = services.create_customer(other_provider, "theirs", "Theirs")
    their_profile = services.create_profile(other_provider, "Their coordinator")
    listed = api.get(f"{BASE}/customers").json()
    assert [c["code"] for c in listed["items"]] == ["mine"] and listed["count"] == 1
    assert api.get(f"{BASE}/customers/{theirs.pk}").status_code == 404
    assert patch(api, f"/customers/{theirs.pk}", {"name": "Taken"}).status_code == 404
    assert api.delete(f"{BASE}/customers/{theirs.pk}").status_code == 404
    assert api.get(f"{BASE}/profiles/{their_profile.pk}").status_code == 404
    assert api.get(f"{BASE}/customers/{mine.pk}").status_code == 200
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_ids_that_cannot_exist_are_404_not_500(api):
    for path in ("/customers/99999999999999999999999", "/procedures/0", "/people/-1"):
        assert api.get(f"{BASE}{path}").status_code == 404, path
    assert api.get(f"{BASE}/customers?offset=99999999999999999999").status_code == 422
    assert api.get(f"{BASE}/people?unit=99999999999999999999").status_code == 422
    assert api.get(f"{BASE}/customers?q=a%00b").status_code == 422


def test_pagination_and_filters(api, provider):
    for n in range(5):
        services.create_customer(provider, f"c{n}", f"Customer {n}", active=n != 3)
    services.create_customer(provider, "int", "Internal IT", kind="internal")
    page = api.get(f"{BASE}/customers?limit=2&offset=2").json()
    assert (page["count"], page["limit"], page["offset"]) == (6, 2, 2)
    assert [c["code"] for c in page["items"]] == ["c2", "c3"]
    assert api.get(f"{BASE}/customers?limit=201").status_code == 422
    assert api.get(f"{BASE}/customers?limit=0").status_code == 422
    assert api.get(f"{BASE}/customers?active=false").json()["count"] == 1
    assert [c["code"] for c in api.get(f"{BASE}/customers?kind=internal").json()["items"]] == [
        "int"
    ]
    assert api.get(f"{BASE}/customers?q=customer 4").json()["count"] == 1


def test_writing_needs_the_model_permission(api_client, provider, staff):
    # Staff without the permission: they read the organisation, and may not change it.
    services.create_team(provider, "Service desk", members=[staff.person])
    services.create_customer(provider, "town", "Town Hall")
    assert api_client.get(f"{BASE}/customers").json()["count"] == 1
    assert post(api_client, "/customers", {"code": "x", "name": "X"}).status_code == 403
    assert (
        post(api_client, "/procedures", {"workflow": 5, "name": "x", "raci": {}}).status_code == 403
    )


def test_people_teams_and_profiles(api, provider, other_provider):
    unit = post(api, "/units", {"name": "Operations"}).json()
    person = post(
        api,
        "/people",
        {"name": "Olga", "unit_id": unit["id"], "username": "olga", "password": "a long phrase 42"},
    )
    assert person.status_code == 201, person.content
    olga = person.json()
    assert olga["username"] == "olga"
    assert Client().login(username="olga", password="a long phrase 42")

    stranger = services.create_person(other_provider, "Stranger")
    assert fields_of(post(api, "/teams", {"name": "Ops", "members": [stranger.pk]})) == {
        "members": f"there is no person {stranger.pk}"
    }
    team = post(api, "/teams", {"name": "Ops", "members": [olga["id"]]}).json()
    assert team["members"] == [olga["id"]]
    profile = post(
        api, "/profiles", {"name": "Operator", "team_id": team["id"], "holders": [olga["id"]]}
    )
    assert profile.status_code == 201 and profile.json()["holders"] == [olga["id"]]
    assert api.get(f"{BASE}/people?profile={profile.json()['id']}").json()["count"] == 1
    assert api.get(f"{BASE}/teams?member={olga['id']}").json()["count"] == 1
    assert fields_of(post(api, "/people", {"name": "Pat", "password": "a long phrase 42"})) == {
        "username": "is needed to give the person a password"
    }


def test_requesters_of_a_customer(api, provider):
    customer = services.create_customer(provider, "town", "Town Hall")
    person = services.create_person(provider, "Rita")
    service = Service.objects.create(provider=provider, code="mail", name="Mail", facility="Box")
    created = post(
        api,
        "/requesters",
        {"person_id": person.pk, "customer_id": customer.pk, "services": [service.pk]},
    )
    assert created.status_code == 201, created.content
    assert created.json()["services"] == [service.pk]
    listed = api.get(f"{BASE}/requesters?customer={customer.pk}").json()
    assert [r["person_id"] for r in listed["items"]] == [person.pk]
    changed = patch(api, f"/requesters/{created.json()['id']}", {"services": []})
    assert changed.json()["services"] == []


def raci_body(coordinator, operator, **overrides) -> dict:
    raci = {
        step: {str(coordinator.pk): "A", operator.name: ["R"]}
        for step in full_raci(5, coordinator.pk, operator.pk)
    }
    raci.update(overrides)
    return {"workflow": 5, "name": "Operations", "raci": raci}


def test_procedures_with_nested_responsibilities(api, coordinator, operator):
    created = post(api, "/procedures", raci_body(coordinator, operator))
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["version"], body["active"]) == (1, True)
    assert len(body["responsibilities"]) == 2 * len(path_of(5))
    assert {
        "step": "OPS-1",
        "profile_id": coordinator.pk,
        "profile": coordinator.name,
        "role": "A",
    } in body["responsibilities"]
    second = post(api, "/procedures", raci_body(coordinator, operator) | {"based_on": 1})
    assert second.json()["version"] == 2
    history = api.get(f"{BASE}/procedures?workflow=5").json()
    assert [(p["version"], p["active"]) for p in history["items"]] == [(2, True), (1, False)]
    assert api.get(f"{BASE}/procedures?active=true").json()["count"] == 1

    stale = post(api, "/procedures", raci_body(coordinator, operator) | {"based_on": 1})
    assert stale.status_code == 409 and stale.json()["current_version"] == 2


def test_a_raci_with_two_or_zero_accountables_is_422_naming_the_step(api, coordinator, operator):
    two = raci_body(coordinator, operator, **{"OPS-4": {coordinator.name: "A", operator.name: "A"}})
    assert fields_of(post(api, "/procedures", two)) == {
        "raci": "OPS-4 has 2 Accountable profiles (Operations specialist, Workflow coordinator); "
        "it needs exactly one"
    }
    zero = raci_body(coordinator, operator, **{"OPS-2": {operator.name: "R"}})
    assert fields_of(post(api, "/procedures", zero)) == {
        "raci": "OPS-2 has no Accountable profile; it needs exactly one"
    }
    assert "workflow" in fields_of(
        post(api, "/procedures", raci_body(coordinator, operator) | {"workflow": 12})
    )
    assert not Procedure.objects.exists()


def test_a_raci_naming_another_providers_profile_is_422(api, coordinator, operator, other_provider):
    theirs = services.create_profile(other_provider, "Their coordinator")
    body = raci_body(coordinator, operator, **{"OPS-1": {str(theirs.pk): "A"}})
    assert f"names '{theirs.pk}'" in fields_of(post(api, "/procedures", body))["raci"]


def test_reorganising_over_the_api_leaves_the_procedure(api, procedure, coordinator, provider):
    bob = services.create_person(provider, "Bob")
    changed = patch(api, f"/profiles/{coordinator.pk}", {"holders": [bob.pk]})
    assert changed.status_code == 200 and changed.json()["holders"] == [bob.pk]
    current = api.get(f"{BASE}/procedures/{procedure.pk}").json()
    assert (current["version"], current["active"]) == (1, True)


def test_retire_restore_and_wif_round_trip(api, procedure):
    document = api.get(f"{BASE}/procedures/{procedure.pk}/wif").json()
    assert document["type"] == "workflow"
    imported = post(api, "/procedures/wif", document)
    assert imported.status_code == 201, imported.content
    assert imported.json()["version"] == 2
    assert api.post(f"{BASE}/procedures/{imported.json()['id']}/retire").json()["active"] is False
    restored = api.post(f"{BASE}/procedures/{procedure.pk}/restore")
    assert restored.status_code == 201 and restored.json()["version"] == 3
    document["type"] = "workflow-template"
    assert "type" in fields_of(post(api, "/procedures/wif", document))


def test_work_instructions(api, provider, other_provider):
    service = Service.objects.create(provider=provider, code="mail", name="Mail", facility="Box")
    theirs = Service.objects.create(provider=other_provider, code="web", name="Web", facility="W")
    body = {
        "service_id": service.pk,
        "step": "OPS-4",
        "title": "Create the mailbox",
        "links": [{"title": "Runbook", "url": "https://wiki.test/runbook"}],
    }
    created = post(api, "/work-instructions", body)
    assert created.status_code == 201, created.content
    assert created.json()["links"] == [{"title": "Runbook", "url": "https://wiki.test/runbook"}]
    assert fields_of(post(api, "/work-instructions", body | {"step": "OPS-42"})) == {
        "step": "'OPS-42' is not a step of the process model"
    }
    assert "service_id" in fields_of(
        post(api, "/work-instructions", body | {"service_id": theirs.pk})
    )
    bad_link = body | {"links": [{"url": "javascript:alert(1)"}]}
    assert "links" in fields_of(post(api, "/work-instructions", bad_link))
    listed = api.get(f"{BASE}/work-instructions?service={service.pk}&step=OPS-4").json()
    assert listed["count"] == 1
    instruction = created.json()["id"]
    assert (
        patch(api, f"/work-instructions/{instruction}", {"text": "Open the console"}).json()["text"]
        == "Open the console"
    )
    assert api.delete(f"{BASE}/work-instructions/{instruction}").status_code == 204


HOSTILE_BODIES = [
    {},
    [],
    "text",
    {"name": None, "code": None},
    {"name": "a\x00b", "code": "a\x00b", "step": "OPS\x004", "title": "t", "service_id": 1},
    {"name": "x", "workflow": 2**70, "raci": {"OPS-1": {"\x00": "A"}}},
    {"name": "x", "workflow": 5, "raci": {"OPS-1": {"1": ["A", "Z"]}}, "based_on": -(2**70)},
    {"name": "x", "parent_id": 2**70, "unit_id": 0, "members": [2**62], "holders": ["a"]},
    {"person_id": 2**63, "customer_id": 1, "services": [1, 1]},
    {"type": "workflow", "slug": 5, "steps": {"a": 1}, "profiles": "none"},
    {"type": "workflow", "x-usm-number": 5, "steps": [1, {"id": ["x"], "activities": [None]}]},
    {"links": [{"url": "ftp://x"}], "step": "X" * 500, "title": None},
]


@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_no_input_makes_a_500(api, procedure, body):
    targets = [
        "/units",
        "/customers",
        "/people",
        "/requesters",
        "/teams",
        "/profiles",
        "/procedures",
        "/procedures/wif",
        "/work-instructions",
    ]
    for path in targets:
        response = post(api, path, body)
        assert response.status_code < 500, (path, response.content)
    for path in ("/customers", "/profiles", "/people", "/teams", "/units", "/work-instructions"):
        response = patch(api, f"{path}/1", body)
        assert response.status_code < 500, (path, response.content)
