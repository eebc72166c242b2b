"""The environment picks the shared cache, and `make serve`'s plain-http switches."""

from tests.test_settings import GOOD_KEY, run_manage

SHOW = (
    "from django.conf import settings as s; c = s.CACHES['default'];"
    "print(c['BACKEND'], c.get('LOCATION'), c.get('KEY_PREFIX'),"
    " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT)"
)


def show(**env: str) -> list[str]:
    result = run_manage("shell", "-c", SHOW, SECRET_KEY=GOOD_KEY, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[-6:]


def test_redis_url_selects_django_s_redis_cache_under_a_prefix():
    backend, location, prefix, *_ = show(
        ALLOWED_HOSTS="x.org",
        REDIS_URL="redis://cache.internal:6379/2",
        CACHE_KEY_PREFIX="staging",
    )

    assert backend == "django.core.cache.backends.redis.RedisCache"
    assert location == "redis://cache.internal:6379/2"
    assert prefix == "staging"


def test_without_redis_url_each_process_caches_in_memory():
    backend, *_ = show(ALLOWED_HOSTS="x.org", REDIS_URL="")

    assert backend == "django.core.cache.backends.locmem.LocMemCache"


def test_production_cookies_are_secure_unless_make_serve_says_otherwise():
    assert show(ALLOWED_HOSTS="x.org")[3:] == ["True", "True", "True"]
    assert show(
        ALLOWED_HOSTS="127.0.0.1",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_SSL_REDIRECT="0",
    )[3:] == ["False", "False", "False"]
