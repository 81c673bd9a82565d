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


def test_an_event_written_from_its_values_is_the_row_the_orm_writes(provider, desk, staff):
    from usm.calls import event_log
    from usm.calls.models import CallEvent

    call = services.register_call(
        provider, staff, call_type="incident", summary="x", service=desk["service"]
    )
    at = call.created_at
    with transaction.atomic():
        event_log.record(call, "linked", at, staff, step="INC-1", outcome="INC-9", detail="d")
    ours = CallEvent.objects.filter(call=call, kind="linked").values().get()
    CallEvent.objects.create(
        provider=provider,
        call=call,
        root=call,
        process=call.process,
        step="INC-1",
        workflow=call.workflow,
        kind="linked",
        outcome="INC-9",
        detail="d",
        actor=staff,
        profile_id=call.responsible_profile_id,
        team_id=call.assignee_team_id,
        at=at,
    )
    theirs = CallEvent.objects.filter(call=call, kind="linked").exclude(pk=ours["id"]).values()
    assert {**ours, "id": None} == {**theirs.get(), "id": None}


def test_an_update_leaves_out_the_fields_still_holding_what_was_read(provider, desk, staff):
    call = services.register_call(provider, staff, call_type="wish", summary="x")
    read = rows.values_of(call, ("summary", "category"))
    # Nobody writes a locked row behind the services' back; here it shows what is left out.
    Call.objects.filter(pk=call.pk).update(summary="changed elsewhere")
    call.category = "mail"
    rows.save_fields(call, ("summary", "category"), read=read)
    assert Call.objects.values_list("summary", "category").get(pk=call.pk) == (
        "changed elsewhere",
        "mail",
    )


def test_events_are_not_written_for_a_move_that_touched_no_row(provider, desk, staff):
    from usm.calls.models import CallEvent

    call = services.register_call(provider, staff, call_type="wish", summary="x")
    events = CallEvent.objects.count()
    call.pk, call.step = 987654, "CTM-2"
    row = {"provider_id": provider.pk, "call_id": 987654, "root_id": 987654, "process": "CTM"}
    row |= {"kind": "step_completed", "at": call.created_at}
    with pytest.raises(DatabaseError, match="touched no row"), transaction.atomic():
        rows.save_fields(call, ("step",), then_insert=(CallEvent, [row, row]))
    assert CallEvent.objects.count() == events


def test_the_parties_read_with_a_call_need_no_statement_of_their_own(
    provider, desk, staff, django_assert_num_queries
):
    call = services.register_call(
        provider,
        staff,
        call_type="incident",
        summary="x",
        requester=desk["requester"],
        customer=desk["customer"],
        service=desk["service"],
    )
    with transaction.atomic():
        read = rows.locked(Call, call.pk, related=("provider", "customer", "requester", "service"))
    with django_assert_num_queries(0):
        assert (read.provider, read.customer, read.requester, read.service) == (
            provider,
            desk["customer"],
            desk["requester"],
            desk["service"],
        )


def test_a_json_value_changed_in_place_since_it_was_read_is_written(provider, desk, staff):
    call = services.register_call(provider, staff, call_type="wish", summary="x")
    read = rows.values_of(call, ("attempts", "marks"))
    call.attempts["CTM-1"] = 2
    rows.save_fields(call, ("attempts", "marks"), read=read)
    assert Call.objects.get(pk=call.pk).attempts == {"CTM-1": 2}


def _prepared_here() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def test_on_postgresql_the_steps_statements_are_prepared_once(provider, desk, staff):
    """The engine's statements are planned once per connection on PostgreSQL, and only when the
    connection allows prepared statements (a pooler that loses them has them turned off)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    call = services.register_call(provider, staff, call_type="incident", summary="Mail is down")
    services.complete_step(call, staff, call.step)
    prepared = _prepared_here()
    assert any('FROM "calls_call"' in text and "FOR UPDATE" in text for text in prepared)
    assert any('INSERT INTO "calls_callevent"' in text for text in prepared)
    call.refresh_from_db()
    services.complete_step(call, staff, call.step)
    assert len(_prepared_here() - prepared) <= 2  # only the shapes this step met first

    connection.connection.prepare_threshold = None
    before = _prepared_here()
    other = services.register_call(provider, staff, call_type="wish", summary="Off")
    services.complete_step(other, staff, other.step)
    assert _prepared_here() == before
    assert Call.objects.get(pk=other.pk).version > other.version  # written all the same


@pytest.mark.django_db(transaction=True)
def test_statements_take_djangos_cursor_outside_a_transaction_only(
    provider, desk, staff, monkeypatch
):
    """Inside a transaction the engine's statements go to the driver without a Django cursor
    each; outside one (nothing has opened or checked the connection for them) they take
    Django's own way, and write the same."""
    from django.db import DEFAULT_DB_ALIAS, connections

    db = connections[DEFAULT_DB_ALIAS]
    call = services.register_call(provider, staff, call_type="wish", summary="x")
    made = []
    django_cursor = db.cursor
    monkeypatch.setattr(db, "cursor", lambda: made.append(1) or django_cursor())
    call.summary = "outside"
    rows.save_fields(call, ("summary",))
    assert made and Call.objects.get(pk=call.pk).summary == "outside"
    with transaction.atomic():
        made.clear()  # Django's own BEGIN
        call.summary = "inside"
        rows.save_fields(call, ("summary",))
        assert rows.locked(Call, call.pk).summary == "inside"
        call.pk = 987654
        with pytest.raises(DatabaseError, match="touched no row"):
            rows.save_fields(call, ("summary",))
        # On PostgreSQL only where the connection prepares statements (an earlier test may have
        # turned that off on this connection): otherwise Django's cursor binds them.
        direct = db.vendor == "sqlite" or db.connection.prepare_threshold is not None
        assert not made if direct else made
    assert Call.objects.filter(summary="inside").count() == 1
