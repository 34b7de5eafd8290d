"""The money reconciliation: a ledger written by the services reconciles clean; each kind of mismatch
planted by hand is reported by kind, with a non-zero exit; the daily task tells the superusers; the
run is recorded; its queries do not grow with the orders."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from disputes.models import Dispute, ReconciliationRun, Refund
from disputes.payments import GatewayRefund, LocalLedgerGateway, order_refund_unshipped
from disputes.reconcile import find_mismatches, last_run, ledger_reconcile, reconcile_task
from notifications.models import Notification
from notifications.render import render
from orders.models import Order
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED, dispute_in
from tests.disputes.test_policy_in_disputes import accepted_return, daves_policy, order_of, receive, ship_back
from tests.factories import UserFactory, make_order, team_member

pytestmark = pytest.mark.django_db

LATER = SHIPPED + timedelta(days=20)  # every refund long written: the gateway has listed them all


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


def post(user, dispute, action, body=None):
    response = api_as(user).post(f"/api/disputes/{dispute.pk}/{action}/", body or {}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.fixture
def ledger(world, clock):
    """Refunds of every shape, written by the services as people and clocks would write them:
    D-1 the seller accepts a full refund; D-2 a ruling of 20.00 raised to 80.00 on appeal (a second
    refund of the 60.00 difference); D-3 a ruling of 50.00 that an appeal leaves as it is (a second
    resolution that pays nothing); P-1 a return whose postage the seller pays (96.00 on an 80.00
    order: 16.00 of it postage); C-1 an order never shipped, cancelled and refunded in full."""
    frank = team_member("frank")
    dispute_in(world, "resolved", number="D-1")
    raised = dispute_in(world, "under_review", number="D-2")
    post(world.erin, raised, "ruling", {"outcome": "partial_refund", "refund_amount": "20.00", "note": "Part."})
    post(world.alice, raised, "appeal", {"note": "More."})
    post(frank, raised, "ruling", {"outcome": "full_refund", "note": "All of it."})
    kept = dispute_in(world, "under_review", number="D-3")
    post(world.erin, kept, "ruling", {"outcome": "partial_refund", "refund_amount": "50.00", "note": "Half."})
    post(world.carol, kept, "appeal", {"note": "Too much."})
    post(frank, kept, "ruling", {"outcome": "no_refund", "note": "It stands."})
    daves_policy(world)
    order_of(world, number="P-1")
    returned = accepted_return(world)
    ship_back(world, returned, postage="30.00")
    receive(world, returned)
    unshipped = make_order(buyer=world.bob, store=world.carols, number="C-1", total=Decimal("40.00"))
    order_refund_unshipped(order=unshipped)
    clock.move_to(LATER)
    assert Refund.objects.count() == 6
    return world


def refund_of(number: str, resolution: int | None = None) -> Refund:
    refunds = Refund.objects.filter(order__number=number)
    return refunds.get() if resolution is None else refunds.get(resolution_number=resolution)


def found() -> set[tuple[str, str | None]]:
    return {(m.kind, m.order) for m in find_mismatches().listed}


# --- a clean ledger ------------------------------------------------------------------------------


def test_a_ledger_written_by_the_services_reconciles_clean_and_exits_0(ledger):
    assert Dispute.objects.get(order__number="D-3").resolution_number == 2  # a second resolution, no refund
    assert refund_of("P-1").postage == Decimal("16.00")
    out = StringIO()
    call_command("reconcile", stdout=out)  # no CommandError: exit status 0
    assert "no mismatches" in out.getvalue()
    assert "Gateway 'local' listed 6 refund(s)" in out.getvalue()
    run = last_run()
    assert (run.ok, run.mismatches, run.counts) == (True, 0, {})


# --- each kind of mismatch -----------------------------------------------------------------------


class DriftingGateway(LocalLedgerGateway):
    """A provider whose list disagrees with the ledger: C-1's refund paid 1.00 more, D-3's missing,
    and a payment the ledger never made."""

    def refunds_paid(self, *, until):
        for paid in super().refunds_paid(until=until):
            if paid.reference == refund_of("C-1").gateway_reference:
                yield GatewayRefund(paid.reference, paid.amount + 1, paid.currency)
            elif paid.reference != refund_of("D-3").gateway_reference:
                yield paid
        yield GatewayRefund("local-ghost", Decimal("12.00"), "USD")


def test_each_planted_mismatch_is_reported_by_kind_with_a_non_zero_exit(ledger, settings):
    # Refunds above what was paid: a second cancellation refund, of more than the order's total.
    over = make_order(buyer=ledger.bob, store=ledger.carols, number="O-1", total=Decimal("40.00"))
    Order.objects.filter(pk=over.pk).update(status="cancelled")
    Refund.objects.create(order=over, resolution_number=0, amount=Decimal("50.00"), currency="USD", gateway="local",
                          gateway_reference="local-o1", cause="not_shipped", created_at=SHIPPED)  # fmt: skip
    # A resolution that pays 80.00 and no refund row (the order still says refunded).
    refund_of("D-1").delete()
    # Two refund rows for one resolution: the database refuses, unless its constraint is gone.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign keys checked now: the table may change
        cursor.execute("ALTER TABLE disputes_refund DROP CONSTRAINT one_refund_per_resolution")
    second = refund_of("D-2", resolution=2)
    Refund.objects.filter(pk=second.pk).update(amount=Decimal("30.00"))
    Refund.objects.create(dispute=second.dispute, order=second.order, resolution_number=2, amount=Decimal("30.00"),
                          currency="USD", gateway="local", gateway_reference="local-d2-again", cause="ruling",
                          created_at=SHIPPED)  # fmt: skip
    # An order status that does not match its refunds: 50.00 of 80.00 refunded is not "refunded".
    Order.objects.filter(number="D-3").update(status="refunded")
    # A refund in another currency than its order's.
    Refund.objects.filter(pk=refund_of("P-1").pk).update(currency="EUR")
    # The gateway disagreeing on an amount, missing a reference, and paying one the ledger lacks.
    settings.PAYMENT_GATEWAY = "tests.ops.test_reconcile.DriftingGateway"

    assert found() == {
        ("over_total", "O-1"),
        ("missing_refund", "D-1"),
        ("order_status", "D-1"),
        ("duplicate_refund", "D-2"),
        ("order_status", "D-3"),
        ("currency", "P-1"),
        ("gateway_amount", "C-1"),
        ("gateway_missing", "D-3"),
        ("gateway_unknown", None),
    }
    out = StringIO()
    with pytest.raises(CommandError) as exit_status:
        call_command("reconcile", stdout=out)
    assert exit_status.value.returncode == 1
    report = out.getvalue()
    assert "9 mismatch(es)" in report
    assert "expected: at most 40.00 USD refunded of the price | found: 50.00 USD of 40.00 USD refunded" in report
    assert "expected: resolution 1 pays 80.00 USD | found: no refund row" in report
    assert "expected: resolution 2 pays 60.00 USD in one refund row | found: 2 refund row(s) paying 60.00 USD" in report
    assert "expected: partially_refunded or completed: 50.00 USD of 80.00 USD refunded | found: refunded" in report
    assert "found: the gateway paid 41.00 USD" in report and "not in the gateway's list" in report
    assert "found: the gateway paid 12.00 USD, no ledger row" in report
    run = last_run()
    assert (run.ok, run.mismatches) == (False, 9) and run.counts["order_status"] == 2


def test_a_refund_that_is_not_its_resolutions_difference_is_reported_against_that_resolution(ledger):
    # D-2 paid 20.00, then the 60.00 difference; the ledger now says 10.00 and 70.00 (the same 80.00).
    Refund.objects.filter(pk=refund_of("D-2", resolution=1).pk).update(amount=Decimal("10.00"))
    Refund.objects.filter(pk=refund_of("D-2", resolution=2).pk).update(amount=Decimal("70.00"))
    # D-3's one refund filed under a third resolution it never had: its first is left without one.
    Refund.objects.filter(pk=refund_of("D-3").pk).update(resolution_number=3)
    listed = find_mismatches().listed
    assert {(m.kind, m.order, m.expected) for m in listed} == {
        ("refund_amount", "D-2", "resolution 1 pays 20.00 USD"),
        ("refund_amount", "D-2", "resolution 2 pays 60.00 USD"),
        ("missing_refund", "D-3", "resolution 1 pays 50.00 USD"),
        ("refund_without_resolution", "D-3", "refunds for its 2 resolution(s) only"),
    }


class SilentGateway(LocalLedgerGateway):
    def refunds_paid(self, *, until):
        raise ConnectionError("the provider did not answer")


def test_a_gateway_that_cannot_say_what_it_paid_is_a_mismatch(ledger, settings):
    settings.PAYMENT_GATEWAY = "tests.ops.test_reconcile.SilentGateway"
    run = ledger_reconcile()
    assert (run.ok, run.counts) == (False, {"gateway_unreadable": 1})
    assert "ConnectionError: the provider did not answer" in run.report


class GarbledGateway(LocalLedgerGateway):
    def refunds_paid(self, *, until):
        yield GatewayRefund("x" * 500, Decimal("1.00"), "USD")  # longer than any reference we keep


def test_a_gateway_list_the_table_refuses_is_unreadable_and_the_run_is_still_recorded(ledger, settings):
    settings.PAYMENT_GATEWAY = "tests.ops.test_reconcile.GarbledGateway"
    run = ledger_reconcile()
    assert (run.ok, run.counts) == (False, {"gateway_unreadable": 1})
    assert run.pk is not None


def test_more_mismatches_than_listed_are_all_counted(ledger):
    Order.objects.filter(number__in=["D-1", "D-2", "P-1"]).update(status="shipped")
    run = ledger_reconcile(listed=2)
    assert run.mismatches == 3 and run.report.count("| found: shipped") == 2
    assert "... and 1 more (first 2 listed)" in run.report


# --- the daily run -------------------------------------------------------------------------------


def test_the_daily_task_tells_each_active_superuser_once_per_run_with_mismatches(ledger):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    ops = UserFactory(username="ops", is_superuser=True, is_staff=True)
    UserFactory(username="gone", is_superuser=True, is_staff=True, is_active=False)
    alerts = Notification.objects.filter(kind="reconcile_mismatch")

    assert reconcile_task() == 0
    assert not alerts.exists()
    assert last_run().ok

    Order.objects.filter(number="D-3").update(status="refunded")
    assert reconcile_task() == 1
    run = last_run()
    assert (run.ok, run.mismatches, run.counts) == (False, 1, {"order_status": 1})
    assert sorted(alerts.values_list("recipient__username", flat=True)) == ["ops", "root"]
    notice = render(alerts.get(recipient=root))
    assert notice.title == "The money reconciliation found 1 mismatch"
    assert "orders whose status does not match their refunds: 1" in notice.happened
    assert notice.path == "/admin/operator/#reconciliation"

    # The next day's run finds it again, and tells them again: once per run.
    assert reconcile_task() == 1
    assert alerts.filter(recipient=ops).count() == 2 and ReconciliationRun.objects.count() == 3
    assert last_run().pk == ReconciliationRun.objects.latest("pk").pk


def test_last_run_is_none_before_any_run(db):
    assert last_run() is None


# --- cost ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("orders", [1, 50])
def test_its_queries_do_not_grow_with_the_orders(world, clock, orders, django_assert_max_num_queries):
    dispute_in(world, "resolved", number="D-1")
    for n in range(orders):
        order_refund_unshipped(order=make_order(buyer=world.bob, store=world.carols, number=f"C-{n}"))
    clock.move_to(LATER)
    # 14 statements, and the savepoint that keeps a gateway list the table refuses from aborting the run (2).
    with django_assert_max_num_queries(16):
        run = ledger_reconcile()
    assert run.ok and f"listed {orders + 1} refund(s)" in run.report


def test_a_run_that_cannot_complete_exits_2_not_1(db, monkeypatch):
    # "The money disagrees" (1) and "the check never ran" (2) are told apart, for cron and alerts.
    from disputes.management.commands import reconcile as command

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(command, "ledger_reconcile", broken)
    with pytest.raises(CommandError) as exit_status:
        call_command("reconcile", stdout=StringIO())
    assert exit_status.value.returncode == 2
