"""Change's door: apply_changes creates, updates, retires and relates all or nothing, and logs
one history row per item with its state before and after."""

import pytest
from django.core.exceptions import ValidationError

from usm.conflicts import StaleUpdate
from usm.mir.models import MirChange, MirItem, MirRelation
from usm.mir.services import apply_changes

from .conftest import create, relate

pytestmark = pytest.mark.django_db


def state(identifier):
    item = MirItem.objects.get(identifier=identifier)
    return item.name, item.status, item.version, dict(item.attributes)


def test_create_and_relate_log_history_with_route_reference_and_actor(
    provider, organisation, record, staff
):
    written = record(
        provider,
        create("web-01", owner="Hosting", services=["webshop"], attributes={"ram_gb": 16}),
        create("db-01", type="database"),
        relate("web-01", "depends_on", "db-01"),
        reference="CHM-000042",
        actor=staff,
    )
    assert sorted(c.identifier for c in written) == ["db-01", "web-01"]
    web = MirItem.objects.get(identifier="web-01")
    assert (web.owner.name, web.version, web.attributes) == ("Hosting", 1, {"ram_gb": 16})
    assert [s.code for s in web.services.all()] == ["webshop"]
    assert MirRelation.objects.get().target.identifier == "db-01"
    change = MirChange.objects.get(identifier="web-01")
    assert (change.route, change.reference, change.actor, change.item) == (
        "change",
        "CHM-000042",
        staff,
        web,
    )
    assert change.before is None
    assert change.after == {
        "identifier": "web-01",
        "name": "Web 01",
        "type": "server",
        "status": "active",
        "owner": "Hosting",
        "services": ["webshop"],
        "attributes": {"ram_gb": 16},
        "depends_on": ["db-01"],
        "part_of": [],
        "version": 1,
    }


def test_update_merges_attributes_bumps_the_version_once_and_logs_before_and_after(
    provider, organisation, record
):
    record(provider, create("web-01", attributes={"ram_gb": 16, "os": "debian"}), create("db-01"))
    record(
        provider,
        {
            "action": "update",
            "identifier": "web-01",
            "version": 1,
            "fields": {"name": "Web server", "services": ["webshop", "email"]},
            "attributes": {"ram_gb": 32, "os": None, "rack": "B2"},
        },
        relate("web-01", "depends_on", "db-01"),
        reference="CHM-000043",
    )
    assert state("web-01") == ("Web server", "active", 2, {"ram_gb": 32, "rack": "B2"})
    change = MirChange.objects.filter(identifier="web-01").first()
    assert change.reference == "CHM-000043"
    assert change.before["version"] == 1 and change.before["name"] == "Web 01"
    assert change.before["attributes"] == {"ram_gb": 16, "os": "debian"}
    assert change.after["services"] == ["email", "webshop"]
    assert change.after["depends_on"] == ["db-01"] and change.after["version"] == 2
    assert MirChange.objects.filter(identifier="web-01").count() == 2


def test_a_stale_version_raises_and_nothing_of_the_batch_is_written(provider, organisation, record):
    record(provider, create("web-01"))
    record(
        provider,
        {"action": "update", "identifier": "web-01", "version": 1, "fields": {"name": "A"}},
    )
    with pytest.raises(StaleUpdate) as stale:
        record(
            provider,
            create("db-01"),
            {"action": "update", "identifier": "web-01", "version": 1, "fields": {"name": "B"}},
        )
    assert stale.value.current_version == 2 and stale.value.current["name"] == "A"
    assert state("web-01") == ("A", "active", 2, {})
    assert not MirItem.objects.filter(identifier="db-01").exists()
    assert MirChange.objects.count() == 2


def test_every_bad_record_is_named_and_nothing_is_written(provider, organisation, record):
    record(provider, create("web-01"))
    with pytest.raises(ValidationError) as refused:
        record(
            provider,
            create("db-01", owner="Their hosting"),
            create("app-01", services=["webshop", "theirs"]),
            create("Not A Slug"),
            create("web-01"),
            {"action": "update", "identifier": "web-01", "fields": {"name": "x"}},
            {"action": "update", "identifier": "web-01", "version": 1, "fields": {"colour": "red"}},
            relate("web-01", "depends_on", "web-01"),
            relate("web-01", "depends_on", "nowhere"),
            relate("web-01", "runs_on", "db-01"),
            {"action": "destroy", "identifier": "web-01"},
            {"action": ["create"], "identifier": "web-09"},
        )
    errors = refused.value.message_dict
    assert "there is no team 'Their hosting'" in errors["changes[0].owner"][0]
    assert "there is no service theirs" in errors["changes[1].services"][0]
    assert "not an identifier" in errors["changes[2].identifier"][0]
    assert "already in the register" in errors["changes[3].identifier"][0]
    assert "is required" in errors["changes[4].version"][0]
    assert "colour" in errors["changes[5].fields"][0]
    assert "itself" in errors["changes[6].target"][0]
    assert "no MIR item nowhere" in errors["changes[7].target"][0]
    assert "runs_on" in errors["changes[8].kind"][0]
    assert "destroy" in errors["changes[9].action"][0]
    assert "not one of create" in errors["changes[10].action"][0]
    assert list(MirItem.objects.values_list("identifier", flat=True)) == ["web-01"]
    assert MirChange.objects.count() == 1


def test_part_of_may_not_close_a_cycle(provider, organisation, record):
    record(
        provider,
        create("rack-1"),
        create("row-a"),
        create("hall"),
        relate("rack-1", "part_of", "row-a"),
        relate("row-a", "part_of", "hall"),
    )
    with pytest.raises(ValidationError) as refused:
        record(provider, relate("hall", "part_of", "rack-1"))
    assert "cycle among hall, rack-1, row-a" in refused.value.message_dict["changes[0].target"][0]
    assert MirRelation.objects.count() == 2
    # depends_on may go both ways: two systems often need each other.
    record(provider, relate("hall", "depends_on", "rack-1"), relate("rack-1", "depends_on", "hall"))


def test_retire_and_unrelate(provider, organisation, record):
    record(provider, create("web-01"), create("db-01"), relate("web-01", "depends_on", "db-01"))
    record(
        provider,
        {"action": "retire", "identifier": "db-01", "version": 1},
        {"action": "unrelate", "source": "web-01", "kind": "depends_on", "target": "db-01"},
    )
    assert state("db-01")[1:3] == ("retired", 2)
    assert state("web-01")[2] == 2 and not MirRelation.objects.exists()
    with pytest.raises(ValidationError, match="already retired"):
        record(provider, {"action": "retire", "identifier": "db-01", "version": 2})
    with pytest.raises(ValidationError, match="does not depend on"):
        record(
            provider,
            {"action": "unrelate", "source": "web-01", "kind": "depends_on", "target": "db-01"},
        )


def test_a_change_that_alters_nothing_leaves_no_trace(provider, organisation, record):
    record(provider, create("web-01", name="Web"))
    assert (
        record(
            provider,
            {"action": "update", "identifier": "web-01", "version": 1, "fields": {"name": "Web"}},
        )
        == []
    )
    assert state("web-01")[2] == 1 and MirChange.objects.count() == 1


def test_other_providers_items_are_out_of_reach(provider, other_provider, organisation, record):
    record(other_provider, create("web-01"))
    with pytest.raises(ValidationError, match="no MIR item web-01 at acme"):
        record(provider, {"action": "retire", "identifier": "web-01", "version": 1})
    record(provider, create("web-01"))
    assert MirItem.objects.filter(identifier="web-01").count() == 2


def test_a_change_call_must_be_named(provider, organisation):
    with pytest.raises(ValidationError, match="name the change call"):
        apply_changes(provider, [create("web-01")], reference=" ")
    assert not MirItem.objects.exists()
