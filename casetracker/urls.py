"""URLs. The public ones are stable: other tools link to them. Name == view name."""

from django.contrib import admin
from django.urls import include, path

from . import views

case_patterns = [
    path("", views.case_detail, name="case_detail"),
    path("timeline/", views.case_timeline, name="case_timeline"),
    path("timeline.csv", views.case_timeline_csv, name="case_timeline_csv"),
    path("timeline.json", views.case_timeline_json, name="case_timeline_json"),
    path("timeline.ics", views.case_timeline_ics, name="case_timeline_ics"),
    path("feed/", views.case_feed, name="case_feed"),
    path("events/<slug:event>/", views.event_detail, name="event_detail"),
    path("parties/<slug:party>/", views.party_detail, name="party_detail"),
    path("claims/<slug:claim>/", views.claim_detail, name="claim_detail"),
    path("testimony/", views.case_testimony, name="case_testimony"),
    path("coverage/", views.case_coverage, name="case_coverage"),
]

urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("cases/<slug:case>/", include(case_patterns)),
    path("admin/", admin.site.urls),
    path("healthz", views.health, name="health"),
]

admin.site.site_header = "casetracker administration"
admin.site.site_title = "casetracker admin"
admin.site.index_title = "Case data"
