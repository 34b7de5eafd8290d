from django.core.management.base import BaseCommand

from disputes.tasks import run_all_sweeps


class Command(BaseCommand):
    help = "Run every deadline sweep once (what Celery beat does each minute); safe to run any time."

    def handle(self, *args, **options):
        counts = run_all_sweeps()
        self.stdout.write(", ".join(f"{name}: {n}" for name, n in counts.items()))
