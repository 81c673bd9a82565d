"""The MIR refuses every write that does not come through one of its two doors."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from usm.mir.guard import MirClosed, current_route
from usm.mir.models import MirChange, MirItem, MirRelation

from .conftest import create, relate

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded(provider, organisation, record):
    record(provider, create("web-01"), create("db-01"), relate("web-01", "depends_on", "db-01"))
    return MirItem.objects.get(identifier="web-01")


def test_a_direct_create_is_refused_and_writes_nothing(provider):
    with pytest.raises(MirClosed, match="only through Change"):
        MirItem.objects.create(provider=provider, identifier="web-01", name="Web", type="server")
    with pytest.raises(MirClosed):
        MirItem.objects.bulk_create(
            [MirItem(provider=provider, identifier="db-01", name="DB", type="server")]
        )
    assert not MirItem.objects.exists()


def test_save_delete_and_bulk_writes_of_a_recorded_item_are_refused(recorded):
    recorded.name = "Renamed"
    with pytest.raises(MirClosed):
        recorded.save()
    with pytest.raises(MirClosed):
        recorded.delete()
    with pytest.raises(MirClosed):
        MirItem.objects.filter(pk=recorded.pk).update(name="Renamed")
    with pytest.raises(MirClosed):
        MirItem.objects.filter(pk=recorded.pk).delete()
    with pytest.raises(MirClosed):
        MirItem.objects.bulk_update([recorded], ["name"])
    recorded.refresh_from_db()
    assert recorded.name == "Web 01" and recorded.version == 1
    assert MirItem.objects.count() == 2


def test_relations_and_services_are_guarded_too(recorded, organisation):
    db = MirItem.objects.get(identifier="db-01")
    with pytest.raises(MirClosed):
        MirRelation.objects.create(source=db, kind="depends_on", target=recorded)
    with pytest.raises(MirClosed):
        MirRelation.objects.all().delete()
    # add() runs in an atomic block of its own; a savepoint keeps the test's transaction usable.
    with pytest.raises(MirClosed), transaction.atomic():
        recorded.services.add(organisation["webshop"])
    with pytest.raises(MirClosed), transaction.atomic():
        organisation["webshop"].mir_items.add(recorded)
    assert MirRelation.objects.count() == 1
    assert not recorded.services.exists()


def test_the_door_closes_again_after_a_write_even_a_failed_one(provider, organisation, record):
    record(provider, create("web-01"))
    assert current_route() is None
    with pytest.raises(ValidationError, match="already in the register"):
        record(provider, create("web-01"))
    assert current_route() is None
    assert MirChange.objects.count() == 1
