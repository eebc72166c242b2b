"""manage.py load_test: mixed public traffic plus admin saves against `make serve`.

Thin: the work is in loadtest/run.py. `make load` runs it for LOAD_SECONDS.
"""

from django.core.management.base import BaseCommand, CommandError

from loadtest.run import LoadTestError, Options, run


class Command(BaseCommand):
    help = (
        "Start `make serve` on a free port (or use --url), run wrk with a mix of public "
        "pages while an editor saves events in the admin, and report requests/s, "
        "latency percentiles, errors and admin saves. Fails on any error or lost save."
    )

    # The checks connect to the database, which may not exist yet: run() creates it,
    # and `make serve` runs the checks.
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seconds", type=float, default=30)
        parser.add_argument(
            "--warmup", type=float, default=3, help="unmeasured seconds first"
        )
        parser.add_argument("--connections", type=int, default=16)
        parser.add_argument("--threads", type=int, default=2, help="wrk threads")
        parser.add_argument(
            "--timeout", default="10s", help="a slower response counts as an error"
        )
        parser.add_argument("--case", default="musk-v-openai")
        parser.add_argument(
            "--url",
            default="",
            help="A server already running on this same database (default: start one).",
        )
        parser.add_argument("--json", dest="json_path", default="")
        parser.add_argument("--log", dest="log_path", default="", help="server log")

    def handle(self, *args, **options) -> None:
        fields = Options.__dataclass_fields__
        try:
            passed = run(
                Options(**{k: v for k, v in options.items() if k in fields}),
                self.stdout,
            )
        except LoadTestError as error:
            raise CommandError(str(error)) from None
        if not passed:
            raise CommandError("load test failed")
