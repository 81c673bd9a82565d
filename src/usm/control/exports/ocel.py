"""The event log as OCEL 2.0, in its JSON and its SQLite encoding (see `object_centric` for what
the objects and events are).

Both writers stream: JSON is written object by object and event by event into one document;
SQLite receives rows in batches. The SQLite file is built under a temporary name and renamed into
place once complete (see `files`).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from usm.control.exports.files import replacing
from usm.control.exports.object_centric import (
    EVENT_ATTRIBUTES,
    OBJECT_TYPES,
    ObjectCentricLog,
    OcelEvent,
    OcelObject,
)
from usm.control.exports.selection import CHUNK_SIZE, Selection, snapshot

# The time OCEL 2.0 gives an object attribute that does not change.
ALWAYS = "1970-01-01T00:00:00Z"
SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "float": "REAL", "boolean": "BOOLEAN"}


@dataclass(frozen=True)
class OcelCounts:
    event_types: int
    object_types: int
    events: int
    objects: int
    event_object: int
    object_object: int

    def as_dict(self) -> dict:
        return asdict(self)


def _time(at: datetime | None) -> str:
    if at is None:
        return ALWAYS
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- JSON ----------------------------------------------------------------------------------------
def _dumps(value) -> str:
    # ensure_ascii keeps any text a database holds (lone surrogates included) valid JSON.
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def _type_json(name: str, attributes) -> str:
    return _dumps(
        {"name": name, "attributes": [{"name": a, "type": kind} for a, kind in attributes]}
    )


def _object_json(item: OcelObject) -> str:
    return _dumps(
        {
            "id": item.id,
            "type": item.type,
            "attributes": [
                {"name": name, "value": value, "time": _time(at)}
                for name, value, at in item.attributes
            ],
            "relationships": [
                {"objectId": target, "qualifier": qualifier}
                for target, qualifier in item.relationships
            ],
        }
    )


def _event_json(event: OcelEvent) -> str:
    return _dumps(
        {
            "id": event.id,
            "type": event.type,
            "time": _time(event.time),
            "attributes": [{"name": name, "value": value} for name, value in event.attributes],
            "relationships": [
                {"objectId": target, "qualifier": qualifier}
                for target, qualifier in event.relationships
            ],
        }
    )


def _json_array(out: TextIO, key: str, lines: Iterator[str], last: bool = False) -> int:
    out.write(f'"{key}":[')
    count = 0
    for line in lines:
        out.write(",\n" if count else "\n")
        out.write(line)
        count += 1
    out.write("\n]" + ("" if last else ",\n"))
    return count


def write_ocel_json(
    out: TextIO, selection: Selection, *, chunk_size: int = CHUNK_SIZE
) -> OcelCounts:
    """Write the selected workflows to `out` as one OCEL 2.0 JSON document."""
    log = ObjectCentricLog(selection, chunk_size)
    relations = {"event_object": 0, "object_object": 0}

    def objects() -> Iterator[str]:
        for item in log.objects():
            relations["object_object"] += len(item.relationships)
            yield _object_json(item)

    def events() -> Iterator[str]:
        for event in log.events():
            relations["event_object"] += len(event.relationships)
            yield _event_json(event)

    with snapshot():
        event_types = log.event_types()
        out.write("{\n")
        _json_array(
            out,
            "objectTypes",
            (_type_json(name, attributes) for name, attributes in OBJECT_TYPES.items()),
        )
        _json_array(out, "eventTypes", (_type_json(name, EVENT_ATTRIBUTES) for name in event_types))
        object_count = _json_array(out, "objects", objects())
        event_count = _json_array(out, "events", events(), last=True)
        out.write("\n}\n")
    return OcelCounts(
        event_types=len(event_types),
        object_types=len(OBJECT_TYPES),
        events=event_count,
        objects=object_count,
        **relations,
    )


# -- SQLite --------------------------------------------------------------------------------------
def table_suffixes(type_names: list[str]) -> dict[str, str]:
    """OCEL 2.0 names each type's own table `event_<suffix>` / `object_<suffix>`: the type name
    reduced to letters and digits, made unique, never colliding with the shared tables."""
    taken = {"object", "map_type"}
    suffixes = {}
    for name in type_names:
        base = re.sub(r"[^0-9A-Za-z]", "", name) or "type"
        suffix, n = base, 1
        while suffix.lower() in taken:
            n += 1
            suffix = f"{base}{n}"
        taken.add(suffix.lower())
        suffixes[name] = suffix
    return suffixes


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


SCHEMA = """
CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT NOT NULL);
CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT NOT NULL);
CREATE TABLE event (
    ocel_id TEXT PRIMARY KEY,
    ocel_type TEXT NOT NULL REFERENCES event_map_type (ocel_type)
);
CREATE TABLE object (
    ocel_id TEXT PRIMARY KEY,
    ocel_type TEXT NOT NULL REFERENCES object_map_type (ocel_type)
);
CREATE TABLE event_object (
    ocel_event_id TEXT NOT NULL REFERENCES event (ocel_id),
    ocel_object_id TEXT NOT NULL REFERENCES object (ocel_id),
    ocel_qualifier TEXT NOT NULL,
    PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier)
);
CREATE TABLE object_object (
    ocel_source_id TEXT NOT NULL REFERENCES object (ocel_id),
    ocel_target_id TEXT NOT NULL REFERENCES object (ocel_id),
    ocel_qualifier TEXT NOT NULL,
    PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier)
);
"""


def _columns(attributes) -> str:
    return "".join(f", {_quoted(name)} {SQL_TYPES.get(kind, 'TEXT')}" for name, kind in attributes)


def _create_type_tables(db: sqlite3.Connection, event_types: list[str]) -> tuple[dict, dict]:
    event_tables = {name: f"event_{s}" for name, s in table_suffixes(event_types).items()}
    object_tables = {name: f"object_{s}" for name, s in table_suffixes(list(OBJECT_TYPES)).items()}
    db.executemany(
        "INSERT INTO event_map_type VALUES (?, ?)",
        [(name, table.removeprefix("event_")) for name, table in event_tables.items()],
    )
    db.executemany(
        "INSERT INTO object_map_type VALUES (?, ?)",
        [(name, table.removeprefix("object_")) for name, table in object_tables.items()],
    )
    for table in event_tables.values():
        db.execute(
            f"CREATE TABLE {_quoted(table)} (ocel_id TEXT PRIMARY KEY REFERENCES event (ocel_id),"
            f" ocel_time TIMESTAMP NOT NULL{_columns(EVENT_ATTRIBUTES)})"
        )
    for name, table in object_tables.items():
        # One row for the object as first known, then one per changed attribute value.
        db.execute(
            f"CREATE TABLE {_quoted(table)} (ocel_id TEXT NOT NULL REFERENCES object (ocel_id),"
            f" ocel_time TIMESTAMP NOT NULL, ocel_changed_field TEXT"
            f"{_columns(OBJECT_TYPES[name])})"
        )
    return event_tables, object_tables


class _Batches:
    """Rows waiting to be inserted, per statement; flushed once `size` rows are waiting."""

    def __init__(self, db: sqlite3.Connection, size: int):
        self.db, self.size = db, size
        self.pending: dict[str, list[tuple]] = {}
        self.waiting = 0

    def add(self, statement: str, row: tuple) -> None:
        self.pending.setdefault(statement, []).append(row)
        self.waiting += 1
        if self.waiting >= self.size:
            self.flush()

    def flush(self) -> None:
        for statement, rows in self.pending.items():
            self.db.executemany(statement, rows)
        self.pending.clear()
        self.waiting = 0


def _insert(table: str, width: int) -> str:
    return f"INSERT INTO {_quoted(table)} VALUES ({', '.join('?' * width)})"


def _sqlite_value(value):
    # Text SQLite cannot store as UTF-8 (a lone surrogate) is replaced, not refused.
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _write_objects(batches: _Batches, log: ObjectCentricLog, tables: dict) -> tuple[int, int]:
    objects = relations = 0
    for item in log.objects():
        batches.add(_insert("object", 2), (item.id, item.type))
        declared = [name for name, _ in OBJECT_TYPES[item.type]]
        base = dict.fromkeys(declared)
        changes = []
        for name, value, at in item.attributes:
            if name in base and base[name] is None:
                base[name] = _sqlite_value(value)
            else:
                changes.append((name, value, at))
        table = tables[item.type]
        statement = _insert(table, 3 + len(declared))
        batches.add(statement, (item.id, ALWAYS, None, *base.values()))
        for name, value, at in changes:
            row = [None] * len(declared)
            row[declared.index(name)] = _sqlite_value(value)
            batches.add(statement, (item.id, _time(at), name, *row))
        for target, qualifier in item.relationships:
            batches.add(_insert("object_object", 3), (item.id, target, qualifier))
            relations += 1
        objects += 1
    return objects, relations


def _write_events(batches: _Batches, log: ObjectCentricLog, tables: dict) -> tuple[int, int]:
    declared = [name for name, _ in EVENT_ATTRIBUTES]
    events = relations = 0
    for event in log.events():
        batches.add(_insert("event", 2), (event.id, event.type))
        values = dict.fromkeys(declared)
        values.update((name, _sqlite_value(value)) for name, value in event.attributes)
        batches.add(
            _insert(tables[event.type], 2 + len(declared)),
            (event.id, _time(event.time), *values.values()),
        )
        for target, qualifier in event.relationships:
            batches.add(_insert("event_object", 3), (event.id, target, qualifier))
            relations += 1
        events += 1
    return events, relations


def write_ocel_sqlite(
    path: str | os.PathLike, selection: Selection, *, chunk_size: int = CHUNK_SIZE
) -> OcelCounts:
    """Write the selected workflows to a new OCEL 2.0 SQLite database at `path` (replacing a
    file there only once the new one is complete)."""
    log = ObjectCentricLog(selection, chunk_size)
    target = Path(path)
    with snapshot(), replacing(target) as partial:
        partial.unlink()
        db = sqlite3.connect(partial, isolation_level=None)
        try:
            # A new file nobody else reads: no journal is needed, the rename is the commit.
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            db.execute("BEGIN")
            _schema(db)
            event_types = log.event_types()
            event_tables, object_tables = _create_type_tables(db, event_types)
            batches = _Batches(db, chunk_size)
            objects, object_object = _write_objects(batches, log, object_tables)
            events, event_object = _write_events(batches, log, event_tables)
            batches.flush()
            db.execute("COMMIT")
        finally:
            db.close()
    return OcelCounts(
        event_types=len(event_types),
        object_types=len(OBJECT_TYPES),
        events=events,
        objects=objects,
        event_object=event_object,
        object_object=object_object,
    )


def _schema(db: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
