from datetime import timedelta

from django.db import migrations, models


def returns_close_at(apps, schema_editor):
    """The return period of every order already placed, from its policy snapshot."""
    Order = apps.get_model("orders", "Order")
    batch = []
    for order in Order.objects.exclude(return_policy_snapshot={}).iterator():
        policy = order.return_policy_snapshot or {}
        starts = order.delivered_at or order.window_opens_at
        if policy.get("accepts_returns") and policy.get("return_days") and starts is not None:
            order.returns_close_at = starts + timedelta(days=int(policy["return_days"]))
            batch.append(order)
        if len(batch) >= 1000:
            Order.objects.bulk_update(batch, ["returns_close_at"])
            batch = []
    Order.objects.bulk_update(batch, ["returns_close_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_money_minor_units"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="returns_close_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="return period ends"),
        ),
        migrations.RunPython(returns_close_at, migrations.RunPython.noop),
    ]
