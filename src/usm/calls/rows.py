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

import threading
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.db.models.query import get_related_populators
from django.db.models.signals import post_init, pre_init

_compiled = threading.local()


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
        self.sql, params = compiler.as_sql()
        if list(params) != [0]:
            raise RuntimeError(f"unexpected parameters compiling {model.__name__}: {params}")
        fields = compiler.klass_info["select_fields"]
        columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
        self.converters = list(compiler.get_converters(columns).items())
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
        with db.cursor() as cursor:
            cursor.execute(self.sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            row = list(row)
            for position, (converters, expression) in self.converters:
                value = row[position]
                for convert in converters:
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


def _columns(db: BaseDatabaseWrapper, fields) -> list[_Column]:
    return [
        _Column(
            field,
            field.attname,
            field.get_internal_type() in PLAIN_TYPES,
            field.null and field.get_db_prep_save(None, db) is None,
        )
        for field in fields
    ]


def _parameters(
    db: BaseDatabaseWrapper, columns: Sequence[_Column], values: Sequence, memo: dict
) -> list:
    """The values, in the order of `columns`, as the field would prepare them. `memo` holds what
    was prepared for an object already seen in this statement (the one instant every event of a
    transition carries), by identity."""
    prepared = []
    for column, value in zip(columns, values, strict=True):
        if value is None:
            if column.none_as_is or column.plain:
                prepared.append(None)
                continue
        elif column.plain and (type(value) is str or type(value) is int):
            prepared.append(value)
            continue
        # The memo keeps each value it holds alive, so that no other object takes its id.
        key = (id(value), id(column))
        seen = memo.get(key)
        if seen is None:
            seen = memo[key] = (value, column.field.get_db_prep_save(value, db))
        prepared.append(seen[1])
    return prepared


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
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
        sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
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
        with db.cursor() as cursor:
            cursor.execute(update.sql, params)
            if cursor.rowcount != 1:
                raise DatabaseError(f"{model.__name__} {instance.pk}: the update touched no row")
            if then_insert:
                _insert_rows(db, *then_insert, memo, cursor)
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
        casts = ", ".join(
            f"CAST(%s AS {column.field.cast_db_type(db)})" for column in insert.columns
        )
        values = ", ".join(f"({position}, {casts})" for position in range(len(rows)))
        names = ", ".join(f"c{position}" for position in range(len(insert.columns)))
        sql = cache[key] = (
            f"WITH moved AS ({update.sql} RETURNING 1) {insert.head} SELECT {names} "
            f"FROM moved, (VALUES {values}) AS new (position, {names}) ORDER BY position"
        )
    for row in rows:
        params += _parameters(db, insert.columns, _row_values(insert.columns, row), memo)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != len(rows):
            name = type(instance).__name__
            raise DatabaseError(f"{name} {instance.pk}: the update touched no row")


class _Insert(NamedTuple):
    head: str  # INSERT INTO table (columns)
    row: str  # (%s, ...) for one row
    columns: list[_Column]
    generated: tuple[str, ...]


def _insert_statement(db: BaseDatabaseWrapper, model: type[Model]) -> _Insert:
    cache = _cache(db)
    compiled = cache.get((model, "insert"))
    if compiled is None:
        meta, quote = model._meta, db.ops.quote_name
        fields = [
            field for field in meta.concrete_fields if not field.primary_key and not field.generated
        ]
        head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        generated = tuple(field.attname for field in meta.concrete_fields if field.generated)
        compiled = cache[(model, "insert")] = _Insert(head, row, _columns(db, fields), generated)
    return compiled


def insert_one(instance: Model) -> None:
    """INSERT a new row for `instance` and give it the primary key the database chose, as
    `save()` does for a new object."""
    db = _database()
    insert = _insert_statement(db, type(instance))
    values = [column.field.pre_save(instance, True) for column in insert.columns]
    params = _parameters(db, insert.columns, values, {})
    sql = f"{insert.head} VALUES {insert.row}"
    with db.cursor() as cursor:
        if db.features.can_return_columns_from_insert:
            pk_column = db.ops.quote_name(instance._meta.pk.column)
            cursor.execute(f"{sql} RETURNING {pk_column}", params)
            instance.pk = cursor.fetchone()[0]
        else:
            cursor.execute(sql, params)
            instance.pk = cursor.lastrowid
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


def _insert_rows(db: BaseDatabaseWrapper, model, rows, memo: dict, cursor=None) -> None:
    if not rows:
        return
    insert = _insert_statement(db, model)
    params = []
    for row in rows:
        params += _parameters(db, insert.columns, _row_values(insert.columns, row), memo)
    _execute_insert(db, insert, len(rows), params, cursor)


def _row_values(columns: Sequence[_Column], row: Mapping[str, object]) -> list:
    return [
        row[column.attname] if column.attname in row else column.field.get_default()
        for column in columns
    ]


def _execute_insert(
    db: BaseDatabaseWrapper, insert: _Insert, count: int, params: list, cursor=None
):
    sql = f"{insert.head} VALUES {', '.join([insert.row] * count)}"
    if cursor is not None:  # the one the statement before it used
        cursor.execute(sql, params)
        return
    with db.cursor() as cursor:
        cursor.execute(sql, params)
