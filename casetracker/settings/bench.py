"""The app server that `manage.py bench` times over HTTP: the test settings (DEBUG off,
plain static files, a cache of the process's own) with the bench's URLs, its floor
view among them, and no page cache, so that every request is rendered."""

from .test import *  # noqa: F403

ROOT_URLCONF = "casetracker.management.commands.bench"
CASETRACKER_PAGE_CACHE_SECONDS = 0
