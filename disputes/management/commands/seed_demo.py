from django.core.management.base import BaseCommand, CommandError

from orders.demo import PASSWORD, PEOPLE, refusal, seed_demo


class Command(BaseCommand):
    help = "Load the demo people, stores and orders (DEBUG only, on a database of demo data only; safe twice)."

    def handle(self, *args, **options):
        why = refusal()
        if why:
            raise CommandError(why)
        counts = seed_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {counts}"))
        logins = ", ".join(p[0] for p in PEOPLE)
        self.stdout.write(f"Demo logins (password for all: {PASSWORD}): {logins}")
