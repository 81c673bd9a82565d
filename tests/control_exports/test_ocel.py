"""OCEL 2.0, JSON and SQLite, read back by pm4py and counted against what the database holds."""

import json
import sqlite3
from datetime import timedelta
from io import StringIO

import pm4py
import pytest
from django.db.models import F
from pm4py.objects.ocel.validation import ocel20_rel_validation

from tests.control_exports.conftest import MONDAY, bulk_log
from usm.calls import services
from usm.calls.models import Call, CallEvent, CallLink
from usm.control.exports.activities import activity
from usm.control.exports.object_centric import E_CALL, EventCall, ObjectCentricLog
from usm.control.exports.ocel import table_suffixes, write_ocel_json, write_ocel_sqlite
from usm.control.exports.selection import Selection
from usm.mir.models import MirItem
from usm.mir.services import admin_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def varied_log(provider, staff, walk, mir_item):
    """Every workflow once, two of them about a MIR item, one related to another, one aborted."""
    roots = [walk(n, MONDAY + timedelta(hours=n)) for n in range(1, 9)]
    roots.append(walk(2, MONDAY + timedelta(days=1), mir_items=[mir_item]))
    roots.append(walk(3, MONDAY + timedelta(days=2), mir_items=[mir_item]))
    services.link_calls(roots[0], roots[1], staff, "related")
    open_call = services.register_call(
        provider, staff, call_type="incident", summary="still open", at=MONDAY + timedelta(days=3)
    )
    services.abort_workflow(open_call, staff, "withdrawn", at=MONDAY + timedelta(days=3, hours=1))
    return roots


def expected_counts(provider) -> dict:
    """The log as the database holds it, counted without the exporter's code."""
    calls = list(Call.objects.filter(provider=provider))
    events = list(CallEvent.objects.filter(provider=provider).select_related("call"))
    mir = {call.pk: list(call.mir_items.all()) for call in calls}
    items = {item for related in mir.values() for item in related}
    services_ = {c.service_id for c in calls if c.service_id} | {
        s.pk for item in items for s in item.services.all()
    }
    teams = (
        {c.assignee_team_id for c in calls}
        | {e.team_id for e in events}
        | {item.owner_id for item in items}
    ) - {None}
    links = CallLink.objects.filter(source__provider=provider).exclude(kind="forked_into")
    workflows = [c for c in calls if c.root_id == c.pk]
    e2o = sum(
        2
        + bool(e.call.customer_id)
        + bool(e.call.service_id)
        + bool(e.team_id)
        + len(mir[e.call_id])
        + (e.kind == "registered" and e.call.parent_id is not None)
        for e in events
    )
    o2o = (
        sum(
            1
            + bool(c.parent_id)
            + bool(c.customer_id)
            + bool(c.service_id)
            + bool(c.assignee_team_id)
            + len(mir[c.pk])
            for c in calls
        )
        + links.count()
        + len(workflows)
        + sum(bool(item.owner_id) + item.services.count() for item in items)
    )
    return {
        "events": len(events),
        "objects": len(calls)
        + len(workflows)
        + len(items)
        + len(services_)
        + len({c.customer_id for c in calls} - {None})
        + len(teams),
        "event_object": e2o,
        "object_object": o2o,
        "event_types": len({activity(e.kind, e.process, e.step, e.status) for e in events}),
        "status_changes": sum(e.kind == "status_changed" and e.status != "" for e in events),
    }


def check_read_back(ocel, expected):
    assert len(ocel.events) == expected["events"]
    assert len(ocel.objects) == expected["objects"]
    assert len(ocel.relations) == expected["event_object"]
    assert len(ocel.o2o) == expected["object_object"]
    assert ocel.events["ocel:activity"].nunique() == expected["event_types"]
    assert set(ocel.objects["ocel:type"]) == {
        "call",
        "workflow",
        "MIR item",
        "service",
        "customer",
        "team",
    }
    # Each status a call moved to after registration is a change of the call object.
    assert len(ocel.object_changes) == expected["status_changes"]


def test_pm4py_reads_the_json_with_every_object_event_and_relation(provider, varied_log, tmp_path):
    path = tmp_path / "log.jsonocel"
    with path.open("w", encoding="utf-8") as out:
        counts = write_ocel_json(out, Selection(provider))
    expected = expected_counts(provider)
    assert {k: v for k, v in counts.as_dict().items() if k != "object_types"} == {
        k: v for k, v in expected.items() if k != "status_changes"
    }
    check_read_back(pm4py.read_ocel2_json(str(path)), expected)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert set(document) == {"objectTypes", "eventTypes", "objects", "events"}
    first_call = next(o for o in document["objects"] if o["type"] == "call")
    assert {"objectId": f"workflow:{first_call['id'][5:]}", "qualifier": "part of workflow"} in (
        first_call["relationships"]
    )


def test_pm4py_reads_the_sqlite_database_which_keeps_the_standard_layout(
    provider, varied_log, tmp_path
):
    path = tmp_path / "log.sqlite"
    counts = write_ocel_sqlite(path, Selection(provider))
    expected = expected_counts(provider)
    assert counts.events == expected["events"] and counts.objects == expected["objects"]
    satisfied, unsatisfied = ocel20_rel_validation.apply(str(path))
    assert unsatisfied == [] and len(satisfied) == 24
    check_read_back(pm4py.read_ocel2_sqlite(str(path)), expected)
    db = sqlite3.connect(path)
    try:
        mapped = dict(db.execute("SELECT ocel_type, ocel_type_map FROM object_map_type"))
        assert mapped["MIR item"] == "MIRitem"
        (changes,) = db.execute(
            "SELECT count(*) FROM object_call WHERE ocel_changed_field = 'status'"
        ).fetchone()
        assert changes == expected["status_changes"]
    finally:
        db.close()


def test_json_and_sqlite_hold_the_same_log(provider, varied_log, tmp_path):
    out = StringIO()
    from_json = write_ocel_json(out, Selection(provider))
    from_sqlite = write_ocel_sqlite(tmp_path / "log.sqlite", Selection(provider))
    assert from_json == from_sqlite


def test_a_mir_item_is_related_to_the_calls_and_events_about_it(provider, varied_log, tmp_path):
    path = tmp_path / "log.json"
    with path.open("w", encoding="utf-8") as out:
        write_ocel_json(out, Selection(provider))
    ocel = pm4py.read_ocel2_json(str(path))
    item = MirItem.objects.get(identifier="mail-01")
    about = Call.objects.filter(mir_items=item)
    touching = ocel.relations[ocel.relations["ocel:oid"] == "mir:mail-01"]
    assert touching["ocel:eid"].nunique() == CallEvent.objects.filter(call__in=about).count()
    o2o = ocel.o2o
    assert set(o2o[o2o["ocel:oid_2"] == "mir:mail-01"]["ocel:oid"]) == {
        f"call:{n}" for n in about.values_list("number", flat=True)
    }
    assert set(o2o[o2o["ocel:oid"] == "mir:mail-01"]["ocel:qualifier"]) == {"owned by", "serves"}


def test_the_sqlite_file_appears_only_when_complete(provider, varied_log, tmp_path, monkeypatch):
    from usm.control.exports import ocel

    path = tmp_path / "log.sqlite"
    path.write_bytes(b"the previous export")

    def broken(*args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(ocel, "_write_events", broken)
    with pytest.raises(RuntimeError):
        write_ocel_sqlite(path, Selection(provider))
    assert path.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["log.sqlite"]


def test_table_names_are_unique_and_never_a_shared_table():
    suffixes = table_suffixes(["INC-3 Analyse", "INC 3 Analyse", "object", "map type", "!!"])
    assert suffixes == {
        "INC-3 Analyse": "INC3Analyse",
        "INC 3 Analyse": "INC3Analyse2",
        "object": "object2",
        "map type": "maptype",
        "!!": "type",
    }


def test_workflow_objects_name_their_template(provider, walk, tmp_path):
    walk(6)
    out = StringIO()
    write_ocel_json(out, Selection(provider))
    document = json.loads(out.getvalue())
    (workflow,) = [o for o in document["objects"] if o["type"] == "workflow"]
    values = {a["name"]: a["value"] for a in workflow["attributes"]}
    assert values["template"] == 6 and values["accepting_process"] == "IMP"
    root = Call.objects.get(provider=provider, root_id=F("pk"))
    assert workflow["relationships"] == [
        {"objectId": f"call:{root.number}", "qualifier": "accepted by"}
    ]


def test_chunk_boundaries_change_nothing(provider, desk, varied_log, walk, mir_item, tmp_path):
    """An event concerning two MIR items arrives as two rows, which may fall into different
    chunks; written one row per chunk, the log is the same as written in one chunk."""
    report = admin_import(
        provider,
        [{"identifier": "mail-02", "name": "Spare mail server", "type": "server"}],
        actor=None,
        batch="tests",
    )
    assert not report.errors
    spare = MirItem.objects.get(provider=provider, identifier="mail-02")
    walk(4, MONDAY + timedelta(days=4), mir_items=[mir_item, spare])
    whole, piecemeal = StringIO(), StringIO()
    counts = write_ocel_json(whole, Selection(provider))
    assert write_ocel_json(piecemeal, Selection(provider), chunk_size=1) == counts
    assert json.loads(piecemeal.getvalue()) == json.loads(whole.getvalue())
    concerning = [
        event
        for event in json.loads(whole.getvalue())["events"]
        if {"objectId": "mir:mail-02", "qualifier": "concerns"} in event["relationships"]
    ]
    assert concerning and all(
        {"objectId": "mir:mail-01", "qualifier": "concerns"} in event["relationships"]
        for event in concerning
    )
    tables = {}
    for name, size in (("whole", 2000), ("piecemeal", 1)):
        path = tmp_path / f"{name}.sqlite"
        assert write_ocel_sqlite(path, Selection(provider), chunk_size=size) == counts
        db = sqlite3.connect(path)
        try:
            tables[name] = sorted(db.execute("SELECT * FROM event_object"))
        finally:
            db.close()
    assert tables["whole"] == tables["piecemeal"]


def test_each_chunk_knows_its_calls_and_keeps_only_two_chunks_of_them(provider, desk, varied_log):
    bulk_log(provider, desk, 60, 2, start=MONDAY + timedelta(days=10))
    most = 0
    for rows, references in ObjectCentricLog(Selection(provider), chunk_size=5).event_rows():
        most = max(most, len(references.calls))
        for row in rows:
            call = Call.objects.select_related("root", "parent", "customer", "service").get(
                pk=row[E_CALL]
            )
            items = call.mir_items.order_by("identifier").values_list("identifier", flat=True)
            assert references.calls[row[E_CALL]] == EventCall(
                call.number,
                call.root.number,
                call.parent.number if call.parent else None,
                call.customer.code if call.customer else None,
                call.service.code if call.service else None,
                tuple(items),
            )
    assert most <= 2 * 5
