"""Demo disputes in several states, reached through the same services people use."""

from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from disputes.services import dispute_act_by, dispute_open
from orders.models import Order


def _open_orders(buyer: str, store: str):
    now = timezone.now()
    return Order.objects.filter(
        buyer__username=buyer, store__slug=store, window_opens_at__lte=now, window_closes_at__gt=now
    ).select_related("store__owner", "buyer", "carrier")


def seed_disputes() -> None:
    if Order.objects.filter(disputes__isnull=False).exists():
        return  # already seeded: leave things as they are
    # One order from each buyer–store pair, so every demo login has a dispute to look at.
    pairs = [("alice", "daves-outlet"), ("bob", "carols-gadgets"), ("bob", "daves-outlet"), ("alice", "carols-gadgets")]
    free = [order for order in (_open_orders(b, s).first() for b, s in pairs) if order is not None]
    if len(free) < 4:
        return
    erin = User.objects.get(username="erin")

    def open_on(order, reason, amount=None, return_item=False, text=""):
        return dispute_open(
            buyer=order.buyer,
            order=order,
            reason=reason,
            item_received=False,
            refund_type="partial" if amount else "full",
            refund_amount=amount,
            return_item=return_item,
            description=text,
        )

    # Waiting for the seller.
    open_on(free[0], "not_received", text="Tracking has not moved for 9 days.")
    # The seller countered; waiting for the buyer.
    countered = open_on(free[1], "not_received", text="Nothing arrived.")
    dispute_act_by(user=countered.order.store.owner, dispute=countered, action="propose",
                   refund_amount=Decimal("10.00"), note="Tracking shows it in the local depot.")  # fmt: skip
    # Escalated to the dispute team after a rejection.
    escalated = open_on(free[2], "not_received", text="Never delivered.")
    dispute_act_by(user=escalated.order.store.owner, dispute=escalated, action="reject",
                   note="Carrier says delivered to the mailbox.")  # fmt: skip
    dispute_act_by(user=escalated.order.buyer, dispute=escalated, action="escalate", note="It is not in my mailbox.")
    # Resolved by a ruling.
    ruled = open_on(free[3], "other", amount=Decimal("5.00"), text="The colour is not the one shown.")
    dispute_act_by(user=ruled.order.store.owner, dispute=ruled, action="reject", note="The colour matches.")
    dispute_act_by(user=ruled.order.buyer, dispute=ruled, action="escalate", note="Please look at the listing.")
    dispute_act_by(user=erin, dispute=ruled, action="claim")
    dispute_act_by(user=erin, dispute=ruled, action="ruling", outcome="partial_refund",
                   refund_amount=Decimal("5.00"), note="The listing photo is brighter than the item.")  # fmt: skip
