"""Every install gets a "Supervisors" group holding calls.supervise, so granting the role is
one click in Admin › Groups (seed_demo adds the model permissions for the demo)."""

from django.db import migrations


def create_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    # Permissions are normally created after all migrations run; ours is needed now.
    call_type, _ = ContentType.objects.get_or_create(app_label="calls", model="call")
    supervise, _ = Permission.objects.get_or_create(
        codename="supervise",
        content_type=call_type,
        defaults={"name": "Can supervise calls: act on any call, see the wallboard"},
    )
    group, _ = Group.objects.get_or_create(name="Supervisors")
    group.permissions.add(supervise)


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0002_supervise_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
