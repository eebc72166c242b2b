"""The admin is the only data-entry surface; it is open to staff only, and signing in
is rate-limited (login_limits.py). Every row has a History page (HistoryAdmin).

Every model has list columns, search, filters and autocomplete pickers, and the places
editors work in one go have inlines: a case's proceedings and party roles, an event's
testimony and sources, a claim's status history.
"""

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views import main
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.text import capfirst
from simple_history.admin import SimpleHistoryAdmin
from simple_history.manager import SIMPLE_HISTORY_REVERSE_ATTR_NAME
from simple_history.utils import get_m2m_reverse_field_name

from . import backups, exports, imports, login_limits, search, selectors, services
from .admin_pickers import PickersInlineMixin, PickersMixin
from .db import distinct_by_seeks_subquery, has_index_prefix
from .keyset import row_key
from .models import (
    Case,
    CaseParty,
    Citation,
    Claim,
    ClaimStatusChange,
    Event,
    NewsCoverage,
    Party,
    Proceeding,
    Source,
    Testimony,
    protection,
)
from .models.events import TIMELINE_ORDER
from .models.testimony import TESTIMONY_ORDER

TIMESTAMPS = ("created_at", "updated_at")

# Sign-in to the admin is rate-limited (casetracker/login_limits.py).
admin.site.login_form = login_limits.RateLimitedAuthenticationForm


class ChangeList(main.ChangeList):
    """Django's list, with two changes.

    A year, month or day too big for a date in the URL of its date drill-down is
    answered as any bad filter is (the list again, with a message), not with a 500:
    Django reads them before its own check.

    A page past the first reads its rows' keys by OFFSET, and then only those rows,
    by key, with their joins and counts (as selectors.ListPaginator does). Sliced
    as one query, PostgreSQL computed the source count and the case of each of the
    99,900 events skipped for page 1,000 of every event (357 ms). A searched list
    keeps its own order, which the search's join alone holds.
    """

    def get_filters(self, request: HttpRequest):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        rows = self.result_list
        if self.query or not rows.query.is_sliced or not rows.query.low_mark:
            return
        keys = rows.values("pk")
        shown = self.apply_select_related(self.root_queryset.filter(pk__in=keys))
        self.result_list = shown.order_by(*rows.query.order_by)


class HistoryAdmin(PickersMixin, SimpleHistoryAdmin):
    """A "History" page for every row (casetracker/models/history.py).

    It lists each change with its time, its user and the fields it altered, old and
    new values side by side; each version opens a form that reverts the row to it,
    many-to-many links included (inline rows keep their own history). Viewing needs
    the view permission on the model, reverting its change permission.
    """

    def get_changelist(self, request: HttpRequest, **kwargs) -> type[ChangeList]:
        return ChangeList

    # The library's list, less an inline style attribute the CSP would refuse.
    object_history_list_template = "admin/casetracker/object_history_list.html"
    # Fields that change on every save or follow another one: left out of the diff.
    history_diff_excluded = ("updated_at", "date_rank")

    def set_history_delta_changes(
        self, request, historical_records, foreign_keys_are_objs=True
    ):
        previous = None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(
                    current,
                    excluded_fields=self.history_diff_excluded,
                    foreign_keys_are_objs=foreign_keys_are_objs,
                )
                helper = self.get_historical_record_context_helper(request, previous)
                previous.history_delta_changes = helper.context_for_delta_changes(delta)
            previous = current

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history hides the Revert button from view-only users but would still
        # save their POST.
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied
        return super().history_form_view(
            request, object_id, version_id, extra_context=extra_context
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        record = getattr(obj, SIMPLE_HISTORY_REVERSE_ATTR_NAME, None)
        if record is None:
            return form
        # A past version: its many-to-many links come from the history, not the row.
        initial = {
            field.name: list(
                getattr(record, field.name).values_list(
                    get_m2m_reverse_field_name(field), flat=True
                )
            )
            for field in record._history_m2m_fields
            if field.name in form.base_fields
        }

        class VersionForm(form):
            def __init__(self, *args, **kwargs):
                kwargs["initial"] = {**initial, **(kwargs.get("initial") or {})}
                super().__init__(*args, **kwargs)

        VersionForm.__name__ = form.__name__
        return VersionForm


class ProtectReferencedAdmin(HistoryAdmin):
    """Deleting a row that is still referred to shows the admin's "protected related
    objects" page, listing the referrers by kind, with a count and the first few
    linked: the many-to-many links Django's collector does not know about (an
    event's parties, a claim's asserted_by, ...) and the protected foreign keys it
    would list one by one (a case's events). It covers the delete page and the
    "Delete selected" action, which both ask this method.
    """

    def get_deleted_objects(self, objs, request: HttpRequest):
        """Referred rows are asked about first: their deletion is refused, and
        Django's collector would read every referring row to list it (88 s and
        157 MB of HTML for a case of a million events)."""
        found = protection.referrals(objs, limit=REFERRED_SHOWN)
        if not found:
            return super().get_deleted_objects(objs, request)
        protected = [
            line
            for referral in found
            for line in (
                f"{referral.count} {referral.noun} still "
                f"{'refers' if referral.count == 1 else 'refer'} to "
                f"{referral.target._meta.verbose_name} “{referral.target}”:",
                self._referrer_links(referral),
            )
        ]
        return [], {}, set(), protected

    def _referrer_links(self, referral: protection.Referral) -> list[str]:
        links = []
        for obj in referral.first:
            opts = obj._meta
            label = capfirst(opts.verbose_name)
            if self.admin_site.is_registered(type(obj)):
                url = reverse(
                    f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                    args=(quote(obj.pk),),
                )
                links.append(format_html('{}: <a href="{}">{}</a>', label, url, obj))
            else:
                links.append(f"{label}: {obj}")
        if referral.count > len(referral.first):
            more = referral.count - len(referral.first)
            links.append(f"… and {more} more {protection.noun(referral.model, more)}")
        return links


REFERRED_SHOWN = 20  # referred rows listed on a refused bulk delete
BULK_DELETE_MAX = 1_000  # events deleted at a time through the admin's action
PICKER_PAGES_MAX = 1_000  # pages an event picker counts as far as


class PickerPaginator(Paginator):
    """An event picker's pages, counted only as far as one row past the page asked
    for: the picker asks only whether there is a next page, and counting every
    event a typed word begins took 0.3 s at a million."""

    def __init__(self, object_list, per_page, *, asked, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        try:
            # Past the last page the picker answers 404; a page number past any
            # LIMIT the database takes would fail in the count.
            self.asked = min(max(1, int(asked)), PICKER_PAGES_MAX)
        except (TypeError, ValueError):
            self.asked = 1

    @cached_property
    def count(self) -> int:
        return counted(self.object_list, self.asked * self.per_page + 1)


def counted(rows: QuerySet, limit: int) -> int:
    """How many `rows` there are, counting no further than `limit`: their keys
    alone, in no order (a row's annotations, its count of sources, would be
    computed for each row counted)."""
    return rows.order_by().values("pk")[:limit].count()


class CountedPaginator(Paginator):
    """Pages whose number of rows is known without counting them."""

    def __init__(self, object_list, per_page, *, count: int, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.known = count

    @cached_property
    def count(self) -> int:
        return self.known


# The event list's parameters that the counts by month can answer for, and those
# that do not change what is counted (page and order).
BY_MONTH = {"case__id__exact", "date__year", "date__month"}
NOT_FILTERS = {PAGE_VAR, ORDER_VAR}


def counted_by_month(params) -> int | None:
    """The number of events an event list shows, from the counts by month, when it
    is filtered by nothing but a case and the drill-down's year or month; else None.
    """
    if not set(params) - NOT_FILTERS <= BY_MONTH:
        return None
    try:
        case = params.get("case__id__exact")
        case_id = int(case) if case is not None else None
        year = params.get("date__year")
        month = params.get("date__month")
        if year is None:
            return None if month else selectors.event_count(case_id=case_id)
        since = dt.date(int(year), int(month or 1), 1)
        if month:
            before = (since + dt.timedelta(days=31)).replace(day=1)
        else:
            before = since.replace(year=since.year + 1)
    except (TypeError, ValueError, OverflowError):
        return None  # the list says what is wrong with it
    return selectors.event_count(case_id=case_id, since=since, before=before)


class SearchPaginator(Paginator):
    """A searched list's pages over its first COUNT_CAP matches, as the timeline
    counts: Django's admin counts every match, 0.26 s (SQLite) to 0.4 s
    (PostgreSQL) for a word found in half of a million events."""

    bound = selectors.COUNT_CAP

    @cached_property
    def counted(self) -> int:
        """The matches, counted up to one past the bound."""
        return counted(self.object_list, self.bound + 1)

    @property
    def count(self) -> int:
        return min(self.counted, self.bound)

    @property
    def capped(self) -> bool:
        return self.counted > self.bound


class CappedListMixin:
    """A list whose pages are counted up to SearchPaginator's bound says so when
    more rows than that match."""

    def changelist_view(self, request: HttpRequest, extra_context=None):
        response = super().changelist_view(request, extra_context)
        cl = getattr(response, "context_data", {}).get("cl")
        if cl is not None and getattr(cl.paginator, "capped", False):
            bound = f"{SearchPaginator.bound:,}"
            searched = bool(cl.query)
            # Read when the page renders, after this.
            messages.info(
                request,
                f"More than {bound} {self.model._meta.verbose_name_plural} match"
                f"{' this search' if searched else ''}; the first {bound} are listed."
                f" Narrow it with the filters{' or more words' if searched else ''}.",
            )
        return response


# With no case chosen, a filter by a related row lists its rows only if there are at
# most this many; past that it asks for a case first (WithinCaseMixin).
UNSCOPED_CHOICES_MAX = 100


def chosen_keys(values) -> list[int]:
    """The values of a filter's parameter that can be keys at all."""
    return [key for value in values or () if (key := row_key(value)) is not None]


CASE_FILTER = "case__id__exact"  # the parameter of a list's filter by case


def chosen_case(request: HttpRequest) -> int | None:
    """The case a list is filtered by, if its parameter is a key at all."""
    keys = chosen_keys([request.GET.get(CASE_FILTER, "")])
    return keys[0] if keys else None


class WithinCaseMixin:
    """A filter by a related row (a proceeding, a witness) that lists only the
    chosen case's rows once the list is filtered by case: every case's rows made a
    newsroom's lists long (3,615 witnesses made the testimony list 452 KB and most
    of its time; 490 proceedings, the event list a third of its size).

    Rows with a case of their own are those of the case; others (a witness) those
    that the case's rows of the list name. With no case chosen, the filter lists
    what its base class lists if that is at most UNSCOPED_CHOICES_MAX rows (a site
    of one case keeps its filter); past that it lists only the rows already chosen
    and asks for a case (`too_many`, shown by its template). To know which, it
    reads at most one key more than that many.
    """

    template = "admin/casetracker/within_case_filter.html"
    too_many = False

    def field_choices(self, field, request, model_admin):
        case_id = chosen_case(request)
        related = field.remote_field.model
        if case_id is None:  # none chosen, or a bad filter the list reports
            offered = self.offered_keys(field, request, model_admin)
            if len(offered[: UNSCOPED_CHOICES_MAX + 1]) <= UNSCOPED_CHOICES_MAX:
                return super().field_choices(field, request, model_admin)
            self.too_many = True
            limit = {"pk__in": chosen_keys(self.lookup_val)}
        elif any(f.name == "case" for f in related._meta.fields):
            limit = {"case_id": case_id}
        elif self.seekable(field, model_admin):
            limit = {
                "pk__in": distinct_by_seeks_subquery(
                    model_admin.model, field.name, case_id=case_id
                )
            }
        else:
            named = model_admin.get_queryset(request).filter(case_id=case_id)
            limit = {"pk__in": named.order_by().values(field.name)}
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, ordering=ordering, limit_choices_to=limit
        )

    @staticmethod
    def seekable(field, model_admin) -> bool:
        """Whether the rows a case's list names can be found by a seek each on an
        index of (case, field) (distinct_by_seeks): the 22 witnesses of 50,000
        excerpts in 0.05 ms on SQLite, where reading the excerpts took 2 ms (4 to
        12 ms on PostgreSQL). The seeks read the table, so only for a list of its
        model's rows, all of them (no proxy)."""
        model = model_admin.model
        return not model._meta.proxy and has_index_prefix(model, ("case", field.name))

    def offered_keys(self, field, request, model_admin) -> QuerySet:
        """The keys the base class would list, in no order."""
        return field.remote_field.model._default_manager.order_by().values("pk")

    def has_output(self) -> bool:
        return self.too_many or super().has_output()


class WithinCaseFilter(WithinCaseMixin, admin.RelatedFieldListFilter):
    pass


class WithinCaseOnlyFilter(WithinCaseMixin, admin.RelatedOnlyFieldListFilter):
    """With no case chosen, the rows the list's rows name (RelatedOnly)."""

    def offered_keys(self, field, request, model_admin) -> QuerySet:
        named = model_admin.get_queryset(request).order_by()
        return named.values(field.name).distinct()


class ProceedingInline(PickersInlineMixin, admin.StackedInline):
    model = Proceeding
    extra = 0
    autocomplete_fields = ("judge", "sources")
    show_change_link = True


class CasePartyInline(PickersInlineMixin, admin.TabularInline):
    model = CaseParty
    extra = 0
    row_related = ("party",)
    fields = (
        "party",
        "role",
        "side",
        "proceeding",
        "started_on",
        "ended_on",
        "confidence",
    )
    autocomplete_fields = ("party",)
    show_change_link = True

    def get_formset(self, request: HttpRequest, obj: Case | None = None, **kwargs):
        """The proceeding picker offers the case's own proceedings (the only ones a
        role may name): every case's, in each row, made the page of a big newsroom's
        case 1.6 MB and 2.4 s."""
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields["proceeding"]
        field.queryset = (
            field.queryset.filter(case=obj) if obj else field.queryset.none()
        )
        return formset


class CitationInline(PickersInlineMixin, admin.TabularInline):
    model = Citation
    extra = 0
    row_related = ("source",)
    fields = ("source", "pin_cite")
    autocomplete_fields = ("source",)


class EventCitationInline(CitationInline):
    fk_name = "event"


class TestimonyCitationInline(CitationInline):
    fk_name = "testimony"


class ClaimCitationInline(CitationInline):
    fk_name = "claim"


class StatusChangeCitationInline(CitationInline):
    fk_name = "status_change"


class EventTestimonyInline(PickersInlineMixin, admin.StackedInline):
    model = Testimony
    extra = 0
    row_related = ("witness",)
    fields = (
        ("witness", "kind"),
        ("date", "date_precision", "date_approximate"),
        ("form", "text"),
        ("examined_by", "examination", "transcript_cite"),
        ("confidence", "confidence_note"),
    )
    autocomplete_fields = ("witness", "examined_by")
    show_change_link = True


class ClaimStatusChangeInline(PickersInlineMixin, admin.TabularInline):
    model = ClaimStatusChange
    extra = 0
    row_related = ("claim",)
    fields = ("status", "date", "date_precision", "date_approximate", "event", "note")
    autocomplete_fields = ("event",)
    show_change_link = True


@admin.register(Case)
class CaseAdmin(ProtectReferencedAdmin):
    list_display = ("short_name", "title", "status", "event_count", "updated_at")
    list_filter = ("status",)
    search_fields = ("title", "short_name", "slug", "summary")
    prepopulated_fields = {"slug": ("short_name",)}
    readonly_fields = TIMESTAMPS
    inlines = (ProceedingInline, CasePartyInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        return (
            super()
            .get_queryset(request)
            .annotate(_event_count=selectors.case_event_count())
        )

    @admin.display(description="events", ordering="_event_count")
    def event_count(self, obj: Case) -> int:
        return obj._event_count

    def get_urls(self) -> list[URLPattern]:
        # Before the default URLs: their "<path:object_id>/" would swallow these.
        import_view = self.admin_site.admin_view(self.import_timeline_view)
        delete_all_view = self.admin_site.admin_view(self.delete_all_view)
        return [
            path(
                "<path:object_id>/import/",
                import_view,
                name="casetracker_case_import_timeline",
            ),
            path(
                "<path:object_id>/delete-all/",
                delete_all_view,
                name="casetracker_case_delete_all",
            ),
            path(
                "<path:object_id>/backup/",
                self.admin_site.admin_view(self.backup_view),
                name="casetracker_case_backup",
            ),
            *super().get_urls(),
        ]

    def _case_url(self, name: str, object_id: str) -> str:
        return reverse(
            f"{self.admin_site.name}:casetracker_case_{name}", args=(object_id,)
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Django's page, with a link to the case's backup for a user who may read
        every row of it."""
        if request.user.has_perms(CASE_BACKUP_PERMISSIONS):
            url = self._case_url("backup", object_id)
            extra_context = {**(extra_context or {}), "backup_url": url}
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        """Django's page, which refuses a case that rows still refer to; it links to
        delete_all_view for a user who may delete all of them."""
        if request.user.has_perms(CASE_DELETE_PERMISSIONS):
            url = self._case_url("delete_all", object_id)
            extra_context = {**(extra_context or {}), "delete_all_url": url}
        return super().delete_view(request, object_id, extra_context)

    def backup_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The case's backup as a .gz download, what `manage.py backup_case` writes
        and `restore_case` reads: an editor's copy before a deletion or a big import.

        Needs the view permission on every kind of row in it. Streamed as it is read
        from one snapshot of the database; a case of more than WHOLE_CASE_ADMIN_MAX
        events is left to the command (100,000 took 7 s here).
        """
        if not request.user.has_perms(CASE_BACKUP_PERMISSIONS):
            raise PermissionDenied
        case = self.get_object(request, unquote(object_id))
        if case is None:
            raise Http404("No such case.")
        if too_big_for_the_admin(case):
            messages.error(
                request,
                f"“{case}” has more than {WHOLE_CASE_ADMIN_MAX:,} events, more than "
                "the admin backs up in one request. Run "
                f"manage.py backup_case {case.slug} -o FILE on the server instead.",
            )
            return HttpResponseRedirect(self._case_url("change", object_id))
        response = StreamingHttpResponse(
            backups.case_backup_gzip(case=case), content_type="application/gzip"
        )
        stamp = timezone.now().strftime("%Y-%m-%d-%H%M%S")
        response["Content-Disposition"] = content_disposition_header(
            True, f"{case.slug}-backup-{stamp}.json.gz"
        )
        return response

    def delete_all_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Delete the case with everything in it (services.case_delete), once its
        slug is typed again.

        Needs the delete permission on every kind of row it deletes. A case of more
        than WHOLE_CASE_ADMIN_MAX events is left to `manage.py delete_case`: a
        million events take about a minute, past the app server's timeout.
        """
        if not request.user.has_perms(CASE_DELETE_PERMISSIONS):
            raise PermissionDenied
        case = self.get_object(request, unquote(object_id))
        if case is None:
            raise Http404("No such case.")
        too_big = too_big_for_the_admin(case)
        form = CaseDeleteForm(case, request.POST if request.method == "POST" else None)
        if not too_big and form.is_valid():
            deleted = services.case_delete(case)
            messages.success(
                request, f"Deleted case “{case}”: {services.deleted_text(deleted)}."
            )
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:casetracker_case_changelist")
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Delete the case with everything in it",
            "opts": self.opts,
            "original": case,
            "form": form,
            "contents": [
                f"{count:,} {noun}"
                for count, noun in selectors.case_contents(case=case)
            ],
            "too_big": too_big,
            "admin_max": f"{WHOLE_CASE_ADMIN_MAX:,}",
            "backup_url": (
                self._case_url("backup", object_id)
                if request.user.has_perms(CASE_BACKUP_PERMISSIONS)
                else None
            ),
        }
        return TemplateResponse(
            request, "admin/casetracker/case/delete_all.html", context
        )

    def import_timeline_view(
        self, request: HttpRequest, object_id: str
    ) -> HttpResponse:
        """Import a timeline CSV into the case: a preview by default, then for real.

        Needs the add and change permissions on events; a file with any problem writes
        nothing and its problems are listed by row and column.
        """
        if not request.user.has_perms(IMPORT_PERMISSIONS):
            raise PermissionDenied
        case = self.get_object(request, unquote(object_id))
        if case is None:
            raise Http404("No such case.")
        if not self.has_view_or_change_permission(request, case):
            raise PermissionDenied
        report, problems = None, []
        if request.method == "POST":
            form = TimelineImportForm(request.POST, request.FILES)
            if form.is_valid():
                preview = form.cleaned_data["preview_only"]
                try:
                    report = imports.timeline_import(
                        case=case,
                        file_bytes=form.cleaned_data["file"].read(),
                        dry_run=preview,
                    )
                except imports.TimelineImportError as error:
                    report, problems = error.report, error.problems
                else:
                    if not preview:
                        messages.success(
                            request,
                            f"Timeline imported into {case}: {report.created} new, "
                            f"{report.updated} updated, {report.unchanged} unchanged, "
                            f"{report.skipped} skipped.",
                        )
                        form = TimelineImportForm()
        else:
            form = TimelineImportForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Import timeline CSV",
            "opts": self.opts,
            "original": case,
            "form": form,
            "report": report,
            "problems": problems,
            "rows": report.rows[:PREVIEW_ROWS] if report and not problems else [],
            "preview_rows": PREVIEW_ROWS,
        }
        return TemplateResponse(
            request, "admin/casetracker/case/import_timeline.html", context
        )


@admin.register(Proceeding)
class ProceedingAdmin(HistoryAdmin):
    list_display = (
        "name",
        "case",
        "court",
        "docket_number",
        "judge",
        "opened_on",
        "closed_on",
    )
    list_filter = ("case", "court")
    list_select_related = ("case", "judge")
    search_fields = ("name", "court", "docket_number", "key")
    autocomplete_fields = ("judge", "sources")
    date_hierarchy = "opened_on"
    readonly_fields = TIMESTAMPS


@admin.register(Party)
class PartyAdmin(ProtectReferencedAdmin):
    list_display = ("name", "kind", "slug", "role_count")
    list_filter = ("kind", "case_roles__role", "case_roles__case")
    search_fields = ("name", "aliases", "slug", "description")
    # Meta.ordering, which the role count's GROUP BY would drop (autocomplete pages).
    ordering = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("sources",)
    readonly_fields = TIMESTAMPS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Party]:
        return (
            super()
            .get_queryset(request)
            .annotate(_role_count=Count("case_roles", distinct=True))
        )

    @admin.display(description="roles", ordering="_role_count")
    def role_count(self, obj: Party) -> int:
        return obj._role_count

    def view_on_site(self, obj: Party) -> str | None:
        # A party's public page lives inside a case: none to link to before it has a role.
        return obj.get_absolute_url()


@admin.register(CaseParty)
class CasePartyAdmin(HistoryAdmin):
    list_display = (
        "party",
        "role",
        "side",
        "case",
        "proceeding",
        "started_on",
        "ended_on",
        "confidence",
    )
    list_filter = ("case", "role", "side", "confidence")
    list_select_related = ("party", "case", "proceeding")
    search_fields = ("party__name", "party__aliases", "note")
    autocomplete_fields = ("party", "represents", "proceeding", "sources")
    date_hierarchy = "started_on"
    readonly_fields = TIMESTAMPS


@admin.register(Claim)
class ClaimAdmin(ProtectReferencedAdmin):
    list_display = (
        "title",
        "count_label",
        "case",
        "proceeding",
        "status_display",
        "confidence",
    )
    list_filter = (
        "case",
        ("proceeding", WithinCaseFilter),
        "confidence",
        "history__status",
    )
    list_select_related = ("case", "proceeding")
    search_fields = ("title", "count_label", "description", "outcome_note", "slug")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("proceeding", "asserted_by", "against")
    readonly_fields = TIMESTAMPS
    inlines = (ClaimStatusChangeInline, ClaimCitationInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Claim]:
        return super().get_queryset(request).with_current_status().distinct()

    @admin.display(description="current status", ordering="current_status")
    def status_display(self, obj: Claim) -> str:
        from .choices import ClaimStatus

        return ClaimStatus(obj.current_status).label if obj.current_status else "—"


@admin.register(ClaimStatusChange)
class ClaimStatusChangeAdmin(HistoryAdmin):
    list_display = ("claim", "status", "display_date", "event")
    list_filter = ("status", "claim__case", "date_precision")
    list_select_related = ("claim", "event")
    search_fields = ("claim__title", "note")
    autocomplete_fields = ("claim", "event")
    date_hierarchy = "date"
    readonly_fields = TIMESTAMPS
    inlines = (StatusChangeCitationInline,)


@admin.register(Event)
class EventAdmin(CappedListMixin, HistoryAdmin):
    list_display = (
        "title",
        "display_date",
        "kind",
        "case",
        "is_key",
        "confidence",
        "source_count",
    )
    list_filter = (
        "case",
        "kind",
        "is_key",
        "is_context",
        "confidence",
        "date_precision",
        ("proceeding", WithinCaseFilter),
    )
    list_select_related = ("case",)
    # Counting every event besides the filtered ones, on every filtered page, cost
    # 35 ms at a million on PostgreSQL.
    show_full_result_count = False
    # Searched through the full-text index instead (get_search_results); the admin
    # shows its search box, and allows event pickers, only where this is set.
    search_fields = ("title", "summary")
    search_help_text = (
        "Words of the title, summary, testimony or cited headlines, as the timeline's"
        ' search reads them: "rulings" finds "ruled"; "quotes" for a phrase.'
    )
    ordering = ("date", "date_rank", "id")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("proceeding", "parties", "claims")
    date_hierarchy = "date"
    readonly_fields = TIMESTAMPS
    inlines = (EventTestimonyInline, EventCitationInline)
    actions = ("delete_selected", "export_csv")
    fieldsets = (
        (None, {"fields": ("case", "title", "slug", "kind", "summary")}),
        (
            "When",
            {
                "fields": (
                    ("date", "date_precision", "date_approximate"),
                    ("end_date", "end_precision"),
                    "date_note",
                )
            },
        ),
        (
            "Who and what",
            {"fields": ("proceeding", "parties", "claims", ("is_key", "is_context"))},
        ),
        ("How well sourced", {"fields": ("confidence", "confidence_note")}),
        ("Record", {"fields": ("key", *TIMESTAMPS), "classes": ("collapse",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        citations = Citation.objects.filter(event=OuterRef("pk"))
        return (
            super()
            .get_queryset(request)
            .annotate(_source_count=selectors.count_of(citations))
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Event], search_term: str
    ) -> tuple[QuerySet[Event], bool]:
        """The site's full-text search (search.py), for the list and the event
        pickers: the substring match over search_fields read every event, 2.5 s at
        a million. A picker searches as it is typed, so its last word also matches as
        the start of a word; not the list's, as a prefix reads the entries of every
        word it begins (25 ms a query for "court*").

        A list filtered to one case searches that case's entries of the index alone,
        not every case's matches. A page in the timeline order is read as the
        timeline's is: from the index in its own order on SQLite; on PostgreSQL by
        walking the events in order and testing each against the index when many
        match (a word found in half a million events: 0.8 s sorted), else by
        sorting the few (search.page_reading).
        """
        scope = {
            "case_id": chosen_case(request),
            "prefix": request.resolver_match.url_name == "autocomplete",
        }
        reading = search.page_reading(search_term, using=queryset.db, **scope)
        found = search.filter_events(queryset, search_term, reading=reading, **scope)
        in_index_order = search.INDEX_ORDER in found.query.annotations
        if in_index_order and found.query.order_by[:3] == TIMELINE_ORDER:
            found = found.order_by(search.INDEX_ORDER)
        return found, False

    def get_paginator(self, request: HttpRequest, queryset, per_page, **kwargs):
        if request.resolver_match.url_name == "autocomplete":
            return PickerPaginator(
                queryset, per_page, asked=request.GET.get("page"), **kwargs
            )
        if request.GET.get(SEARCH_VAR, "").strip():
            return SearchPaginator(queryset, per_page, **kwargs)
        count = counted_by_month(request.GET)
        if count is not None:
            return CountedPaginator(queryset, per_page, count=count, **kwargs)
        return super().get_paginator(request, queryset, per_page, **kwargs)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        """A search that is an event's slug or key says so, with a link to it."""
        response = super().changelist_view(request, extra_context)
        cl = getattr(response, "context_data", {}).get("cl")
        if cl is not None and cl.query:
            for event in selectors.events_named(cl.query, case_id=chosen_case(request)):
                url = reverse("admin:casetracker_event_change", args=(event.pk,))
                messages.info(
                    request,
                    format_html(
                        '“{}” is the slug or key of <a href="{}">{}</a> ({}).',
                        cl.query.strip(),
                        url,
                        event,
                        event.case,
                    ),
                )
        return response

    @admin.display(description="sources", ordering="_source_count")
    def source_count(self, obj: Event) -> int:
        return obj._source_count

    @admin.action(
        description="Delete selected %(verbose_name_plural)s", permissions=("delete",)
    )
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Event]):
        """Django's action, for at most BULK_DELETE_MAX events at a time: its
        confirmation page reads and lists every event selected with its links, and
        the delete writes a history row for each. "Select all" across a million
        events would hold a worker for minutes (the listing alone of a big case's
        events took 88 s and 2.8 GB)."""
        if counted(queryset, BULK_DELETE_MAX + 1) > BULK_DELETE_MAX:
            self.message_user(
                request,
                f"At most {BULK_DELETE_MAX:,} events can be deleted at a time: narrow"
                " the selection with the filters or a search.",
                messages.ERROR,
            )
            return None
        return admin_actions.delete_selected(self, request, queryset)

    @admin.action(description="Export selected events as CSV", permissions=("view",))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Event]):
        """The same CSV as the public timeline.csv, for the ticked events."""
        events = Event.objects.filter(pk__in=queryset.values("pk")).chronological()
        return exports.timeline_csv_response(
            events,
            filename=f"events-{timezone.localdate().isoformat()}.csv",
            base_url=settings.SITE_URL or request.build_absolute_uri("/")[:-1],
        )


@admin.register(Testimony)
class TestimonyAdmin(HistoryAdmin):
    list_display = (
        "witness",
        "display_date",
        "kind",
        "form",
        "excerpt",
        "examined_by",
        "confidence",
    )
    list_filter = (
        "case",
        "kind",
        "form",
        "examination",
        "confidence",
        # The parties who testified (in the chosen case), not every party of every
        # case (thousands in a newsroom's database).
        ("witness", WithinCaseOnlyFilter),
    )
    list_select_related = ("witness", "examined_by", "case")
    # Meta.ordering by case id, not the case's title (which the model's "case"
    # means), and the public list's order within a case: one index,
    # testimony_list_order, reads a page in that order on both databases. (Written
    # "date NULLS LAST", SQLite sorted the big case's 50,000 excerpts for each page.)
    ordering = ("case_id", *TESTIMONY_ORDER)
    search_fields = ("text", "context", "witness__name", "transcript_cite")
    autocomplete_fields = ("witness", "examined_by", "event", "claims")
    date_hierarchy = "date"
    readonly_fields = TIMESTAMPS
    inlines = (TestimonyCitationInline,)

    @admin.display(description="excerpt")
    def excerpt(self, obj: Testimony) -> str:
        return obj.text[:80] + ("…" if len(obj.text) > 80 else "")


@admin.register(Source)
class SourceAdmin(ProtectReferencedAdmin):
    list_display = (
        "key",
        "outlet",
        "original_outlet",
        "headline",
        "display_date",
        "kind",
        "reliability",
    )
    list_filter = ("case", "kind", "reliability", "is_mirror", "published_precision")
    list_select_related = ("case",)
    # As TestimonyAdmin's: the index (case, published_on, id) reads a page in order.
    ordering = ("case_id", "published_on", "id")
    search_fields = (
        "key",
        "outlet",
        "original_outlet",
        "headline",
        "url",
        "author",
        "note",
    )
    autocomplete_fields = ("parties",)
    date_hierarchy = "published_on"
    readonly_fields = TIMESTAMPS


@admin.register(NewsCoverage)
class NewsCoverageAdmin(SourceAdmin):
    list_display = (
        "outlet",
        "original_outlet",
        "headline",
        "display_date",
        "reliability",
        "event_count",
    )
    list_filter = ("case", "reliability", "is_mirror", "outlet")

    def get_queryset(self, request: HttpRequest) -> QuerySet[NewsCoverage]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _event_count=selectors.count_of(
                    Citation.objects.filter(source=OuterRef("pk")), distinct="event"
                )
            )
        )

    @admin.display(description="events covered", ordering="_event_count")
    def event_count(self, obj: NewsCoverage) -> int:
        return obj._event_count


@admin.register(Citation)
class CitationAdmin(CappedListMixin, HistoryAdmin):
    list_display = (
        "source",
        "pin_cite",
        "event",
        "testimony",
        "claim",
        "status_change",
    )
    list_filter = ("source__case", "source__kind")
    # What the other columns show is read for the page's rows alone (prefetched in
    # get_queryset): joined, it went into the sort of every citation of the case,
    # 0.9 s for a big case's 1.6 million.
    list_select_related = ("source",)
    search_fields = ("source__key", "source__headline", "source__outlet", "pin_cite")
    autocomplete_fields = ("source", "event", "testimony", "claim", "status_change")
    # Grouped by source as entered. The model's order, by the source's key, sorted
    # every citation of the database for the unfiltered list.
    ordering = ("source_id", "id")
    show_full_result_count = False

    def get_paginator(self, request: HttpRequest, queryset, per_page, **kwargs):
        """Counted up to a bound: a big case's 1.6 million citations took 55 ms
        (SQLite) to 190 ms (PostgreSQL) to count."""
        return SearchPaginator(queryset, per_page, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Citation]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                "event", "testimony__witness", "claim", "status_change__claim"
            )
        )


# The case's "Delete with everything in it" page (CaseAdmin.delete_all_view)


def _on_every_case_table(action: str) -> tuple[str, ...]:
    """The permission to `action` each kind of row a case's backup holds, which
    are the rows its deletion deletes."""
    return tuple(
        f"{model._meta.app_label}.{action}_{model._meta.model_name}"
        for model in backups.MODELS
    )


CASE_DELETE_PERMISSIONS = _on_every_case_table("delete")
CASE_BACKUP_PERMISSIONS = _on_every_case_table("view")
# Events the admin deletes or backs up with their case in one request. Deleting
# 100,000 took 4.3 s on SQLite and 9.6 s on PostgreSQL on the 2-core machine, backing
# them up 7 s (docs/performance.md): a third of the app server's 30 s timeout. A
# bigger case is left to `manage.py delete_case` and `backup_case`.
WHOLE_CASE_ADMIN_MAX = 100_000


def too_big_for_the_admin(case: Case) -> bool:
    """Whether the case has more events than the admin deletes or backs up in one
    request (WHOLE_CASE_ADMIN_MAX), from the counts by month."""
    return selectors.event_count(case_id=case.pk) > WHOLE_CASE_ADMIN_MAX


class CaseDeleteForm(forms.Form):
    """The case's slug, typed again: a deletion of this size deserves more than a
    click."""

    label_suffix = ""

    slug = forms.CharField(
        label="Type the case's slug to confirm",
        max_length=200,
        strip=True,
    )

    def __init__(self, case: Case, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["slug"].help_text = f"The slug is “{case.slug}”."

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if slug != self.case.slug:
            raise forms.ValidationError(
                f"That is not this case's slug (“{self.case.slug}”): nothing was "
                "deleted."
            )
        return slug


# The case's "Import timeline CSV" page (CaseAdmin.import_timeline_view)

IMPORT_PERMISSIONS = ("casetracker.add_event", "casetracker.change_event")
PREVIEW_ROWS = 1000  # rows listed on the page; the counts cover the whole file


class TimelineImportForm(forms.Form):
    """Upload of a timeline CSV; previewing (writing nothing) is the default."""

    label_suffix = ""

    file = forms.FileField(
        label="CSV file",
        help_text=(
            "This site's timeline CSV (an edited export) or a TimelineJS sheet saved "
            "as CSV UTF-8. Rows with an existing id update that event."
        ),
    )
    preview_only = forms.BooleanField(
        label="Preview only (write nothing)",
        required=False,
        initial=True,
        help_text="Untick to write the events once the preview looks right.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if message := imports.size_problem(upload.size):
            raise forms.ValidationError(message)
        return upload
