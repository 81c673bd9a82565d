"""The statements every step of every call sends, compiled once per thread: the locked re-read of
a call, the UPDATE of the fields a move changes and the INSERT of a transition's events.

Building them through the ORM on each step (clone the queryset, resolve the filter, compile the
SELECT, walk the model's fields) cost several times what the database takes to run them. They
are still the ORM's statements: compiled from the model the first time a thread needs them, with
the ORM's own value preparation and converters, so a column added to the model is picked up
without touching this file. Called by `services` only.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from django.db import DatabaseError, connection
from django.db.models import Model
from django.db.models.expressions import RawSQL

_compiled = threading.local()


def _cache() -> dict:
    # One cache per thread and database alias: a compiled statement is bound to the backend that
    # compiled it (its quoting, its placeholders, FOR UPDATE or not).
    caches = _compiled.__dict__.setdefault("by_alias", {})
    return caches.setdefault(connection.alias, {})


class _Select:
    """SELECT every column of one row by primary key, locking it where the database can, and the
    values of `also` (name: an SQL expression of no parameters) in the same statement."""

    def __init__(self, model: type[Model], lock: bool, also: dict[str, str]):
        queryset = model._base_manager.filter(pk=0)
        if also:
            queryset = queryset.annotate(**{name: RawSQL(sql, ()) for name, sql in also.items()})
        if lock:
            queryset = queryset.select_for_update(**({"of": ("self",)} if also else {}))
        compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = compiler.as_sql()
        if list(params) != [0]:
            raise RuntimeError(f"unexpected parameters compiling {model.__name__}: {params}")
        fields = compiler.klass_info["select_fields"]
        columns = [compiler.select[position][0] for position in fields]
        self.converters = list(compiler.get_converters(columns).items())
        self.attnames = [column.target.attname for column in columns]
        self.fields = slice(fields[0], fields[-1] + 1)
        self.also = sorted(compiler.annotation_col_map.items(), key=lambda item: item[1])
        self.model = model

    def fetch(self, pk) -> Model | None:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row[self.fields])
        for position, (converters, expression) in self.converters:
            value = values[position]
            for convert in converters:
                value = convert(value, expression, connection)
            values[position] = value
        instance = self.model.from_db(connection.alias, self.attnames, values)
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
PLAIN_VALUES = (str, int, type(None))


def _preparers(fields) -> list:
    """For each field, whether a plain value may skip its preparation."""
    return [(field, field.get_internal_type() in PLAIN_TYPES) for field in fields]


def _parameter(field, plain: bool, value):
    if plain and type(value) in PLAIN_VALUES:
        return value
    return field.get_db_prep_save(value, connection)


def locked(model: type[Model], pk, also: dict[str, str] | None = None) -> Model:
    """The row `pk` of `model`, read afresh under a row lock (FOR UPDATE on PostgreSQL; SQLite's
    write transaction already serialises writers). Must run inside a transaction. `also` names
    SQL expressions read in the same statement and set as attributes of the instance: one round
    trip instead of two on every step."""
    also = also or {}
    key = (model, "locked", tuple(also.items()))
    cache = _cache()
    select = cache.get(key)
    if select is None:
        select = cache[key] = _Select(model, lock=True, also=also)
    found = select.fetch(pk)
    if found is None:
        raise model.DoesNotExist(f"{model.__name__} {pk} does not exist")
    return found


def save_fields(instance: Model, names: Sequence[str]) -> None:
    """UPDATE only `names` of `instance`'s row, as `save(update_fields=names)` would, without
    building the statement again."""
    model = type(instance)
    cache = _cache()
    key = (model, "update", tuple(names))
    compiled = cache.get(key)
    if compiled is None:
        meta, quote = model._meta, connection.ops.quote_name
        fields = [meta.get_field(name) for name in names]
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
        sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
        compiled = cache[key] = (sql, _preparers(fields))
    sql, preparers = compiled
    params = [
        _parameter(field, plain, getattr(instance, field.attname)) for field, plain in preparers
    ]
    params.append(instance.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != 1:
            raise DatabaseError(f"{model.__name__} {instance.pk}: the update touched no row")
    _expire_generated(instance)


def _expire_generated(instance: Model) -> None:
    # A column the database computes from the ones just written is stale on the instance; dropping
    # it makes the next read of the attribute fetch it, as Django does after a save.
    for field in instance._meta.concrete_fields:
        if field.generated:
            instance.__dict__.pop(field.attname, None)


def insert_one(instance: Model) -> None:
    """INSERT a new row for `instance` and give it the primary key the database chose, as
    `save()` does for a new object."""
    head, row, preparers = _insert_statement(type(instance))
    quote = connection.ops.quote_name
    params = [
        _parameter(field, plain, field.pre_save(instance, True)) for field, plain in preparers
    ]
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            pk_column = quote(instance._meta.pk.column)
            cursor.execute(f"{head}{row} RETURNING {pk_column}", params)
            instance.pk = cursor.fetchone()[0]
        else:
            cursor.execute(head + row, params)
            instance.pk = cursor.lastrowid
    instance._state.adding = False
    instance._state.db = connection.alias
    _expire_generated(instance)


def _insert_statement(model: type[Model]) -> tuple[str, str, list]:
    cache = _cache()
    compiled = cache.get((model, "insert"))
    if compiled is None:
        meta, quote = model._meta, connection.ops.quote_name
        fields = [
            field for field in meta.concrete_fields if not field.primary_key and not field.generated
        ]
        columns = ", ".join(quote(field.column) for field in fields)
        head = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        compiled = cache[(model, "insert")] = (head, row, _preparers(fields))
    return compiled


def insert(instances: Sequence[Model]) -> None:
    """INSERT `instances` (all of one model, primary keys left to the database) in one
    statement. Their ids are not read back: for rows the caller does not touch again (events,
    links)."""
    if not instances:
        return
    head, row, preparers = _insert_statement(type(instances[0]))
    params = [
        _parameter(field, plain, field.pre_save(instance, True))
        for instance in instances
        for field, plain in preparers
    ]
    with connection.cursor() as cursor:
        cursor.execute(head + ", ".join([row] * len(instances)), params)
