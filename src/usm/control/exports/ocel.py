"""The event log as OCEL 2.0, in its JSON and its SQLite encoding (see `object_centric` for what
the objects and events are).

Both writers stream: the JSON document is made a chunk of objects or events at a time (and can
be written to a file or streamed); SQLite receives rows in batches. The SQLite file is built
under a temporary name and renamed into place once complete (see `files`).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from pathlib import Path
from typing import TextIO

from usm.control.exports.files import replacing, write_all
from usm.control.exports.object_centric import (
    ABOUT_SERVICE,
    ATTRIBUTE_COLUMNS,
    CALL,
    CONCERNS,
    E_AT,
    E_CALL,
    E_CUSTOMER,
    E_ID,
    E_KIND,
    E_MIR,
    E_PARENT,
    E_PROCESS,
    E_ROOT,
    E_SERVICE,
    E_STATUS,
    E_STEP,
    E_TEAM,
    EVENT_ATTRIBUTES,
    FOR_CUSTOMER,
    FORKED_FROM,
    HANDLED_BY,
    OBJECT_TYPES,
    WORKFLOW,
    ObjectCentricLog,
    OcelObject,
    call_id,
    customer_id,
    event_attributes,
    event_id,
    event_type,
    mir_id,
    ocel_time,
    service_id,
    team_id,
    workflow_id,
)
from usm.control.exports.rows import utc_millis
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


def _time(at: str | None) -> str:
    return ALWAYS if at is None else at


# Pieces of an event repeat from event to event (the same activity, person, team, customer); each
# is built once and looked up after. A cache is emptied when it grows this large, so that an
# organisation with unusually many distinct values still takes bounded memory.
PIECES_KEPT = 20_000
# The values an event's type, and its attributes, are made of.
_type_key = itemgetter(E_KIND, E_PROCESS, E_STEP, E_STATUS)
_attribute_key = itemgetter(*ATTRIBUTE_COLUMNS)


def _kept(cache: dict, key, value):
    if len(cache) >= PIECES_KEPT:
        cache.clear()
    cache[key] = value
    return value


# -- JSON ----------------------------------------------------------------------------------------
def _dumps(value) -> str:
    # ensure_ascii keeps any text a database holds (lone surrogates included) valid JSON.
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def _type_json(name: str, attributes) -> str:
    return _dumps(
        {"name": name, "attributes": [{"name": a, "type": kind} for a, kind in attributes]}
    )


def _json(value) -> str:
    # ensure_ascii keeps any text a database holds (lone surrogates included) valid JSON.
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    return _dumps(value)


def _object_json(item: OcelObject) -> str:
    attributes = ",".join(
        f'{{"name":{_json(name)},"value":{_json(value)},"time":"{_time(at)}"}}'
        for name, value, at in item.attributes
    )
    relationships = ",".join(
        _relationship_json(target, qualifier) for target, qualifier in item.relationships
    )
    return (
        f'{{"id":{_json(item.id)},"type":{_json(item.type)},"attributes":[{attributes}],'
        f'"relationships":[{relationships}]}}'
    )


def _relationship_json(target: str, qualifier: str) -> str:
    return f'{{"objectId":{_json(target)},"qualifier":{_json(qualifier)}}}'


# The text between an event's call and its workflow, and after the workflow.
_CALL_THEN_WORKFLOW = f',"qualifier":{_json(CALL)}}},{{"objectId":'
_WORKFLOW_END = f',"qualifier":{_json(WORKFLOW)}}}'


class _EventJson:
    """Events as JSON text, from pieces they share with other events: the type, the attributes
    (what, where, who) and the relationships to a customer, service, team or MIR item. Pieces
    naming a call are made afresh: a log has as many calls as it is long, and keeping them
    would make the writer's memory grow with it."""

    def __init__(self):
        self.types: dict[tuple, str] = {}
        self.attributes: dict[tuple, str] = {}
        self.others: dict[tuple[str, str], str] = {}

    def type_piece(self, row: tuple, key: tuple) -> str:
        return _kept(self.types, key, f'","type":{_json(event_type(row))},"time":"')

    def attributes_piece(self, row: tuple, key: tuple) -> str:
        listed = ",".join(
            f'{{"name":"{name}","value":{_json(value)}}}' for name, value in event_attributes(row)
        )
        return _kept(self.attributes, key, f'Z","attributes":[{listed}],"relationships":[')

    def other_piece(self, key: tuple[str, str]) -> str:
        return _kept(self.others, key, "," + _relationship_json(*key))

    def chunk(self, rows: list[tuple]) -> tuple[list[str], int]:
        """The events of `rows`, and how many relationships they have."""
        types, attributes, others = self.types, self.attributes, self.others
        texts = []
        related = 2 * len(rows)  # every event has its call and its workflow
        for row in rows:
            type_key = _type_key(row)
            attribute_key = _attribute_key(row)
            parts = [
                f'{{"id":"event:{row[E_ID]}',
                types.get(type_key) or self.type_piece(row, type_key),
                utc_millis(row[E_AT]),
                attributes.get(attribute_key) or self.attributes_piece(row, attribute_key),
                '{"objectId":',
                encode_basestring_ascii(call_id(row[E_CALL])),
                _CALL_THEN_WORKFLOW,
                encode_basestring_ascii(workflow_id(row[E_ROOT])),
                _WORKFLOW_END,
            ]
            shared = []
            if row[E_CUSTOMER]:
                shared.append((customer_id(row[E_CUSTOMER]), FOR_CUSTOMER))
            if row[E_SERVICE]:
                shared.append((service_id(row[E_SERVICE]), ABOUT_SERVICE))
            if row[E_TEAM]:
                shared.append((team_id(row[E_TEAM]), HANDLED_BY))
            if row[E_MIR]:
                shared += [(mir_id(identifier), CONCERNS) for identifier in row[E_MIR]]
            parts += [others.get(key) or self.other_piece(key) for key in shared]
            related += len(shared)
            if row[E_PARENT] and row[E_KIND] == "registered":
                parts += [",", _relationship_json(call_id(row[E_PARENT]), FORKED_FROM)]
                related += 1
            parts.append("]}")
            texts.append("".join(parts))
        return texts, related


def _json_array(key: str, lines: Iterator[str], last: bool = False) -> Iterator[str]:
    """A member holding an array, each line of `lines` being one or more of its elements."""
    yield f'"{key}":['
    separator = "\n"
    for line in lines:
        # Apart: joined, a line of a whole chunk would be copied once more.
        yield separator
        yield line
        separator = ",\n"
    yield "\n]" + ("" if last else ",\n")


# A call object with its status history is several times the text of an event: objects are
# joined into pieces of fewer than a chunk.
OBJECTS_PER_PIECE = 250


def write_ocel_json(
    out: TextIO, selection: Selection, *, chunk_size: int = CHUNK_SIZE
) -> OcelCounts:
    """Write the selected workflows to `out` as one OCEL 2.0 JSON document."""
    return write_all(out, ocel_json_text(selection, chunk_size=chunk_size))


def ocel_json_text(
    selection: Selection, *, chunk_size: int = CHUNK_SIZE
) -> Generator[str, None, OcelCounts]:
    """The OCEL 2.0 JSON document in pieces (a few hundred objects or a chunk of events), to be
    written or streamed as they come; returns the counts once done."""
    log = ObjectCentricLog(selection, chunk_size)
    counts = {"objects": 0, "object_object": 0, "events": 0, "event_object": 0}

    def objects() -> Iterator[str]:
        texts = []
        for item in log.objects():
            counts["object_object"] += len(item.relationships)
            texts.append(_object_json(item))
            if len(texts) == OBJECTS_PER_PIECE:
                counts["objects"] += len(texts)
                yield ",\n".join(texts)
                texts = []
        if texts:
            counts["objects"] += len(texts)
            yield ",\n".join(texts)

    def events() -> Iterator[str]:
        encoder = _EventJson()
        for rows in log.event_rows():
            texts, related = encoder.chunk(rows)
            counts["event_object"] += related
            counts["events"] += len(texts)
            yield ",\n".join(texts)

    with snapshot():
        event_types = log.event_types()
        yield "{\n"
        yield from _json_array(
            "objectTypes",
            (_type_json(name, attributes) for name, attributes in OBJECT_TYPES.items()),
        )
        yield from _json_array(
            "eventTypes", (_type_json(name, EVENT_ATTRIBUTES) for name in event_types)
        )
        yield from _json_array("objects", objects())
        yield from _json_array("events", events(), last=True)
        yield "\n}\n"
    return OcelCounts(event_types=len(event_types), object_types=len(OBJECT_TYPES), **counts)


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


# Tables keyed by their primary key are stored as that key's b-tree alone (WITHOUT ROWID): a
# row is then written once instead of into a table and again into the key's index.
SCHEMA = """
CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT NOT NULL)
    WITHOUT ROWID;
CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT NOT NULL)
    WITHOUT ROWID;
CREATE TABLE event (
    ocel_id TEXT PRIMARY KEY,
    ocel_type TEXT NOT NULL REFERENCES event_map_type (ocel_type)
) WITHOUT ROWID;
CREATE TABLE object (
    ocel_id TEXT PRIMARY KEY,
    ocel_type TEXT NOT NULL REFERENCES object_map_type (ocel_type)
) WITHOUT ROWID;
CREATE TABLE event_object (
    ocel_event_id TEXT NOT NULL REFERENCES event (ocel_id),
    ocel_object_id TEXT NOT NULL REFERENCES object (ocel_id),
    ocel_qualifier TEXT NOT NULL,
    PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier)
) WITHOUT ROWID;
CREATE TABLE object_object (
    ocel_source_id TEXT NOT NULL REFERENCES object (ocel_id),
    ocel_target_id TEXT NOT NULL REFERENCES object (ocel_id),
    ocel_qualifier TEXT NOT NULL,
    PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier)
) WITHOUT ROWID;
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
            f" ocel_time TIMESTAMP NOT NULL{_columns(EVENT_ATTRIBUTES)}) WITHOUT ROWID"
        )
    for name, table in object_tables.items():
        # One row for the object as first known, then one per changed attribute value.
        db.execute(
            f"CREATE TABLE {_quoted(table)} (ocel_id TEXT NOT NULL REFERENCES object (ocel_id),"
            f" ocel_time TIMESTAMP NOT NULL, ocel_changed_field TEXT"
            f"{_columns(OBJECT_TYPES[name])})"
        )
    return event_tables, object_tables


def _insert(table: str, width: int) -> str:
    return f"INSERT INTO {_quoted(table)} VALUES ({', '.join('?' * width)})"


def _sqlite_value(value):
    # Text SQLite cannot store as UTF-8 (a lone surrogate) is replaced, not refused.
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


INSERT_OBJECT = _insert("object", 2)
INSERT_EVENT_OBJECT = _insert("event_object", 3)
INSERT_OBJECT_OBJECT = _insert("object_object", 3)


class _Batches:
    """Rows waiting to be inserted, per statement, sent with one `executemany` each."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.pending: dict[str, list[tuple]] = {}

    def rows(self, statement: str) -> list[tuple]:
        return self.pending.setdefault(statement, [])

    def flush(self) -> None:
        for statement, rows in self.pending.items():
            if rows:
                self.db.executemany(statement, rows)
        self.pending.clear()


def _write_objects(
    batches: _Batches, log: ObjectCentricLog, tables: dict, chunk_size: int
) -> tuple[int, int]:
    objects = relations = 0
    declared_of = {name: [a for a, _ in attributes] for name, attributes in OBJECT_TYPES.items()}
    statements = {name: _insert(tables[name], 3 + len(declared_of[name])) for name in tables}
    for item in log.objects():
        batches.rows(INSERT_OBJECT).append((item.id, item.type))
        declared = declared_of[item.type]
        base = dict.fromkeys(declared)
        changes = []
        for name, value, at in item.attributes:
            if name in base and base[name] is None:
                base[name] = _sqlite_value(value)
            else:
                changes.append((name, value, at))
        typed = batches.rows(statements[item.type])
        typed.append((item.id, ALWAYS, None, *base.values()))
        for name, value, at in changes:
            row = [None] * len(declared)
            row[declared.index(name)] = _sqlite_value(value)
            typed.append((item.id, _time(at), name, *row))
        batches.rows(INSERT_OBJECT_OBJECT).extend(
            (item.id, target, qualifier) for target, qualifier in item.relationships
        )
        relations += len(item.relationships)
        objects += 1
        if objects % chunk_size == 0:
            batches.flush()
    batches.flush()
    return objects, relations


# The events of a chunk wait here, one row each, while SQL spreads them over the shared tables:
# an event's five or so relationships are then made by SQLite, not bound row by row from Python.
STAGING = """
CREATE TEMP TABLE ocel_staging (
    id TEXT, type TEXT, call TEXT, workflow TEXT, customer TEXT, service TEXT, team TEXT,
    forked_from TEXT
)
"""
INSERT_STAGED = "INSERT INTO ocel_staging VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
# Each staged column that is not NULL makes one relationship: (column, the prefix its object ids
# have, as `call_id` and the like write them, qualifier).
FROM_STAGING = (
    ("call", call_id(""), CALL),
    ("workflow", workflow_id(""), WORKFLOW),
    ("customer", customer_id(""), FOR_CUSTOMER),
    ("service", service_id(""), ABOUT_SERVICE),
    ("team", team_id(""), HANDLED_BY),
    ("forked_from", call_id(""), FORKED_FROM),
)
RELATE_STAGED = "INSERT INTO event_object " + " UNION ALL ".join(
    f"SELECT id, ? || {column}, ? FROM ocel_staging WHERE {column} IS NOT NULL"
    for column, _, _ in FROM_STAGING
)
RELATE_STAGED_PARAMETERS = tuple(
    value for _, prefix, qualifier in FROM_STAGING for value in (prefix, qualifier)
)


def _write_events(batches: _Batches, log: ObjectCentricLog, tables: dict) -> tuple[int, int]:
    db = batches.db
    db.execute(STAGING)
    width = 2 + len(EVENT_ATTRIBUTES)
    # Per type: its name and the statement filling its table; per attribute values: the columns.
    types: dict[tuple, tuple[str, str]] = {}
    columns: dict[tuple, tuple] = {}
    events = relations = 0
    # By event id: the tables are keyed by it, and rows arriving in key order are appended to
    # their indexes instead of being inserted all over them.
    for rows in log.event_rows(in_time_order=False):
        staged, concerning = [], []
        for row in rows:
            type_key = _type_key(row)
            known = types.get(type_key)
            if known is None:
                name = event_type(row)
                known = _kept(types, type_key, (name, _insert(tables[name], width)))
            attribute_key = _attribute_key(row)
            values = columns.get(attribute_key)
            if values is None:
                # An empty value is no value: NULL, as in JSON where it is left out.
                values = _kept(
                    columns,
                    attribute_key,
                    tuple(None if v in (None, "") else _sqlite_value(v) for v in attribute_key),
                )
            identifier = event_id(row[E_ID])
            batches.rows(known[1]).append((identifier, ocel_time(row[E_AT]), *values))
            staged.append(
                (
                    identifier,
                    known[0],
                    row[E_CALL],
                    row[E_ROOT],
                    row[E_CUSTOMER] or None,
                    row[E_SERVICE] or None,
                    row[E_TEAM] or None,
                    (row[E_PARENT] or None) if row[E_KIND] == "registered" else None,
                )
            )
            if row[E_MIR]:
                concerning += [(identifier, mir_id(i), CONCERNS) for i in row[E_MIR]]
        db.executemany(INSERT_STAGED, staged)
        db.execute("INSERT INTO event SELECT id, type FROM ocel_staging")
        relations += db.execute(RELATE_STAGED, RELATE_STAGED_PARAMETERS).rowcount
        db.execute("DELETE FROM ocel_staging")
        if concerning:
            db.executemany(INSERT_EVENT_OBJECT, concerning)
            relations += len(concerning)
        batches.flush()
        events += len(rows)
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
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            # The staging table (one chunk) lives in memory. The page cache keeps its default
            # size: rows arrive in key order, so the pages written to are few at any time.
            db.execute("PRAGMA temp_store = MEMORY")
            db.execute("BEGIN")
            _schema(db)
            event_types = log.event_types()
            event_tables, object_tables = _create_type_tables(db, event_types)
            batches = _Batches(db)
            objects, object_object = _write_objects(batches, log, object_tables, chunk_size)
            events, event_object = _write_events(batches, log, event_tables)
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
