"""Two worlds for the query-count tests, each built once per module and rolled back after it.

"small": dispute D-1 under review (opened, countered, escalated, claimed by erin) with one message
holding one photo, one piece of evidence holding one photo, the two proposals and four events its
steps wrote; return request on R-1 with one event and one piece of evidence holding one photo; a
waiting extension request on E-1; and one other order of each kind the lists show (`_lists`).

"large": the same, and on D-1 100 messages, 100 photos on them, 100 proposals, 102 events, 100
pieces of evidence with 100 photos, 100 order events; on R-1 100 events and 100 pieces of evidence
with 100 photos; five other orders of each kind; 100 notifications for the buyer and the seller.

People, orders and claims are made through the services, as people make them; the hundreds are
added with bulk_create, each row as its service would write it (photos point at the files the
first real upload stored: no read here opens them but the photo views, which open that one).
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client, override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from disputes.models import DisputeEvent, Evidence, EvidenceRequest, Proposal, Refund, RequestEvent
from disputes.requests import request_open
from disputes.review import evidence_request_create
from disputes.services import dispute_act_by, dispute_open, evidence_add
from messaging.models import Message, Photo, Thread, ThreadState
from messaging.services import message_post
from notifications.models import Notification
from orders.models import OrderEvent
from orders.reference import seed_reference_data
from orders.services import extension_request, order_record_delivery
from sellers.services import return_policy_update
from tests.conftest import World
from tests.disputes.helpers import OPEN_AT, SHIPPED
from tests.factories import StoreFactory, UserFactory, make_order, platform_account, team_member
from tests.messaging.images import jpeg_bytes, upload

MANY = 100
# Other orders, each with one kind of claim (`_lists`): one of each kind in the small world, five of
# each in the large one (more than a page of the API, 20, on the order lists).
LIST_KINDS = 5

OPENED = OPEN_AT - timedelta(days=1)  # the window opened on day 6 after shipping; the dispute the day after
DELIVERED = SHIPPED + timedelta(days=4)


@dataclass
class PerfWorld:
    size: str
    people: World
    # What the reads' addresses name: order numbers, ids, the store's slug.
    ids: dict[str, object] = field(default_factory=dict)
    # Each viewer's way in: an API token, and a signed-in session on the site (erin's with her code).
    tokens: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)


def _photo_rows(template: Photo, count: int, *, first: int = 0, **owner) -> list[Photo]:
    """`count` rows like `template` (the same stored files: reads never open them) for one owner,
    at positions from `first`."""
    fields = {
        name: getattr(template, name)
        for name in ("file", "thumbnail", "content_type", "width", "height", "sha256", "original_size")
    }
    return [Photo(uploaded_by_id=template.uploaded_by_id, position=first + i, **fields, **owner) for i in range(count)]


def _photos_for(template: Photo, owners: list, first_owner, *, key: str) -> None:
    """100 photos for the owners of one kind: the first owner's one photo made six (what a message or a
    piece of evidence holds at most), and one on each of the next 94."""
    rows = _photo_rows(template, 5, first=1, **{key: first_owner})
    for owner in owners[: MANY - 6]:
        rows += _photo_rows(template, 1, **{key: owner})
    Photo.objects.bulk_create(rows)


def _people() -> World:
    """The demo personas, as tests/conftest.py's `world` makes them."""
    carol, dave = UserFactory(username="carol"), UserFactory(username="dave")
    return World(
        alice=UserFactory(username="alice", time_zone="America/Los_Angeles"),
        bob=UserFactory(username="bob"),
        carol=carol,
        dave=dave,
        erin=team_member("erin"),
        platform=platform_account(),
        carols=StoreFactory(slug="carols-gadgets", name="Carol's Gadgets", owner=carol),
        daves=StoreFactory(slug="daves-outlet", name="Dave's Outlet", owner=dave),
    )


def _carols_policy(people: World) -> None:
    return_policy_update(
        actor=people.carol,
        store=people.carols,
        accepts_returns=True,
        return_days=30,
        covered_reasons=["changed_mind", "damaged", "other"],
        change_of_mind_shipping_payer="buyer",
        defective_shipping_payer="seller",
        refund_without_return=False,
        condition_rules="Unused, in the original box.",
        address_name="Carol's Gadgets returns",
        address_line1="1 Harbour Road",
        address_city="Shenzhen",
        address_postal_code="518000",
        address_country="CN",
    )


def _order(people: World, number: str, *, delivered: bool = False):
    order = make_order(
        buyer=people.alice,
        store=people.carols,
        number=number,
        shipped_at=SHIPPED,
        total=Decimal("80.00"),
        items=[("Blue mug", 2, "15.00"), ("Desk lamp", 1, "50.00")],
    )
    if delivered:
        with time_machine.travel(DELIVERED, tick=False):
            order = order_record_delivery(actor=people.platform, order=order, delivered_at=DELIVERED)
    return order


def _the_dispute(people: World, many: bool):
    """Dispute D-1: opened, answered with messages, evidence and proposals, escalated, claimed by erin."""
    order = _order(people, "D-1")
    with time_machine.travel(OPENED, tick=False):
        dispute = dispute_open(
            buyer=people.alice,
            order=order,
            reason="not_received",
            item_received=False,
            refund_type="full",
            refund_amount=None,
            return_item=False,
            description="It never arrived.",
        )
    with time_machine.travel(OPENED + timedelta(minutes=1), tick=False):
        message = message_post(author=people.alice, order=order, body="Where is it?", uploads=[upload(jpeg_bytes())])
    with time_machine.travel(OPENED + timedelta(minutes=2), tick=False):
        evidence = evidence_add(
            author=people.alice, dispute=dispute, note="The tracking page.", uploads=[upload(jpeg_bytes())]
        )
    photo = message.photos.get()
    if many:
        _many_around(people, dispute, order, photo, evidence)
    with time_machine.travel(OPENED + timedelta(hours=2), tick=False):
        dispute = dispute_act_by(
            user=people.carol, dispute=dispute, action="propose", refund_amount=Decimal("30.00"), note="Half?"
        )
    with time_machine.travel(OPENED + timedelta(hours=3), tick=False):
        dispute = dispute_act_by(user=people.alice, dispute=dispute, action="escalate", note="No.")
    with time_machine.travel(OPENED + timedelta(hours=4), tick=False):
        dispute = dispute_act_by(user=people.erin, dispute=dispute, action="claim")
    return dispute, message, evidence, photo


def _many_around(people: World, dispute, order, photo: Photo, first_evidence: Evidence) -> None:
    """A long negotiation between the opening and the seller's last counter: proposals and their
    events, messages from all three sides and evidence from both parties (100 photos on each kind),
    and the order's own history."""
    start = OPENED + timedelta(minutes=10)
    proposals, events = [], []
    # The opening wrote the buyer's request and its event: 98 more proposals, alternating counter and
    # modification, then the seller's real counter makes 100; with escalate and claim, 102 events.
    for i in range(MANY - 2):
        seller = i % 2 == 0
        at = start + timedelta(seconds=i)
        amount = Decimal("30.00") if seller else Decimal("70.00")
        party, author = ("seller", people.carol) if seller else ("buyer", people.alice)
        proposals.append(
            Proposal(
                dispute=dispute,
                party=party,
                kind=Proposal.Kind.COUNTER if seller else Proposal.Kind.MODIFICATION,
                refund_amount=amount,
                note=f"Round {i}",
                author=author,
                created_at=at,
            )
        )
        events.append(
            DisputeEvent(
                dispute=dispute,
                actor=author,
                actor_party=party,
                action="propose",
                from_state="awaiting_seller" if seller else "awaiting_buyer",
                to_state="awaiting_buyer" if seller else "awaiting_seller",
                payload={"refund_amount": str(amount), "return_item": False, "note": f"Round {i}"},
                created_at=at,
            )
        )
    Proposal.objects.bulk_create(proposals)
    DisputeEvent.objects.bulk_create(events)

    thread = Thread.objects.get(order=order)
    authors = [("buyer", people.alice), ("seller", people.carol), ("team", people.erin)]
    with time_machine.travel(start, tick=False):  # created_at is set on saving
        messages = Message.objects.bulk_create(
            Message(thread=thread, author=authors[i % 3][1], role=authors[i % 3][0], body=f"Message {i}")
            for i in range(MANY - 1)
        )
    _photos_for(photo, messages, photo.message, key="message")
    Thread.objects.filter(pk=thread.pk).update(last_message_at=messages[-1].created_at)
    ThreadState.objects.filter(thread=thread, user=people.carol).update(unread=MANY)

    evidence = Evidence.objects.bulk_create(
        Evidence(
            dispute=dispute,
            party="buyer" if i % 2 else "seller",
            author=people.alice if i % 2 else people.carol,
            note=f"Evidence {i}",
            created_at=start + timedelta(seconds=i),
        )
        for i in range(MANY - 1)
    )
    _photos_for(photo, evidence, first_evidence, key="evidence")

    # The order's own history, as the admin's order page lists it.
    created = OrderEvent.objects.filter(order=order).order_by("id").first()
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=order,
            actor=people.platform if i % 2 else people.alice,
            action=created.action,
            payload=created.payload,
            created_at=created.created_at + timedelta(seconds=i + 1),
        )
        for i in range(MANY - OrderEvent.objects.filter(order=order).count())
    )


def _the_request(people: World, many: bool, photo: Photo):
    """The request on R-1: a return after a change of mind, with a photo, waiting for the seller; in the
    large world with 100 events and 100 pieces of evidence (100 photos)."""
    order = _order(people, "R-1", delivered=True)
    with time_machine.travel(OPENED, tick=False):
        found = request_open(
            buyer=people.alice,
            order=order,
            kind="return_refund",
            reason="changed_mind",
            note="Not what I hoped for.",
            uploads=[upload(jpeg_bytes())],
        )
    if many:
        opened = found.events.get()
        RequestEvent.objects.bulk_create(
            RequestEvent(
                request=found,
                actor=people.alice,
                actor_party="buyer",
                action=opened.action,
                from_state=opened.from_state,
                to_state=opened.to_state,
                payload=opened.payload,
                created_at=opened.created_at + timedelta(seconds=i + 1),
            )
            for i in range(MANY - 1)
        )
        evidence = Evidence.objects.bulk_create(
            Evidence(request=found, party="buyer", author=people.alice, note=f"Photo {i}") for i in range(MANY - 1)
        )
        _photos_for(photo, evidence, found.evidence.order_by("id").first(), key="evidence")
    return found


def _lists(people: World, count: int) -> None:
    """Other orders of alice's at carol's, each with an unread message for carol and, in turn, a
    dispute waiting for the seller, an escalated dispute the team asked the seller about, a return
    request waiting for the seller, a waiting extension request, or a dispute the seller settled
    with a refund."""
    for i in range(count):
        kind = i % LIST_KINDS
        order = _order(people, f"L-{i}", delivered=kind == 2)
        with time_machine.travel(OPENED + timedelta(minutes=i), tick=False):
            message_post(author=people.alice, order=order, body=f"About order {i}")
            if kind == 2:
                request_open(buyer=people.alice, order=order, kind="return_refund", reason="changed_mind")
                continue
            if kind == 3:
                extension_request(buyer=people.alice, order=order, days=5, note="Still waiting.")
                continue
            dispute = dispute_open(
                buyer=people.alice,
                order=order,
                reason="not_received",
                item_received=False,
                refund_type="full",
                refund_amount=None,
                return_item=False,
                description="Nothing came.",
            )
            if kind == 1:
                dispute = dispute_act_by(user=people.carol, dispute=dispute, action="reject", note="It did.")
                dispute = dispute_act_by(user=people.alice, dispute=dispute, action="escalate", note="It did not.")
                evidence_request_create(staff=people.erin, dispute=dispute, party="seller", note="The tracking?")
            elif kind == 4:
                dispute_act_by(user=people.carol, dispute=dispute, action="accept")


def _notifications(people: World) -> None:
    """The buyer's and the seller's notifications: those the workflow wrote, repeated until each has 100."""
    for user in (people.alice, people.carol):
        written = list(Notification.objects.filter(recipient=user).order_by("id"))
        more = MANY - len(written)
        Notification.objects.bulk_create(
            Notification(
                recipient=user,
                kind=written[i % len(written)].kind,
                dedupe_key=f"perf:{user.pk}:{i}",
                params=written[i % len(written)].params,
                url=written[i % len(written)].url,
            )
            for i in range(more)
        )


def build(size: str) -> PerfWorld:
    many = size == "large"
    seed_reference_data(apps)  # carriers and groups: gone if a transactional test flushed them
    people = _people()
    _carols_policy(people)
    dispute, message, evidence, photo = _the_dispute(people, many)
    found = _the_request(people, many, photo)
    extended = _order(people, "E-1")
    with time_machine.travel(OPENED, tick=False):
        extension_request(buyer=people.alice, order=extended, days=5, note="Customs are slow.")
    _lists(people, LIST_KINDS * (5 if many else 1))
    if many:
        _notifications(people)
    viewers = ("alice", "carol", "erin", "platform")
    device = TOTPDevice.objects.create(user=people.erin, name="authenticator", confirmed=True)
    tokens = {name: AuthToken.objects.create(getattr(people, name))[1] for name in viewers}
    sessions = {}
    for name in viewers:
        browser = Client()
        browser.force_login(getattr(people, name))
        session = browser.session
        if name == "erin":  # signed in with her code too, as the team must (TWO_STEP_REQUIRED_FOR_TEAM)
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        sessions[name] = session.session_key
    return PerfWorld(
        size=size,
        people=people,
        ids={
            "dispute": dispute.pk,
            "order": dispute.order.number,
            "order_pk": dispute.order.pk,
            "request": found.pk,
            "request_order": found.order.number,
            "message": message.pk,
            "evidence": evidence.pk,
            "photo": photo.pk,
            "store": people.carols.slug,
            "store_pk": people.carols.pk,
            "event": dispute.events.order_by("id").first().pk,
            "proposal": dispute.proposals.order_by("id").first().pk,
            "extension": extended.extension_requests.get().pk,
            "thread": message.thread_id,
            "refund": Refund.objects.order_by("id").first().pk,
            "evidence_request": EvidenceRequest.objects.order_by("id").first().pk,
        },
        tokens=tokens,
        sessions=sessions,
    )


@pytest.fixture(scope="module", params=["small", "large"])
def perf_world(request, django_db_setup, django_db_blocker, tmp_path_factory):
    """The world, built in a transaction that stays open while the module's tests run (each test's
    own transaction is a savepoint inside it) and is rolled back at the end."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("perf-media"))
    media.enable()
    clock = time_machine.travel(OPEN_AT, tick=False)
    clock.start()
    outer = transaction.atomic()
    try:
        with django_db_blocker.unblock():
            outer.__enter__()
            built = build(request.param)
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
        clock.stop()
        media.disable()


@pytest.fixture(autouse=True)
def _production_rules(settings):
    """The team signs in with a code, as in production: every count includes the device check."""
    settings.TWO_STEP_REQUIRED_FOR_TEAM = True


@pytest.fixture(autouse=True)
def _content_types_cached():
    """Admin and permissions look content types up once per process and keep them: cached before
    each test, so a count does not depend on which test happened to run first."""
    ContentType.objects.get_for_models(*apps.get_models(), for_concrete_models=False)
