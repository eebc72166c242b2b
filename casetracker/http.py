"""Conditional requests for the public pages, and the health check.

Every public page is a function of one case's data (or, for the case list, of every
case's), of the URL and of the htmx headers that pick a fragment, and of the code
that renders it. The database keeps a revision per case that it bumps with every change
to that case's data, in any process (casetracker/revisions.py), so one primary-key read
tells whether a page a client or a proxy holds is still current:

- `ETag` hashes the revision, the case's id, the full path and query string, the htmx
  headers and a fingerprint of the code and templates (a deploy changes every page);
- `Last-Modified` is when the case last changed (or the code was installed, if later);
- `If-None-Match` / `If-Modified-Since` get a 304 after that one read, without running
  the page's queries;
- `Cache-Control: public, no-cache` lets a shared proxy store a page but makes it ask
  each time, so an edit shows at once everywhere.

ETags are weak: a page carries a fresh CSP nonce each time, so two answers under one
ETag are equivalent, not byte-identical.

The same ETag keys a cache of rendered pages (CASETRACKER_PAGE_CACHE_SECONDS, in the
configured cache, shared by app servers through Redis): a page asked for again by any
client is served from there after the one revision read, without its queries or its
rendering, with the request's own CSP nonce put in. An edit moves the revision, so the
next request renders afresh; nothing stale can be served.
"""

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, wraps
from pathlib import Path

import django
from django.conf import settings
from django.core.cache import cache as default_cache
from django.db import connection
from django.db.models import Count, Max, Sum
from django.http import HttpRequest, HttpResponse
from django.middleware.csp import get_nonce
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.csp import csp_override

from .models import Case, CaseRevision

# Headers that choose between the representations of one URL (casetracker/htmx.py).
REPRESENTATION_HEADERS = (
    "HX-Request",
    "HX-Target",
    "HX-Boosted",
    "HX-History-Restore-Request",
)

# Last-Modified has whole seconds. A second edit within the second of the first would
# carry the same date, and a client holding the first page would be told it is current.
# So a page whose data changed less than this long ago goes out with an ETag only.
LAST_MODIFIED_SETTLE = dt.timedelta(seconds=2)

# The parts of the checkout a page is rendered from.
CODE_DIRS = ("casetracker", "templates", "static")
CODE_SUFFIXES = {".py", ".html", ".txt", ".css", ".js", ".svg"}


@dataclass(frozen=True)
class Revision:
    """What a page's validators are made from: an identity and a change time."""

    key: str
    changed_at: dt.datetime | None


@cache
def code_version() -> tuple[str, dt.datetime]:
    """A digest of the code and templates that render the pages, and their newest mtime.

    Computed once per process. Every app server running the same release computes the
    same digest, so they hand out the same ETags.
    """
    digest = hashlib.blake2b(django.__version__.encode(), digest_size=8)
    newest = 0.0
    for name in CODE_DIRS:
        root = Path(settings.BASE_DIR) / name
        for path in sorted(root.rglob("*")):
            if path.suffix not in CODE_SUFFIXES or "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(settings.BASE_DIR)).encode())
            digest.update(path.read_bytes())
            newest = max(newest, path.stat().st_mtime)
    return digest.hexdigest(), dt.datetime.fromtimestamp(newest, tz=dt.UTC)


def case_revision_by_slug(request: HttpRequest, case: str, **kwargs) -> Revision | None:
    """The revision of the case in the URL, in one query; None for an unknown slug.

    The case is read whole, with its revision (selectors.case_get), and kept for the
    view as `request.case` (views.case_of): the page would read it again otherwise.
    """
    from . import selectors  # selectors reads code_version from here

    try:
        case_obj = selectors.case_get(slug=case)
    except Case.DoesNotExist:
        return None
    request.case = case_obj
    if case_obj.revision_number is None:
        return None
    changed_at = case_obj.revision_changed_at
    return Revision(
        f"case:{case_obj.pk}:{case_obj.revision_number}:{changed_at.isoformat()}",
        changed_at,
    )


def all_cases_revision(request: HttpRequest, **kwargs) -> Revision:
    """One revision for every case together, in one query.

    The count and the sum of the numbers move on any change, a deletion included;
    the newest change time does not move when a case is deleted, so a client that
    revalidates with If-Modified-Since alone keeps a deleted case on its list until
    the next edit. Browsers and proxies send the ETag too, which does move.
    """
    totals = CaseRevision.objects.aggregate(
        cases=Count("pk"), numbers=Sum("number"), last=Max("changed_at")
    )
    last = totals["last"]
    key = f"cases:{totals['cases']}:{totals['numbers'] or 0}:"
    return Revision(key + (last.isoformat() if last else ""), last)


def _etag(request: HttpRequest, revision: Revision) -> str:
    code, _ = code_version()
    parts = [code, revision.key, request.get_full_path()]
    parts += [request.headers.get(name, "") for name in REPRESENTATION_HEADERS]
    digest = hashlib.blake2b("\n".join(parts).encode(), digest_size=12).hexdigest()
    return f'W/"{digest}"'


def _last_modified(revision: Revision) -> int | None:
    """Whole seconds for Last-Modified; None while the data is still settling."""
    now = timezone.now()
    if revision.changed_at is None or now - revision.changed_at < LAST_MODIFIED_SETTLE:
        return None
    _, installed = code_version()
    return int(min(max(revision.changed_at, installed), now).timestamp())


PAGE_CACHE_MAX_BYTES = 2_000_000
# Stands in a stored page for the nonce of the request that rendered it.
NONCE_SLOT = b'nonce="casetracker-nonce-slot"'


def _page_cache_seconds() -> int:
    return settings.CASETRACKER_PAGE_CACHE_SECONDS


def _stored_page(request: HttpRequest, key: str) -> HttpResponse | None:
    """The page rendered earlier under this key, with this request's nonce."""
    stored = default_cache.get(key)
    if stored is None:
        return None
    content, headers = stored
    if NONCE_SLOT in content:
        nonce = get_nonce(request)
        if nonce is None:  # no CSP middleware: nothing to put there
            return None
        content = content.replace(NONCE_SLOT, f'nonce="{nonce}"'.encode())
    response = HttpResponse(content)
    for name, value in headers:
        response.headers[name] = value
    return response


def _store_page(request: HttpRequest, key: str, response: HttpResponse) -> None:
    if response.streaming or response.cookies:
        return
    content = response.content
    if len(content) > PAGE_CACHE_MAX_BYTES:
        return
    nonce = get_nonce(request)
    if nonce:  # evaluated: the page carries it
        content = content.replace(f'nonce="{nonce}"'.encode(), NONCE_SLOT)
    headers = [
        (name, value)
        for name, value in response.headers.items()
        if name.lower() != "content-length"
    ]
    default_cache.set(key, (content, headers), timeout=_page_cache_seconds())


# A 304 carries no Content-Security-Policy: a cache merges a 304's headers into the page
# it holds, and that page's scripts carry the nonce of the policy it came with.
@csp_override({})
def _without_csp(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    return response


def revalidated(
    revision_of: Callable[..., Revision | None],
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Answer GET and HEAD with validators from `revision_of(request, **view_kwargs)`,
    and conditional requests that still match with a 304.

    Goes under @vary_on_headers, so a 304 carries the same Vary as the page. Only 200
    answers get validators: a 404 or a 400 is not cached as current.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            revision = revision_of(request, *args, **kwargs)
            if revision is None:
                return view(request, *args, **kwargs)
            etag = _etag(request, revision)
            last_modified = _last_modified(revision)
            response = get_conditional_response(
                request, etag=etag, last_modified=last_modified
            )
            key = f"casetracker:page:{etag}"
            if response is not None:
                response = _without_csp(request, response)
            elif (caching := _page_cache_seconds() > 0) and (
                stored := _stored_page(request, key)
            ):
                response = stored
            else:
                response = view(request, *args, **kwargs)
                if response.status_code != 200:
                    return response
                if caching:
                    _store_page(request, key, response)
            response.headers["ETag"] = etag
            if last_modified is not None:
                response.headers["Last-Modified"] = http_date(last_modified)
            else:
                # A date from elsewhere (a feed's newest entry) must not validate.
                response.headers.pop("Last-Modified", None)
            _mark_shared_but_revalidated(request, response)
            return response

        return wrapper

    return decorator


def _mark_shared_but_revalidated(request: HttpRequest, response: HttpResponse) -> None:
    """Any cache may keep the page, and must ask before each use.

    The public pages do not depend on who is signed in, but a request that carries a
    session (an editor) is kept out of shared caches anyway.
    """
    signed_in = settings.SESSION_COOKIE_NAME in request.COOKIES
    if signed_in:
        patch_cache_control(response, private=True, no_cache=True)
    else:
        patch_cache_control(response, public=True, no_cache=True)


case_revalidated = revalidated(case_revision_by_slug)
case_list_revalidated = revalidated(all_cases_revision)


def health_problems() -> list[str]:
    """What stops this app server from serving: an unreachable database or cache."""
    problems = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure fails the check
        problems.append(f"database: {error.__class__.__name__}: {error}")
    try:
        default_cache.set("casetracker:health", 1, timeout=10)
        if default_cache.get("casetracker:health") != 1:
            problems.append("cache: a value written could not be read back")
    except Exception as error:
        problems.append(f"cache: {error.__class__.__name__}: {error}")
    return problems
