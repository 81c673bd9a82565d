"""Keeping SQLite's query planner informed about how big the tables have grown.

SQLite plans from the statistics ANALYZE leaves in `sqlite_stat1`, and nothing runs ANALYZE on its
own: a register that grew from a few hundred calls to a million is planned as if it were empty
(or, never analysed, by rules of thumb), and the indexes the desk queue, the KPIs and the exports
were measured with may be passed over. `PRAGMA optimize` is SQLite's own answer: it analyses the
tables this connection has read whose statistics are missing or out of date by a wide margin, and
is nearly free when none are. With `analysis_limit` it samples each index instead of reading it
whole: the register and the event log of the bench's 10k calls are analysed in 10 ms. The SLA
sweep runs it after its stages (usm.control.sweep), on the connection that has just read the
register, the event log and the process-control tables, at most once an hour per process:
SQLite re-analyses every time a table with an index that has no statistics, which is what an
empty partial index (the register's idempotency keys, when no client sends any) looks like.
SQLite only considers tables the connection has read, so tables the sweep never reads keep the
statistics they have.

PostgreSQL's autovacuum analyses tables as they change; nothing to do there.
"""

from __future__ import annotations

import json
import logging
import time

from django.db import OperationalError, connection, transaction

logger = logging.getLogger(__name__)

# Rows sampled per index: SQLite's documentation suggests 100 to 1000.
ANALYSIS_LIMIT = 1000
EVERY_SECONDS = 3600.0
# When this process last refreshed them (time.monotonic()), None before its first time.
_refreshed_at: float | None = None


def refresh() -> list[str]:
    """On SQLite, analyse the tables whose statistics are missing or stale, unless this process
    did within the hour; returns the names of those analysed (none elsewhere, or when all are
    current)."""
    global _refreshed_at
    now = time.monotonic()
    if connection.vendor != "sqlite" or (
        _refreshed_at is not None and now - _refreshed_at < EVERY_SECONDS
    ):
        return []
    with connection.cursor() as cursor:
        # Bit 0x01 only says what would be analysed (one `ANALYZE "main"."table"` row each);
        # it reads, so it needs no lock.
        cursor.execute("PRAGMA optimize(0x03)")
        stale = [row[0].rsplit(".", 1)[-1].strip('"') for row in cursor.fetchall()]
    if not stale:
        _refreshed_at = now
        return []
    try:
        # ANALYZE writes. Begun as a read, it could not wait for a writer to finish (SQLite
        # refuses to turn a read into a write while another connection writes); a transaction
        # of Django's begins IMMEDIATE and waits for the lock like any other write.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            cursor.execute("PRAGMA optimize")
            # An empty table gets no statistics, so SQLite proposes it every time; it costs
            # nothing to analyse and is not reported.
            cursor.execute(
                "SELECT DISTINCT tbl FROM sqlite_stat1 "
                "WHERE tbl IN (SELECT value FROM json_each(%s))",
                [json.dumps(stale)],
            )
            analysed = sorted(table for (table,) in cursor.fetchall())
    except OperationalError as exc:  # the lock was not had in time: the next sweep tries again
        logger.warning("planner statistics not refreshed: %s", exc)
        return []
    _refreshed_at = now
    return analysed
