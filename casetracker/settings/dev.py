"""Local development: DEBUG on, a throwaway key, django-extensions for tooling."""

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, env_bool, env_list

DEBUG = env_bool("DEBUG", default=True)
SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-do-not-use-in-production"  # noqa: F405
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
INSTALLED_APPS = [*INSTALLED_APPS, "django_extensions"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
