"""The configuration stamp and the triggers that replace it on every write to the tables the
call engine caches (see usm.agreements.configuration)."""

from django.db import migrations, models

# The tables whose rows the engine's configuration cache holds.
WATCHED = (
    "agreements_agreement",
    "agreements_agreement_services",
    "agreements_norm",
    "agreements_calendar",
    "agreements_openinghours",
    "agreements_holiday",
    "agreements_calendarexception",
    "agreements_matrixcell",
    "organisation_procedure",
    "organisation_stepresponsibility",
    "organisation_profile",
)
STAMP = "usm_configuration_stamp"


def _postgresql(table: str) -> tuple[str, str]:
    # Statement-level, so a bulk load or a TRUNCATE changes the stamp once.
    create = (
        f"CREATE TRIGGER {table}_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION usm_touch_configuration()"
    )
    return create, f"DROP TRIGGER IF EXISTS {table}_stamp ON {table}"


def _sqlite(table: str) -> list[tuple[str, str]]:
    # SQLite has row-level triggers only; INSERT OR REPLACE also brings the row back after a
    # flush emptied the stamp's table.
    return [
        (
            f"CREATE TRIGGER {table}_stamp_{event.lower()} AFTER {event} ON {table} BEGIN "
            f"INSERT OR REPLACE INTO {STAMP} (id, value) VALUES (1, random()); END",
            f"DROP TRIGGER IF EXISTS {table}_stamp_{event.lower()}",
        )
        for event in ("INSERT", "UPDATE", "DELETE")
    ]


def statements(vendor: str) -> list[tuple[str, str]]:
    if vendor == "postgresql":
        function = (
            "CREATE OR REPLACE FUNCTION usm_touch_configuration() RETURNS trigger AS $$ BEGIN "
            f"INSERT INTO {STAMP} (id, value) VALUES (1, (random() * 9.2e18)::bigint) "
            "ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value; RETURN NULL; END $$ "
            "LANGUAGE plpgsql"
        )
        return [(function, "DROP FUNCTION IF EXISTS usm_touch_configuration()")] + [
            _postgresql(table) for table in WATCHED
        ]
    if vendor == "sqlite":
        return [pair for table in WATCHED for pair in _sqlite(table)]
    raise RuntimeError(f"no configuration triggers written for {vendor}")


def create(apps, schema_editor):
    for create_sql, _ in statements(schema_editor.connection.vendor):
        schema_editor.execute(create_sql)
    apps.get_model("agreements", "ConfigurationStamp").objects.create(id=1, value=1)


def drop(apps, schema_editor):
    for _, drop_sql in reversed(statements(schema_editor.connection.vendor)):
        schema_editor.execute(drop_sql)


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0003_constraint_messages"),
        ("organisation", "0002_procedure_procedure_version_once"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConfigurationStamp",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value", models.BigIntegerField()),
            ],
            options={"db_table": "usm_configuration_stamp"},
        ),
        migrations.RunPython(create, drop),
    ]
