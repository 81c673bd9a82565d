from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0002_open_call_queue_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="call",
            index=models.Index(fields=["provider", "created_at"], name="call_registered_time"),
        ),
        migrations.AddIndex(
            model_name="call",
            index=models.Index(fields=["provider", "closed_at"], name="call_ended_time"),
        ),
        migrations.AddIndex(
            model_name="call",
            index=models.Index(fields=["provider", "response_due"], name="call_response_due"),
        ),
        migrations.AddIndex(
            model_name="call",
            index=models.Index(fields=["provider", "resolution_due"], name="call_resolution_due"),
        ),
    ]
