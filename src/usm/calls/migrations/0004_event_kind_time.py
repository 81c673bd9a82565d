from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0003_period_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="callevent",
            index=models.Index(fields=["provider", "kind", "at"], name="event_kind_time"),
        ),
    ]
