"""One decision for every view: answer with a fragment or with the whole page."""

from django.http import HttpRequest
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

# The request headers is_partial reads: a response that depends on it varies on them.
PARTIAL_HEADERS = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")
vary_on_partial = vary_on_headers(*PARTIAL_HEADERS)
vary_on_partial_target = vary_on_headers(*PARTIAL_HEADERS, "HX-Target")


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def is_partial(request: HtmxHttpRequest) -> bool:
    """True for an htmx request that swaps part of a page.

    Boosted navigation and history restores (a back/forward cache miss) replace the
    whole page, so they get the full document like a plain browser request.
    """
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request
