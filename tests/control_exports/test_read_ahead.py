"""Reading ahead (PostgreSQL): a thread reads the next chunk, and an event chunk's calls, on the
same connection while the chunk before is used. What is read must be what reading in turn reads,
and a reader that stops early must leave the connection as it found it."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from tests.control_exports.conftest import MONDAY, bulk_log
from usm.calls.models import Call, CallEvent
from usm.control.exports.object_centric import ATTRIBUTES, E_CALL, E_TEAM, ObjectCentricLog
from usm.control.exports.rows import chunks, chunks_ahead
from usm.control.exports.selection import Selection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="only PostgreSQL's rows are read ahead"
    ),
]


@pytest.fixture
def log_with_forks(provider, desk, walk, mir_item):
    """Workflows with forks and MIR items, and a bulk of plain ones, spread over many chunks."""
    walk(2, MONDAY, mir_items=[mir_item])
    walk(4, MONDAY + timedelta(hours=1))
    walk(6, MONDAY + timedelta(hours=2))
    bulk_log(provider, desk, 40, 3, start=MONDAY + timedelta(days=1))


def _events():
    return CallEvent.objects.order_by("id")


def test_chunks_ahead_are_the_chunks_prepared_in_another_thread(provider, log_with_forks):
    fields = ("id", "call_id")
    in_turn = list(chunks(_events(), fields, 7))
    prepared_in = set()

    def prepare(chunk, driver):
        prepared_in.add(threading.get_ident())
        return [pk for pk, _ in chunk]

    ahead = list(chunks_ahead(_events(), fields, 7, prepare))
    assert len(in_turn) > 3
    assert [chunk for chunk, _ in ahead] == in_turn
    assert [ids for _, ids in ahead] == [[pk for pk, _ in chunk] for chunk in in_turn]
    assert prepared_in and threading.get_ident() not in prepared_in
    assert list(chunks(_events(), fields, 7, read_ahead=True)) == in_turn


def test_the_log_read_ahead_is_the_log_read_in_turn(provider, log_with_forks):
    in_turn = ObjectCentricLog(Selection(provider), chunk_size=4)
    ahead = ObjectCentricLog(Selection(provider), chunk_size=4, read_ahead=True)
    assert ahead.read_ahead and not in_turn.read_ahead
    assert list(ahead.objects()) == list(in_turn.objects())

    def described(log):
        # What a writer takes of each event: the row, its call, its attributes' values and
        # its team's name, through the references handed out with the row's chunk.
        return [
            (
                row,
                references.calls[row[E_CALL]],
                references.values(row[ATTRIBUTES]),
                references.team(row[E_TEAM]),
            )
            for rows, references in log.event_rows()
            for row in rows
        ]

    events = described(in_turn)
    assert len(events) == CallEvent.objects.count()
    assert described(ahead) == events


def test_a_reader_stopping_early_leaves_the_connection_usable(provider, log_with_forks):
    calls = Call.objects.count()
    reading = chunks_ahead(_events(), ("id",), 5, lambda chunk, driver: None)
    next(reading)
    reading.close()
    assert Call.objects.count() == calls

    def failing(chunk, driver):
        raise LookupError("no such call")

    with pytest.raises(LookupError):
        list(chunks_ahead(_events(), ("id",), 5, failing))
    assert Call.objects.count() == calls
