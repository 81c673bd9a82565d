"""An export reads the whole log in an order of its own; on SQLite it must walk an index already
in that order, not sort the log first (on a big register the sort comes before the first row).
What the rows refer to is looked up by key, never by reading a whole table."""

import pytest
from django.db import connection
from django.db.models import Q

from usm.control.exports.object_centric import EVENT_FIELDS, EventReferences, ObjectCentricLog
from usm.control.exports.rows import timestamp_text
from usm.control.exports.selection import Selection
from usm.control.exports.xes import FIELDS

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner"),
]


def plan(queryset, fields) -> list[str]:
    sql, params = queryset.values_list(*fields).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return [row[-1] for row in cursor.fetchall()]


def test_no_export_sorts_the_whole_log(provider, walk):
    walk(4)
    with connection.cursor() as cursor:
        # An index starting with the provider that serves none of the export orders, as a
        # KPI's (provider, kind, at) does: the planner must not take it and sort.
        cursor.execute(
            "CREATE INDEX test_event_provider_kind ON calls_callevent (provider_id, kind, at)"
        )
    selection = Selection(provider)
    log = ObjectCentricLog(selection)
    orders = {
        "ocel json": (log.event_query(), EVENT_FIELDS),
        "ocel sqlite": (log.event_query(in_time_order=False), EVENT_FIELDS),
        "xes": (
            selection.events(Q(kind="step_completed"))
            .annotate(at_text=timestamp_text("at"))
            .order_by("root_id", "at", "id"),
            FIELDS,
        ),
    }
    for name, (queryset, fields) in orders.items():
        steps = plan(queryset, fields)
        # Sorting ties (the right part of the order) is cheap; sorting everything is not.
        assert "USE TEMP B-TREE FOR ORDER BY" not in steps, (name, steps)


def test_the_calls_of_a_chunk_are_looked_up_by_key(provider, walk):
    walk(4)
    references = EventReferences(chunk_size=10)
    for lookup in (references._calls, references._mir_items):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + lookup.sql, ["[1, 2]"])
            steps = [row[-1] for row in cursor.fetchall()]
        assert not any(step.startswith("SCAN calls_call") for step in steps), steps
        assert "USE TEMP B-TREE FOR ORDER BY" not in steps, steps


# sqlite_stat1 of the bench's register of 1M calls and 12.5M events (after its ANALYZE), for the
# indexes the selection could use: SQLite plans a test's small register as it plans that one.
BIG_REGISTER = {
    "calls_callevent": {
        "event_kind_time": "12525064 12525064 1565633 1",
        "event_workflow_time": "12525064 23 2",
        "event_provider_time": "12525064 12525064 2",
        "calls_callevent_call_id_511c7c00": "12525064 13",
        "calls_callevent_at_c2a5e5b4": "12525064 2",
        "step_attempt_once": "6652089 7 1 1",
    },
    "calls_call": {
        "call_registered_cover": "1000002 1000002 1 1 1 1 1 1",
        "call_resolution_due": "1000002 1000002 1",
        "call_response_due": "1000002 1000002 1",
        "call_ended_time": "1000002 1000002 1",
        "call_todo_by_due": "1000002 1000002 500001 1 1",
        "call_todo_team_queue": "1000002 1000002 166667 90910 1 1",
        "call_root": "1000002 2",
        "call_external_ref": "1000002 1000002 3985",
        "call_process_time": "1000002 1000002 200001 1",
        "calls_call_parent_id_52df544b": "1000002 3",
        "calls_call_service_id_eb9576b1": "1000002 90910",
        "calls_call_requester_id_68a74890": "1000002 47620",
        "calls_call_provider_id_efc27456": "1000002 1000002",
        "calls_call_customer_id_e027fdd7": "1000002 47620",
        "calls_call_created_by_id_1ecc9d1d": "1000002 1000002",
        "calls_call_assignee_team_id_5605845e": "1000002 166667",
        "calls_call_assignee_id_d89c72f6": "1000002 1000002",
        "calls_call_agreement_id_44bb8e68": "1000002 47620",
        "sqlite_autoindex_calls_call_1": "1000002 1000002 1",
    },
}


def planned_as_a_big_register() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # makes sqlite_stat1
        cursor.execute("DELETE FROM sqlite_stat1")
        for table, indexes in BIG_REGISTER.items():
            for index, stat in indexes.items():
                cursor.execute("INSERT INTO sqlite_stat1 VALUES (%s, %s, %s)", [table, index, stat])
        cursor.execute("ANALYZE sqlite_schema")  # reloads the statistics


def test_a_period_reads_its_workflows_events_from_their_roots(provider, walk):
    """A period selects a tenth of a big register: its calls and events are found from the
    accepting calls registered in it, down the indexes on the root, never by reading the whole
    log or register (which SQLite, given a big register's statistics, would otherwise do)."""
    from datetime import timedelta

    from usm.calls.models import Call

    for _ in range(3):
        walk(4)
    since = Call.objects.order_by("created_at").values_list("created_at", flat=True)[1]
    selection = Selection(provider, since=since - timedelta(microseconds=1))
    planned_as_a_big_register()
    log = ObjectCentricLog(selection)
    reads = {
        "ocel": (log.event_query(), EVENT_FIELDS),
        "xes": (
            selection.events(Q(kind="step_completed"))
            .annotate(at_text=timestamp_text("at"))
            .order_by("root_id", "at", "id"),
            FIELDS,
        ),
        "calls": (selection.calls().order_by("pk"), ("pk", "number")),
    }
    by_root = ("INDEX event_workflow_time (root_id=?)", "INDEX call_root (root_id=?)")
    for name, (queryset, fields) in reads.items():
        steps = plan(queryset, fields)
        assert any(index in step for step in steps for index in by_root), (name, steps)
        assert not any("event_kind_time" in step for step in steps), (name, steps)
        assert not any(step.startswith("SCAN calls_call") for step in steps), (name, steps)


@pytest.mark.django_db(transaction=True)
def test_an_export_reads_with_a_small_page_cache_and_gives_it_back(provider):
    """SQLite sorts a period's rows in as much memory as the page cache may take: an export
    reads with a smaller one, and the connection has its own back afterwards."""
    from usm.control.exports.selection import EXPORT_CACHE_KIB, snapshot

    def cache_size() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return cursor.fetchone()[0]

    before = cache_size()
    assert before != EXPORT_CACHE_KIB
    with snapshot():
        assert cache_size() == EXPORT_CACHE_KIB
    assert cache_size() == before
