"""The register and the event log are numbered without SQLite's sequence table (AppendOnlyId).

SQLite can change a column's declaration only by copying the table, so on an existing SQLite
install this copies both tables and rebuilds their indexes once: minutes at a million calls,
and twice their size on disk while it runs. Ids are kept as they are. On PostgreSQL nothing
changes (the identity column is the same)."""

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
