"""Links to the public pages by their slugs, without a reverse() for each link.

A timeline page links each of its 25 rows to its event page. reverse() works the
route out afresh for every link (about 40 microseconds here: a millisecond for a page
of rows, and a row costs the big case's page that much more than a small case's page
of one match). The shape of a route is read once per URLconf and script prefix, by
reversing it with stand-in values; a link then puts its slugs where the stand-ins
were.

A value is put in as it is only when it is a slug by the route's own converter's
pattern: reverse() would neither refuse nor quote it. Anything else (a slug edited in
by hand, say) goes through reverse() itself, which quotes it or raises as it always
did. Either way the link is the one reverse() gives (tests/test_links.py).
"""

import re
from functools import lru_cache

from django.urls import get_script_prefix, get_urlconf, reverse

# The `slug` path converter's pattern (django.urls.converters.SlugConverter).
SLUG = re.compile(r"[-a-zA-Z0-9_]+\Z")
# Made of slug characters, so that every route with a `slug` part accepts it.
STAND_IN = "zz0stand0in0{}0zz"


def page_url(name: str, **slugs: str) -> str:
    """reverse(name, kwargs=slugs), for routes whose parts are all slugs."""
    if all(isinstance(value, str) and SLUG.match(value) for value in slugs.values()):
        texts = _shape(name, tuple(slugs), get_script_prefix(), get_urlconf())
        if texts is not None:
            url = [texts[0]]
            for value, text in zip(slugs.values(), texts[1:], strict=True):
                url += (value, text)
            return "".join(url)
    return reverse(name, kwargs=slugs)


def route_shape(name: str, keys: tuple[str, ...]) -> tuple[str, ...]:
    """The route's text around its `keys`, which are in this order in the URL: one
    more piece than keys. For a writer that fills many links itself (the CSV
    export)."""
    texts = _shape(name, keys, get_script_prefix(), get_urlconf())
    if texts is None:
        raise ValueError(f"The route {name!r} cannot be filled by its slugs {keys}.")
    return texts


@lru_cache(maxsize=256)
def _shape(
    name: str, keys: tuple[str, ...], prefix: str, urlconf
) -> tuple[str, ...] | None:
    """The route's URL cut at each key's stand-in, or None if the stand-ins do not
    come out once each, unchanged and in the order of `keys`. `prefix` and `urlconf`
    (the thread's, which reverse() reads) only key the cache."""
    stand_ins = [STAND_IN.format(index) for index in range(len(keys))]
    url = reverse(name, kwargs=dict(zip(keys, stand_ins, strict=True)))
    if not keys:
        return (url,)
    pieces = re.split("(" + "|".join(map(re.escape, stand_ins)) + ")", url)
    if pieces[1::2] != stand_ins:
        return None
    return tuple(pieces[0::2])
