from django.db import migrations

from orders.reference import seed_carriers


def seed(apps, schema_editor):
    seed_carriers(apps)  # the role groups are created by accounts.0002_role_groups


def unseed(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Platform", "Dispute team"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
