from django.db import migrations

PAUSED = "casetracker_revision_paused"


class Migration(migrations.Migration):
    """The table whose rows pause the revision triggers (revisions.deferred_bump)."""

    dependencies = [
        ("casetracker", "0010_citation_partial_indexes"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE TABLE {PAUSED} (token varchar(32) NOT NULL PRIMARY KEY)",
            f"DROP TABLE IF EXISTS {PAUSED}",
        ),
    ]
