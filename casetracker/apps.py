from django.apps import AppConfig


class CasetrackerConfig(AppConfig):
    name = "casetracker"
    verbose_name = "Case tracker"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate, pre_migrate

        from . import facets, months, revisions, search

        # SQLite's full-text triggers are set aside while this app's migrations run
        # (see casetracker/search.py).
        pre_migrate.connect(search.drop_sqlite_triggers, sender=self)
        post_migrate.connect(search.sync_sqlite_triggers, sender=self)
        # So are the case revision triggers, on both databases.
        pre_migrate.connect(revisions.drop_triggers, sender=self)
        post_migrate.connect(revisions.install_triggers, sender=self)
        # And the triggers that keep the timeline's party and claim index.
        pre_migrate.connect(facets.drop_triggers, sender=self)
        post_migrate.connect(facets.install_triggers, sender=self)
        # And those that count each case's events by month.
        pre_migrate.connect(months.drop_triggers, sender=self)
        post_migrate.connect(months.install_triggers, sender=self)
