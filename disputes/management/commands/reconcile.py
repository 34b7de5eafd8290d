from django.core.management.base import BaseCommand, CommandError

from disputes.reconcile import LISTED, ledger_reconcile


class Command(BaseCommand):
    help = (
        "Hold the refund ledger against the orders, the disputes' resolutions and the payment gateway, print "
        "the report and record the run. Exits 1 when anything disagrees, 2 when the check could not run "
        "(-v 0: print nothing but that)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--listed", type=int, default=LISTED, help=f"mismatches listed per kind (all are counted; {LISTED})"
        )
        parser.add_argument(
            "--alert", action="store_true", help="tell every active superuser of a mismatch, as the daily run does"
        )

    def handle(self, *args, listed: int, alert: bool, verbosity: int, **options):
        if listed < 1:
            raise CommandError("--listed must be at least 1.", returncode=2)
        try:
            run = ledger_reconcile(listed=listed, alert=alert)
        except Exception as error:  # the check never ran: not the same as money that disagrees
            raise CommandError(
                f"reconciliation could not run: {type(error).__name__}: {error}", returncode=2
            ) from error
        if verbosity:
            self.stdout.write(run.report)
        if not run.ok:
            raise CommandError(f"reconciliation run {run.pk} found {run.mismatches} mismatch(es).", returncode=1)
