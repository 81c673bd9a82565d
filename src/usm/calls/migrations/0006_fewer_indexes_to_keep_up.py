"""Drop the single-column indexes no read needs, which every step kept up (see the models).

Only the indexes go: on SQLite an AlterField would copy the call register and the event log into
new tables, which at a million calls takes minutes and twice the disk. The names are Django's own
for these columns, the same on SQLite and PostgreSQL."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (table, column, index name) of each dropped index.
DROPPED = [
    ("calls_call", "accountable_profile_id", "calls_call_accountable_profile_id_e520d0ab"),
    ("calls_call", "responsible_profile_id", "calls_call_responsible_profile_id_9c7dd88e"),
    ("calls_call", "root_id", "calls_call_root_id_578fb373"),
    ("calls_callevent", "actor_id", "calls_callevent_actor_id_4d280515"),
    ("calls_callevent", "profile_id", "calls_callevent_profile_id_de359b50"),
    ("calls_callevent", "provider_id", "calls_callevent_provider_id_bc59d3fa"),
    ("calls_callevent", "root_id", "calls_callevent_root_id_29a2f3d0"),
    ("calls_callevent", "team_id", "calls_callevent_team_id_dd470ffc"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0005_kpi_registered_cover"),
        ("organisation", "0002_procedure_procedure_version_once"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")',
                )
                for table, column, name in DROPPED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="call",
                    name="accountable_profile",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="organisation.profile",
                    ),
                ),
                migrations.AlterField(
                    model_name="call",
                    name="responsible_profile",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="organisation.profile",
                    ),
                ),
                migrations.AlterField(
                    model_name="call",
                    name="root",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="The call that accepted the workflow (itself for a root)",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="workflow_calls",
                        to="calls.call",
                    ),
                ),
                migrations.AlterField(
                    model_name="callevent",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="callevent",
                    name="profile",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="organisation.profile",
                    ),
                ),
                migrations.AlterField(
                    model_name="callevent",
                    name="provider",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="organisation.provider",
                    ),
                ),
                migrations.AlterField(
                    model_name="callevent",
                    name="root",
                    field=models.ForeignKey(
                        db_index=False,
                        help_text="The call that accepted the workflow",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="calls.call",
                    ),
                ),
                migrations.AlterField(
                    model_name="callevent",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="organisation.team",
                    ),
                ),
            ],
        ),
    ]
