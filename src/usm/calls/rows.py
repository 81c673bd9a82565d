"""The statements every step of every call sends, compiled once per thread: the locked re-read of
a call, the UPDATE of the fields a move changes and the INSERT of a transition's events.

Building them through the ORM on each step (clone the queryset, resolve the filter, compile the
SELECT, walk the model's fields) cost several times what the database takes to run them. They
are still the ORM's statements: compiled from the model the first time a thread needs them, with
the ORM's own value preparation and converters, so a column added to the model is picked up
without touching this file. The event log's rows are written from plain values (`insert_rows`),
without a model instance each: nothing reads them back in the transaction that writes them.
Called by `services` and `event_log` only.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.db.models.query import get_related_populators
from django.db.models.signals import post_init, pre_init

from usm import prepared_statements

_compiled = threading.local()
# A positional placeholder of a compiled statement; `%%s` is a literal `%s`, not one.
PLACEHOLDER = re.compile(r"(?<!%)%s")
# Every statement compiled here takes its parameters by name (`_slot`, `_by_name`): with
# positional ones, Django's SQLite backend rewrites each `%s` to `?` with a regular expression on
# every execution, which over a call's long column lists cost more than SQLite takes to run the
# statement. Named ones are put in by plain string formatting (PostgreSQL takes both alike).
_NAMES = tuple(f"p{position}" for position in range(1024))


def _slot(position: int) -> str:
    """The placeholder of the parameter at `position` of a statement compiled here."""
    return f"%(p{position})s"


def _by_name(params: Sequence) -> dict:
    """`params`, in the order of the statement's `_slot`s, as the mapping it is executed with."""
    names = _NAMES if len(params) <= len(_NAMES) else [f"p{i}" for i in range(len(params))]
    return dict(zip(names, params, strict=False))  # `_NAMES` has more names than needed


_SLOT = re.compile(r"%\(p(\d+)\)s")
# A statement compiled here with the driver's own positional placeholders, by driver and by its
# text with `_slot`s.
_rewritten: dict[str, dict[str, str]] = {"sqlite": {}, "postgresql": {}}


def _positional(sql: str, vendor: str) -> str:
    """`sql` with the positional placeholders of `vendor`'s driver: `?` for SQLite (where `%` is
    no escape), `%s` for psycopg."""
    found = _rewritten[vendor].get(sql)
    if found is None:
        positions = [int(position) for position in _SLOT.findall(sql)]
        if positions != list(range(len(positions))):
            raise RuntimeError(f"parameters out of order: {sql}")
        if vendor == "sqlite":
            found = _SLOT.sub("?", sql).replace("%%", "%")
        else:
            found = _SLOT.sub("%s", sql)
        _rewritten[vendor][sql] = found
    return found


def _execute(db: BaseDatabaseWrapper, sql: str, params: Sequence, result: str | None = None):
    """Run `sql` (with `_slot`s) with `params` in slot order; returns what `result` names of the
    outcome: "one" the first row, "rowcount" or "lastrowid" the driver cursor's, None nothing.

    When nothing watches the statements, the statement goes to the driver the way the database
    takes it best, past Django's cursor and its wrapper: making them (a driver cursor, the
    wrapper, the checks of `db.cursor()`) cost more per statement than preparing a step's
    values, and the wrapper would rewrite the statement again, pass it through the execute
    wrappers and the query log, check that the transaction is usable and translate driver
    errors. The last two, and the checks of `db.cursor()` that can still fail inside a
    transaction (thread sharing, a health check not yet done), are done here as Django does
    them; the wrappers and the log are for watchers, so when there are any (a test counting
    statements, `DEBUG`, a profiler) the statement takes Django's own way and they see it. So
    does a statement outside a transaction or before the connection is open: `db.cursor()`
    opens it, and checks there that it is not used from async code (inside a transaction, its
    start did).

    - SQLite: rewritten once for good to its own placeholders (`_positional`), run on the
      connection itself (the driver's own short-lived cursor).
    - PostgreSQL, when the connection allows prepared statements: bound and prepared by the
      server (`usm.prepared_statements`), parsed and planned once per connection instead of on
      every step."""
    if (
        not db.execute_wrappers
        and db.in_atomic_block
        and db.connection is not None
        and (db.health_check_done or not db.health_check_enabled)
        and not db.queries_logged
    ):
        sqlite = db.vendor == "sqlite"
        if sqlite or (db.vendor == "postgresql" and prepared_statements.allowed(db.connection)):
            db.validate_thread_sharing()
            db.validate_no_broken_transaction()
            with db.wrap_database_errors:
                if sqlite:
                    driver = db.connection.execute(_positional(sql, "sqlite"), params)
                else:
                    driver = prepared_statements.execute(
                        db.connection, _positional(sql, "postgresql"), params
                    )
                return _outcome(driver, result)
    with db.cursor() as cursor:
        cursor.execute(sql, _by_name(params))
        with db.wrap_database_errors:
            return _outcome(cursor.cursor, result)


def _outcome(driver_cursor, result: str | None):
    if result is None:
        return None
    if result == "one":
        return driver_cursor.fetchone()
    return getattr(driver_cursor, result)


def _database() -> BaseDatabaseWrapper:
    # The connection `django.db.connection` stands for, looked up once per statement: every
    # attribute read through that proxy looks the connection up again, which on a step's dozens
    # of values cost more than preparing them.
    return connections[DEFAULT_DB_ALIAS]


def _cache(db: BaseDatabaseWrapper) -> dict:
    # One cache per thread and database alias: a compiled statement is bound to the backend that
    # compiled it (its quoting, its placeholders, FOR UPDATE or not).
    caches = _compiled.__dict__.setdefault("by_alias", {})
    return caches.setdefault(db.alias, {})


class _Select:
    """SELECT every column of one row by primary key, locking it where the database can, with
    the rows `related` names (select_related) and the values of `also` (name: an SQL expression
    of no parameters) in the same statement."""

    def __init__(
        self,
        db: BaseDatabaseWrapper,
        model: type[Model],
        lock: bool,
        also: dict[str, str],
        related: tuple[str, ...],
    ):
        queryset = model._base_manager.filter(pk=0).order_by()
        if related:
            queryset = queryset.select_related(*related)
        if also:
            queryset = queryset.annotate(**{name: RawSQL(sql, ()) for name, sql in also.items()})
        if lock:
            # Only the row itself is locked: PostgreSQL refuses to lock the empty side of a join.
            queryset = queryset.select_for_update(**({"of": ("self",)} if also or related else {}))
        compiler = queryset.query.get_compiler(connection=db)
        sql, params = compiler.as_sql()
        # The one parameter, the primary key, is passed by name (`_by_name`): this SELECT of
        # every column is a few thousand characters long.
        self.sql, placeholders = PLACEHOLDER.subn(_slot(0), sql)
        if list(params) != [0] or placeholders != 1:
            raise RuntimeError(f"unexpected parameters compiling {model.__name__}: {params}")
        fields = compiler.klass_info["select_fields"]
        columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
        converters = compiler.get_converters(columns)
        # SQLite's datetime columns, whose one converter makes the driver's naive UTC datetime
        # aware: `_aware` does that for them when the connection's time zone is UTC.
        backend = getattr(db.ops, "convert_datetimefield_value", None)
        self.datetimes = [
            position
            for position, (found, expression) in converters.items()
            if db.vendor == "sqlite" and found == [backend]
        ]
        # (position, (converters, expression)) as Django's compiler gives them.
        self.converters = [
            (position, converting)
            for position, converting in converters.items()
            if position not in self.datetimes
        ]
        self.datetime_converters = [(position, converters[position]) for position in self.datetimes]
        self.attnames = [column.target.attname for column in columns[fields[0] : fields[-1] + 1]]
        self.fields = slice(fields[0], fields[-1] + 1)
        self.populators = get_related_populators(compiler.klass_info, compiler.select, db.alias)
        self.also = sorted(compiler.annotation_col_map.items(), key=lambda item: item[1])
        self.model = model
        # Whether `build` may fill the instance in itself: the model builds its instances as
        # every model does, from all its columns.
        self.plain_model = (
            model.__init__ is Model.__init__
            and model.from_db.__func__ is Model.from_db.__func__
            and len(self.attnames) == len(model._meta.concrete_fields)
        )

    def build(self, alias: str, values) -> Model:
        """The instance `from_db` makes of the row, without its walk through `__init__`: that
        sets each column through the field's descriptor, which for a fresh instance only
        stores the value, and sends the init signals, which nothing here listens to (asked each
        time, so that a receiver connected later is served)."""
        model = self.model
        if not self.plain_model or pre_init.has_listeners(model) or post_init.has_listeners(model):
            return model.from_db(alias, self.attnames, values)
        instance = Model.__new__(model)
        state = instance._state = ModelState()
        state.adding, state.db = False, alias
        instance.__dict__.update(zip(self.attnames, values, strict=True))
        return instance

    def fetch(self, db: BaseDatabaseWrapper, pk) -> Model | None:
        row = _execute(db, self.sql, (pk,), "one")
        if row is None:
            return None
        if self.converters or self.datetimes:
            row = list(row)
            converters = self.converters
            if db.timezone is UTC:
                for position in self.datetimes:
                    row[position] = _aware(row[position], db)
            else:
                converters = [*converters, *self.datetime_converters]
            for position, (found, expression) in converters:
                value = row[position]
                for convert in found:
                    value = convert(value, expression, db)
                row[position] = value
        instance = self.build(db.alias, row[self.fields])
        for populator in self.populators:
            populator.populate(row, instance)
        for name, position in self.also:
            setattr(instance, name, row[position])
        return instance


# Fields whose values the database driver takes as they are when they already are a str, an int or
# None: preparing them through the field would only check that. Dates, JSON and the rest always go
# through the field's own preparation.
PLAIN_TYPES = frozenset(
    {
        "CharField",
        "TextField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
        "ForeignKey",
    }
)


class _Column(NamedTuple):
    field: Field
    attname: str
    # A str, int or None goes to the driver as it is (PLAIN_TYPES).
    plain: bool
    # None goes as it is: what the field's own preparation makes of it (a date or JSON column's
    # unset value), asked once when the statement is compiled.
    none_as_is: bool
    # A DateTimeField: an aware datetime in UTC goes as `_utc_datetime` says.
    datetime: bool


def _columns(db: BaseDatabaseWrapper, fields) -> list[_Column]:
    return [
        _Column(
            field,
            field.attname,
            field.get_internal_type() in PLAIN_TYPES,
            field.null and field.get_db_prep_save(None, db) is None,
            field.get_internal_type() == "DateTimeField",
        )
        for field in fields
    ]


def _utc_datetime(db: BaseDatabaseWrapper):
    """How the database takes an aware datetime in UTC, when it takes it as Django would give it
    after its own preparation, which asks the settings twice and converts the zone again (a
    step writes a few of them, several calls to the settings each): PostgreSQL as it is, SQLite
    with a UTC connection as the text of the naive UTC datetime (`str` gives it with `+00:00`
    after it). None for anything else: the field prepares the value."""
    if db.vendor == "postgresql":
        return _as_is
    if db.vendor == "sqlite" and db.timezone is UTC:
        return _naive_text
    return None


def _as_is(value: datetime):
    return value


def _naive_text(value: datetime) -> str:
    return str(value)[:-6]


def _parameters(
    db: BaseDatabaseWrapper, columns: Sequence[_Column], values: Sequence, memo: dict
) -> list:
    """The values, in the order of `columns`, as the field would prepare them. `memo` holds what
    was prepared for an object already seen in this statement (the one instant every event of a
    transition carries), by identity."""
    prepared = []
    utc_datetime = _utc_datetime(db)
    for column, value in zip(columns, values, strict=True):
        if value is None:
            if column.none_as_is or column.plain:
                prepared.append(None)
                continue
        elif column.plain and (type(value) is str or type(value) is int):
            prepared.append(value)
            continue
        elif column.datetime and type(value) is datetime and value.tzinfo is UTC and utc_datetime:
            prepared.append(utc_datetime(value))
            continue
        # The memo keeps each value it holds alive, so that no other object takes its id.
        key = (id(value), id(column))
        seen = memo.get(key)
        if seen is None:
            seen = memo[key] = (value, column.field.get_db_prep_save(value, db))
        prepared.append(seen[1])
    return prepared


# A naive datetime as SQLite's driver reads one, and the instant it stands for in UTC.
_NAIVE_EPOCH = datetime(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _aware(value, db: BaseDatabaseWrapper):
    """What Django's converter makes of a datetime column read from SQLite when the connection's
    time zone is UTC: the naive UTC datetime, made aware. Django attaches the zone with
    `replace(tzinfo=...)`, whose keyword parsing alone costs several times this addition, which
    gives the same datetime (exact: a timedelta holds whole microseconds); a call's read has
    seven such columns."""
    if type(value) is datetime and value.tzinfo is None:
        return _EPOCH + (value - _NAIVE_EPOCH)
    return db.ops.convert_datetimefield_value(value, None, db)


def locked(
    model: type[Model], pk, also: dict[str, str] | None = None, related: tuple[str, ...] = ()
) -> Model:
    """The row `pk` of `model`, read afresh under a row lock (FOR UPDATE on PostgreSQL; SQLite's
    write transaction already serialises writers). Must run inside a transaction. `also` names
    SQL expressions read in the same statement and set as attributes of the instance, `related`
    the foreign keys whose rows are read with it (as `select_related`): one round trip instead
    of several on every step."""
    db = _database()
    also = also or {}
    key = (model, "locked", tuple(also.items()), related)
    cache = _cache(db)
    select = cache.get(key)
    if select is None:
        select = cache[key] = _Select(db, model, lock=True, also=also, related=related)
    found = select.fetch(db, pk)
    if found is None:
        raise model.DoesNotExist(f"{model.__name__} {pk} does not exist")
    return found


class _Update(NamedTuple):
    sql: str
    columns: list[_Column]
    generated: tuple[str, ...]


def _update_statement(db: BaseDatabaseWrapper, model: type[Model], names: Sequence[str]) -> _Update:
    cache = _cache(db)
    key = (model, "update", tuple(names))
    compiled = cache.get(key)
    if compiled is None:
        meta, quote = model._meta, db.ops.quote_name
        fields = [meta.get_field(name) for name in names]
        assignments = ", ".join(
            f"{quote(field.column)} = {_slot(position)}" for position, field in enumerate(fields)
        )
        where = f"{quote(meta.pk.column)} = {_slot(len(fields))}"
        sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {where}"
        generated = tuple(field.attname for field in meta.concrete_fields if field.generated)
        compiled = cache[key] = _Update(sql, _columns(db, fields), generated)
    return compiled


def values_of(instance: Model, names: Sequence[str]) -> tuple:
    """The values of the fields `names` on `instance` now, for `save_fields(..., read=)`. A
    JSON value is copied: changed in place later, it must not look unchanged."""
    update = _update_statement(_database(), type(instance), names)
    return tuple(_detached(getattr(instance, column.attname)) for column in update.columns)


def _detached(value):
    # What a JSON column holds, copied all the way down (`copy.deepcopy` costs several times
    # more on every step for the same result).
    if isinstance(value, dict):
        return {key: _detached(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_detached(item) for item in value]
    return value


def save_fields(
    instance: Model,
    names: Sequence[str],
    then_insert: tuple[type[Model], Sequence[Mapping[str, object]]] | None = None,
    read: tuple | None = None,
) -> None:
    """UPDATE only `names` of `instance`'s row, as `save(update_fields=names)` would, without
    building the statement again. `then_insert` is (model, rows) to `insert_rows` after it, in
    the same statement where the database can run both in one (PostgreSQL): a step's move and
    its events in one round trip. `read` is `values_of(instance, names)` as the row was read
    under its lock: the fields still holding those values are left out, as the row holds them
    already (a step changes a few of the fields a move may change; each left out is a value
    not prepared and, on SQLite, an index not rewritten)."""
    db = _database()
    model = type(instance)
    update = _update_statement(db, model, names)
    if read is not None:
        changed = tuple(
            name
            for name, column, before in zip(names, update.columns, read, strict=True)
            if getattr(instance, column.attname) != before
        )
        if changed and len(changed) < len(names):
            update = _update_statement(db, model, changed)
    memo: dict = {}
    values = [getattr(instance, column.attname) for column in update.columns]
    params = _parameters(db, update.columns, values, memo)
    params.append(instance.pk)
    if then_insert and then_insert[1] and db.vendor == "postgresql":
        _update_and_insert(db, instance, update, params, *then_insert, memo)
    else:
        if _execute(db, update.sql, params, "rowcount") != 1:
            raise DatabaseError(f"{model.__name__} {instance.pk}: the update touched no row")
        if then_insert:
            _insert_rows(db, *then_insert, memo)
    for attname in update.generated:
        # A column the database computes from the ones just written is stale on the instance;
        # dropping it makes the next read of the attribute fetch it, as Django does after a save.
        instance.__dict__.pop(attname, None)


def _update_and_insert(
    db: BaseDatabaseWrapper, instance, update: _Update, params: list, model, rows, memo: dict
) -> None:
    insert = _insert_statement(db, model)
    cache = _cache(db)
    key = (update.sql, model, "update_and_insert", len(rows))
    sql = cache.get(key)
    if sql is None:
        # The rows are joined to what the UPDATE returns, so that they are written only when it
        # touched the row, and in the order given (their ids order events of one instant). Each
        # value is cast to its column's type: in a VALUES list that is not the INSERT's own, the
        # database does not infer the types from the target columns.
        types = [column.field.cast_db_type(db) for column in insert.columns]
        first = len(update.columns) + 1  # the UPDATE's values and the primary key come first

        def casts(position: int) -> str:
            start = first + position * len(types)
            return ", ".join(
                f"CAST({_slot(start + offset)} AS {cast})" for offset, cast in enumerate(types)
            )

        values = ", ".join(f"({position}, {casts(position)})" for position in range(len(rows)))
        names = ", ".join(f"c{position}" for position in range(len(insert.columns)))
        sql = cache[key] = (
            f"WITH moved AS ({update.sql} RETURNING 1) {insert.head} SELECT {names} "
            f"FROM moved, (VALUES {values}) AS new (position, {names}) ORDER BY position"
        )
    for row in rows:
        params += _parameters(db, insert.columns, _row_values(insert.columns, row), memo)
    if _execute(db, sql, params, "rowcount") != len(rows):
        name = type(instance).__name__
        raise DatabaseError(f"{name} {instance.pk}: the update touched no row")


class _Insert(NamedTuple):
    head: str  # INSERT INTO table (columns)
    columns: list[_Column]
    generated: tuple[str, ...]
    # The statement for a number of rows (`_insert_sql`), compiled when first needed.
    by_count: dict[int, str]


def _insert_statement(db: BaseDatabaseWrapper, model: type[Model]) -> _Insert:
    cache = _cache(db)
    compiled = cache.get((model, "insert"))
    if compiled is None:
        meta, quote = model._meta, db.ops.quote_name
        fields = [
            field for field in meta.concrete_fields if not field.primary_key and not field.generated
        ]
        head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
        generated = tuple(field.attname for field in meta.concrete_fields if field.generated)
        compiled = cache[(model, "insert")] = _Insert(head, _columns(db, fields), generated, {})
    return compiled


def _insert_sql(insert: _Insert, count: int) -> str:
    """INSERT of `count` rows, their values in row order."""
    sql = insert.by_count.get(count)
    if sql is None:
        width = len(insert.columns)
        rows = (
            "(" + ", ".join(_slot(row * width + offset) for offset in range(width)) + ")"
            for row in range(count)
        )
        sql = insert.by_count[count] = f"{insert.head} VALUES {', '.join(rows)}"
    return sql


def insert_one(instance: Model) -> None:
    """INSERT a new row for `instance` and give it the primary key the database chose, as
    `save()` does for a new object."""
    db = _database()
    insert = _insert_statement(db, type(instance))
    values = [column.field.pre_save(instance, True) for column in insert.columns]
    params = _parameters(db, insert.columns, values, {})
    sql = _insert_sql(insert, 1)
    if db.features.can_return_columns_from_insert:
        pk_column = db.ops.quote_name(instance._meta.pk.column)
        instance.pk = _execute(db, f"{sql} RETURNING {pk_column}", params, "one")[0]
    else:
        instance.pk = _execute(db, sql, params, "lastrowid")
    instance._state.adding = False
    instance._state.db = db.alias
    for attname in insert.generated:
        instance.__dict__.pop(attname, None)


def insert(instances: Sequence[Model]) -> None:
    """INSERT `instances` (all of one model, primary keys left to the database) in one
    statement. Their ids are not read back: for rows the caller does not touch again (links)."""
    if not instances:
        return
    db = _database()
    insert = _insert_statement(db, type(instances[0]))
    memo: dict = {}
    params = []
    for instance in instances:
        values = [column.field.pre_save(instance, True) for column in insert.columns]
        params += _parameters(db, insert.columns, values, memo)
    _execute_insert(db, insert, len(instances), params)


def insert_rows(model: type[Model], rows: Sequence[Mapping[str, object]]) -> None:
    """INSERT `rows` of `model`, each given as its column values by attribute name (`call_id`),
    in one statement, without building a model instance for each: for rows nobody touches again
    once written (the event log). A column a row leaves out gets the field's default; values are
    taken as given, so a field the model fills in on save (`auto_now`) must be given too."""
    _insert_rows(_database(), model, rows, {})


def _insert_rows(db: BaseDatabaseWrapper, model, rows, memo: dict) -> None:
    if not rows:
        return
    insert = _insert_statement(db, model)
    params = []
    for row in rows:
        params += _parameters(db, insert.columns, _row_values(insert.columns, row), memo)
    _execute_insert(db, insert, len(rows), params)


def _row_values(columns: Sequence[_Column], row: Mapping[str, object]) -> list:
    return [
        row[column.attname] if column.attname in row else column.field.get_default()
        for column in columns
    ]


def _execute_insert(db: BaseDatabaseWrapper, insert: _Insert, count: int, params: list):
    _execute(db, _insert_sql(insert, count), params)
