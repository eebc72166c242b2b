"""One decision for every view: answer with a fragment or with the whole page."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def is_partial(request: HtmxHttpRequest) -> bool:
    """True for an htmx request that swaps part of a page.

    Boosted navigation and history restores (a back/forward cache miss) replace the
    whole page, so they get the full document like a plain browser request.
    """
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request
