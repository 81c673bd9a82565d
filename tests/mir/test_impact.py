"""Impact: what depends on an item, which services that touches and which customers' agreements in
force cover them; walked level by level, safe against cycles."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from usm.mir.models import MirItem
from usm.mir.queries import impact

from .conftest import create, relate

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(provider, organisation, agreements, record):
    record(
        provider,
        create("db-01", type="database", services=["backup"]),
        create("app-01", type="application"),
        create("platform", type="platform"),
        create("frontend", type="application", services=["webshop"]),
        create("legacy", status="retired", services=["email"]),
        create("disk-01", type="disk"),
        create("storage", type="san"),
        create("mail-01", services=["email"]),
        relate("app-01", "depends_on", "db-01"),
        relate("app-01", "part_of", "platform"),
        relate("frontend", "depends_on", "platform"),
        # A cycle: the walk must stop where it has been.
        relate("platform", "depends_on", "frontend"),
        relate("legacy", "depends_on", "db-01"),
        # Neither the parts of db-01 nor what it depends on fail with it.
        relate("disk-01", "part_of", "db-01"),
        relate("db-01", "depends_on", "storage"),
    )
    return MirItem.objects.get(identifier="db-01")


def test_impact_across_three_levels_and_a_cycle(chain):
    found = impact(chain)
    assert [(d.identifier, d.level, d.via, d.relation) for d in found.dependents] == [
        ("app-01", 1, "db-01", "depends_on"),
        ("platform", 2, "app-01", "part_of"),
        ("frontend", 3, "platform", "depends_on"),
    ]
    assert [(s.code, s.served_by) for s in found.services] == [
        ("backup", ("db-01",)),
        ("webshop", ("frontend",)),
    ]
    assert [(c.code, c.agreements, c.services) for c in found.customers] == [
        ("bakery", ("sa-bakery",), ("webshop",))
    ]


def test_impact_of_the_top_reaches_round_the_cycle_only_once(chain):
    found = impact(MirItem.objects.get(identifier="frontend"))
    assert [(d.identifier, d.level) for d in found.dependents] == [("platform", 1)]
    assert [c.code for c in found.customers] == ["bakery"]
    assert impact(MirItem.objects.get(identifier="mail-01")).customers[0].code == "depot"
    assert impact(MirItem.objects.get(identifier="storage")).dependents[0].identifier == "db-01"


def test_the_as_json_form(chain):
    document = impact(chain).as_json()
    assert document["identifier"] == "db-01"
    assert document["dependents"][2] == {
        "identifier": "frontend",
        "name": "Frontend",
        "type": "application",
        "status": "active",
        "level": 3,
        "via": "platform",
        "relation": "depends_on",
    }
    assert document["customers"] == [
        {"code": "bakery", "name": "Bakery", "agreements": ["sa-bakery"], "services": ["webshop"]}
    ]


def test_queries_grow_with_depth_not_with_width(provider, organisation, record):
    record(
        provider,
        create("hub"),
        create("spoke-0", services=["webshop"]),
        relate("spoke-0", "depends_on", "hub"),
    )
    hub = MirItem.objects.get(identifier="hub")
    with CaptureQueriesContext(connection) as narrow:
        assert len(impact(hub).dependents) == 1
    record(
        provider,
        *[create(f"spoke-{n}", services=["webshop", "email"]) for n in range(1, 60)],
        *[relate(f"spoke-{n}", "depends_on", "hub") for n in range(1, 60)],
    )
    with CaptureQueriesContext(connection) as wide:
        assert len(impact(hub).dependents) == 60
    assert len(wide.captured_queries) == len(narrow.captured_queries) <= 6
