"""Sending money back to a buyer: a gateway interface and the refund service that uses it.

The default gateway is a local ledger: the Refund row is the record. A real payment provider
implements `PaymentGateway.refund` and is named in the PAYMENT_GATEWAY setting.
"""

import logging
import uuid
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db.models import Sum
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from config.errors import RuleViolation
from disputes.models import Dispute, Refund
from orders.models import Order, OrderStatus

audit_log = logging.getLogger("dispute_desk.audit")


class PaymentGateway(Protocol):
    name: str

    def refund(self, *, order: Order, amount: Decimal, currency: str, reference: str) -> str:
        """Send `amount` back to the buyer of `order`; return the provider's reference.
        `reference` is stable per resolution, so a provider can deduplicate retries."""


class LocalLedgerGateway:
    name = "local"

    def refund(self, *, order: Order, amount: Decimal, currency: str, reference: str) -> str:
        return f"local-{uuid.uuid5(uuid.NAMESPACE_URL, reference)}"


def gateway() -> PaymentGateway:
    return import_string(settings.PAYMENT_GATEWAY)()


def refunded_so_far(order: Order) -> Decimal:
    return order.refunds.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def refund_issue(*, dispute: Dispute, amount: Decimal, cause: str) -> Refund | None:
    """Refund the buyer for this resolution of the dispute: at most once per resolution (a database
    constraint) and never more than the buyer paid in total. Call inside the transition's
    transaction, with the dispute row locked."""
    if amount <= 0:
        return None
    from disputes import batch

    pending = batch.current()
    if pending:  # a sweep's chunk: its orders are locked and their refunds summed already
        order = pending.orders[dispute.order_id]
        already = pending.refunded[order.pk]
    else:
        # Lock the order: refunds from two disputes on one order (a reopened one) must add up safely.
        order = Order.objects.select_for_update().get(pk=dispute.order_id)
        already = refunded_so_far(order)
    if already + amount > order.total:
        raise RuleViolation(
            "refund_exceeds_total",
            _("That would refund %(total)s %(cur)s in all, more than the %(paid)s %(cur)s paid.")
            % {"total": already + amount, "paid": order.total, "cur": order.currency},
        )
    reference = f"dispute-{dispute.pk}-resolution-{dispute.resolution_number}"
    provider = gateway()
    refund = Refund(
        dispute=dispute,
        order=order,
        resolution_number=dispute.resolution_number,
        amount=amount,
        currency=order.currency,
        gateway=provider.name,
        gateway_reference=provider.refund(order=order, amount=amount, currency=order.currency, reference=reference),
        cause=cause,
    )
    order.status = OrderStatus.REFUNDED if already + amount >= order.total else OrderStatus.PARTIALLY_REFUNDED
    if pending:
        pending.add_refund(refund)
    else:
        refund.save()
        order.save(update_fields=["status", "updated_at"])
    dispute.refund_issued = refund
    audit_log.info(
        "dispute=%s action=refund amount=%s currency=%s reference=%s", dispute.pk, amount, order.currency, reference
    )
    return refund
