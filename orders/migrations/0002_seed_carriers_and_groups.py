from django.db import migrations

from orders.reference import seed_reference_data


def seed(apps, schema_editor):
    seed_reference_data(apps)


def unseed(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Platform", "Dispute team"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
