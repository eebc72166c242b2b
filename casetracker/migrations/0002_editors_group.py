"""The Editors group: what a person entering and correcting case data may do.

Editors add, change and view every kind of case data, and delete the rows that hang off
a case (roles, events, claims and their history, testimony, sources, citations). They
may not delete a whole case or a party (both are referenced from everywhere), and get no
user or group permissions.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Editors"
MODELS = (
    "case",
    "proceeding",
    "party",
    "caseparty",
    "claim",
    "claimstatuschange",
    "event",
    "testimony",
    "source",
    "newscoverage",
    "citation",
)
NO_DELETE = {"case", "party"}


def editor_codenames() -> set[str]:
    codenames = set()
    for model in MODELS:
        actions = ("add", "change", "view") if model in NO_DELETE else ("add", "change", "delete", "view")
        codenames.update(f"{action}_{model}" for action in actions)
    return codenames


def create_editors(apps, schema_editor):
    # Permissions are normally created after all migrations run; create them now so
    # the group can be given them on a fresh database.
    app_config = apps.get_app_config("casetracker")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="casetracker", codename__in=editor_codenames())
    )


def remove_editors(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("casetracker", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors, remove_editors)]
