"""Reading the log fast. An export touches every row of the log once, so what costs per row decides
its speed: a model instance, or even Django's per-value converters (a timestamp parsed into an
aware datetime only to be formatted back into text), cost more than writing the row does. Here a
query built with the ORM is run on a plain database cursor and its rows are handed out as the
driver returns them, a chunk at a time; timestamps are selected as text and reshaped by slicing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from django.db import connection
from django.db.models import QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast


def timestamp_text(field: str) -> Cast:
    """`field` as the database writes it out: SQLite stores the UTC time as text already, and
    PostgreSQL prints it in the session's time zone, which Django sets to UTC."""
    return Cast(field, TextField())


def utc_millis(text: str) -> str:
    """A timestamp as `timestamp_text` selects it ("2026-11-27 04:38:12.123456", with "+00" and
    trailing zeros of the fraction dropped on PostgreSQL), as ISO 8601 with milliseconds and no
    offset: "2026-11-27T04:38:12.123". Milliseconds are cut, not rounded, as
    `datetime.isoformat` does."""
    # SQLite's text of a time with microseconds, by far the most common: tested first, as it is
    # reshaped on every row of an export.
    if len(text) == 26 and text[19] == "." and text[20:].isdigit():
        return text.replace(" ", "T", 1)[:23]
    if text.endswith("+00"):
        text = text[:-3]
    if len(text) == 19 and text[10] == " " and text[13] == text[16] == ":":  # whole seconds
        return f"{text[:10]}T{text[11:]}.000"
    fraction = text[20:]
    if text[19:20] == "." and fraction.isdigit():
        return f"{text[:10]}T{text[11:19]}.{(fraction + '00')[:3]}"
    # An offset other than UTC's.
    at = datetime.fromisoformat(text)
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="milliseconds")


def chunks(queryset: QuerySet, fields: tuple[str, ...], size: int) -> Iterator[list[tuple]]:
    """The rows of `queryset` (as `values_list(*fields)` would give them, without converters)
    in lists of at most `size`. On PostgreSQL the cursor is a server-side one, so only a chunk
    is ever held; on SQLite the driver steps through the result as it is fetched."""
    sql, params = queryset.values_list(*fields).query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        fetch = cursor.cursor.fetchmany
        while chunk := fetch(size):
            yield chunk


def rows(queryset: QuerySet, fields: tuple[str, ...], size: int) -> Iterator[tuple]:
    """The same rows one by one, for the small queries walked alongside the big ones."""
    for chunk in chunks(queryset, fields, size):
        yield from chunk


def _id_list(ids: list[int]) -> RawSQL:
    """`ids` as a subquery for `field__in=`, in one parameter: a list of placeholders, one per
    id, would be a new statement for every count, and psycopg parses a statement of more than
    50 parameters anew each time it is sent."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (ids,))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(ids),))


class ByIds:
    """The rows of a query for some ids (`queryset_of(ids)` filtering `field__in=ids`, the ids
    its only parameter), made once: a lookup made for every chunk of an export then sends the
    same statement each time, built by Django once and parsed by the driver once. On a plain
    cursor: a small result needs no server-side cursor of its own."""

    def __init__(self, queryset_of: Callable[[RawSQL], QuerySet], fields: tuple[str, ...]):
        query = queryset_of(_id_list([])).values_list(*fields).query
        self.sql, params = query.sql_with_params()
        if len(params) != 1:
            raise ValueError("the query has parameters besides the ids")

    def __call__(self, ids: list[int]) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, _id_list(ids).params)
            return cursor.cursor.fetchall()
