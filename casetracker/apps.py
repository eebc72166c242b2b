from django.apps import AppConfig


class CasetrackerConfig(AppConfig):
    name = "casetracker"
    verbose_name = "Case tracker"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connect the SQLite function hook before any connection opens.
        from . import db  # noqa: F401
