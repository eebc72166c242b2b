"""gunicorn settings, read from ./gunicorn.conf.py by `gunicorn casetracker.wsgi`.

`make serve` uses them; so does a production app server (docs/deploy.md). Each one can
be overridden from the environment or on the command line (`--bind`, `--workers`).
"""

import os


def _cores() -> int:
    """CPUs this process may run on (a container's quota, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Pages are CPU-bound Python (templates, ORM), so processes, not threads, use the cores;
# the usual 2 x cores + 1 keeps a core busy while another worker waits on the database.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * _cores() + 1))
# More than one thread switches to the gthread worker, which also keeps connections
# alive between requests.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then (staggered), so no slow leak lives for weeks.
max_requests = 5000
max_requests_jitter = 500
# Only a proxy on these addresses may say the request came over HTTPS.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The control socket sits at one fixed path per user: two servers on one machine would
# fight over it, and nothing here uses it.
control_socket_disable = True
