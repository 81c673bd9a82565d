"""Two read-only computations of one page at once, each on a database connection of its own.

The dashboard's key figures and its conformance read different tables and each wait on the
database most of their time; run one after the other at a million calls they make the page
wait for their sum, side by side for the longer of the two (the database, SQLite's engine
included, works on both at once on a machine with more than one core).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connection, connections

Here = TypeVar("Here")
Beside = TypeVar("Beside")


def side_by_side(here: Callable[[], Here], beside: Callable[[], Beside]) -> tuple[Here, Beside]:
    """(here(), beside()), `beside` run in a thread of its own while `here` runs in this one.

    Inside a transaction both run here, one after the other: another connection would not see
    the rows this transaction has written (a test's, say) nor read the same snapshot."""
    if connection.in_atomic_block:
        return here(), beside()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="usm-beside") as pool:
        pending = pool.submit(_closing_its_connections, beside)
        first = here()
        return first, pending.result()


def _closing_its_connections(work: Callable[[], Beside]) -> Beside:
    try:
        return work()
    finally:
        # A thread's connections are its own: left open they would outlive the thread.
        connections.close_all()
