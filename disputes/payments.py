"""Sending money back to a buyer: a gateway interface and the refund service that uses it.

The default gateway is a local ledger: the Refund row is the record. A real payment provider
implements `PaymentGateway.refund` and `PaymentGateway.refunds_paid` (what it paid, for the daily
reconciliation, disputes/reconcile.py) and is named in the PAYMENT_GATEWAY setting.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.db.models import Sum
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from core.audit import audit
from core.errors import RuleViolation
from core.money import format_money
from disputes.models import Cause, Dispute, Refund, ReturnRequest
from orders.models import Order, OrderStatus

if TYPE_CHECKING:
    from disputes.writes import Writes


@dataclass(frozen=True)
class GatewayRefund:
    """One refund as the provider paid it."""

    reference: str  # the provider's reference, as `refund` returned it (Refund.gateway_reference)
    amount: Decimal  # all that was sent back, return postage included (Refund.amount)
    currency: str


class PaymentGateway(Protocol):
    name: str

    def refund(self, *, order: Order, amount: Decimal, currency: str, reference: str) -> str:
        """Send `amount` back to the buyer of `order`; return the provider's reference.
        `reference` is stable per resolution, so a provider can deduplicate retries."""

    def refunds_paid(self, *, until: datetime) -> Iterable[GatewayRefund]:
        """Every refund the provider paid before `until`, as it paid it: what the daily reconciliation
        holds the ledger against. Streamed: it may be every refund there has ever been."""


class LocalLedgerGateway:
    """No provider: the ledger is the record, so what was paid is what the ledger says (and the
    reconciliation's comparison with the gateway agrees by construction)."""

    name = "local"

    def refund(self, *, order: Order, amount: Decimal, currency: str, reference: str) -> str:
        return f"local-{uuid.uuid5(uuid.NAMESPACE_URL, reference)}"

    def refunds_paid(self, *, until: datetime) -> Iterable[GatewayRefund]:
        rows = Refund.objects.filter(gateway=self.name, created_at__lt=until).order_by()
        for reference, amount, currency in rows.values_list("gateway_reference", "amount", "currency").iterator(
            chunk_size=10_000
        ):
            yield GatewayRefund(reference=reference, amount=amount, currency=currency)


def gateway() -> PaymentGateway:
    return import_string(settings.PAYMENT_GATEWAY)()


def refunded_so_far(order: Order) -> Decimal:
    """What was refunded on the order against what the buyer paid: return postage the seller paid
    under its policy is refunded on top, and does not count."""
    sums = order.refunds.aggregate(total=Sum("amount"), postage=Sum("postage"))
    return (sums["total"] or Decimal("0")) - (sums["postage"] or Decimal("0"))


def refunded_so_far_shown(order: Order) -> Decimal:
    """`refunded_so_far` for a page or a read, asked once per order object it is shown from (never inside a
    transition: money moves on what the database says now)."""
    if not hasattr(order, "_refunded_so_far"):
        order._refunded_so_far = refunded_so_far(order)
    return order._refunded_so_far


def _pay(
    *,
    order: Order,
    amount: Decimal,
    already: Decimal,
    reference: str,
    dispute: Dispute | None,
    cause: str,
    request: ReturnRequest | None = None,
    postage: Decimal = Decimal("0"),
):
    if already + amount - postage > order.total:
        # Never reached through the workflow, which asks at most for what is left; a last guard.
        raise RuleViolation(
            "refund_exceeds_total",
            _("That would refund %(total)s in all, more than the %(paid)s paid.")
            % {
                "total": format_money(already + amount - postage, order.currency),
                "paid": format_money(order.total, order.currency),
            },
        )
    provider = gateway()
    refund = Refund(
        dispute=dispute,
        request=request,
        order=order,
        resolution_number=dispute.resolution_number if dispute else (1 if request else 0),
        amount=amount,
        postage=postage,
        currency=order.currency,
        gateway=provider.name,
        gateway_reference=provider.refund(order=order, amount=amount, currency=order.currency, reference=reference),
        cause=cause,
    )
    audit(
        "refund.paid",
        order=order.number,
        dispute=dispute.pk if dispute else None,
        return_request=request.pk if request else None,
        amount=str(amount),
        postage=str(postage),
        currency=order.currency,
        reference=reference,
        gateway=provider.name,
        gateway_reference=refund.gateway_reference,
    )
    return refund


def refund_issue(
    *,
    dispute: Dispute,
    amount: Decimal,
    cause: str,
    order: Order,
    already: Decimal,
    writes: "Writes",
    postage: Decimal = Decimal("0"),
) -> Refund | None:
    """Refund the buyer for this resolution of the dispute: at most once per resolution (a database
    constraint) and never more than the buyer paid in total, but for `postage` (part of `amount`):
    return postage the seller pays under its policy. Call inside the transition's transaction, with
    the dispute row and the order locked (`writes.refund_position`), and `already` what was refunded
    on the order so far."""
    if amount <= 0:
        return None
    reference = f"dispute-{dispute.pk}-resolution-{dispute.resolution_number}"
    refund = _pay(order=order, amount=amount, already=already, reference=reference, dispute=dispute, cause=cause,
                  postage=postage)  # fmt: skip
    order.status = _status_after(order, already + amount - postage)
    writes.save_refund(refund, order)
    dispute.refunded_amount += amount - postage  # what counts against the items' worth
    dispute.refund_issued = refund
    return refund


def _status_after(order: Order, refunded: Decimal) -> str:
    return OrderStatus.REFUNDED if refunded >= order.total else OrderStatus.PARTIALLY_REFUNDED


def refund_request(
    *, request: ReturnRequest, order: Order, amount: Decimal, postage: Decimal, already: Decimal
) -> Refund | None:
    """Refund a return or exchange request: once (a database constraint), with the order locked by
    the caller; `postage` (part of `amount`) is the seller's return postage, paid above the price."""
    if amount <= 0:
        return None
    refund = _pay(order=order, amount=amount, already=already, reference=f"request-{request.pk}", dispute=None,
                  cause=Cause.RETURN_POLICY, request=request, postage=postage)  # fmt: skip
    refund.save()
    order.status = _status_after(order, already + amount - postage)
    order.save(update_fields=["status", "updated_at"])
    return refund


def order_refund_unshipped(*, order: Order) -> Refund | None:
    """An order never shipped by the time its window closed: the buyer gets back everything not
    yet refunded, through the same ledger (a refund that belongs to no dispute), and the order is
    cancelled. Call with the order locked, in the transaction that changes its status."""
    already = refunded_so_far(order)
    refund = None
    if order.total - already > 0:
        refund = _pay(
            order=order,
            amount=order.total - already,
            already=already,
            reference=f"order-{order.pk}-cancelled",
            dispute=None,
            cause=Cause.NOT_SHIPPED,
        )
        refund.save()
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status", "updated_at"])
    return refund
