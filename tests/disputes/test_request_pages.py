"""Return and exchange requests as a person sees them: the order page's sentence and button, the
buyer's form, the request page and its actions, the seller's store list (the browser tests walk
whole journeys)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from disputes.models import Dispute, RequestState, ReturnRequest
from disputes.requests import request_act_by, request_open
from orders.models import Carrier
from sellers.services import return_policy_update
from tests.disputes.helpers import OPEN_AT, SHIPPED
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes

pytestmark = pytest.mark.django_db

# The policy's return period: from the window's opening (SHIPPED + 6 days, no delivery recorded)
# for 15 days.
PERIOD_OVER = SHIPPED + timedelta(days=22)


def text_of(html: str) -> str:
    """The page's words, without tags, on one line each run of spaces."""
    html = html.replace("&#x27;", "'").replace("&quot;", '"')
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def outlet(world):
    """Dave's Outlet takes returns for a change of mind (the buyer pays postage) and for damage
    (the seller pays it), and refunds without return."""
    return_policy_update(
        actor=world.dave,
        store=world.daves,
        accepts_returns=True,
        return_days=15,
        covered_reasons=["changed_mind", "damaged", "other"],
        change_of_mind_shipping_payer="buyer",
        defective_shipping_payer="seller",
        refund_without_return=False,
        condition_rules="Unused, in the original box.",
        address_name="Dave's Outlet returns",
        address_line1="1 Harbour Road",
        address_city="Shenzhen",
        address_postal_code="518000",
        address_country="CN",
    )
    return world.daves


@pytest.fixture
def order(world, outlet):
    return make_order(
        buyer=world.alice,
        store=outlet,
        number="R-1",
        shipped_at=SHIPPED,
        total=Decimal("80.00"),
        items=[("Blue mug", 2, "15.00"), ("Desk lamp", 1, "50.00")],
    )


def items(order):
    return {item.title: item for item in order.items.all()}


def ask(world, order, *, kind="return_refund", reason="changed_mind", picks=None):
    with time_machine.travel(OPEN_AT, tick=False):
        return request_open(buyer=world.alice, order=order, kind=kind, reason=reason, items=picks)


def form_body(order, *, kind="return_refund", reason="changed_mind", picks=None, **extra):
    """What the buyer's form posts: the picker's marker, each ticked item and how many of each."""
    lines = items(order)
    picks = picks if picks is not None else {title: line.quantity for title, line in lines.items()}
    body = {"kind": kind, "reason": reason, "items_shown": "1", "items": [str(lines[t].pk) for t in picks], **extra}
    for title, line in lines.items():
        body[f"items_{line.pk}_quantity"] = str(picks.get(title, line.quantity))
    return body


# --- the order page ------------------------------------------------------------------------------


def test_the_order_page_says_what_the_policy_allows_now_and_offers_to_ask(client, world, order):
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        html = client.get("/orders/R-1/").content.decode()
    page = text_of(html)
    assert "You can ask the seller for a return or an exchange until 22 Mar 2026." in page
    assert "Ask for a return or exchange" in page and 'href="/orders/R-1/request/new/"' in html

    client.force_login(world.dave)
    with time_machine.travel(OPEN_AT, tick=False):
        seller_page = text_of(client.get("/orders/R-1/").content.decode())
    assert "The buyer can ask for a return or an exchange until" in seller_page
    assert "Ask for a return or exchange" not in seller_page

    client.force_login(world.alice)
    with time_machine.travel(PERIOD_OVER, tick=False):
        late = text_of(client.get("/orders/R-1/").content.decode())
    assert "The time to ask for a return ended on 22 Mar 2026." in late
    assert "Ask for a return or exchange" not in late


def test_the_order_page_lists_its_requests_and_disputes_with_their_state(client, world, order):
    lines = items(order)
    req = ask(world, order, picks=[{"item": lines["Blue mug"].pk, "quantity": 2}])
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        html = client.get("/orders/R-1/").content.decode()
    assert f'href="/disputes/requests/{req.pk}/"' in html
    page = text_of(html)
    assert f"Return request #{req.pk} Waiting for the seller's answer Blue mug × 2" in page
    # The lamp is still free: the buyer may ask about it too.
    assert "Ask for a return or exchange" in page


def test_while_a_request_holds_every_item_the_window_says_so_and_offers_no_dispute(client, world, order):
    req = ask(world, order)
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        page = text_of(client.get("/orders/R-1/").content.decode())
        refused = client.get("/orders/R-1/dispute/new/").content.decode()
    assert f"“Blue mug” is already in an open return or exchange request (#{req.pk})." in page
    assert "Open a dispute" not in page and "Ask for a return or exchange" not in page
    assert f"already in an open return or exchange request (#{req.pk})" in refused and "dispute-form" not in refused


# --- asking --------------------------------------------------------------------------------------


def test_the_form_shows_the_policy_in_words_and_every_item_ticked_with_its_worth(client, world, order):
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        response = client.get("/orders/R-1/request/new/")
    html = response.content.decode()
    page = text_of(html)
    assert response.status_code == 200
    assert "You can ask the seller for a return or an exchange until 22 Mar 2026." in page
    assert "Changed my mind You pay the return postage for this reason." in page
    assert "Arrived damaged The seller pays return postage for this reason" in page
    assert "Unused, in the original box." in page
    assert "the seller cannot decline it" in page and "the seller may decline it" in page
    # Only what the policy offers: no refund without return here.
    assert 'value="refund_only"' not in html and 'value="exchange"' in html
    assert '<option value="changed_mind">Changed my mind</option>' in html
    assert '<option value="wrong_item">' not in html
    lines = items(order)
    for line in lines.values():
        assert re.search(rf'<input type="checkbox" name="items" value="{line.pk}"[^>]* checked', html)
    assert "2 ordered, worth $30.00 in all" in page and "1 ordered, worth $50.00" in page
    assert '<label for="id_items_{}_quantity">How many'.format(lines["Blue mug"].pk) in html


def test_a_buyer_asks_by_form_post_for_some_items(client, world, order):
    client.force_login(world.alice)
    body = form_body(order, picks={"Blue mug": 1}, note="Too small for my coffee.")
    with time_machine.travel(OPEN_AT, tick=False):
        response = client.post("/orders/R-1/request/new/", body)
        req = ReturnRequest.objects.get()
        assert response.status_code == 302 and response.url == f"/disputes/requests/{req.pk}/"
        page = text_of(client.get(response.url).content.decode())
    assert req.kind == "return_refund" and req.reason == "changed_mind" and req.note == "Too small for my coffee."
    assert [(c.order_item.title, c.quantity) for c in req.claim_items.all()] == [("Blue mug", 1)]
    assert req.amount == Decimal("15.00")  # one of the two mugs
    assert "Your request was sent to Dave's Outlet." in page
    assert "Waiting for the seller's answer" in page and "Waiting for the seller." in page
    assert "If nobody acts by 14 Mar 2026, 05:00 PDT" in page  # in alice's zone (Los Angeles)
    assert "the request is approved, as the store's policy covers it in full" in page
    assert "Blue mug 1 $15.00" in page


def test_a_refusal_comes_back_in_the_policys_words_with_the_input_kept(client, world, order):
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        assert client.get("/orders/R-1/request/new/").status_code == 200  # the form, while it is allowed
    body = form_body(order, kind="exchange", picks={"Desk lamp": 1}, variant="The green one", note="Wrong colour.")
    with time_machine.travel(PERIOD_OVER, tick=False):
        response = client.post("/orders/R-1/request/new/", body)  # sent after the period ended
    html = response.content.decode()
    page = text_of(html)
    assert response.status_code == 400
    assert "That did not go through." in page
    assert "The policy gives 15 days to ask for a return; that period ended on 22 Mar 2026." in page
    # What the buyer filled in is still there.
    assert re.search(r'<input type="radio" name="kind" value="exchange"[^>]* checked', html)
    assert 'value="The green one"' in html and "Wrong colour.</textarea>" in html
    lamp, mug = items(order)["Desk lamp"], items(order)["Blue mug"]
    assert re.search(rf'<input type="checkbox" name="items" value="{lamp.pk}"[^>]* checked', html)
    assert not re.search(rf'<input type="checkbox" name="items" value="{mug.pk}"[^>]* checked', html)
    assert not ReturnRequest.objects.exists()


def test_a_reason_or_a_kind_the_policy_does_not_cover_is_refused_on_its_field(client, world, order):
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        response = client.post("/orders/R-1/request/new/", form_body(order, kind="refund_only", reason="wrong_item"))
    assert response.status_code == 400
    form = response.context["form"]
    assert (
        "This store's policy covers returns for: changed my mind, arrived damaged, other." in form.errors["reason"][0]
    )
    assert not ReturnRequest.objects.exists()
    with time_machine.travel(OPEN_AT, tick=False):
        response = client.post("/orders/R-1/request/new/", form_body(order, kind="refund_only"))
    assert "does not offer a refund without returning the item" in response.context["form"].errors["kind"][0]


def test_no_item_ticked_and_an_item_already_asked_about_are_said_on_the_items(client, world, order):
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        response = client.post("/orders/R-1/request/new/", form_body(order, picks={}))
    assert response.status_code == 400 and response.context["form"].errors["items"] == ["Tick at least one item."]
    req = ask(world, order, picks=[{"item": items(order)["Desk lamp"].pk, "quantity": 1}])
    with time_machine.travel(OPEN_AT, tick=False):
        html = client.get("/orders/R-1/request/new/").content.decode()
    lamp = items(order)["Desk lamp"]
    assert re.search(rf'<input type="checkbox" name="items" value="{lamp.pk}"[^>]* disabled', html)
    assert f"“Desk lamp” is already in an open return or exchange request (#{req.pk})." in text_of(html)


def test_only_the_buyer_may_ask(client, world, order):
    client.force_login(world.dave)
    with time_machine.travel(OPEN_AT, tick=False):
        response = client.get("/orders/R-1/request/new/")
    assert response.status_code == 409
    assert "Only the buyer of this order can ask for a return or an exchange." in response.content.decode()
    client.force_login(world.bob)
    assert client.get("/orders/R-1/request/new/").status_code == 404


# --- the seller ----------------------------------------------------------------------------------


def test_the_seller_sees_the_request_waiting_in_the_store_list_with_its_clock(client, world, order):
    req = ask(world, order)
    client.force_login(world.dave)
    with time_machine.travel(OPEN_AT + timedelta(days=1), tick=False):
        html = client.get("/seller/orders/").content.decode()
    page = text_of(html)
    assert "Return and exchange requests waiting for you" in page
    assert f'href="/disputes/requests/{req.pk}/"' in html
    assert f"Return request #{req.pk}" in page and "Waiting for your answer" in page
    assert "4 days left" in page and "14 Mar 2026" in page  # the seller's clock, in the seller's zone
    assert "If nobody acts by 14 Mar 2026, 12:00 UTC, the request is approved" in page
    # Another store's seller sees nothing of it.
    client.force_login(world.carol)
    assert f"Return request #{req.pk}" not in client.get("/seller/orders/").content.decode()


def test_waiting_for_me_lists_the_orders_whose_request_waits_for_that_side(client, world, order):
    make_order(buyer=world.alice, store=world.daves, number="R-2", shipped_at=SHIPPED)
    req = ask(world, order)
    client.force_login(world.dave)
    with time_machine.travel(OPEN_AT, tick=False):
        seller = client.get("/seller/orders/?show=waiting").content.decode()
        client.force_login(world.alice)
        buyer = client.get("/orders/?show=waiting").content.decode()
        request_act_by(user=world.dave, request=req, action="approve")
        buyer_after = client.get("/orders/?show=waiting").content.decode()
    assert 'data-order="R-1"' in seller and 'data-order="R-2"' not in seller
    assert 'data-order="R-1"' not in buyer  # the seller's turn, not hers
    assert 'data-order="R-1"' in buyer_after  # now she sends the item back


def test_an_approved_exchange_to_ship_and_a_return_to_confirm_wait_in_the_list_too(client, world, order):
    lines = items(order)
    exchange = ask(world, order, kind="exchange", picks=[{"item": lines["Desk lamp"].pk, "quantity": 1}])
    returned = ask(world, order, picks=[{"item": lines["Blue mug"].pk, "quantity": 2}])
    with time_machine.travel(OPEN_AT, tick=False):
        request_act_by(user=world.dave, request=exchange, action="approve")
        request_act_by(user=world.dave, request=returned, action="approve")
        request_act_by(user=world.alice, request=returned, action="return_shipment",
                       carrier=Carrier.objects.get(code="dhl"), tracking_number="RET-9")  # fmt: skip
        client.force_login(world.dave)
        page = text_of(client.get("/seller/orders/").content.decode())
    assert "Approved: ship the replacement" in page
    assert "The return is on its way to you: confirm it when it arrives" in page


def test_a_request_the_policy_covers_in_full_cannot_be_declined_and_the_page_says_why(client, world, order):
    req = ask(world, order)
    client.force_login(world.dave)
    with time_machine.travel(OPEN_AT, tick=False):
        page = text_of(client.get(f"/disputes/requests/{req.pk}/").content.decode())
        assert "Your policy covers this request in full" in page
        assert "Approve the request" in page and "Decline the request" not in page
        refused = client.post(f"/disputes/requests/{req.pk}/decline/", {"decline-reason": "No."})
    assert refused.status_code == 400
    assert "Your return policy covers this request in full, so it cannot be declined" in text_of(
        refused.content.decode()
    )
    req.refresh_from_db()
    assert req.state == RequestState.AWAITING_SELLER


def test_the_seller_approves_and_the_buyer_is_given_the_return_address(client, world, order):
    req = ask(world, order)
    client.force_login(world.dave)
    with time_machine.travel(OPEN_AT, tick=False):
        response = client.post(f"/disputes/requests/{req.pk}/approve/", {"approve-note": "Fine by me."})
        assert response.status_code == 302 and response.url == f"/disputes/requests/{req.pk}/"
        client.force_login(world.alice)
        page = text_of(client.get(response.url).content.decode())
    req.refresh_from_db()
    assert req.state == RequestState.AWAITING_RETURN
    assert "Approved: send the item back" in page and "It is your turn." in page
    assert "Dave's Outlet returns 1 Harbour Road 518000 Shenzhen CN" in page
    assert "the request lapses and nothing is refunded" in page
    assert "The seller approved your request. Fine by me." in page
    # The buyer pays postage for a change of mind: nothing to give, and the page says so.
    assert "You pay the return postage under this store's policy." in page
    assert "Postage you paid" not in page


def test_the_seller_declines_a_request_covered_in_part_with_a_reason(client, world, order):
    req = ask(world, order, kind="exchange")
    client.force_login(world.dave)
    with time_machine.travel(OPEN_AT, tick=False):
        assert "Decline the request" in client.get(f"/disputes/requests/{req.pk}/").content.decode()
        missing = client.post(f"/disputes/requests/{req.pk}/decline/", {"decline-reason": " "})
        assert missing.status_code == 400 and "decline-reason" in missing.content.decode()
        client.post(f"/disputes/requests/{req.pk}/decline/", {"decline-reason": "Out of stock in green."})
        client.force_login(world.alice)
        page = text_of(client.get(f"/disputes/requests/{req.pk}/").content.decode())
    req.refresh_from_db()
    assert req.state == RequestState.DECLINED and req.decline_reason == "Out of stock in green."
    assert "Declined by the seller" in page and "Out of stock in green." in page
    assert "You can turn this request into a dispute until" in page
    assert "Open a dispute" in page


def test_the_return_shipment_asks_for_a_receipt_photo_when_the_seller_pays_postage(
    client, world, order, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    req = ask(world, order, reason="damaged")
    with time_machine.travel(OPEN_AT, tick=False):
        request_act_by(user=world.dave, request=req, action="approve")
        client.force_login(world.alice)
        page = text_of(client.get(f"/disputes/requests/{req.pk}/").content.decode())
        assert "Postage you paid (USD)" in page and "Photo of the postage receipt" in page
        assert "The seller pays the return postage under the store's policy" in page
        body = {"return_shipment-carrier": "dhl", "return_shipment-tracking_number": "RET-1",
                "return_shipment-postage": "9.50"}  # fmt: skip
        refused = client.post(f"/disputes/requests/{req.pk}/return-shipment/", body)
        assert refused.status_code == 400
        assert "Add a photo of the postage receipt" in text_of(refused.content.decode())
        photo = {"return_shipment-images": _jpeg(tmp_path)}
        done = client.post(f"/disputes/requests/{req.pk}/return-shipment/", {**body, **photo})
        assert done.status_code == 302
    req.refresh_from_db()
    assert req.state == RequestState.RETURN_IN_TRANSIT and req.postage == Decimal("9.50")
    assert req.evidence.get().photos.count() == 1


def _jpeg(tmp_path):
    path = tmp_path / "receipt.jpg"
    path.write_bytes(jpeg_bytes(size=(120, 90)))
    return path.open("rb")


# --- who sees it, what asks first ----------------------------------------------------------------


def test_a_stranger_gets_404_and_the_team_reads_it(client, world, order):
    req = ask(world, order)
    for stranger in (world.bob, world.carol):
        client.force_login(stranger)
        assert client.get(f"/disputes/requests/{req.pk}/").status_code == 404
        assert client.post(f"/disputes/requests/{req.pk}/approve/", {}).status_code == 404
        assert client.get(f"/disputes/requests/{req.pk}/cancel/").status_code == 404
    assert client.get("/disputes/requests/999999/").status_code == 404
    client.force_login(world.erin)
    page = text_of(client.get(f"/disputes/requests/{req.pk}/").content.decode())
    assert "Waiting for the seller." in page and "Approve the request" not in page


def test_cancelling_asks_first_and_then_withdraws(client, world, order):
    req = ask(world, order)
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        asked = client.get(f"/disputes/requests/{req.pk}/cancel/")
        assert asked.status_code == 200
        assert "Your request is withdrawn: nothing is refunded by it." in text_of(asked.content.decode())
        unconfirmed = client.post(f"/disputes/requests/{req.pk}/cancel/", {})
        assert unconfirmed.status_code == 200 and "Yes, cancel the request" in unconfirmed.content.decode()
        req.refresh_from_db()
        assert req.state == RequestState.AWAITING_SELLER
        done = client.post(f"/disputes/requests/{req.pk}/cancel/", {"confirmed": "1"})
    assert done.status_code == 302
    req.refresh_from_db()
    assert req.state == RequestState.CANCELLED
    with time_machine.travel(OPEN_AT, tick=False):
        again = client.get(f"/disputes/requests/{req.pk}/cancel/")
    assert again.status_code == 409 and "This cannot be done now" in again.content.decode()


def test_turning_a_declined_request_into_a_dispute_says_what_the_team_will_do(client, world, order):
    req = ask(world, order, kind="exchange")
    with time_machine.travel(OPEN_AT, tick=False):
        request_act_by(user=world.dave, request=req, action="decline", reason="No stock.")
        client.force_login(world.alice)
        asked = text_of(client.get(f"/disputes/requests/{req.pk}/to-dispute/").content.decode())
        assert "What the dispute team will do" in asked and "rules within 7 days" in asked
        done = client.post(f"/disputes/requests/{req.pk}/to-dispute/", {"confirmed": "1", "to_dispute-note": "x"})
    dispute = Dispute.objects.get()
    assert done.status_code == 302 and done.url == f"/disputes/{dispute.pk}/"
    with time_machine.travel(OPEN_AT, tick=False):
        page = text_of(client.get(f"/disputes/requests/{req.pk}/").content.decode())
    assert f"See dispute #{dispute.pk}" in page


def test_an_unknown_action_is_not_found(client, world, order):
    req = ask(world, order)
    client.force_login(world.dave)
    assert client.post(f"/disputes/requests/{req.pk}/return_received/", {}).status_code == 404
    assert client.post(f"/disputes/requests/{req.pk}/ruling/", {}).status_code == 404


# --- a dispute over some of the items ------------------------------------------------------------


def test_the_dispute_form_opens_over_the_items_ticked_for_what_they_are_worth(client, world, order):
    lamp = items(order)["Desk lamp"]
    body = {
        "item_received": "yes", "reason": "other", "refund_type": "full", "return_item": "no",
        "description": "The lamp flickers.", "why_unresolved": "No answer.",
        "items_shown": "1", "items": [str(lamp.pk)], f"items_{lamp.pk}_quantity": "1",
    }  # fmt: skip
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        html = client.get("/orders/R-1/dispute/new/").content.decode()
        assert "Which items is the dispute about?" in html and "1 ordered, worth $50.00" in text_of(html)
        response = client.post("/orders/R-1/dispute/new/", body)
    dispute = Dispute.objects.get()
    assert response.status_code == 302
    assert dispute.refund_amount == Decimal("50.00")
    assert [(c.order_item.title, c.quantity) for c in dispute.claim_items.all()] == [("Desk lamp", 1)]
