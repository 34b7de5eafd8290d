from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from disputes.demo import seed_disputes, seed_requests
from messaging.demo import seed_messages
from orders.demo import PASSWORD, PEOPLE, refusal, seed_orders
from orders.models import Order


class Command(BaseCommand):
    help = (
        "Load the demo people, stores and orders (only where DEMO_DATA is on, never under production settings, "
        "on a database of demo data only; safe twice)."
    )

    def handle(self, *args, **options):
        why = refusal()
        if why:
            raise CommandError(why)
        # Each app seeds its own part, lowest first: the disputes stand on the orders and messages.
        with transaction.atomic():
            counts = seed_orders()
            seed_messages()
            seed_disputes()
            seed_requests()
            # The linked case's orders are made with its disputes (disputes/demo.py): count them too.
            counts["orders"] = Order.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {counts}"))
        logins = ", ".join(p[0] for p in PEOPLE)
        self.stdout.write(f"Demo logins (password for all: {PASSWORD}): {logins}")
