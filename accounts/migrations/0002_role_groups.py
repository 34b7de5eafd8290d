"""The Platform and Dispute team groups, with exactly the permissions each needs."""

from django.db import migrations

from accounts.groups import ensure_groups


def forwards(apps, schema_editor):
    ensure_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("orders", "0003_order_notified_window_closing_and_more"),
        ("sellers", "0001_initial"),
        ("messaging", "0003_notification"),
        ("disputes", "0004_reviewqueueitem_evidencerequest_pendingruling"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
