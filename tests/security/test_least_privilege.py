"""Each account reaches only what its role needs, tried from outside through HTTP."""

from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from disputes.models import Dispute, PendingRuling
from disputes.review import ruling_submit
from disputes.services import dispute_act_by
from messaging.models import Photo
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, dispute_in
from tests.factories import team_member
from tests.messaging.images import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def evidence_dispute(world):
    dispute = dispute_in(world, "escalated")
    photo = SimpleUploadedFile("proof.jpg", jpeg_bytes(), content_type="image/jpeg")
    api_as(world.alice).post(f"/api/disputes/{dispute.pk}/evidence/", {"note": "Here", "images": [photo]})
    api_as(world.alice).post(f"/api/orders/{dispute.order.number}/messages/", {"body": "My address is 1 Main St."})
    return dispute


def test_the_platform_account_reads_orders_but_never_threads_photos_evidence_or_disputes(world, evidence_dispute):
    platform = api_as(world.platform)
    number = evidence_dispute.order.number
    assert platform.get(f"/api/orders/{number}/").status_code == 200
    photo = Photo.objects.get()
    for path in (
        f"/api/orders/{number}/messages/",
        f"/api/disputes/{evidence_dispute.pk}/",
        f"/photos/{photo.pk}/",
        f"/photos/{photo.pk}/thumbnail/",
    ):
        # The buyer reaches each path, so the platform's 404 means "not yours", not "no such page".
        assert api_as(world.alice).get(path).status_code == 200, path
        response = platform.get(path)
        assert response.status_code == 404, path
    assert platform.post(f"/api/orders/{number}/messages/", {"body": "hi"}).status_code == 404
    assert platform.get("/api/disputes/").json()["count"] == 0


def test_parties_see_the_team_as_one_voice_and_no_staff_username_in_any_payload(world, settings):
    settings.RULING_APPROVAL_THRESHOLD = Decimal("50.00")
    frank, grace = team_member("frank"), team_member("grace")
    dispute = dispute_in(world, "under_review")  # claimed by erin
    dispute_act_by(user=frank, dispute=dispute, action="assign_to", member=grace)
    dispute_act_by(user=grace, dispute=dispute, action="release")
    dispute_act_by(user=frank, dispute=dispute, action="claim")
    _kind, pending = ruling_submit(staff=frank, dispute=Dispute.objects.get(pk=dispute.pk), outcome="full_refund",
                                   note="All of it.")  # fmt: skip
    from disputes.review import ruling_approve

    ruling_approve(staff=grace, pending=PendingRuling.objects.get(pk=pending.pk))
    api_as(frank).post(f"/api/orders/{dispute.order.number}/messages/", {"body": "We looked at it."})
    for party in (world.alice, world.carol):
        client = api_as(party)
        text = client.get(f"/api/disputes/{dispute.pk}/").content.decode()
        text += client.get(f"/api/orders/{dispute.order.number}/messages/").content.decode()
        text += client.get("/api/notifications/").content.decode()
        for staff in ("erin", "frank", "grace"):
            assert staff not in text, (party.username, staff)
        assert "Dispute team" in text
    # The team itself sees who did what.
    team_view = api_as(world.erin).get(f"/api/disputes/{dispute.pk}/").json()
    assert any(e["payload"].get("approved_by") == "grace" for e in team_view["events"])


def test_the_member_whose_ruling_is_appealed_cannot_approve_the_new_one_on_the_review_screen(client, world, settings):
    settings.RULING_APPROVAL_THRESHOLD = Decimal("50.00")
    frank = team_member("frank")
    dispute = dispute_in(world, "under_review")
    dispute_act_by(user=world.erin, dispute=dispute, action="ruling", outcome="partial_refund",
                   refund_amount=Decimal("20.00"), note="Some.")  # fmt: skip
    dispute_act_by(user=world.alice, dispute=dispute, action="appeal", note="More.")
    _kind, pending = ruling_submit(staff=frank, dispute=Dispute.objects.get(pk=dispute.pk), outcome="full_refund",
                                   note="All.")  # fmt: skip
    client.force_login(world.erin)
    page = client.post(f"/admin/disputes/reviewqueueitem/{dispute.pk}/review/",
                       {"step": "approve", "pending": pending.pk}, follow=True)  # fmt: skip
    assert "did not make the ruling under appeal" in page.content.decode()
    assert PendingRuling.objects.get(pk=pending.pk).status == "pending"


def test_a_team_member_who_is_a_party_to_the_order_cannot_approve_its_ruling(client, world, settings):
    settings.RULING_APPROVAL_THRESHOLD = Decimal("50.00")
    carol = world.carol
    carol.is_staff = True
    carol.save()
    carol.groups.add(*world.erin.groups.all())
    dispute = dispute_in(world, "under_review")
    _kind, pending = ruling_submit(staff=world.erin, dispute=dispute, outcome="full_refund", note="All.")
    client.force_login(carol)
    page = client.post(f"/admin/disputes/reviewqueueitem/{dispute.pk}/review/",
                       {"step": "approve", "pending": pending.pk}, follow=True)  # fmt: skip
    # Refused by the rule (the screen answers and says why), not by a door that would keep any team
    # member out: the ruling is still pending.
    assert page.status_code == 200 and "not a party to the order" in page.content.decode()
    assert PendingRuling.objects.get(pk=pending.pk).status == "pending"


def test_the_platform_sees_no_conversation_on_the_order_page_either(client, world, evidence_dispute):
    client.force_login(world.platform)
    page = client.get(f"/orders/{evidence_dispute.order.number}/")
    assert page.status_code == 200 and "My address is 1 Main St." not in page.content.decode()
    client.force_login(world.alice)
    assert "My address is 1 Main St." in client.get(f"/orders/{evidence_dispute.order.number}/").content.decode()
