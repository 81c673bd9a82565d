"""The primary key of a table whose rows are never deleted: the call register and its event log.

Django declares every SQLite auto-increment key `AUTOINCREMENT`, which keeps each table's largest
id in `sqlite_sequence` so that the id of a deleted last row is never handed out again. Keeping
it costs every transaction that inserts a row one more page written (the sequence table's), and
every step of a call inserts one: counted on the bench's WF4, one page of the 17.7 its commits
write each. Without it SQLite gives a new row the largest id in the table plus one, which is the
same id as long as the row holding the largest id is never deleted, as in these two tables (the
log is append-only, and a call is kept by its events). Ids then still grow in commit order,
which the KPI tallies and the conformance checker rely on when they remember how far they read.

Other databases are not concerned: PostgreSQL's identity column keeps its own sequence.
"""

from django.db import models


class AppendOnlyId(models.BigAutoField):
    """A `BigAutoField` that SQLite numbers without `sqlite_sequence`."""

    def db_type_suffix(self, connection):
        if connection.vendor == "sqlite":
            return None
        return super().db_type_suffix(connection)
