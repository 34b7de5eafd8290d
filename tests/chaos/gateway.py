"""A payment gateway for the chaos tests' workers: the local ledger, writing down every refund it is asked
for (its reference) in CHAOS_PAYMENTS, so a test sees calls that a killed worker's rollback hid."""

import os

from disputes.payments import LocalLedgerGateway


class RecordingGateway(LocalLedgerGateway):
    def refund(self, *, order, amount, currency, reference) -> str:
        with open(os.environ["CHAOS_PAYMENTS"], "a") as calls:
            calls.write(f"{reference}\n")
        return super().refund(order=order, amount=amount, currency=currency, reference=reference)
