"""Calls and their events are numbered without SQLite's sequence table (it would cost each step's
commit a page), and their ids still grow in the order they are written: the KPI tallies and the
conformance checker remember how far they read by event id."""

import re

import pytest
from django.db import connection

from usm.calls import services
from usm.calls.models import Call, CallEvent

pytestmark = pytest.mark.django_db


def register(provider, desk, staff, summary: str) -> Call:
    return services.register_call(
        provider,
        staff,
        call_type="incident",
        summary=summary,
        requester=desk["requester"],
        service=desk["service"],
        impact=2,
        urgency=2,
    )


def test_ids_grow_in_the_order_rows_are_written(provider, desk, staff):
    first = register(provider, desk, staff, "Mail is down")
    second = register(provider, desk, staff, "Mail is slow")
    services.complete_step(first, staff, first.step)
    assert second.pk > first.pk
    events = list(CallEvent.objects.order_by("pk").values_list("call_id", flat=True))
    # Each registration's events, then the first call's step: by id, as they were written.
    assert events[-1] == first.pk
    assert events.index(second.pk) > events.index(first.pk)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's AUTOINCREMENT")
def test_sqlite_numbers_calls_and_events_without_its_sequence_table(provider, desk, staff):
    call = register(provider, desk, staff, "Mail is down")
    services.complete_step(call, staff, call.step)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE name IN ('calls_call', 'calls_callevent')"
        )
        tables = dict(cursor.fetchall())
        cursor.execute("SELECT name FROM sqlite_sequence")
        sequenced = {name for (name,) in cursor.fetchall()}
    assert set(tables) == {"calls_call", "calls_callevent"}
    for name, sql in tables.items():
        assert re.search(r'"id" integer NOT NULL PRIMARY KEY[,)]', sql), (name, sql)
        assert "AUTOINCREMENT" not in sql, (name, sql)
    assert not sequenced & set(tables)
    # Other tables keep Django's usual key.
    assert "calls_callcounter" in sequenced
