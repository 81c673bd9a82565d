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
