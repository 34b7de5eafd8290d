"""One definition of each role, one answer at every door, and effects that take exactly their keys."""

import inspect
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser

from accounts import roles
from core.errors import RuleViolation
from disputes import api as disputes_api
from disputes.engine import dispute_transition
from disputes.models import Dispute, Party, PendingRuling
from disputes.review import ruling_approve, ruling_submit
from disputes.services import dispute_open
from disputes.views import ACTION_FORMS
from disputes.workflow import TRANSITIONS
from notifications.models import Notification
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED, dispute_in
from tests.factories import UserFactory, make_order, team_member

pytestmark = pytest.mark.django_db

BODY = {
    "reason": "damaged",
    "item_received": True,
    "refund_type": "full",
    "return_item": False,
    "description": "Broken.",
}


def test_order_party_is_buyer_seller_or_neither(world):
    order = make_order(buyer=world.alice, store=world.carols, number="R-1", shipped_at=SHIPPED)
    assert roles.order_party(world.alice, order) == "buyer"
    assert roles.order_party(world.carol, order) == "seller"
    assert roles.order_party(world.bob, order) is None
    assert roles.order_party(world.erin, order) is None  # the team is not a party
    assert roles.order_party(AnonymousUser(), order) is None
    own = make_order(buyer=world.carol, store=world.carols, number="R-2", shipped_at=SHIPPED)
    assert roles.order_party(world.carol, own) == "buyer"  # bought from their own store: the buyer


def test_the_team_is_active_staff_in_the_group_for_routing_admin_api_and_pages(world):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    not_staff = team_member("nadia")
    not_staff.is_staff = False
    not_staff.save()
    gone = team_member("gus")
    gone.is_active = False
    gone.save()
    members = set(roles.team_members().values_list("username", flat=True))
    assert members == {"erin"}
    for person in (superuser, not_staff, gone, world.alice):
        assert not roles.is_dispute_team(person)
    assert roles.is_dispute_team(world.erin)


def test_only_the_buyer_opens_and_every_door_gives_the_seller_the_same_answer(client, world):
    order = make_order(buyer=world.alice, store=world.carols, number="R-3", shipped_at=SHIPPED)
    with time_machine.travel(OPEN_AT, tick=False):
        # The API: 409 invalid_state, before the body is even read.
        response = api_as(world.carol).post("/api/orders/R-3/dispute/", {}, format="json")
        assert response.status_code == 409 and response.json()["code"] == "invalid_state"
        # The service, called by anything else.
        with pytest.raises(RuleViolation) as refused:
            dispute_open(buyer=world.carol, order=order, **BODY)
        assert (refused.value.code, refused.value.status) == ("invalid_state", 409)
        # The page: the same answer, in words.
        client.force_login(world.carol)
        page = client.get("/orders/R-3/dispute/new/")
        assert page.status_code == 409 and "Only the buyer of this order can open a dispute." in page.content.decode()
        assert client.post("/orders/R-3/dispute/new/", BODY).status_code == 409
        # A team member sees the order but is not its buyer either.
        client.force_login(world.erin)
        assert client.get("/orders/R-3/dispute/new/").status_code == 409
        assert api_as(world.erin).post("/api/orders/R-3/dispute/", BODY, format="json").status_code == 409
        # A stranger does not learn the order exists: not from the API, the page or the service.
        with pytest.raises(RuleViolation) as refused:
            dispute_open(buyer=world.bob, order=order, **BODY)
        assert (refused.value.code, refused.value.status) == ("not_found", 404)
        client.force_login(world.bob)
        assert client.get("/orders/R-3/dispute/new/").status_code == 404
        assert api_as(world.bob).post("/api/orders/R-3/dispute/", BODY, format="json").status_code == 404
    assert not Dispute.objects.exists()


def test_an_effect_refuses_a_key_it_does_not_take(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller", number="R-4")
        with pytest.raises(TypeError):
            dispute_transition(dispute=dispute, action="propose", party=Party.SELLER, actor=world.carol,
                               refund_amout="10.00")  # fmt: skip
    assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_seller"


def _keys(transition) -> set[str]:
    parameters = inspect.signature(transition.effect).parameters
    return {name for name, p in parameters.items() if p.kind == p.KEYWORD_ONLY}


@pytest.mark.parametrize("action", sorted(ACTION_FORMS))
def test_every_page_form_sends_only_keys_its_effects_take(action):
    fields = set(ACTION_FORMS[action](prefix=action).fields) - {"note"}  # the note travels with every step
    for transition in (t for t in TRANSITIONS if t.action == action and t.party != Party.SYSTEM):
        assert fields <= _keys(transition), f"{action}: {fields - _keys(transition)} not taken by {transition.effect}"


def test_every_api_action_sends_only_keys_its_effects_take():
    views = [v for v in vars(disputes_api).values() if inspect.isclass(v) and getattr(v, "action_name", None)]
    assert {v.action_name for v in views} >= {"accept", "reject", "escalate", "cancel", "appeal", "claim"}
    for view in views:
        fields = set(view.input_serializer().fields) - {"note"}
        for transition in (t for t in TRANSITIONS if t.action == view.action_name and t.party != Party.SYSTEM):
            assert fields <= _keys(transition), f"{view.action_name}: {fields - _keys(transition)}"


def test_approving_a_pending_ruling_carries_it_out_without_telling_its_proposer_it_was_withdrawn(world, settings):
    settings.RULING_APPROVAL_THRESHOLD = Decimal("50.00")
    frank = team_member("frank")
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "under_review", number="R-5")
        kind, pending = ruling_submit(staff=world.erin, dispute=dispute, outcome="full_refund", note="All of it.")
        assert kind == "pending"
        ruling_approve(staff=frank, pending=pending)
    assert PendingRuling.objects.get(pk=pending.pk).status == "approved"
    assert not Notification.objects.filter(kind="ruling_withdrawn").exists()
    assert Dispute.objects.get(pk=dispute.pk).state == "resolved"


def test_the_team_may_post_on_the_order_page_and_the_dispute_page_alike_once_the_dispute_is_theirs(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller", number="R-6")
        client.force_login(world.erin)
        pages = ("/orders/R-6/", f"/disputes/{dispute.pk}/")
        assert not any('class="message-form"' in client.get(page).content.decode() for page in pages)
        Dispute.objects.filter(pk=dispute.pk).update(state="escalated")
        assert all('class="message-form"' in client.get(page).content.decode() for page in pages)
