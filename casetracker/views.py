"""Public pages. Views only fetch through selectors and render; they build no queries."""

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import selectors
from .models import Case, Claim, Event, Party


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


@require_safe
def case_list(request: HttpRequest) -> HttpResponse:
    """Every case, with its courts and the span of its timeline."""
    return render(request, "pages/case_list.html", {"cases": selectors.case_list()})


@require_safe
def case_detail(request: HttpRequest, case: str) -> HttpResponse:
    """Overview: proceedings, parties by side and role, claims with current status, key events."""
    case_obj = _get_or_404(selectors.case_get, slug=case)
    context = {
        "case": case_obj,
        "proceedings": case_obj.proceedings.select_related("judge"),
        "roles": selectors.case_party_list(case=case_obj),
        "claims": selectors.claim_list(case=case_obj),
        "key_events": selectors.event_list(case=case_obj).filter(is_key=True),
        "coverage": selectors.coverage_list(case=case_obj)[:10],
    }
    return render(request, "pages/case_detail.html", context)


@require_safe
def case_timeline(request: HttpRequest, case: str) -> HttpResponse:
    """The case's events in date order."""
    case_obj = _get_or_404(selectors.case_get, slug=case)
    return render(
        request,
        "pages/case_timeline.html",
        {"case": case_obj, "events": selectors.event_list(case=case_obj)},
    )


@require_safe
def event_detail(request: HttpRequest, case: str, event: str) -> HttpResponse:
    """One event's permalink: date, summary, parties, claims, testimony and sources."""
    case_obj = _get_or_404(selectors.case_get, slug=case)
    event_obj = _get_or_404(selectors.event_get, case=case_obj, slug=event)
    previous, following = selectors.event_neighbours(event=event_obj)
    context = {
        "case": case_obj,
        "event": event_obj,
        "previous": previous,
        "following": following,
    }
    return render(request, "pages/event_detail.html", context)


@require_safe
def party_detail(request: HttpRequest, case: str, party: str) -> HttpResponse:
    """One party in one case: roles, claims, testimony, events."""
    case_obj = _get_or_404(selectors.case_get, slug=case)
    party_obj = _get_or_404(selectors.party_get, case=case_obj, slug=party)
    context = {
        "case": case_obj,
        "party": party_obj,
        "roles": selectors.party_roles(case=case_obj, party=party_obj),
        "claims": selectors.party_claims(case=case_obj, party=party_obj),
        "testimony": selectors.testimony_list(case=case_obj).filter(witness=party_obj),
        "events": selectors.party_events(case=case_obj, party=party_obj),
    }
    return render(request, "pages/party_detail.html", context)


@require_safe
def claim_detail(request: HttpRequest, case: str, claim: str) -> HttpResponse:
    """One claim: who asserts it against whom and its dated lifecycle."""
    case_obj = _get_or_404(selectors.case_get, slug=case)
    claim_obj = _get_or_404(selectors.claim_get, case=case_obj, slug=claim)
    context = {
        "case": case_obj,
        "claim": claim_obj,
        "events": selectors.event_list(case=case_obj).filter(claims=claim_obj),
    }
    return render(request, "pages/claim_detail.html", context)


@require_safe
def case_testimony(request: HttpRequest, case: str) -> HttpResponse:
    """Testimony excerpts and statements from the bench."""
    case_obj = _get_or_404(selectors.case_get, slug=case)
    return render(
        request,
        "pages/case_testimony.html",
        {"case": case_obj, "testimony": selectors.testimony_list(case=case_obj)},
    )


@require_safe
def case_coverage(request: HttpRequest, case: str) -> HttpResponse:
    """Press coverage of the case, newest first."""
    case_obj = _get_or_404(selectors.case_get, slug=case)
    return render(
        request,
        "pages/case_coverage.html",
        {"case": case_obj, "coverage": selectors.coverage_list(case=case_obj)},
    )
