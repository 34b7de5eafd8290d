"""Build disputes in any state through the real services, as people would."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from disputes.models import Dispute
from disputes.services import dispute_act_by, dispute_open
from orders.models import Carrier
from tests.factories import make_order

SHIPPED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OPEN_AT = SHIPPED + timedelta(days=8)  # inside a DHL window (opens day 6, closes day 23)


def open_dispute(
    world, *, number="D-1", return_item=False, refund_type="full", amount=None, total=Decimal("80.00"), received=False
):
    order = make_order(buyer=world.alice, store=world.carols, number=number, shipped_at=SHIPPED, total=total)
    # A return needs an item that arrived: "not received" never asks for one.
    return dispute_open(
        buyer=world.alice,
        order=order,
        reason="other" if return_item or received else "not_received",
        item_received=bool(return_item or received),
        refund_type=refund_type,
        refund_amount=amount,
        return_item=return_item,
        description="It never arrived.",
    )


def dispute_in(world, state: str, *, number="D-1", received=False) -> Dispute:
    """A dispute in `state`, reached by the actions a buyer, a seller and the team would take."""
    if state == "cancelled":
        dispute = open_dispute(world, number=number)
        return dispute_act_by(user=world.alice, dispute=dispute, action="cancel")
    dispute = open_dispute(
        world, number=number, return_item=state in ("awaiting_return", "return_in_transit"), received=received
    )
    if state == "awaiting_seller":
        return dispute
    if state in ("awaiting_return", "return_in_transit"):
        dispute = dispute_act_by(user=world.carol, dispute=dispute, action="accept")
        if state == "return_in_transit":
            dispute = dispute_act_by(
                user=world.alice,
                dispute=dispute,
                action="return_shipment",
                carrier=Carrier.objects.get(code="dhl"),
                tracking_number="RET123",
            )
        return dispute
    if state == "resolved":
        return dispute_act_by(user=world.carol, dispute=dispute, action="accept")
    dispute = dispute_act_by(
        user=world.carol, dispute=dispute, action="propose", refund_amount=Decimal("30.00"), note="Half?"
    )
    if state == "awaiting_buyer":
        return dispute
    dispute = dispute_act_by(user=world.alice, dispute=dispute, action="escalate", note="No.")
    if state == "escalated":
        return dispute
    dispute = dispute_act_by(user=world.erin, dispute=dispute, action="claim")
    assert state == "under_review", state
    return dispute
