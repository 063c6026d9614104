from django.db import migrations

SEARCH_SETTINGS_PERMISSIONS = ["view_searchsettings", "change_searchsettings"]


def merchants_may_change_their_search_settings(apps, schema_editor):
    """Existing merchant users get the search settings page (new ones: merchant_add_user)."""
    from django.contrib.auth.management import create_permissions

    app = apps.get_app_config("retrieval")
    app.models_module = True  # a migration's app stub; create_permissions skips it otherwise
    create_permissions(app, apps=apps, verbosity=0)
    app.models_module = None
    Group, Permission = apps.get_model("auth", "Group"), apps.get_model("auth", "Permission")
    wanted = Permission.objects.filter(
        content_type__app_label="retrieval", codename__in=SEARCH_SETTINGS_PERMISSIONS
    )
    for group in Group.objects.filter(name="Merchants"):
        group.permissions.add(*wanted)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0012_search_facets_and_stock_rule"),
        ("retrieval", "0005_suggestion_terms"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchSettings",
            fields=[],
            options={
                "verbose_name": "search settings",
                "verbose_name_plural": "search settings",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("catalog.merchant",),
        ),
        migrations.RunPython(merchants_may_change_their_search_settings, migrations.RunPython.noop),
    ]
