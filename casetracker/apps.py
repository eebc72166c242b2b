from django.apps import AppConfig


class CasetrackerConfig(AppConfig):
    name = "casetracker"
    verbose_name = "Case tracker"
    default_auto_field = "django.db.models.BigAutoField"
