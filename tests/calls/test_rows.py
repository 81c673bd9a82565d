"""The hand-compiled statements of the engine's hot path read and write exactly what the ORM
would: every column of a call the same, numbers in sequence per prefix, and a lost row refused
rather than silently ignored."""

import pytest
from django.db import DatabaseError, transaction
from django.forms.models import model_to_dict

from usm.calls import numbering, rows, services
from usm.calls.models import Call

pytestmark = pytest.mark.django_db


def columns(call: Call) -> dict:
    values = model_to_dict(call, exclude=["mir_items"])
    values.update(id=call.pk, to_do=Call.objects.values_list("to_do", flat=True).get(pk=call.pk))
    return values


def test_the_locked_read_gives_the_call_the_orm_gives(provider, desk, staff):
    call = services.register_call(
        provider,
        staff,
        call_type="incident",
        summary="Mail is down",
        requester=desk["requester"],
        service=desk["service"],
        impact=2,
        urgency=2,
    )
    services.complete_step(call, staff, call.step)
    with transaction.atomic():
        read = rows.locked(Call, call.pk)
    assert columns(read) == columns(Call.objects.get(pk=call.pk))
    assert read.attempts and read.response_due.tzinfo is not None


def test_a_call_that_is_gone_is_not_found(provider, desk, staff):
    with pytest.raises(Call.DoesNotExist), transaction.atomic():
        rows.locked(Call, 987654)


def test_an_update_writes_the_named_fields_and_refuses_a_missing_row(provider, desk, staff):
    call = services.register_call(provider, staff, call_type="wish", summary="x")
    Call.objects.filter(pk=call.pk).update(summary="changed elsewhere")
    call.summary = "mine"
    rows.save_fields(call, ("summary",))
    assert Call.objects.get(pk=call.pk).summary == "mine"
    call.pk = 987654
    with pytest.raises(DatabaseError, match="touched no row"):
        rows.save_fields(call, ("summary",))


def test_an_inserted_call_gets_its_id_and_every_column(provider, desk, staff):
    model = Call.objects.get(
        pk=services.register_call(provider, staff, call_type="risk", summary="r").pk
    )
    copy = Call.objects.get(pk=model.pk)
    copy.pk, copy.number, copy.root_id = None, "RSK-999999", None
    with transaction.atomic():
        rows.insert_one(copy)
    assert copy.pk and copy.pk != model.pk and not copy._state.adding
    stored = columns(Call.objects.get(pk=copy.pk))
    expected = columns(model) | {"id": copy.pk, "number": "RSK-999999", "root": None}
    assert stored == expected


def test_numbers_follow_each_other_per_prefix_from_the_first(provider, other_provider):
    with transaction.atomic():
        taken = [numbering.next_number(provider.pk, "INC") for _ in range(3)]
        taken.append(numbering.next_number(provider.pk, "RFC"))
        taken.append(numbering.next_number(other_provider.pk, "INC"))
    assert taken == ["INC-000001", "INC-000002", "INC-000003", "RFC-000001", "INC-000001"]
