"""Public pages. Views only fetch through selectors and render; they build no queries."""

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_htmx.http import push_url

from . import exports, feeds, selectors
from .forms import (
    CaseListFilterForm,
    CoverageFilterForm,
    TestimonyFilterForm,
    TimelineFilterForm,
)
from .htmx import (
    HtmxHttpRequest,
    is_partial,
    vary_on_partial,
    vary_on_partial_target,
)
from .http import case_list_revalidated, case_revalidated, health_problems
from .models import Case, Claim, Event, Party
from .timeline import (
    event_months,
    group_by_year_and_month,
    lanes_layout,
    overview_strip,
)


def _get_or_404(getter: Callable, **kwargs):
    try:
        return getter(**kwargs)
    except (
        Case.DoesNotExist,
        Event.DoesNotExist,
        Party.DoesNotExist,
        Claim.DoesNotExist,
    ):
        raise Http404("Not found.") from None


def case_of(request: HttpRequest, slug: str) -> Case:
    """The case in the URL: the one @case_revalidated read for its revision, or read
    now; a 404 for an unknown slug."""
    case = getattr(request, "case", None)
    if case is not None and case.slug == slug:
        return case
    return _get_or_404(selectors.case_get, slug=slug)


@require_safe
@vary_on_partial
@case_list_revalidated
def case_list(request: HtmxHttpRequest) -> HttpResponse:
    """The cases, with their courts and the span of their timelines, a page at a
    time (a newsroom follows hundreds: 200 cost 100 ms on one page), searchable by
    title, court, docket number or party, and filterable by status."""
    form = CaseListFilterForm(request.GET)
    form.is_valid()
    cases = selectors.case_list(**form.filters)
    page = Paginator(cases, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "cases": page,
        "page": page,
        "filtered": any(form.filters.values()),
    }
    return _render_filtered(request, "pages/case_list.html", "results", context)


@require_safe
@case_revalidated
def case_detail(request: HttpRequest, case: str) -> HttpResponse:
    """Overview: proceedings, parties by side and role, claims with current status, key events."""
    case_obj = case_of(request, case)
    context = {
        "case": case_obj,
        "proceedings": case_obj.proceedings.select_related("judge"),
        "roles": selectors.case_party_list(case=case_obj),
        "claims": selectors.claim_list(case=case_obj),
        "key_events": selectors.key_events(case=case_obj, limit=LIST_LIMIT),
        "coverage": selectors.latest_coverage(case=case_obj),
    }
    return render(request, "pages/case_detail.html", context)


PAGE_SIZE = 25
# Lists on the case, party and claim pages stop here and link to the filtered timeline,
# so no page grows with the case.
LIST_LIMIT = 25
LIST_PAGE_SIZE = 50


def _bad_filters(form: TimelineFilterForm) -> HttpResponseBadRequest | None:
    """A plain 400 for downloads and feeds, whose callers cannot show a form.

    Paging parameters mean nothing to a download, so their errors do not count.
    """
    lines = [
        f"{name}: {message}" if name != "__all__" else message
        for name, messages in form.errors.items()
        if name not in form.PAGING
        for message in messages
    ]
    if not lines:
        return None
    return HttpResponseBadRequest(
        "Invalid filter values; nothing was exported.\n" + "\n".join(lines) + "\n",
        content_type="text/plain; charset=utf-8",
    )


def _filtered_events(request: HttpRequest, case: str, *, few: bool = False):
    """The case and its events under the request's filters, or a 400 response.

    `few`: only the first rows will be read (a feed). A search with many matches is
    then read the way the page reads it (selectors.timeline_search), in timeline
    order with no sort of them all: 0.4 s instead of 5.9 s for a word in half of a
    million events. A whole export reads every match (`every`): from the full-text
    index in its order on SQLite, joined to it and sorted on PostgreSQL.
    """
    case_obj = case_of(request, case)
    form = TimelineFilterForm(request.GET, case=case_obj)
    if not form.is_valid() and (error := _bad_filters(form)):
        return case_obj, None, error
    if few:
        events, _, _ = selectors.timeline_search(case=case_obj, **form.filters)
    else:
        events = selectors.timeline_event_list(
            case=case_obj, **form.filters, every=True
        )
    return case_obj, events, None


def _base_url(request: HttpRequest) -> str:
    return settings.SITE_URL or request.build_absolute_uri("/")[:-1]


@require_safe
@case_revalidated
def case_timeline_json(request: HttpRequest, case: str) -> HttpResponse:
    """The filtered timeline in Knight Lab TimelineJS's JSON format."""
    case_obj, events, error = _filtered_events(request, case)
    if error:
        return error
    document = feeds.timelinejs_document(
        case_obj, events.select_related("case"), base_url=_base_url(request)
    )
    return JsonResponse(document, json_dumps_params={"ensure_ascii": False})


@require_safe
@case_revalidated
def case_timeline_ics(request: HttpRequest, case: str) -> HttpResponse:
    """The filtered events whose day is known exactly, as an iCalendar file."""
    case_obj, events, error = _filtered_events(request, case)
    if error:
        return error
    response = StreamingHttpResponse(
        feeds.ics_lines(
            case_obj,
            events,
            base_url=_base_url(request),
            host=request.get_host().rsplit(":", 1)[0],
        ),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(
        False, f"{case_obj.slug}-timeline.ics"
    )
    return response


@require_safe
@case_revalidated
def case_feed(request: HttpRequest, case: str) -> HttpResponse:
    """An Atom feed of the case's events, newest first (the timeline filters apply)."""
    case_obj, events, error = _filtered_events(request, case, few=True)
    if error:
        return error
    return feeds.CaseEventsFeed()(request, case=case_obj, events=events)


@require_safe
@case_revalidated
def case_timeline_csv(request: HttpRequest, case: str) -> HttpResponse:
    """The timeline as CSV: the same filters as the page, every page of events.

    `bom=1` starts the file with a byte-order mark so Excel reads it as UTF-8.
    """
    case_obj, events, error = _filtered_events(request, case)
    if error:
        return error
    return exports.timeline_csv_response(
        events,
        filename=exports.timeline_filename(case_obj, timezone.localdate()),
        base_url=_base_url(request),
        bom=request.GET.get("bom") == "1",
    )


@require_safe
@vary_on_partial_target
@case_revalidated
def case_timeline(request: HtmxHttpRequest, case: str) -> HttpResponse:
    """The interactive timeline: filters, overview strip, then a list or lanes.

    One view answers the full page, the htmx fragment a filter change swaps in
    (#timeline), and the next page of a "load more" (#load-more). Invalid filter values
    are reported next to their field and left out; the rest still apply.
    """
    case_obj = case_of(request, case)
    form = TimelineFilterForm(request.GET, case=case_obj)
    form.is_valid()
    filters = form.filters
    matching, ranked, tally = selectors.timeline_search(case=case_obj, **filters)
    page = selectors.timeline_page(
        matching,
        size=PAGE_SIZE,
        ranked=ranked,
        claims=form.selected_layout == "lanes" and form.lane_group == "claim",
        case=case_obj,
        **form.paging,
    )
    filtered = any(filters.values())
    paging_base = request.GET.copy()
    for name in form.PAGING:
        paging_base.pop(name, None)
    context = {
        "case": case_obj,
        "form": form,
        "page": page,
        "paging_base": paging_base,
        "layout": form.selected_layout,
        "lane_group": form.lane_group,
        "filtered": filtered,
        "search_query": filters["q"],
        "search_ranked": ranked,
    }
    load_more = is_partial(request) and request.htmx.target == "load-more"
    if not load_more:
        totals, context["case_event_count"] = selectors.case_month_counts(case=case_obj)
        if filtered:
            # Past the cap the strip shows the whole case only, and says so.
            count, capped, matched = tally or selectors.timeline_filtered_tally(
                case=case_obj, **filters
            )
            if count is None and not (page.has_next or page.has_previous):
                # Not counted in time, but every match is on this page.
                count, matched = len(page.object_list), event_months(page.object_list)
        else:
            count, capped, matched = context["case_event_count"], False, totals
        context.update(match_count=count, match_capped=capped)
        if count is None:
            # What the page read proves: its rows, and one more if a next page exists.
            context["match_at_least"] = len(page.object_list) + page.has_next
        context["strip"] = overview_strip(totals, matched)
        # Each bar narrows the filters to its month; built once, not per bar.
        keep = [
            (k, v)
            for k, values in paging_base.lists()
            if k not in ("from", "to")
            for v in values
        ]
        context["strip_href"] = f"{request.path}?{urlencode(keep)}{'&' if keep else ''}"
    if form.selected_layout == "lanes":
        context["lanes"] = lanes_layout(
            page.object_list, _lane_grouper(form.lane_group, case_obj)
        )
    else:
        context["groups"] = group_by_year_and_month(page.object_list)
    template = "pages/case_timeline.html"
    if load_more:
        return render(request, template + "#load_more_page", context)
    if is_partial(request):
        # A submitted form sends its empty and default fields too; the pushed URL
        # leaves them out.
        return push_url(
            render(request, template + "#timeline_fragment", context),
            _clean_url(request, TimelineFilterForm.DEFAULTS),
        )
    return render(request, template, context)


def _clean_url(request: HttpRequest, defaults: dict[str, str]) -> str:
    """The request's URL without empty parameters and parameters at their default."""
    params = [
        (k, v)
        for k, values in request.GET.lists()
        for v in values
        if v.strip() and defaults.get(k) != v
    ]
    return request.path + (f"?{urlencode(params)}" if params else "")


def _lane_grouper(group: str, case: Case):
    def by_party(event: Event) -> list[tuple[str, str]]:
        return [
            (
                party.name,
                reverse(
                    "party_detail", kwargs={"case": case.slug, "party": party.slug}
                ),
            )
            for party in event.row_parties
        ]

    def by_claim(event: Event) -> list[tuple[str, str]]:
        return [
            (
                claim.title,
                reverse(
                    "claim_detail", kwargs={"case": case.slug, "claim": claim.slug}
                ),
            )
            for claim in event.row_claims
        ]

    return by_claim if group == "claim" else by_party


@require_safe
@vary_on_partial
@case_revalidated
def event_detail(request: HtmxHttpRequest, case: str, event: str) -> HttpResponse:
    """One event's permalink; as an htmx fragment, the card the timeline expands in place."""
    case_obj = case_of(request, case)
    event_obj = _get_or_404(selectors.event_get, case=case_obj, slug=event)
    if is_partial(request):
        context = {"case": case_obj, "event": event_obj, "heading": "h5"}
        return render(request, "pages/event_detail.html#event_card", context)
    previous, following = selectors.event_neighbours(event=event_obj)
    context = {
        "case": case_obj,
        "event": event_obj,
        "previous": previous,
        "following": following,
    }
    return render(request, "pages/event_detail.html", context)


@require_safe
@case_revalidated
def party_detail(request: HttpRequest, case: str, party: str) -> HttpResponse:
    """One party in one case: roles, claims, testimony, events."""
    case_obj = case_of(request, case)
    party_obj = _get_or_404(selectors.party_get, case=case_obj, slug=party)
    context = {
        "case": case_obj,
        "party": party_obj,
        "roles": selectors.party_roles(case=case_obj, party=party_obj),
        "claims": selectors.party_claims(case=case_obj, party=party_obj),
        "testimony": selectors.testimony_list(case=case_obj, witnesses=[party_obj])[
            :LIST_LIMIT
        ],
        "events": selectors.party_events(
            case=case_obj, party=party_obj, limit=LIST_LIMIT
        ),
        "more_url": reverse("case_timeline", kwargs={"case": case_obj.slug})
        + f"?party={party_obj.slug}",
    }
    return render(request, "pages/party_detail.html", context)


@require_safe
@case_revalidated
def claim_detail(request: HttpRequest, case: str, claim: str) -> HttpResponse:
    """One claim: who asserts it against whom and its dated lifecycle."""
    case_obj = case_of(request, case)
    claim_obj = _get_or_404(selectors.claim_get, case=case_obj, slug=claim)
    context = {
        "case": case_obj,
        "claim": claim_obj,
        "events": selectors.claim_events(
            case=case_obj, claim=claim_obj, limit=LIST_LIMIT
        ),
        "more_url": reverse("case_timeline", kwargs={"case": case_obj.slug})
        + f"?claim={claim_obj.slug}",
    }
    return render(request, "pages/claim_detail.html", context)


@require_safe
@vary_on_partial
@case_revalidated
def case_testimony(request: HtmxHttpRequest, case: str) -> HttpResponse:
    """Testimony excerpts and statements from the bench, filterable by witness and kind."""
    case_obj = case_of(request, case)
    form = TestimonyFilterForm(request.GET, case=case_obj)
    form.is_valid()
    items = selectors.testimony_list(case=case_obj, **form.filters)
    page = selectors.ListPaginator(
        items, LIST_PAGE_SIZE, rows=selectors.testimony_rows, case=case_obj
    ).get_page(**_list_page(request))
    context = {"case": case_obj, "form": form, "testimony": page, "page": page}
    return _render_filtered(request, "pages/case_testimony.html", "results", context)


@require_safe
@vary_on_partial
@case_revalidated
def case_coverage(request: HtmxHttpRequest, case: str) -> HttpResponse:
    """Press coverage of the case, newest first, filterable by outlet and reliability."""
    case_obj = case_of(request, case)
    form = CoverageFilterForm(
        request.GET, outlets=selectors.coverage_outlets(case=case_obj)
    )
    form.is_valid()
    items = selectors.coverage_list(case=case_obj, **form.filters)
    page = selectors.ListPaginator(
        items, LIST_PAGE_SIZE, rows=selectors.coverage_rows, case=case_obj
    ).get_page(**_list_page(request))
    context = {"case": case_obj, "form": form, "coverage": page, "page": page}
    return _render_filtered(request, "pages/case_coverage.html", "results", context)


def _list_page(request: HttpRequest) -> dict:
    """What ListPaginator.get_page takes from a list page's URL."""
    return {
        "number": request.GET.get("page"),
        "after": request.GET.get("after"),
        "before": request.GET.get("before"),
    }


def _render_filtered(
    request: HtmxHttpRequest, template: str, partial: str, context: dict
) -> HttpResponse:
    """A filtered list page, or just its results (form included) for htmx."""
    if is_partial(request):
        response = render(request, f"{template}#{partial}", context)
        return push_url(response, _clean_url(request, {}))
    return render(request, template, context)


@never_cache
@require_safe
def health(request: HttpRequest) -> HttpResponse:
    """For load balancers: 200 when the database and the cache answer, else 503."""
    problems = health_problems()
    return HttpResponse(
        "\n".join(problems or ["ok"]) + "\n",
        status=503 if problems else 200,
        content_type="text/plain; charset=utf-8",
    )
