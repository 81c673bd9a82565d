"""The OCEL 2.0 SQLite writer's own ways: a missing value is bound so that SQLite stores NULL,
what is sent to SQLite once and forgotten again changes nothing, and a failure in the thread
that spreads the events is the export's."""

import sqlite3
from collections import Counter
from datetime import timedelta

import pytest

from tests.control_exports.conftest import MONDAY
from usm.control.exports import ocel
from usm.control.exports.ocel import write_ocel_sqlite
from usm.control.exports.selection import Selection

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(provider, walk, mir_item):
    for n in (1, 4, 5):
        walk(n, MONDAY + timedelta(hours=n))
    walk(2, MONDAY + timedelta(days=1), mir_items=[mir_item])


def dump(path) -> list[str]:
    """The whole database as SQL, rows in the order they are stored."""
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def test_a_missing_value_is_null(provider, log, tmp_path):
    path = tmp_path / "log.sqlite"
    write_ocel_sqlite(path, Selection(provider))
    db = sqlite3.connect(path)
    try:
        typed = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name.startswith(("event_", "object_")) and not name.endswith(("_object", "_type"))
        ]
        kinds = Counter()
        for table in typed:
            for _, column, *_ in db.execute(f'PRAGMA table_info("{table}")'):
                kinds.update(
                    kind for (kind,) in db.execute(f'SELECT typeof("{column}") FROM "{table}"')
                )
        changed = db.execute(
            "SELECT typeof(call_type), typeof(priority), typeof(status) FROM object_call"
            " WHERE ocel_changed_field = 'status'"
        ).fetchall()
    finally:
        db.close()
    # No attribute is a number with a fraction: a REAL would be a missing value gone wrong.
    assert kinds["real"] == 0 and kinds["null"] > 0
    assert changed and set(changed) == {("null", "null", "text")}


@pytest.mark.parametrize("overlapping", [True, False])
def test_forgetting_what_was_sent_changes_nothing(
    provider, log, tmp_path, monkeypatch, overlapping
):
    """Written a row per chunk, with every combination of attribute values, team and call sent
    again once the chunk after is read, the file is the same, row for row."""
    whole = tmp_path / "whole.sqlite"
    write_ocel_sqlite(whole, Selection(provider))
    monkeypatch.setattr(ocel, "second_thread_pays", lambda: overlapping)
    monkeypatch.setattr(ocel, "PIECES_KEPT", 1)
    piecemeal = tmp_path / "piecemeal.sqlite"
    write_ocel_sqlite(piecemeal, Selection(provider), chunk_size=1)
    assert dump(piecemeal) == dump(whole)


def test_a_failure_while_spreading_events_fails_the_export(provider, log, tmp_path, monkeypatch):
    path = tmp_path / "log.sqlite"
    path.write_bytes(b"the previous export")
    monkeypatch.setattr(ocel, "second_thread_pays", lambda: True)
    # One value too many for the table: SQLite refuses it in the spreading thread.
    monkeypatch.setattr(ocel, "SPREAD", "INSERT INTO ocel_spread VALUES (0, 0)")
    with pytest.raises(sqlite3.OperationalError):
        write_ocel_sqlite(path, Selection(provider), chunk_size=5)
    assert path.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["log.sqlite"]
