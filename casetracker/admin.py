"""The admin is the only data-entry surface; it is open to staff only.

Every model has list columns, search, filters and autocomplete pickers, and the places
editors work in one go have inlines: a case's proceedings and party roles, an event's
testimony and sources, a claim's status history.
"""

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

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
)

TIMESTAMPS = ("created_at", "updated_at")


class ProceedingInline(admin.StackedInline):
    model = Proceeding
    extra = 0
    autocomplete_fields = ("judge", "sources")
    show_change_link = True


class CasePartyInline(admin.TabularInline):
    model = CaseParty
    extra = 0
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


class CitationInline(admin.TabularInline):
    model = Citation
    extra = 0
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


class EventTestimonyInline(admin.StackedInline):
    model = Testimony
    extra = 0
    fields = (
        ("witness", "kind"),
        ("date", "date_precision", "date_approximate"),
        ("form", "text"),
        ("examined_by", "examination", "transcript_cite"),
        ("confidence", "confidence_note"),
    )
    autocomplete_fields = ("witness", "examined_by")
    show_change_link = True


class ClaimStatusChangeInline(admin.TabularInline):
    model = ClaimStatusChange
    extra = 0
    fields = ("status", "date", "date_precision", "date_approximate", "event", "note")
    autocomplete_fields = ("event",)
    show_change_link = True


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("short_name", "title", "status", "event_count", "updated_at")
    list_filter = ("status",)
    search_fields = ("title", "short_name", "slug", "summary")
    prepopulated_fields = {"slug": ("short_name",)}
    readonly_fields = TIMESTAMPS
    inlines = (ProceedingInline, CasePartyInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        return super().get_queryset(request).annotate(_event_count=Count("events"))

    @admin.display(description="events", ordering="_event_count")
    def event_count(self, obj: Case) -> int:
        return obj._event_count


@admin.register(Proceeding)
class ProceedingAdmin(admin.ModelAdmin):
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
class PartyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "slug", "role_count")
    list_filter = ("kind", "case_roles__role", "case_roles__case")
    search_fields = ("name", "aliases", "slug", "description")
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
class CasePartyAdmin(admin.ModelAdmin):
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
class ClaimAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "count_label",
        "case",
        "proceeding",
        "status_display",
        "confidence",
    )
    list_filter = ("case", "proceeding", "confidence", "history__status")
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
class ClaimStatusChangeAdmin(admin.ModelAdmin):
    list_display = ("claim", "status", "display_date", "event")
    list_filter = ("status", "claim__case", "date_precision")
    list_select_related = ("claim", "event")
    search_fields = ("claim__title", "note")
    autocomplete_fields = ("claim", "event")
    date_hierarchy = "date"
    readonly_fields = TIMESTAMPS
    inlines = (StatusChangeCitationInline,)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
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
        "proceeding",
    )
    list_select_related = ("case",)
    search_fields = ("title", "summary", "slug", "key", "date_note", "confidence_note")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("proceeding", "parties", "claims")
    date_hierarchy = "date"
    readonly_fields = TIMESTAMPS
    inlines = (EventTestimonyInline, EventCitationInline)
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
        return super().get_queryset(request).annotate(_source_count=Count("citations"))

    @admin.display(description="sources", ordering="_source_count")
    def source_count(self, obj: Event) -> int:
        return obj._source_count


@admin.register(Testimony)
class TestimonyAdmin(admin.ModelAdmin):
    list_display = (
        "witness",
        "display_date",
        "kind",
        "form",
        "excerpt",
        "examined_by",
        "confidence",
    )
    list_filter = ("case", "kind", "form", "examination", "confidence", "witness")
    list_select_related = ("witness", "examined_by", "case")
    search_fields = ("text", "context", "witness__name", "transcript_cite")
    autocomplete_fields = ("witness", "examined_by", "event", "claims")
    date_hierarchy = "date"
    readonly_fields = TIMESTAMPS
    inlines = (TestimonyCitationInline,)

    @admin.display(description="excerpt")
    def excerpt(self, obj: Testimony) -> str:
        return obj.text[:80] + ("…" if len(obj.text) > 80 else "")


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
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
            .annotate(_event_count=Count("citations__event", distinct=True))
        )

    @admin.display(description="events covered", ordering="_event_count")
    def event_count(self, obj: NewsCoverage) -> int:
        return obj._event_count


@admin.register(Citation)
class CitationAdmin(admin.ModelAdmin):
    list_display = (
        "source",
        "pin_cite",
        "event",
        "testimony",
        "claim",
        "status_change",
    )
    list_filter = ("source__case", "source__kind")
    list_select_related = (
        "source",
        "event",
        "testimony__witness",
        "claim",
        "status_change__claim",
    )
    search_fields = ("source__key", "source__headline", "source__outlet", "pin_cite")
    autocomplete_fields = ("source", "event", "testimony", "claim", "status_change")
