"""The register and the event log are numbered without SQLite's sequence table (AppendOnlyId).

SQLite can change a column's declaration only by copying the table, so on an existing SQLite
install this copies both tables and rebuilds their indexes once: minutes at a million calls.
The copy goes to new pages, and the old ones are left free inside the file: the database file
keeps its larger size until `VACUUM` (run with the application stopped) gives them back. Ids
are kept as they are. On PostgreSQL nothing changes (the identity column is the same)."""

from django.db import migrations

from usm.calls.append_only_id import AppendOnlyId


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0006_fewer_indexes_to_keep_up"),
    ]

    operations = [
        migrations.AlterField(
            model_name="call",
            name="id",
            field=AppendOnlyId(primary_key=True, serialize=False),
        ),
        migrations.AlterField(
            model_name="callevent",
            name="id",
            field=AppendOnlyId(primary_key=True, serialize=False),
        ),
    ]
