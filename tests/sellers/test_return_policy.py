"""Return policies: the owner edits them; an order keeps the policy it was placed under."""

from datetime import UTC, datetime

import pytest

from orders.models import Order
from sellers.models import PAYER_FIELDS, ReturnPolicy
from tests.conftest import api_as
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def test_an_order_keeps_its_policy_snapshot_after_the_store_edits_its_policy(world):
    make_order(buyer=world.alice, store=world.carols, number="P-1", shipped_at=datetime(2026, 3, 1, tzinfo=UTC))
    policy = api_as(world.carol).get("/api/sellers/carols-gadgets/return-policy/").json()
    assert policy["accepts_returns"] is True
    policy.update(accepts_returns=False, return_days=0, notes="No returns any more.")
    assert (
        api_as(world.carol).put("/api/sellers/carols-gadgets/return-policy/", policy, format="json").status_code == 200
    )

    snapshot = api_as(world.alice).get("/api/orders/P-1/").json()["return_policy"]
    assert snapshot["accepts_returns"] is True
    assert snapshot["return_days"] == 15
    assert snapshot["notes"] == ""
    assert Order.objects.get(number="P-1").return_policy_snapshot["accepts_returns"] is True
    # A new order takes the new policy.
    make_order(buyer=world.alice, store=world.carols, number="P-2")
    assert api_as(world.alice).get("/api/orders/P-2/").json()["return_policy"]["accepts_returns"] is False


def test_policy_put_validates_every_field(world):
    policy = api_as(world.carol).get("/api/sellers/carols-gadgets/return-policy/").json()
    policy.update(
        covered_reasons=["changed_mind", "teleported"], change_of_mind_shipping_payer="nobody", return_days=-1
    )
    response = api_as(world.carol).put("/api/sellers/carols-gadgets/return-policy/", policy, format="json")
    assert response.status_code == 400
    assert {"covered_reasons.1", "change_of_mind_shipping_payer", "return_days"} <= set(response.json()["fields"])
    assert ReturnPolicy.objects.get(store=world.carols).return_days == 15


def test_policy_put_writes_the_return_address(world):
    policy = api_as(world.carol).get("/api/sellers/carols-gadgets/return-policy/").json()
    policy["return_address"] = {
        "name": "Returns",
        "line1": "1 Road",
        "city": "Shenzhen",
        "postal_code": "518000",
        "country": "CN",
    }
    response = api_as(world.carol).put("/api/sellers/carols-gadgets/return-policy/", policy, format="json")
    assert response.status_code == 200
    assert response.json()["return_address"]["city"] == "Shenzhen"
    assert ReturnPolicy.objects.get(store=world.carols).address_line1 == "1 Road"


def test_policy_page_saves_and_shows_field_errors(client, world):
    client.force_login(world.carol)
    page = client.get("/seller/policy/")
    assert page.status_code == 200
    form = page.context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update(accepts_returns="on", return_days="400", covered_reasons=["damaged"], address_line1="", address_city="")
    response = client.post("/seller/policy/", data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "At most 365 days." in body
    assert "needs a return address" in body
    data.update(return_days="20", address_line1="1 Road", address_city="Shenzhen", address_country="cn")
    response = client.post("/seller/policy/", data)
    assert response.status_code == 302 and response["Location"] == "/seller/policy/?store=carols-gadgets"
    assert "Your return policy was saved." in client.get(response["Location"]).content.decode()
    policy = ReturnPolicy.objects.get(store=world.carols)
    assert policy.return_days == 20 and policy.covered_reasons == ["damaged"] and policy.address_country == "CN"


def test_the_policy_form_edits_every_editable_field_in_order():
    from sellers.forms import ReturnPolicyForm

    assert list(ReturnPolicyForm().fields) == [
        "accepts_returns", "return_days", "covered_reasons", "change_of_mind_shipping_payer",
        "defective_shipping_payer", "wrong_item_shipping_payer", "free_returns", "refund_without_return",
        "condition_rules", "address_name", "address_line1", "address_line2", "address_city",
        "address_postal_code", "address_country", "notes",
    ]  # fmt: skip


def test_the_service_changes_only_the_fields_an_owner_edits(world):
    from sellers.services import return_policy_update

    with pytest.raises(ValueError, match="store_id"):
        return_policy_update(actor=world.carol, store=world.carols, store_id=world.daves.pk)
    with pytest.raises(ValueError, match="updated_at"):
        return_policy_update(actor=world.carol, store=world.carols, updated_at=datetime(2026, 1, 1, tzinfo=UTC))
    policy = return_policy_update(actor=world.carol, store=world.carols, address_city="Shenzhen", notes="Hi")
    assert policy.return_address["city"] == "Shenzhen" and policy.snapshot()["notes"] == "Hi"


def _page_data(client) -> dict:
    form = client.get("/seller/policy/").context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update(accepts_returns="on", address_line1="1 Road", address_city="Shenzhen", address_country="CN")
    data["covered_reasons"] = list(data["covered_reasons"])
    return data


def test_free_returns_with_a_buyer_paying_is_refused_on_the_payer_field(client, world):
    client.force_login(world.carol)
    data = _page_data(client)
    data.update(free_returns="on", change_of_mind_shipping_payer="buyer")
    response = client.post("/seller/policy/", data)
    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == ["change_of_mind_shipping_payer"]
    assert "the seller pays return shipping for every reason" in form.errors["change_of_mind_shipping_payer"][0]
    assert not ReturnPolicy.objects.get(store=world.carols).free_returns
    data.update(change_of_mind_shipping_payer="seller")
    assert client.post("/seller/policy/", data).status_code == 302
    assert ReturnPolicy.objects.get(store=world.carols).free_returns


def test_each_missing_part_of_the_return_address_is_marked_on_its_own_field(client, world):
    client.force_login(world.carol)
    data = _page_data(client)
    data.update(address_city="", address_country="")
    form = client.post("/seller/policy/", data).context["form"]
    assert set(form.errors) == {"address_city", "address_country"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"return_days": "0"}, "return_days"),
        ({"covered_reasons": []}, "covered_reasons"),
        ({"accepts_returns": "", "free_returns": "on", "return_days": "0"}, "free_returns"),
    ],
)
def test_contradictory_terms_are_refused_on_the_field_to_change(client, world, change, field):
    client.force_login(world.carol)
    data = _page_data(client)
    data.update(change)
    if data.get("accepts_returns") == "":
        del data["accepts_returns"]
    if change.get("free_returns"):
        data.update(dict.fromkeys(PAYER_FIELDS, "seller"))
    response = client.post("/seller/policy/", data)
    assert response.status_code == 400
    assert field in response.context["form"].errors


def test_the_api_refuses_free_returns_paid_by_the_buyer_with_the_field_named(world):
    policy = api_as(world.carol).get("/api/sellers/carols-gadgets/return-policy/").json()
    policy.update(free_returns=True, defective_shipping_payer="buyer")
    response = api_as(world.carol).put("/api/sellers/carols-gadgets/return-policy/", policy, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    # The default policy has the buyer pay for a change of mind: that contradicts free returns too.
    assert set(response.json()["fields"]) == {"change_of_mind_shipping_payer", "defective_shipping_payer"}


def test_the_service_refuses_a_contradiction_as_a_rule(world):
    from core.errors import RuleViolation
    from sellers.services import return_policy_update

    with pytest.raises(RuleViolation) as refused:
        return_policy_update(actor=world.carol, store=world.carols, free_returns=True)
    assert refused.value.status == 400 and "every reason" in refused.value.detail


@pytest.mark.parametrize("entered", ["Germany", "GER", "D", "D1", "Ü1", "de-", "ÄÖ"])
def test_a_country_that_is_not_a_two_letter_code_is_refused_not_cut_short(client, world, entered):
    """'Germany' once became 'GE' (Georgia) through the input's maxlength and was saved."""
    client.force_login(world.carol)
    before = ReturnPolicy.objects.get(store=world.carols).address_country
    data = _page_data(client)
    data["address_country"] = entered
    response = client.post("/seller/policy/", data)
    assert response.status_code == 400
    assert response.context["form"].errors["address_country"] == [
        "Use the two-letter country code, e.g. DE for Germany."
    ]
    assert ReturnPolicy.objects.get(store=world.carols).address_country == before
    # The page shows back what was typed, whole, so the owner sees what was wrong.
    assert f'value="{entered}"' in response.content.decode()


@pytest.mark.parametrize(("entered", "saved"), [("de", "DE"), ("Fr", "FR"), (" gb ", "GB")])
def test_a_two_letter_code_is_saved_in_upper_case(client, world, entered, saved):
    client.force_login(world.carol)
    data = _page_data(client)
    data["address_country"] = entered
    assert client.post("/seller/policy/", data).status_code == 302
    assert ReturnPolicy.objects.get(store=world.carols).address_country == saved


def test_the_country_input_does_not_truncate_and_says_to_use_the_code(client, world):
    client.force_login(world.carol)
    form = client.get("/seller/policy/").context["form"]
    field = form["address_country"]
    assert "maxlength" not in str(field)
    assert "code" in str(field.label).lower()
    assert "e.g. DE for Germany" in str(field.help_text)


@pytest.mark.parametrize(
    ("entered", "status", "saved"), [("Germany", 400, None), ("GE1", 400, None), ("de", 200, "DE")]
)
def test_the_api_takes_the_same_country_rule(world, entered, status, saved):
    before = ReturnPolicy.objects.get(store=world.carols).address_country
    policy = api_as(world.carol).get("/api/sellers/carols-gadgets/return-policy/").json()
    policy["return_address"] = {"name": "Returns", "line1": "1 Road", "city": "Berlin", "country": entered}
    response = api_as(world.carol).put("/api/sellers/carols-gadgets/return-policy/", policy, format="json")
    assert response.status_code == status
    if status == 400:
        assert "return_address.country" in response.json()["fields"]
        assert "Use the two-letter country code, e.g. DE for Germany." in str(response.json())
        assert ReturnPolicy.objects.get(store=world.carols).address_country == before
    else:
        assert response.json()["return_address"]["country"] == saved
        assert ReturnPolicy.objects.get(store=world.carols).address_country == saved
