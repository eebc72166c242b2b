"""django-import-export's ModelResource export of a sample of the bench case.

Only `manage.py bench` runs this, with the Python of its own virtualenv
(bench/venv-iie): the site does not depend on django-import-export. The leading
underscore keeps it out of the management commands.

    python -m casetracker.management.commands._bench_import_export CASE ROWS

It exports the first ROWS events of CASE in timeline order, as many Django users would:
a ModelResource with the event's columns and its parties and claims as many-to-many
fields (names joined with " | "), prefetched, written as CSV. It prints one JSON line.
"""

import json
import os
import resource
import sys
import time


def main(case: str, rows: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casetracker.settings.dev")
    import django

    django.setup()

    from import_export import fields, resources, widgets

    from casetracker.models import Claim, Event, Party

    class EventResource(resources.ModelResource):
        parties = fields.Field(
            attribute="parties",
            widget=widgets.ManyToManyWidget(Party, field="name", separator=" | "),
        )
        claims = fields.Field(
            attribute="claims",
            widget=widgets.ManyToManyWidget(Claim, field="title", separator=" | "),
        )

        class Meta:
            model = Event
            fields = (
                "slug",
                "date",
                "date_precision",
                "date_approximate",
                "end_date",
                "end_precision",
                "date_note",
                "kind",
                "title",
                "summary",
                "parties",
                "claims",
                "is_key",
                "is_context",
                "confidence",
                "confidence_note",
            )

    events = (
        Event.objects.filter(case__slug=case)
        .chronological()
        .prefetch_related("parties", "claims")[:rows]
    )
    with open("/proc/self/statm") as statm:  # resident memory now, in pages
        before = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
    start = time.perf_counter()
    dataset = EventResource().export(events)
    text = dataset.csv
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, whole life
    print(
        json.dumps(
            {
                "rows": len(dataset),
                "bytes": len(text.encode("utf-8")),
                "seconds": seconds,
                "rows_per_second": len(dataset) / seconds,
                "peak_rss_growth_mb": round((peak - before) / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
