"""The event log as OCEL 2.0, in its JSON and its SQLite encoding (see `object_centric` for what
the objects and events are).

Both writers stream: the JSON document is made a chunk of objects or events at a time (and can
be written to a file or streamed); SQLite receives a chunk of events at a time, as one row each
that SQL spreads over the tables (see `_write_events`). The SQLite file is built under a
temporary name and renamed into place once complete (see `files`).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import lru_cache
from itertools import islice
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
from usm.control.exports.rows import second_thread_pays, utc_millis
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
        # Names looked up once per chunk rather than once per row (measured: a sixth less time
        # than with the module's names and a text added to afterwards).
        attributes, e_id, e_at, e_kind, e_team, e_call = (
            ATTRIBUTES,
            E_ID,
            E_AT,
            E_KIND,
            E_TEAM,
            E_CALL,
        )
        millis = utc_millis
        texts = []
        add = texts.append
        related = 0
        for row in rows:
            key = row[attributes]
            before_time, after_time = described.get(key) or self.describe(key, references)
            call = row[e_call]
            before_team, after_team, forked, count = calls.get(call) or self.call(call, references)
            team_pk = row[e_team]
            team, handled = teams.get(team_pk) or self.team(team_pk, references)
            related += count + handled
            start = f'{{"id":"event:{row[e_id]}{before_time}{millis(row[e_at])}{after_time}'
            if forked and row[e_kind] == "registered":
                related += 1
                add(f"{start}{before_team}{team}{after_team}{forked}]}}")
            else:
                add(f"{start}{before_team}{team}{after_team}]}}")
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
    log = ObjectCentricLog(selection, chunk_size, read_ahead=True)
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


# Rows go to SQLite many to a statement (INSERT ... VALUES (...), (...), ...): sent one at a
# time (`executemany`), a row costs the driver several times what SQLite then takes to store it.
# Statements hold a power of two of rows, at most this many, so that each table needs only a
# few of them (prepared once, kept in the connection's statement cache).
ROWS_PER_STATEMENT = 128

# NULL as it is bound: the driver binds a float as it is, but looks for an adapter for None (a
# slow way, several times the cost of the value), and SQLite stores a NaN as NULL.
NULL = float("nan")


@lru_cache(maxsize=512)
def _insert(table: str, width: int, rows: int) -> str:
    row = f"({', '.join('?' * width)})"
    return f"INSERT INTO {_quoted(table)} VALUES {', '.join([row] * rows)}"


def _sqlite_value(value):
    # Text SQLite cannot store as UTF-8 (a lone surrogate) is replaced, not refused. ASCII text
    # (most of it, and known as such without reading it) has none.
    if isinstance(value, str) and not value.isascii():
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


class _Rows:
    """The rows waiting for one table, their values one after another in `values`, sent in the
    order they came."""

    def __init__(self, db: sqlite3.Connection, table: str, width: int):
        self.db, self.table, self.width = db, table, width
        most = min(ROWS_PER_STATEMENT, db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
        self.per_statement = 1 << max(0, most.bit_length() - 1)
        self.values: list = []

    def send(self) -> None:
        values, width = self.values, self.width
        start, end, rows = 0, len(values), self.per_statement
        while start < end:
            while start + rows * width > end:
                rows //= 2
            step = rows * width
            statement = _insert(self.table, width, rows)
            while start + step <= end:
                self.db.execute(statement, values[start : start + step])
                start += step
        values.clear()


class _Objects:
    """The objects' rows, made a few objects at a time (`make`) and sent when the connection is
    free (`send`): while SQLite spreads a chunk of events, the objects are read meanwhile."""

    def __init__(self, db: sqlite3.Connection, log: ObjectCentricLog, tables: dict, most: int):
        self.items = log.objects()
        self.most = most
        self.made = self.waiting = self.relations = 0
        self.done = False
        # Per type: where each attribute goes in its table's row, and the rows for that table.
        self.positions = {
            name: {attribute: i for i, (attribute, _) in enumerate(attributes)}
            for name, attributes in OBJECT_TYPES.items()
        }
        self.typed_rows = {
            name: _Rows(db, table, 3 + len(self.positions[name])) for name, table in tables.items()
        }
        self.object_rows = _Rows(db, "object", 2)
        self.related_rows = _Rows(db, "object_object", 3)

    def make(self, count: int) -> bool:
        """Make the rows of up to `count` more objects; whether more can be made before they
        are sent (not all made yet, fewer than `most` waiting)."""
        positions, typed_rows = self.positions, self.typed_rows
        add_object, add_related = self.object_rows.values.extend, self.related_rows.values.extend
        made = 0
        for item in islice(self.items, count):
            identifier = item.id
            add_object((identifier, item.type))
            position = positions[item.type]
            # The object as first known: each attribute's first value; every later value of an
            # attribute (a call's next status) is a change, in a row of its own.
            first = [NULL] * len(position)
            changes = []
            for name, value, at in item.attributes:
                index = position[name]
                if first[index] is NULL:
                    first[index] = _sqlite_value(value)
                else:
                    changes.append((index, name, value, at))
            typed = typed_rows[item.type].values
            typed += (identifier, ALWAYS, NULL, *first)
            for index, name, value, at in changes:
                changed = [NULL] * len(position)
                changed[index] = _sqlite_value(value)
                typed += (identifier, _time(at), name, *changed)
            for target, qualifier in item.relationships:
                add_related((identifier, target, qualifier))
            self.relations += len(item.relationships)
            made += 1
        self.made += made
        self.waiting += made
        self.done = made < count
        return not self.done and self.waiting < self.most

    def send(self) -> None:
        for rows in (self.object_rows, self.related_rows, *self.typed_rows.values()):
            rows.send()
        self.waiting = 0

    def finish(self) -> None:
        """Make and send the rest."""
        while not self.done:
            self.make(self.most)
            self.send()


# The events of a chunk wait in `ocel_staging`, a row of numbers and a time each, while SQL
# spreads them over the shared tables and their types' own: the event table, the type's table
# (its attribute values) and an event's five or so relationships are then made by SQLite from
# what the numbers refer to, each sent once: the calls (EventCall, no value missing: '' is
# none), their MIR items, the teams, the attribute values of each combination met
# (`described`: an event's ATTRIBUTES columns) and the types.
STAGING = (
    "CREATE TEMP TABLE ocel_staging (id INTEGER PRIMARY KEY, at TEXT, described INTEGER,"
    " type INTEGER, team INTEGER, call INTEGER)",
    # A type's events are copied into its table with the help of this index.
    "CREATE INDEX temp.ocel_staging_type ON ocel_staging (type)",
    "CREATE TEMP TABLE ocel_types (no INTEGER PRIMARY KEY, name TEXT)",
    # Values keep what they were bound as (no column type): they are copied into the type's
    # table as if bound there.
    "CREATE TEMP TABLE ocel_described (key INTEGER PRIMARY KEY, "
    + ", ".join(_quoted(name) for name, _ in EVENT_ATTRIBUTES)
    + ")",
    "CREATE TEMP TABLE ocel_calls (pk INTEGER PRIMARY KEY, "
    + ", ".join(f"{column} TEXT" for column in EventCall._fields[:-1])
    + ")",
    "CREATE TEMP TABLE ocel_mir (call INTEGER, identifier TEXT, PRIMARY KEY (call, identifier))"
    " WITHOUT ROWID",
    "CREATE TEMP TABLE ocel_teams (pk INTEGER PRIMARY KEY, name TEXT)",
    # A row put here spreads the staged events (the trigger below).
    "CREATE TEMP TABLE ocel_spread (chunk INTEGER)",
)
STAGED_WIDTH = 6
# A team's id where the event has none: no team has it (ids start at 1).
NO_TEAM = 0


def _text(value: str) -> str:
    """`value` as an SQL string literal (a trigger takes no parameters)."""
    return "'" + value.replace("'", "''") + "'"


EVENT = _text(event_id(""))
# Each relationship: the object id's prefix (as `call_id` and the like write it), the
# qualifier, the object's value and where it comes from. A value that is NULL or empty makes
# none. The staged events are the outer loop (CROSS JOIN), in event id order.
FROM_CALL = "ocel_staging s CROSS JOIN ocel_calls c ON c.pk = s.call"
RELATIONSHIPS = (
    (call_id(""), CALL, "c.number", FROM_CALL),
    (workflow_id(""), WORKFLOW, "c.workflow", FROM_CALL),
    (customer_id(""), FOR_CUSTOMER, "c.customer", FROM_CALL),
    (service_id(""), ABOUT_SERVICE, "c.service", FROM_CALL),
    (team_id(""), HANDLED_BY, "t.name", "ocel_staging s CROSS JOIN ocel_teams t ON t.pk = s.team"),
    # Only the registration of a forked call is related to the call it was forked from.
    (
        call_id(""),
        FORKED_FROM,
        "c.parent",
        FROM_CALL + " CROSS JOIN ocel_described d ON d.key = s.described AND d.kind = 'registered'",
    ),
    (
        mir_id(""),
        CONCERNS,
        "m.identifier",
        "ocel_staging s CROSS JOIN ocel_mir m ON m.call = s.call",
    ),
)


def _spreading(tables: dict[int, str]) -> str:
    """The trigger spreading the staged events over the tables, the event types' by their number
    in `ocel_types`. One statement sets it off, so that the whole chunk is written in one call
    to SQLite, which holds no lock of Python's meanwhile (see `_write_events`)."""
    attributes = ", ".join(f"d.{_quoted(name)}" for name, _ in EVENT_ATTRIBUTES)
    # By event id: the tables are keyed by it, and rows arriving in id order are written near
    # each other instead of all over the tables.
    steps = [
        f"INSERT INTO event SELECT {EVENT} || s.id, (SELECT name FROM ocel_types WHERE no = s.type)"
        # (The order said: the planner would read the staged events by type, from its index.)
        " FROM ocel_staging s ORDER BY s.id"
    ]
    steps += [
        f"INSERT INTO {_quoted(table)} SELECT {EVENT} || s.id, s.at, {attributes}"
        " FROM ocel_staging s CROSS JOIN ocel_described d ON d.key = s.described"
        f" WHERE s.type = {number}"
        for number, table in tables.items()
    ]
    steps.append(
        "INSERT INTO event_object "
        + " UNION ALL ".join(
            f"SELECT {EVENT} || s.id, {_text(prefix)} || {value}, {_text(qualifier)}"
            f" FROM {source} WHERE {value} <> ''"
            for prefix, qualifier, value, source in RELATIONSHIPS
        )
    )
    steps += ["DELETE FROM ocel_staging", "DELETE FROM ocel_spread"]
    return (
        "CREATE TEMP TRIGGER ocel_spreading AFTER INSERT ON ocel_spread BEGIN "
        + "".join(step + "; " for step in steps)
        + "END"
    )


SPREAD = "INSERT INTO ocel_spread VALUES (0)"
# Objects made at a time while a chunk is spread, between looks at whether it is done.
OBJECTS_MEANWHILE = 20


def _write_events(
    db: sqlite3.Connection, log: ObjectCentricLog, tables: dict, objects: _Objects, *, overlap: bool
) -> int:
    """Write the events; return how many. With `overlap`, SQLite spreads a chunk in a thread of
    its own while the next is read."""
    for statement in STAGING:
        db.execute(statement)
    numbers = {name: no for no, name in enumerate(tables)}
    db.executemany("INSERT INTO ocel_types VALUES (?, ?)", [(n, t) for t, n in numbers.items()])
    db.execute(_spreading({numbers[name]: table for name, table in tables.items()}))
    staged = _Rows(db, "ocel_staging", STAGED_WIDTH)
    new_described = _Rows(db, "ocel_described", 1 + len(EVENT_ATTRIBUTES))
    new_calls = _Rows(db, "ocel_calls", len(EventCall._fields))
    new_mir = _Rows(db, "ocel_mir", 2)
    new_teams = _Rows(db, "ocel_teams", 2)
    # By the ATTRIBUTES columns (which include what the type is made of): the number of the
    # combination in `ocel_described`, and the type's.
    described: dict[tuple, tuple[int, int]] = {}
    numbered = 0
    # The calls and teams `ocel_calls` and `ocel_teams` hold (or will, once sent).
    calls_sent: set[int] = set()
    teams_sent: set[int] = set()

    def describe(key: tuple, references: EventReferences) -> tuple[int, int]:
        nonlocal numbered
        values = references.values(key)
        # An empty value is no value: NULL, as in JSON where it is left out.
        new_described.values += (
            numbered,
            *[NULL if v is None or v == "" else _sqlite_value(v) for v in values],
        )
        found = described[key] = (numbered, numbers[event_type(values)])
        numbered += 1
        return found

    events = 0
    add = staged.values.extend
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocel-sqlite") as spreader:
        spreading = None
        for rows, references in log.event_rows(in_time_order=False):
            # What is sent for the events is kept as long as the references keep it (or, for
            # the few combinations and teams, up to PIECES_KEPT): it never adds up to the log.
            forget = []
            if len(described) >= PIECES_KEPT:
                described.clear()
                forget.append("ocel_described")
            needed = {row[E_CALL] for row in rows}
            if len(calls_sent | needed) > references.calls_kept:
                calls_sent.clear()
                forget += ["ocel_calls", "ocel_mir"]
            if len(teams_sent) >= PIECES_KEPT:
                teams_sent.clear()
                forget.append("ocel_teams")
            calls = references.calls
            for pk in needed.difference(calls_sent):
                call = calls[pk]
                new_calls.values += (pk, *[value or "" for value in call[:-1]])
                for identifier in call.mir_items:
                    new_mir.values += (pk, identifier)
                calls_sent.add(pk)
            for pk in {row[E_TEAM] for row in rows}.difference(teams_sent):
                if pk is not None:
                    new_teams.values += (pk, references.team(pk) or "")
                    teams_sent.add(pk)
            for row in rows:
                key = row[ATTRIBUTES]
                add(
                    (
                        row[E_ID],
                        ocel_time(row[E_AT]),
                        *(described.get(key) or describe(key, references)),
                        row[E_TEAM] or NO_TEAM,
                        row[E_CALL],
                    )
                )
            if spreading is not None:
                while not spreading.done() and objects.make(OBJECTS_MEANWHILE):
                    pass
                spreading.result()
                objects.send()
            for table in forget:
                db.execute(f"DELETE FROM {table}")
            for pending in (new_described, new_calls, new_mir, new_teams, staged):
                pending.send()
            if overlap:
                spreading = spreader.submit(db.execute, SPREAD)
            else:
                db.execute(SPREAD)
            events += len(rows)
        if spreading is not None:
            spreading.result()
    return events


def write_ocel_sqlite(
    path: str | os.PathLike, selection: Selection, *, chunk_size: int = CHUNK_SIZE
) -> OcelCounts:
    """Write the selected workflows to a new OCEL 2.0 SQLite database at `path` (replacing a
    file there only once the new one is complete)."""
    log = ObjectCentricLog(selection, chunk_size)
    target = Path(path)
    with snapshot(), replacing(target) as partial:
        partial.unlink()
        db = sqlite3.connect(partial, isolation_level=None, check_same_thread=False)
        try:
            # A new file nobody else reads: no journal is needed, the rename is the commit.
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            # The staging tables (a chunk's worth) live in memory.
            db.execute("PRAGMA temp_store = MEMORY")
            # Pages of 16 KiB rather than 4 are split less often (measured: a tenth less of
            # SQLite's work); a cache of 500 KiB, a quarter of the default, keeps the export's
            # memory what it was with the smaller pages. Rows arrive in key order, so the pages
            # written to are few at any time.
            db.execute("PRAGMA page_size = 16384")
            db.execute("PRAGMA cache_size = -500")
            db.execute("BEGIN")
            _schema(db)
            event_types = log.event_types()
            event_tables, object_tables = _create_type_tables(db, event_types)
            objects = _Objects(db, log, object_tables, chunk_size)
            # SQLite spreads each chunk in a thread of its own while the next one is read.
            overlap = second_thread_pays()
            if not overlap:
                objects.finish()
            events = _write_events(db, log, event_tables, objects, overlap=overlap)
            objects.finish()
            # Counted, not added up: the trigger's rows are not in its statement's row count.
            (event_object,) = db.execute("SELECT count(*) FROM event_object").fetchone()
            db.execute("COMMIT")
        finally:
            db.close()
    return OcelCounts(
        event_types=len(event_types),
        object_types=len(OBJECT_TYPES),
        events=events,
        objects=objects.made,
        event_object=event_object,
        object_object=objects.relations,
    )


def _schema(db: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
