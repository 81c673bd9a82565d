"""Reading the log fast. An export touches every row of the log once, so what costs per row decides
its speed: a model instance, or even Django's per-value converters (a timestamp parsed into an
aware datetime only to be formatted back into text), cost more than writing the row does. Here a
query built with the ORM is run on a plain database cursor and its rows are handed out as the
driver returns them, a chunk at a time; timestamps are selected as text and reshaped by slicing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import connection
from django.db.models import QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from usm import prepared_statements


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


def chunks(
    queryset: QuerySet, fields: tuple[str, ...], size: int, *, read_ahead: bool = False
) -> Iterator[list[tuple]]:
    """The rows of `queryset` (as `values_list(*fields)` would give them, without converters)
    in lists of at most `size`. On PostgreSQL the cursor is a server-side one, so only a chunk
    is ever held; on SQLite the driver steps through the result as it is fetched. With
    `read_ahead` (PostgreSQL only), see `chunks_ahead`."""
    if read_ahead:
        for chunk, _ in chunks_ahead(queryset, fields, size, _nothing):
            yield chunk
        return
    sql, params = queryset.values_list(*fields).query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        fetch = cursor.cursor.fetchmany
        while chunk := fetch(size):
            yield chunk


def second_thread_pays() -> bool:
    """Whether an export gains from a second thread reading (or writing) while the first works:
    when the log comes from PostgreSQL, whose rows this process waits for while the server works
    on a core of its own. Read from SQLite, reading takes this process's CPU as much as writing
    does; two threads then compete for the cores and for Python's lock, and were measured slower
    than one on a busy machine."""
    return connection.vendor == "postgresql"


Prepared = TypeVar("Prepared")


def _nothing(chunk: list[tuple], driver) -> None:
    return None


def chunks_ahead(
    queryset: QuerySet,
    fields: tuple[str, ...],
    size: int,
    prepare: Callable[[list[tuple], Any], Prepared],
) -> Iterator[tuple[list[tuple], Prepared]]:
    """The chunks of `chunks`, each with `prepare(chunk, driver)`, read and prepared by a thread
    of its own while the caller uses the chunk before: from PostgreSQL, a process reading one
    chunk after the other waits for each as long as the server takes to send it. The thread
    reads on this thread's connection (`driver`, the driver's: Django's connections are each
    thread's own), so within its transaction; the driver runs one statement at a time, so the
    caller's queries meanwhile wait their turn. Two chunks are held at a time."""
    sql, params = queryset.values_list(*fields).query.sql_with_params()

    def next_chunk() -> tuple[list[tuple], Prepared | None]:
        chunk = fetch(size)
        return chunk, prepare(chunk, driver) if chunk else None

    # Left early (an error, a download given up), the reader is shut down first, waiting for
    # the chunk it is reading: the cursor is closed only once the thread is done with it.
    with (
        connection.chunked_cursor() as cursor,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="usm-read-ahead") as reader,
    ):
        cursor.execute(sql, params)
        fetch = cursor.cursor.fetchmany
        # Open now, if it was not before.
        driver = connection.connection
        pending = reader.submit(next_chunk)
        while True:
            chunk, prepared = pending.result()
            if not chunk:
                return
            pending = reader.submit(next_chunk)
            yield chunk, prepared


def rows(
    queryset: QuerySet, fields: tuple[str, ...], size: int, *, read_ahead: bool = False
) -> Iterator[tuple]:
    """The same rows one by one, for the small queries walked alongside the big ones."""
    for chunk in chunks(queryset, fields, size, read_ahead=read_ahead):
        yield from chunk


def _id_list(ids: list[int], vendor: str) -> RawSQL:
    """`ids` as a subquery for `field__in=`, in one parameter: a list of placeholders, one per
    id, would be a new statement for every count, and psycopg parses a statement of more than
    50 parameters anew each time it is sent."""
    if vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (ids,))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(ids),))


class ByIds:
    """The rows of a query for some ids (`queryset_of(ids)` filtering `field__in=ids`, the ids
    its only parameter), made once: a lookup made for every chunk of an export then sends the
    same statement each time, built by Django once and parsed by the driver once. On a plain
    cursor: a small result needs no server-side cursor of its own."""

    def __init__(self, queryset_of: Callable[[RawSQL], QuerySet], fields: tuple[str, ...]):
        self.vendor = connection.vendor
        query = queryset_of(_id_list([], self.vendor)).values_list(*fields).query
        self.sql, params = query.sql_with_params()
        if len(params) != 1:
            raise ValueError("the query has parameters besides the ids")

    def __call__(self, ids: list[int], *, on=None) -> list[tuple]:
        """The rows for `ids`; run on psycopg's connection `on` where given (this thread's
        Django connection otherwise): a thread reading ahead for another (`chunks_ahead`) runs
        on its connection, in its transaction. There the statement is prepared on the server
        where the connection allows it (`usm.prepared_statements`): planned once, it took under
        half the time."""
        params = _id_list(ids, self.vendor).params
        if on is not None:
            with closing(prepared_statements.execute(on, self.sql, params)) as cursor:
                return cursor.fetchall()
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            return cursor.cursor.fetchall()
