from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orders.demo import PASSWORD, PEOPLE, seed_demo


class Command(BaseCommand):
    help = "Load the demo people, stores and orders (DEBUG only; safe to run twice)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo refuses to run unless DEBUG is on: it sets known passwords.")
        counts = seed_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {counts}"))
        logins = ", ".join(p[0] for p in PEOPLE)
        self.stdout.write(f"Demo logins (password for all: {PASSWORD}): {logins}")
