"""Each currency's own approval threshold (settings.RULING_APPROVAL_THRESHOLDS, else
RULING_APPROVAL_THRESHOLD): above it a ruling needs a second team member, whether it rules one dispute
(disputes/review.py) or a linked case, whose total is compared currency by currency (disputes/cases.py)."""

from decimal import Decimal

import pytest
import time_machine

from disputes.cases import case_create, case_rule, case_ruling_approve
from disputes.models import CaseRuling, PendingRuling, Refund
from disputes.review import ruling_submit
from disputes.terms import approval_threshold
from tests.disputes.helpers import OPEN_AT
from tests.disputes.test_cases import with_the_team
from tests.factories import team_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def thresholds(settings):
    settings.RULING_APPROVAL_THRESHOLD = Decimal("500")
    settings.RULING_APPROVAL_THRESHOLDS = {"JPY": Decimal("75000"), "EUR": Decimal("300.00")}


def rule_partial(world, dispute, amount: str) -> str:
    status, _ruled = ruling_submit(staff=world.erin, dispute=dispute, outcome="partial_refund", refund_amount=amount,
                                   note="Part of it.")  # fmt: skip
    return status


def test_each_currency_has_its_threshold_and_the_others_the_default():
    assert approval_threshold("JPY") == Decimal("75000")
    assert approval_threshold("jpy") == Decimal("75000")
    assert approval_threshold("EUR") == Decimal("300.00")
    assert approval_threshold("USD") == Decimal("500")
    assert approval_threshold("GBP") == Decimal("500")  # not named: the default


@pytest.mark.parametrize(
    ("currency", "total", "amount", "expected"),
    [
        ("JPY", "100000", "60000", "ruled"),  # far above 500, but yen: below its own 75000
        ("JPY", "100000", "75000", "ruled"),  # at the threshold is not above it
        ("JPY", "100000", "80000", "pending"),
        ("USD", "1000.00", "600.00", "pending"),
        ("USD", "1000.00", "400.00", "ruled"),
        ("EUR", "1000.00", "400.00", "pending"),  # its own 300.00, not the default 500
        ("EUR", "1000.00", "300.00", "ruled"),
    ],
)
def test_a_single_ruling_needs_approval_above_its_currencys_threshold(world, currency, total, amount, expected):
    dispute = with_the_team(world, number="T-1", currency=currency, total=Decimal(total))
    assert rule_partial(world, dispute, amount) == expected
    if expected == "ruled":
        assert paid(dispute) == [Decimal(amount)]
    else:
        assert paid(dispute) == [] and PendingRuling.objects.filter(dispute=dispute, status="pending").count() == 1


def test_a_full_refund_in_yen_above_the_default_but_below_the_yen_threshold_is_ruled_at_once(world):
    dispute = with_the_team(world, number="T-1", currency="JPY", total=Decimal("70000"))
    status, ruled = ruling_submit(staff=world.erin, dispute=dispute, outcome="full_refund", note="All.")
    assert status == "ruled" and ruled.refunded_amount == Decimal("70000")


def paid(dispute) -> list[Decimal]:
    return list(Refund.objects.filter(dispute=dispute).values_list("amount", flat=True))


def currency_case(world, members: list[tuple[str, str]]):
    disputes = [
        with_the_team(world, number=f"K-{n}", currency=currency, total=Decimal(total))
        for n, (currency, total) in enumerate(members)
    ]
    return case_create(staff=world.erin, disputes=[d.pk for d in disputes]), disputes


def test_a_case_below_each_currencys_threshold_is_ruled_at_once(world):
    # 400.00 USD (threshold 500) and 60000 JPY (threshold 75000): summed blindly, 60400 would be "above".
    case, disputes = currency_case(world, [("USD", "200.00"), ("USD", "200.00"), ("JPY", "30000"), ("JPY", "30000")])
    status, ruling = case_rule(staff=world.erin, case=case, outcome="full_refund", note="Lost.")
    assert status == "ruled" and ruling.status == CaseRuling.Status.APPLIED
    assert ruling.totals == {"JPY": "60000", "USD": "400.00"}
    assert all(paid(d) == [d.order.total] for d in disputes)


def test_a_case_above_one_currencys_threshold_waits_for_approval(world):
    # USD 400.00 is below its threshold, but JPY 80000 is above 75000.
    case, disputes = currency_case(world, [("USD", "200.00"), ("USD", "200.00"), ("JPY", "40000"), ("JPY", "40000")])
    status, ruling = case_rule(staff=world.erin, case=case, outcome="full_refund", note="Lost.")
    assert status == "pending" and ruling.totals == {"JPY": "80000", "USD": "400.00"}
    assert not Refund.objects.exists()
    case_ruling_approve(staff=team_member("frank"), case=case, ruling=ruling.pk)
    assert [paid(d) for d in disputes] == [[d.order.total] for d in disputes]


def test_a_case_in_euros_is_compared_with_the_euro_threshold(world):
    # 320.00 EUR: below the default 500, above the euro's own 300.00.
    case, _disputes = currency_case(world, [("EUR", "160.00"), ("EUR", "160.00")])
    assert case_rule(staff=world.erin, case=case, outcome="full_refund", note="Lost.")[0] == "pending"


def test_a_case_partial_percentage_is_compared_after_the_percentage(world):
    # 100000 JPY twice is above 75000; 30% of it (60000 in all) is not.
    case, _disputes = currency_case(world, [("JPY", "100000"), ("JPY", "100000")])
    status, ruling = case_rule(staff=world.erin, case=case, outcome="partial_refund", percent=30, note="Some.")
    assert status == "ruled" and ruling.totals == {"JPY": "60000"}
