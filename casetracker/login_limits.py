"""Rate limits on the admin's sign-in form: repeated failures lock out for a while.

Failed attempts are counted per username (case-folded) and per client address. When a
username reaches settings.LOGIN_FAILURES_PER_USERNAME failures, or an address
LOGIN_FAILURES_PER_IP, within LOGIN_LOCKOUT_SECONDS of its first counted failure, it is
locked for LOGIN_LOCKOUT_SECONDS. While locked, the form refuses every attempt for it,
the right password included, before the password is checked, and says so and for how
long. A successful sign-in clears its username's count (not its address's, which a
person with one good account could otherwise keep clearing while guessing others').
A username is locked whether or not an account has it, so a lock tells nothing about
which accounts exist.

The counts live in Django's cache (settings CACHES): shared by every app server with
Redis, per process with the local-memory fallback. The limit is applied by the admin's
authentication form (admin.site.login_form, set in admin.py) rather than by an
authentication backend: the form has the request (for the address) and shows its own
message on the login page, where a backend could only make the sign-in fail with the
usual "enter a correct username and password".
"""

import hashlib
import logging
import math
import time

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest

logger = logging.getLogger(__name__)

PREFIX = "login-limits"


def client_ip(request: HttpRequest | None) -> str:
    """The client's address: REMOTE_ADDR, or the last address a trusted proxy added."""
    if request is None:
        return ""
    if header := settings.LOGIN_CLIENT_IP_HEADER:
        forwarded = [a.strip() for a in request.META.get(header, "").split(",")]
        if forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "")


def _key(what: str, kind: str, value: str) -> str:
    # Hashed: a username can hold characters that some cache backends refuse in keys.
    digest = hashlib.sha256(value.encode()).hexdigest()[:40]
    return f"{PREFIX}:{what}:{kind}:{digest}"


def _subjects(username: str, ip: str) -> list[tuple[str, str, int]]:
    """(kind, value, limit) of what an attempt counts against."""
    subjects = []
    if username:
        subjects.append(
            ("username", username.casefold(), settings.LOGIN_FAILURES_PER_USERNAME)
        )
    if ip:
        subjects.append(("ip", ip, settings.LOGIN_FAILURES_PER_IP))
    return subjects


def locked_until(username: str, ip: str) -> float | None:
    """When the lock on the username or the address ends (a timestamp), or None."""
    keys = [_key("lock", kind, value) for kind, value, _ in _subjects(username, ip)]
    now = time.time()
    ends = [end for end in cache.get_many(keys).values() if end > now]
    return max(ends, default=None)


def record_failure(username: str, ip: str) -> float | None:
    """Count a failed attempt; when it starts a lock, the time the lock ends."""
    seconds = settings.LOGIN_LOCKOUT_SECONDS
    until = None
    for kind, value, limit in _subjects(username, ip):
        counter = _key("failures", kind, value)
        cache.add(counter, 0, timeout=seconds)
        try:
            count = cache.incr(counter)
        except ValueError:  # expired between add() and incr()
            cache.set(counter, 1, timeout=seconds)
            count = 1
        if count >= limit:
            until = time.time() + seconds
            cache.set(_key("lock", kind, value), until, timeout=seconds)
            cache.delete(counter)
            logger.warning(
                "Admin sign-in locked for %s s after %s failures (%s %r)",
                seconds,
                count,
                kind,
                value,
            )
    return until


def clear_failures(username: str) -> None:
    """Forget a username's failed attempts (after it signs in)."""
    cache.delete(_key("failures", "username", username.casefold()))


class RateLimitedAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in form, refusing attempts for a locked username or address."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked": (
            "Too many failed sign-in attempts. Signing in with this username or "
            "from this address is blocked for %(minutes)s more minute%(plural)s; "
            "try again after that."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request)
        if until := locked_until(username, ip):
            raise self.locked_error(until)
        try:
            cleaned_data = super().clean()
        except ValidationError:
            if until := record_failure(username, ip):
                raise self.locked_error(until) from None
            raise
        if self.user_cache is not None:
            clear_failures(username)
        return cleaned_data

    def locked_error(self, until: float) -> ValidationError:
        minutes = max(1, math.ceil((until - time.time()) / 60))
        return ValidationError(
            self.error_messages["locked"],
            code="locked",
            params={"minutes": minutes, "plural": "" if minutes == 1 else "s"},
        )
