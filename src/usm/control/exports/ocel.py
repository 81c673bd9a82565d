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
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import TextIO

from usm.control.exports.files import replacing, write_all
from usm.control.exports.object_centric import (
    ABOUT_SERVICE,
    ATTRIBUTES,
    CALL,
    CONCERNS,
    E_AT,
    E_CALL,
    E_ID,
    E_KIND,
    E_TEAM,
    EVENT_ATTRIBUTES,
    FOR_CUSTOMER,
    FORKED_FROM,
    HANDLED_BY,
    OBJECT_TYPES,
    WORKFLOW,
    EventCall,
    EventReferences,
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
    # ensure_ascii keeps any text a database holds (lone surrogates included) valid JSON. Text
    # and whole numbers, nearly every value, are written without json.dumps' general machinery
    # (a bool is an int too, but json spells it differently: it takes the general way).
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is int:
        return int.__repr__(value)
    return _dumps(value)


# The few attribute names and qualifiers there are, as the JSON text around them.
@lru_cache(maxsize=256)
def _attribute_start(name: str) -> str:
    return f'{{"name":{_json(name)},"value":'


@lru_cache(maxsize=256)
def _qualifier_end(qualifier: str) -> str:
    return f',"qualifier":{_json(qualifier)}}}'


_FOREVER_END = f',"time":"{ALWAYS}"}}'


def _object_json(item: OcelObject) -> str:
    attributes = ",".join(
        [
            _attribute_start(name)
            + _json(value)
            + (_FOREVER_END if at is None else f',"time":"{at}"}}')
            for name, value, at in item.attributes
        ]
    )
    relationships = ",".join(
        [
            f'{{"objectId":{encode_basestring_ascii(target)}{_qualifier_end(qualifier)}'
            for target, qualifier in item.relationships
        ]
    )
    return (
        f'{{"id":{_json(item.id)},"type":{_json(item.type)},"attributes":[{attributes}],'
        f'"relationships":[{relationships}]}}'
    )


def _relationship_json(target: str, qualifier: str) -> str:
    return f'{{"objectId":{_json(target)}{_qualifier_end(qualifier)}'


class _EventJson:
    """Events as JSON text, from pieces they share with other events: what comes before and after
    the time (the type, then the attributes: what, where, who), the relationships every event of
    a call has (its call, workflow, customer and service; its MIR items), and the one to the team
    that handled it. The pieces of a call are kept only while its events are likely to come (as
    long as `EventReferences` keeps the call), so that they never add up to the whole log."""

    def __init__(self):
        # By the ATTRIBUTES columns (which include what the type is made of): the text from the
        # id to the time, and from the time to the first relationship.
        self.described: dict[tuple, tuple[str, str]] = {}
        # By team id: its relationship's text, and 1 (or "" and 0: no team).
        self.teams: dict[int | None, tuple[str, int]] = {}
        # By call id: the text of its relationships before the team's, after it (MIR items), and
        # of the one to the call it was forked from; how many there are before and after.
        self.calls: dict[int, tuple[str, str, str, int]] = {}

    def describe(self, key: tuple, references: EventReferences) -> tuple[str, str]:
        values = references.values(key)
        listed = ",".join(
            f'{{"name":"{name}","value":{_json(value)}}}'
            for name, value in event_attributes(values)
        )
        return _kept(
            self.described,
            key,
            (
                f'","type":{_json(event_type(values))},"time":"',
                f'Z","attributes":[{listed}],"relationships":[',
            ),
        )

    def team(self, pk: int | None, references: EventReferences) -> tuple[str, int]:
        name = references.team(pk)
        piece = ("," + _relationship_json(team_id(name), HANDLED_BY), 1) if name else ("", 0)
        return _kept(self.teams, pk, piece)

    def call(self, pk: int, references: EventReferences) -> tuple[str, str, str, int]:
        call = references.calls[pk]
        before_team = [(call_id(call.number), CALL), (workflow_id(call.workflow), WORKFLOW)]
        if call.customer:
            before_team.append((customer_id(call.customer), FOR_CUSTOMER))
        if call.service:
            before_team.append((service_id(call.service), ABOUT_SERVICE))
        after_team = [(mir_id(identifier), CONCERNS) for identifier in call.mir_items]
        forked = "," + _relationship_json(call_id(call.parent), FORKED_FROM) if call.parent else ""
        if len(self.calls) >= references.calls_kept:
            self.calls.clear()
        piece = self.calls[pk] = (
            ",".join(_relationship_json(*pair) for pair in before_team),
            "".join("," + _relationship_json(*pair) for pair in after_team),
            forked,
            len(before_team) + len(after_team),
        )
        return piece

    def chunk(self, rows: list[tuple], references: EventReferences) -> tuple[list[str], int]:
        """The events of `rows`, and how many relationships they have."""
        described, teams, calls = self.described, self.teams, self.calls
        texts = []
        related = 0
        for row in rows:
            key = row[ATTRIBUTES]
            before_time, after_time = described.get(key) or self.describe(key, references)
            before_team, after_team, forked, count = calls.get(row[E_CALL]) or self.call(
                row[E_CALL], references
            )
            team, handled = teams.get(row[E_TEAM]) or self.team(row[E_TEAM], references)
            text = (
                f'{{"id":"event:{row[E_ID]}{before_time}{utc_millis(row[E_AT])}{after_time}'
                f"{before_team}{team}{after_team}"
            )
            related += count + handled
            if forked and row[E_KIND] == "registered":
                text += forked
                related += 1
            texts.append(text + "]}")
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
        for rows, references in log.event_rows():
            texts, related = encoder.chunk(rows, references)
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
    # Text SQLite cannot store as UTF-8 (a lone surrogate) is replaced, not refused. ASCII text
    # (most of it, and known as such without reading it) has none.
    if isinstance(value, str) and not value.isascii():
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


INSERT_OBJECT = _insert("object", 2)
INSERT_EVENT_OBJECT = _insert("event_object", 3)
INSERT_OBJECT_OBJECT = _insert("object_object", 3)


class _Batches:
    """Rows waiting to be inserted, per statement, sent with one `executemany` each. A statement
    keeps its list from flush to flush, so a writer may hold on to it."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.pending: dict[str, list[tuple]] = {}

    def rows(self, statement: str) -> list[tuple]:
        return self.pending.setdefault(statement, [])

    def flush(self) -> None:
        for statement, rows in self.pending.items():
            if rows:
                self.db.executemany(statement, rows)
                rows.clear()


def _write_objects(
    batches: _Batches, log: ObjectCentricLog, tables: dict, chunk_size: int
) -> tuple[int, int]:
    objects = relations = 0
    # Per type: where each attribute goes in its table's row, and the list of those rows.
    positions = {
        name: {attribute: i for i, (attribute, _) in enumerate(attributes)}
        for name, attributes in OBJECT_TYPES.items()
    }
    typed_rows = {
        name: batches.rows(_insert(table, 3 + len(positions[name])))
        for name, table in tables.items()
    }
    object_rows = batches.rows(INSERT_OBJECT)
    related_rows = batches.rows(INSERT_OBJECT_OBJECT)
    for item in log.objects():
        object_rows.append((item.id, item.type))
        position = positions[item.type]
        # The object as first known: each attribute's first value; every later value of an
        # attribute (a call's next status) is a change, in a row of its own.
        first = [None] * len(position)
        changes = []
        for name, value, at in item.attributes:
            index = position[name]
            if first[index] is None:
                first[index] = _sqlite_value(value)
            else:
                changes.append((index, name, value, at))
        typed = typed_rows[item.type]
        typed.append((item.id, ALWAYS, None, *first))
        for index, name, value, at in changes:
            changed = [None] * len(position)
            changed[index] = _sqlite_value(value)
            typed.append((item.id, _time(at), name, *changed))
        related_rows += [(item.id, target, qualifier) for target, qualifier in item.relationships]
        relations += len(item.relationships)
        objects += 1
        if objects % chunk_size == 0:
            batches.flush()
    batches.flush()
    return objects, relations


# The events of a chunk wait here, one row each, while SQL spreads them over the shared tables:
# an event's five or so relationships are then made by SQLite, not bound row by row from Python.
# A staged row is the event's id, type, kind and team, then its call's EventCall fields but the
# last (the MIR items, which go straight to `event_object`).
STAGED_CALL = EventCall._fields[:-1]
STAGING = (
    "CREATE TEMP TABLE ocel_staging (id TEXT, type TEXT, kind TEXT, team TEXT, "
    + ", ".join(f"{column} TEXT" for column in STAGED_CALL)
    + ")"
)
INSERT_STAGED = f"INSERT INTO ocel_staging VALUES ({', '.join('?' * (4 + len(STAGED_CALL)))})"
# Each staged column that is neither NULL nor empty makes one relationship: (column, the prefix
# its object ids have, as `call_id` and the like write them, qualifier, a further condition).
FROM_STAGING = (
    ("number", call_id(""), CALL, ""),
    ("workflow", workflow_id(""), WORKFLOW, ""),
    ("customer", customer_id(""), FOR_CUSTOMER, ""),
    ("service", service_id(""), ABOUT_SERVICE, ""),
    ("team", team_id(""), HANDLED_BY, ""),
    # Only the registration of a forked call is related to the call it was forked from.
    ("parent", call_id(""), FORKED_FROM, " AND kind = 'registered'"),
)
RELATE_STAGED = "INSERT INTO event_object " + " UNION ALL ".join(
    f"SELECT id, ? || {column}, ? FROM ocel_staging WHERE {column} <> ''{condition}"
    for column, _, _, condition in FROM_STAGING
)
RELATE_STAGED_PARAMETERS = tuple(
    value for _, prefix, qualifier, _ in FROM_STAGING for value in (prefix, qualifier)
)


def _write_events(batches: _Batches, log: ObjectCentricLog, tables: dict) -> tuple[int, int]:
    db = batches.db
    db.execute(STAGING)
    statements = {name: _insert(table, 2 + len(EVENT_ATTRIBUTES)) for name, table in tables.items()}
    # By the ATTRIBUTES columns (which include what the type is made of): the type's name, the
    # list of rows for its table, and the attribute values as its columns hold them.
    described: dict[tuple, tuple[str, list, tuple]] = {}

    def describe(key: tuple, references: EventReferences) -> tuple[str, list, tuple]:
        values = references.values(key)
        name = event_type(values)
        # An empty value is no value: NULL, as in JSON where it is left out.
        values = tuple(None if v is None or v == "" else _sqlite_value(v) for v in values)
        return _kept(described, key, (name, batches.rows(statements[name]), values))

    events = relations = 0
    concerning = batches.rows(INSERT_EVENT_OBJECT)
    # By event id: the tables are keyed by it, and rows arriving in id order are written near
    # each other instead of all over the tables.
    for rows, references in log.event_rows(in_time_order=False):
        calls, team = references.calls, references.team
        staged = []
        for row in rows:
            key = row[ATTRIBUTES]
            name, typed, values = described.get(key) or describe(key, references)
            identifier = event_id(row[E_ID])
            typed.append((identifier, ocel_time(row[E_AT]), *values))
            call = calls[row[E_CALL]]
            staged.append((identifier, name, row[E_KIND], team(row[E_TEAM]), *call[:-1]))
            if call.mir_items:
                concerning += [(identifier, mir_id(i), CONCERNS) for i in call.mir_items]
        db.executemany(INSERT_STAGED, staged)
        db.execute("INSERT INTO event SELECT id, type FROM ocel_staging")
        relations += db.execute(RELATE_STAGED, RELATE_STAGED_PARAMETERS).rowcount
        db.execute("DELETE FROM ocel_staging")
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
