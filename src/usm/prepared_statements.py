"""Statements prepared on PostgreSQL's server, for the few hot paths that send the same statement
many times on one connection (the engine's steps, an export's look-ups by id).

Django's cursor binds parameters on the client, into the statement's text, which the server then
parses and plans anew every time; a psycopg cursor that binds on the server can have the
statement prepared once per connection. Whether the connection allows it is the settings'
`prepare_threshold` (`usm.settings`): a pooler that cannot keep prepared statements needs it off.
"""

from __future__ import annotations

from collections.abc import Sequence


def allowed(driver) -> bool:
    """Whether psycopg's connection `driver` may keep prepared statements."""
    return driver.prepare_threshold is not None


def execute(driver, sql: str, params: Sequence):
    """`sql` (with psycopg's `%s` placeholders) run on psycopg's connection `driver`, bound on the
    server and prepared there where the connection allows it; returns the cursor holding the
    outcome."""
    from psycopg import Cursor  # only where PostgreSQL is the database

    cursor = Cursor(driver)
    cursor.execute(sql, params, prepare=allowed(driver))
    return cursor
