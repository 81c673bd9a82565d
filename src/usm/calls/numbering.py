"""Tracking numbers: readable, per provider and process (INC-000123), never reused."""

from __future__ import annotations

from django.db import connection

from usm.calls.models import CallCounter


def next_number(provider_id: int, prefix: str) -> str:
    """The next number for `prefix`. Must run inside the registering transaction: the counter row
    is locked by the increment until it commits, so two desks never get the same number."""
    last = _increment(provider_id, prefix)
    if last is None:  # the provider's first call with this prefix
        CallCounter.objects.get_or_create(provider_id=provider_id, prefix=prefix)
        last = _increment(provider_id, prefix)
    return f"{prefix}-{last:06d}"


def _increment(provider_id: int, prefix: str) -> int | None:
    # One statement where the database can return what it wrote (PostgreSQL, SQLite 3.35+): the
    # increment and the read of the new value cannot be told apart by another writer.
    quote = connection.ops.quote_name
    table, last = quote(CallCounter._meta.db_table), quote("last")
    where = "WHERE provider_id = %s AND prefix = %s"
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            cursor.execute(
                f"UPDATE {table} SET {last} = {last} + 1 {where} RETURNING {last}",
                [provider_id, prefix],
            )
        else:
            cursor.execute(f"UPDATE {table} SET {last} = {last} + 1 {where}", [provider_id, prefix])
            cursor.execute(f"SELECT {last} FROM {table} {where}", [provider_id, prefix])
        row = cursor.fetchone()
    return row[0] if row else None
