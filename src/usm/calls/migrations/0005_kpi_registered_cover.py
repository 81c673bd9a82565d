from django.db import migrations, models


class Migration(migrations.Migration):
    """The registration index widened by the columns the KPIs count intake by (see the model),
    replacing the narrower one it serves every range of."""

    dependencies = [
        ("calls", "0004_event_kind_time"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="call",
            index=models.Index(
                fields=[
                    "provider",
                    "created_at",
                    "process",
                    "service",
                    "customer",
                    "accepting",
                    "workflow",
                ],
                name="call_registered_cover",
            ),
        ),
        migrations.RemoveIndex(model_name="call", name="call_registered_time"),
    ]
