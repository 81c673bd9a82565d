"""The MIR over /api/v1/mir: read through the scoping rule, never written."""

import importlib
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client

from usm.api.tokens import issue_token
from usm.mir.models import MirChange, MirItem
from usm.mir.values import ReadableJsonEncoder
from usm.organisation.models import Customer, Person, Requester, Team

from .conftest import create, relate

pytestmark = pytest.mark.django_db

ITEMS = "/api/v1/mir/items"


@pytest.fixture
def register(provider, other_provider, organisation, agreements, record):
    record(
        provider,
        create("web-01", owner="Hosting", services=["webshop"], attributes={"site": "Amsterdam"}),
        create("web-02", owner="Network", status="planned"),
        create("db-01", type="database", services=["email"]),
        create("cluster-1", type="cluster"),
        relate("web-01", "depends_on", "db-01"),
        relate("db-01", "part_of", "cluster-1"),
    )
    record(
        provider,
        {"action": "update", "identifier": "web-01", "version": 1, "fields": {"name": "Web one"}},
        reference="CHM-000002",
    )
    record(other_provider, create("web-01", name="Not yours"), create("secret-01"))


def identifiers(response):
    assert response.status_code == 200, response.content
    return [item["identifier"] for item in response.json()["items"]]


def test_the_list_shows_only_the_callers_provider_with_a_count(api_client, register):
    body = api_client.get(ITEMS).json()
    assert body["count"] == 4
    assert [i["identifier"] for i in body["items"]] == ["cluster-1", "db-01", "web-01", "web-02"]
    web = body["items"][2]
    assert (web["name"], web["owner"], web["services"], web["version"]) == (
        "Web one",
        "Hosting",
        ["webshop"],
        2,
    )
    assert identifiers(api_client.get(ITEMS, {"limit": 2, "offset": 1})) == ["db-01", "web-01"]


def test_filters(api_client, register, organisation):
    assert identifiers(api_client.get(ITEMS, {"type": "database"})) == ["db-01"]
    assert identifiers(api_client.get(ITEMS, {"status": "planned"})) == ["web-02"]
    assert identifiers(api_client.get(ITEMS, {"owner": organisation["hosting"].pk})) == ["web-01"]
    assert identifiers(api_client.get(ITEMS, {"service": "email"})) == ["db-01"]
    assert identifiers(api_client.get(ITEMS, {"q": "amsterdam"})) == ["web-01"]
    assert identifiers(api_client.get(ITEMS, {"q": "CLUSTER"})) == ["cluster-1"]
    assert identifiers(api_client.get(ITEMS, {"q": "secret"})) == []
    assert api_client.get(ITEMS, {"status": "broken"}).status_code == 422


def test_one_item_with_relations_and_history(api_client, register):
    body = api_client.get(f"{ITEMS}/db-01").json()
    assert (body["required_by"], body["part_of"], body["depends_on"]) == (
        ["web-01"],
        ["cluster-1"],
        [],
    )
    assert [h["reference"] for h in body["history"]] == ["CHM-000001"]
    web = api_client.get(f"{ITEMS}/web-01").json()
    assert web["name"] == "Web one" and web["depends_on"] == ["db-01"]
    assert [h["reference"] for h in web["history"]] == ["CHM-000002", "CHM-000001"]
    assert web["history"][0]["before"]["name"] == "Web 01"
    history = api_client.get(f"{ITEMS}/web-01/history").json()
    assert history["count"] == 2 and history["items"][0]["after"]["version"] == 2


@pytest.fixture(autouse=True)
def hosting_member(staff, organisation):
    """The API's caller is the provider's staff (a member of Hosting)."""
    Team.objects.get(name="Hosting").members.add(staff.person)


def test_impact_over_the_api(api_client, register):
    body = api_client.get(f"{ITEMS}/db-01/impact").json()
    assert [(d["identifier"], d["level"], d["relation"]) for d in body["dependents"]] == [
        ("cluster-1", 1, "part_of"),
        ("web-01", 1, "depends_on"),
    ]
    assert [c["code"] for c in body["customers"]] == ["bakery", "depot"]


def test_a_customers_user_reads_items_but_not_whom_they_serve(
    register, provider, django_user_model
):
    user = django_user_model.objects.create_user("baker", password="flour and water 12")
    person = Person.objects.create(provider=provider, user=user, name="Bea Baker")
    Requester.objects.create(
        provider=provider, person=person, customer=Customer.objects.get(code="bakery")
    )
    _, plain = issue_token(user, "tests")
    client = Client(headers={"Authorization": f"Bearer {plain}"})
    assert client.get(f"{ITEMS}/db-01").status_code == 200
    refused = client.get(f"{ITEMS}/db-01/impact")
    assert refused.status_code == 403
    assert "Depot" not in refused.content.decode() and "depot" not in refused.content.decode()


@pytest.mark.parametrize("path", ["secret-01", "secret-01/history", "secret-01/impact", "nothing"])
def test_another_providers_item_is_not_found(api_client, register, path):
    response = api_client.get(f"{ITEMS}/{path}")
    assert response.status_code == 404
    assert "secret" not in response.content.decode()


def test_writes_are_refused_with_405_and_change_nothing(api_client, register):
    before = list(MirItem.objects.values_list("identifier", "name", "version"))
    responses = [
        api_client.post(ITEMS, {"identifier": "x"}, content_type="application/json"),
        api_client.put(f"{ITEMS}/web-01", {"name": "x"}, content_type="application/json"),
        api_client.patch(f"{ITEMS}/web-01", {"name": "x"}, content_type="application/json"),
        api_client.delete(f"{ITEMS}/web-01"),
    ]
    for response in responses:
        assert response.status_code == 405
        assert "Change call" in response.json()["detail"]
        assert "administrator" in response.json()["detail"]
        assert response["Allow"] == "GET"
    assert list(MirItem.objects.values_list("identifier", "name", "version")) == before
    assert MirChange.objects.count() == 7


def test_without_credentials_401(register):
    anonymous = Client()
    for path in [ITEMS, f"{ITEMS}/web-01", f"{ITEMS}/web-01/history", f"{ITEMS}/web-01/impact"]:
        assert anonymous.get(path).status_code == 401
    assert anonymous.post(ITEMS, {}, content_type="application/json").status_code == 401
    assert Client(headers={"Authorization": "Bearer usm_wrong"}).get(ITEMS).status_code == 401


def test_search_finds_attribute_values_outside_ascii(api_client, register, provider, record):
    # SQLite keeps JSON as text: written with \u escapes, "Zürich" could not be found by its name.
    record(provider, create("nas-01", type="storage", attributes={"site": "Zürich Süd"}))
    assert identifiers(api_client.get(ITEMS, {"q": "zürich"})) == ["nas-01"]
    assert identifiers(api_client.get(ITEMS, {"q": "Süd"})) == ["nas-01"]
    item = MirItem.objects.get(provider=provider, identifier="nas-01")
    assert item.attributes == {"site": "Zürich Süd"}


def test_the_migration_rewrites_attributes_kept_with_escapes(register, provider, record):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's jsonb keeps no written text to rewrite")
    migration = importlib.import_module("usm.mir.migrations.0003_attributes_readable_json")
    record(provider, create("nas-02", type="storage", attributes={"site": "Zürich"}))
    with connection.cursor() as cursor:
        # As the items were written before the migration: escaped.
        cursor.execute(
            "UPDATE mir_miritem SET attributes = %s WHERE identifier = 'nas-02'",
            ['{"site": "Z\\u00fcrich"}'],
        )
        migration.rewrite_escaped_attributes(None, SimpleNamespace(connection=connection))
        cursor.execute("SELECT attributes FROM mir_miritem WHERE identifier = 'nas-02'")
        assert cursor.fetchone()[0] == '{"site": "Zürich"}'
    assert MirItem.objects.get(identifier="nas-02", provider=provider).attributes == {
        "site": "Zürich"
    }


def test_text_utf8_cannot_hold_keeps_its_escapes():
    encoder = ReadableJsonEncoder()
    assert encoder.encode({"site": "Zürich"}) == '{"site": "Zürich"}'
    assert encoder.encode({"odd": "\ud800"}) == '{"odd": "\\ud800"}'
