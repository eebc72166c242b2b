"""WSGI entry point (gunicorn casetracker.wsgi); production settings by default."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casetracker.settings.prod")

application = get_wsgi_application()
