"""Demo disputes, one in every state, reached through the same services people use.

Each stands on an order made for it (orders/demo.py JOURNEY_ORDERS) whose facts agree with what the
dispute says: "not received" on an order shipped and never delivered (or marked delivered but not
found), an item's condition on a delivered order with photos of it. Safe to run twice: an order that
already has a dispute is left as it is.

A linked case (`seed_case`): orders of one SF Express container from Carol's Gadgets that never
arrived, escalated to the team, three of them in one open case, a fourth left for the case's
suggestions to find.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from disputes.cases import case_create
from disputes.models import Dispute, PauseReason
from disputes.pauses import dispute_pause
from disputes.requests import request_act_by, request_open
from disputes.services import dispute_act_by, dispute_open
from messaging.demo import drawing
from orders import services as order_services
from orders.models import Carrier, Order
from sellers.models import Store


def _open(order: Order, reason: str, *, received: bool, text: str, amount=None, return_item=False, photo=False):
    return dispute_open(
        buyer=order.buyer,
        order=order,
        reason=reason,
        item_received=received,
        refund_type="partial" if amount else "full",
        refund_amount=amount,
        return_item=return_item,
        description=text,
        uploads=[drawing(f"{order.number}-{reason}", "#7aa7d9")] if photo else [],
    )


def _claim(dispute, erin: User) -> None:
    """erin takes the dispute, unless routing (run when an escalation commits) already gave it out."""
    dispute.refresh_from_db()
    if dispute.state == "escalated":
        dispute_act_by(user=erin, dispute=dispute, action="claim")


def _awaiting_seller(order: Order, erin: User) -> None:
    _open(order, "not_received", received=False, text="Tracking has not moved for 9 days.")


def _awaiting_buyer(order: Order, erin: User) -> None:
    dispute = _open(order, "damaged", received=True, photo=True, text="The case arrived with a crack across the front.")
    dispute_act_by(user=order.store.owner, dispute=dispute, action="propose", refund_amount=Decimal("4.00"),
                   note="The case still protects the phone; I can refund 4.00 USD.")  # fmt: skip


def _escalated(order: Order, erin: User) -> None:
    dispute = _open(order, "not_received", received=False, text="Marked delivered, but it is not in my mailbox.")
    dispute_act_by(user=order.store.owner, dispute=dispute, action="reject",
                   note="The carrier marked it delivered to your mailbox.")  # fmt: skip
    dispute_act_by(user=order.buyer, dispute=dispute, action="escalate",
                   note="It is not in my mailbox and no neighbour has it.")  # fmt: skip
    # A paused clock, as both parties see it: the team waits for the carrier's trace of the parcel.
    dispute_pause(staff=erin, dispute=dispute, reason=PauseReason.CARRIER_INVESTIGATION, days=5,
                  note="UPS is tracing where the parcel was left; the ruling waits for their report.")  # fmt: skip


def _under_review(order: Order, erin: User) -> None:
    dispute = _open(order, "not_as_described", received=True, photo=True, amount=Decimal("6.00"),
                    text="The listing says 22 mm; the band is 20 mm and does not fit.")  # fmt: skip
    dispute_act_by(user=order.store.owner, dispute=dispute, action="reject", note="The band is the size listed.")
    dispute = dispute_act_by(user=order.buyer, dispute=dispute, action="escalate", note="Please measure the photo.")
    _claim(dispute, erin)


def _awaiting_return(order: Order, erin: User) -> None:
    dispute = _open(order, "defective", received=True, photo=True, text="Two of the seven ports do not work.")
    dispute_act_by(user=order.store.owner, dispute=dispute, action="propose", refund_amount=order.total,
                   return_item=True, note="Send it back and I refund it all.")  # fmt: skip
    dispute_act_by(user=order.buyer, dispute=dispute, action="accept")


def _return_in_transit(order: Order, erin: User) -> None:
    dispute = _open(order, "wrong_item", received=True, photo=True, return_item=True,
                    text="I ordered the desk lamp and got a clip-on lamp.")  # fmt: skip
    dispute_act_by(user=order.store.owner, dispute=dispute, action="accept")
    dispute_act_by(user=order.buyer, dispute=dispute, action="return_shipment",
                   carrier=Carrier.objects.get(code="dhl"), tracking_number="DH-RET-4006")  # fmt: skip


def _resolved(order: Order, erin: User) -> None:
    dispute = _open(order, "other", received=True, amount=Decimal("5.00"), text="The colour is not the one shown.")
    dispute_act_by(user=order.store.owner, dispute=dispute, action="reject", note="The colour matches the listing.")
    dispute = dispute_act_by(user=order.buyer, dispute=dispute, action="escalate", note="Please look at the listing.")
    _claim(dispute, erin)
    dispute_act_by(user=erin, dispute=dispute, action="ruling", outcome="partial_refund",
                   refund_amount=Decimal("5.00"), note="The listing photo is brighter than the item.")  # fmt: skip


def _cancelled(order: Order, erin: User) -> None:
    dispute = _open(order, "not_received", received=False, text="The tracking says delivered; I cannot find it.")
    dispute_act_by(user=order.buyer, dispute=dispute, action="cancel", note="A neighbour had taken it in.")


# order number -> how its dispute gets to its state (the README's "Try it" names them).
DISPUTES = {
    "DD-4001": _awaiting_seller,
    "DD-4002": _awaiting_buyer,
    "DD-4003": _escalated,
    "DD-4004": _under_review,
    "DD-4005": _awaiting_return,
    "DD-4006": _return_in_transit,
    "DD-4007": _resolved,
    "DD-4008": _cancelled,
}


def _return_waiting(order: Order) -> None:
    request_open(buyer=order.buyer, order=order, kind="return_refund", reason="changed_mind",
                 note="It works, but it is brighter than I need. Unused, in its box.")  # fmt: skip


def _exchange_approved(order: Order) -> None:
    request = request_open(buyer=order.buyer, order=order, kind="exchange", reason="defective",
                           variant="The same hub", note="Two of the seven ports do not work.")  # fmt: skip
    request_act_by(user=order.store.owner, request=request, action="approve")


def _one_item_disputed(order: Order) -> None:
    case = order.items.get(title__startswith="Phone case")
    dispute_open(buyer=order.buyer, order=order, reason="damaged", item_received=True, refund_type="full",
                 return_item=False, description="The case arrived cracked; the earbuds are fine.",
                 why_unresolved="The seller has not answered my message in four days.",
                 items=[{"item": case.pk, "quantity": 1}],
                 uploads=[drawing(f"{order.number}-case", "#d98f7a")])  # fmt: skip


# Return and exchange requests, and a dispute over one item of two.
REQUESTS = {"DD-5001": _return_waiting, "DD-5002": _exchange_approved, "DD-5003": _one_item_disputed}


def seed_requests() -> None:
    orders = Order.objects.filter(
        number__in=REQUESTS, return_requests__isnull=True, disputes__isnull=True
    ).select_related("store__owner", "buyer", "carrier")
    for order in orders.order_by("number"):
        REQUESTS[order.number](order)


def seed_disputes() -> None:
    erin = User.objects.get(username="erin")
    orders = Order.objects.filter(number__in=DISPUTES, disputes__isnull=True).select_related(
        "store__owner", "buyer", "carrier"
    )
    for order in orders.order_by("number"):
        DISPUTES[order.number](order, erin)
    seed_case(erin)


# --- a linked case ---------------------------------------------------------------------------------

CASE_REASON = "One shipment container was lost by the carrier; every order in it is refunded the same way."
CASE_NOTE = (
    "SF Express confirmed that container SF7741 never left the port at Yantian; Carol's Gadgets has claimed "
    "from the carrier. Every order in it gets the same ruling: a full refund."
)

# number, buyer, placed / shipped (days ago), tracking number, product, linked into the case. All at
# Carol's Gadgets by SF Express, shipped within one week and never delivered. DD-4101 and DD-4102 went
# in one parcel (one tracking number); DD-4104 is left out of the case for its suggestions to find
# (the same carrier, shipped the same week; the same store and reason, opened the same week).
CASE_ORDERS = [
    ("DD-4101", "alice", 17, 14, "SF7741000417", ("Bluetooth speaker", Decimal("54.00")), True),
    ("DD-4102", "bob", 17, 14, "SF7741000417", ("LED desk lamp", Decimal("31.25")), True),
    ("DD-4103", "bob", 16, 13, "SF7741000418", ("Wireless earbuds", Decimal("39.90")), True),
    ("DD-4104", "alice", 15, 12, "SF7741000431", ("USB-C hub, 7 ports", Decimal("24.50")), False),
]


def _case_order(number: str, buyer: User, placed: int, shipped: int, tracking: str, product) -> Order:
    """The order, shipped with its tracking number (orders/demo.py's orders each have their own)."""
    order = Order.objects.filter(number=number).first()
    if order is not None:
        return order
    platform = User.objects.get(username="platform")
    carrier = Carrier.objects.get(code="sf_express")
    now = timezone.now().replace(second=0, microsecond=0)
    title, price = product
    order, _created = order_services.order_create(
        actor=platform,
        number=number,
        buyer=buyer,
        store=Store.objects.get(slug="carols-gadgets"),
        carrier=carrier,
        placed_at=now - timedelta(days=placed),
        ship_by=now - timedelta(days=placed - 3),
        total=price,
        currency="USD",
        items=[order_services.ItemLine(title=title, quantity=1, unit_price=price)],
    )
    return order_services.order_record_shipment(
        actor=platform, order=order, carrier=carrier, tracking_number=tracking, shipped_at=now - timedelta(days=shipped)
    )


def _lost_in_container(order: Order) -> Dispute:
    """Opened, rejected by carol (she waits for the carrier), escalated by the buyer: with the team."""
    dispute = _open(order, "not_received", received=False, text="The tracking stopped at the port in Yantian.")
    dispute_act_by(user=order.store.owner, dispute=dispute, action="reject",
                   note="It left our warehouse on time; SF Express has it. Please wait for the carrier.")  # fmt: skip
    return dispute_act_by(user=order.buyer, dispute=dispute, action="escalate",
                          note="SF Express says the whole container is missing.")  # fmt: skip


def seed_case(erin: User) -> None:
    """The container's disputes, and the case linking three of them, made once: a later run leaves
    whatever the team did with them since (ruled, taken out, the suggestion linked) as it is."""
    opened = {}
    for number, buyer, placed, shipped, tracking, product, _linked in CASE_ORDERS:
        order = _case_order(number, User.objects.get(username=buyer), placed, shipped, tracking, product)
        if order.disputes.exists():
            continue
        opened[number] = _lost_in_container(Order.objects.select_related("store__owner", "buyer").get(pk=order.pk))
    if "DD-4101" in opened:
        _claim(opened["DD-4101"], erin)  # alice's is under review by erin; the others wait in the queue
    members = [opened[number].pk for number, *_rest, linked in CASE_ORDERS if linked and number in opened]
    if members:
        case_create(staff=erin, public_reason=CASE_REASON, note=CASE_NOTE, disputes=members)
