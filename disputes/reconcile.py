"""Money reconciliation: the refund ledger held against the orders, the disputes' resolutions and the
payment gateway, once a day (beat, `reconcile_task`) or by hand (`manage.py reconcile`).

Each check is one set-based statement over the whole database (aggregates and joins, never a loop over
orders in Python), and all of them read one snapshot of it (REPEATABLE READ on PostgreSQL), so a refund
written meanwhile cannot show as half there. What a run finds is recorded (`ReconciliationRun`), audited,
and the superusers are told when anything disagrees. Only mismatches travel to Python, at most `listed`
of each kind; every one is counted.

The checks, by the kind of mismatch each reports:

- `over_total`: an order's refunds add up to more than the buyer paid (`Order.total`). Return postage
  the seller pays under its policy is refunded above the price (`Refund.postage`, part of the amount),
  so what counts is the sum of `amount - postage`, as `payments.refunded_so_far` counts it.
- `currency`: a refund in another currency than its order's.
- `missing_refund`, `duplicate_refund`, `refund_amount`, `refund_without_resolution`: every resolution of
  a dispute pays its refund difference, in one refund row when that is above zero.
  A dispute's resolutions are counted by `Dispute.resolution_number` (1 for the first, one more for each
  ruling on appeal); resolution k records T(k), what the buyer gets from the dispute in all
  (`resolved_refund_amount`: the latest on the dispute, an earlier one in the `refund_amount` of the event
  that resolved it). The refund difference of resolution k is T(k) - T(k-1), with T(0) = 0: what the
  dispute had refunded before (its `refunded_amount`, which each resolution leaves equal to its T) is never
  paid again, so a ruling on appeal that raises the amount pays only the rise, and one that keeps it
  pays nothing (`terms.resolve`, `effects.team_rules`). The difference is the price part (amount -
  postage) of the resolution's refund row (`Refund.resolution_number` = k); the return postage the
  seller owes rides on top, so a resolution with no difference may still have one row, all postage.
  A difference above zero and no row is `missing_refund`; two rows for one resolution (which the
  database's constraint forbids: it shows that constraint lost) `duplicate_refund`; a row whose price
  part is not the difference `refund_amount`; a row for a resolution the dispute never reached
  `refund_without_resolution`. Where the event of an earlier resolution is missing, T(k-1) is taken as
  what the ledger refunded for the resolutions before k.
- `order_status`: an order's status agrees with what its refunds paid back of the price: all of it is
  `refunded` (or `cancelled`: never shipped, refunded in full), part of it `partially_refunded` (or
  `completed`: the order completed after a partial refund), none of it is none of those three; and an
  order refunded by a cancellation (a refund of no dispute and no request) is `cancelled`.
- `gateway_missing`, `gateway_amount`, `gateway_unknown`, `gateway_unreadable`: per provider reference,
  the ledger's refunds through the configured gateway and what the gateway says it paid
  (`PaymentGateway.refunds_paid`) agree on amount and currency; a reference on one side only is a
  mismatch, and so is a gateway that cannot say what it paid.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice

from celery import shared_task
from django.db import connection, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import User
from core.audit import audit
from core.money import money_str, quantum
from disputes.models import ReconciliationRun
from disputes.payments import PaymentGateway, gateway
from notifications.models import Notification
from notifications.services import notify

log = logging.getLogger("dispute_desk.reconcile")

# Mismatches listed per kind in a report (all are counted).
LISTED = 100
# A refund being paid right now is at the gateway before its ledger row commits: the gateway is asked
# for what it paid until SETTLE ago, and the ledger's rows are held against that list from twice as
# long ago, so a refund stamped on either side of the line by a clock a little off is no false alarm.
SETTLE = timedelta(minutes=10)

KINDS = (
    "over_total",
    "currency",
    "missing_refund",
    "duplicate_refund",
    "refund_amount",
    "refund_without_resolution",
    "order_status",
    "gateway_missing",
    "gateway_amount",
    "gateway_unknown",
    "gateway_unreadable",
)


@dataclass(frozen=True)
class Mismatch:
    kind: str
    order: str | None  # the order's number
    dispute: int | None
    expected: str  # amounts with their currency
    found: str


@dataclass
class Findings:
    at: datetime
    listed: list[Mismatch] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # kind -> how many, listed or not
    gateway: str = ""
    compared: int = 0  # refunds the gateway listed

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def report(self, seconds: float) -> str:
        lines = [
            f"Reconciliation at {self.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC: "
            + (f"{self.total} mismatch(es)." if self.total else "no mismatches.")
            + f" Gateway {self.gateway!r} listed {self.compared:,} refund(s). Took {seconds:.1f} s."
        ]
        for kind in KINDS:
            rows = [m for m in self.listed if m.kind == kind]
            for m in rows:
                lines.append(
                    f"{m.kind:<26} order {m.order or '-':<14} dispute {m.dispute or '-':<8} "
                    f"expected: {m.expected} | found: {m.found}"
                )
            if self.counts.get(kind, 0) > len(rows):
                lines.append(f"{kind:<26} ... and {self.counts[kind] - len(rows)} more (first {len(rows)} listed)")
        return "\n".join(lines)


def _money(amount: Decimal | None, currency: str) -> str:
    """An amount with its currency, exact: an amount with more decimals than its currency has is
    itself a finding, and is shown as stored rather than rounded."""
    if amount is None:
        return f"0 {currency}"
    amount = Decimal(str(amount))  # SQLite (development) gives floats
    exact = amount == amount.quantize(quantum(currency))
    return f"{money_str(amount, currency) if exact else format(amount.normalize(), 'f')} {currency}"


# --- the checks: each one statement yielding (kind, order_number, dispute_id, ...) per mismatch -------

ORDERS = """
WITH paid AS (
    SELECT order_id, SUM(amount - postage) AS price, SUM(postage) AS postage,
           SUM(CASE WHEN dispute_id IS NULL AND request_id IS NULL THEN 1 ELSE 0 END) AS cancellations
    FROM disputes_refund GROUP BY order_id
), orders AS (
    SELECT o.number, o.currency, o.total, o.status, COALESCE(p.price, 0) AS price,
           COALESCE(p.postage, 0) AS postage, COALESCE(p.cancellations, 0) AS cancellations
    FROM orders_order o LEFT JOIN paid p ON p.order_id = o.id
    WHERE p.order_id IS NOT NULL OR o.status IN ('refunded', 'partially_refunded', 'cancelled')
)
SELECT 'over_total' AS kind, number AS order_number, NULL AS dispute_id, currency, total, price, postage, status,
       cancellations
FROM orders WHERE price > total
UNION ALL
SELECT 'order_status', number, NULL, currency, total, price, postage, status, cancellations FROM orders
WHERE NOT ((price >= total AND status IN ('refunded', 'cancelled'))
        OR (price > 0 AND price < total AND status IN ('partially_refunded', 'completed'))
        OR (price = 0 AND status NOT IN ('refunded', 'partially_refunded', 'cancelled')))
   OR (cancellations > 0 AND status <> 'cancelled')
"""


def _orders(row: tuple) -> Mismatch:
    kind, number, _dispute, currency, total, price, postage, status, cancellations = row
    paid = f"{_money(price, currency)} of {_money(total, currency)} refunded"
    if kind == "over_total":
        postage = f", and {_money(postage, currency)} of postage above it" if postage else ""
        return Mismatch(kind, number, None, f"at most {_money(total, currency)} refunded of the price", paid + postage)
    if price >= total:
        expected = "refunded or cancelled"
    elif price > 0:
        expected = "partially_refunded or completed"
    else:
        expected = "not refunded, partially_refunded or cancelled"
    if cancellations and status != "cancelled":
        expected = "cancelled (a cancellation refunded it)"
    return Mismatch(kind, number, None, f"{expected}: {paid}", status)


CURRENCIES = """
SELECT 'currency' AS kind, o.number AS order_number, f.dispute_id, o.currency, f.id, f.amount, f.currency
FROM disputes_refund f JOIN orders_order o ON o.id = f.order_id
WHERE f.currency <> o.currency
"""


def _currency(row: tuple) -> Mismatch:
    kind, number, dispute, currency, refund, amount, found = row
    return Mismatch(kind, number, dispute, f"refund {refund} in {currency}", f"{_money(amount, found)}")


RESOLUTIONS = """
WITH refunds AS (
    SELECT dispute_id, resolution_number AS number, COUNT(*) AS n, SUM(amount - postage) AS price
    FROM disputes_refund WHERE dispute_id IS NOT NULL GROUP BY dispute_id, resolution_number
), recorded AS (
    SELECT e.dispute_id, ROW_NUMBER() OVER (PARTITION BY e.dispute_id ORDER BY e.created_at, e.id) AS number,
           CAST(e.payload ->> 'refund_amount' AS NUMERIC) AS total
    FROM disputes_disputeevent e
    WHERE e.to_state = 'resolved' AND e.from_state <> 'resolved'
      AND e.dispute_id IN (SELECT id FROM disputes_dispute WHERE resolution_number > 1)
), resolutions AS (
    SELECT d.id AS dispute_id, d.resolution_number AS number, d.resolved_refund_amount AS total
    FROM disputes_dispute d WHERE d.resolution_number >= 1
    UNION ALL
    SELECT r.dispute_id, r.number, r.total FROM recorded r JOIN disputes_dispute d ON d.id = r.dispute_id
    WHERE r.number < d.resolution_number
), steps AS (
    SELECT s.dispute_id, s.number,
           s.total - CASE
               WHEN s.number = 1 THEN 0
               WHEN LAG(s.number) OVER w = s.number - 1 THEN LAG(s.total) OVER w
               ELSE (SELECT COALESCE(SUM(f.amount - f.postage), 0) FROM disputes_refund f
                     WHERE f.dispute_id = s.dispute_id AND f.resolution_number < s.number)
           END AS difference
    FROM resolutions s
    WINDOW w AS (PARTITION BY s.dispute_id ORDER BY s.number)
), found AS MATERIALIZED (  -- the mismatches alone, before their orders are looked up
    SELECT CASE WHEN f.n > 1 THEN 'duplicate_refund'
                WHEN f.n IS NULL AND s.difference > 0 THEN 'missing_refund'
                ELSE 'refund_amount' END AS kind,
           s.dispute_id, s.number, s.difference, f.n, f.price, NULL AS resolutions
    FROM steps s LEFT JOIN refunds f ON f.dispute_id = s.dispute_id AND f.number = s.number
    WHERE f.n > 1 OR COALESCE(f.price, 0) <> s.difference
    UNION ALL
    SELECT 'refund_without_resolution', f.dispute_id, f.number, NULL, f.n, f.price, d.resolution_number
    FROM refunds f JOIN disputes_dispute d ON d.id = f.dispute_id
    WHERE f.number < 1 OR f.number > d.resolution_number
)
SELECT m.kind, o.number AS order_number, m.dispute_id, o.currency, m.number, m.difference, m.n, m.price,
       m.resolutions
FROM found m JOIN disputes_dispute d ON d.id = m.dispute_id JOIN orders_order o ON o.id = d.order_id
"""


def _resolution(row: tuple) -> Mismatch:
    kind, number, dispute, currency, resolution, difference, rows, price, resolutions = row
    found = f"{rows} refund row(s) paying {_money(price, currency)} (postage aside)" if rows else "no refund row"
    if kind == "refund_without_resolution":
        expected = f"refunds for its {resolutions} resolution(s) only"
        return Mismatch(kind, number, dispute, expected, f"{found} for resolution {resolution}")
    expected = f"resolution {resolution} pays {_money(difference, currency)}"
    if kind == "duplicate_refund":
        expected += " in one refund row"
    return Mismatch(kind, number, dispute, expected, found)


GATEWAY = """
WITH ledger AS (
    SELECT gateway_reference AS reference, SUM(amount) AS amount, MIN(currency) AS currency,
           MIN(order_id) AS order_id, MIN(dispute_id) AS dispute_id, MIN(created_at) AS created_at
    FROM disputes_refund WHERE gateway = %(gateway)s GROUP BY gateway_reference
), paid AS (
    SELECT reference, SUM(amount) AS amount, MIN(currency) AS currency, COUNT(*) AS n
    FROM reconcile_gateway GROUP BY reference
), found AS MATERIALIZED (
    SELECT CASE WHEN p.reference IS NULL THEN 'gateway_missing'
                WHEN l.reference IS NULL THEN 'gateway_unknown'
                ELSE 'gateway_amount' END AS kind,
           l.order_id, l.dispute_id, COALESCE(l.reference, p.reference) AS reference, l.amount, l.currency,
           p.amount AS paid, p.currency AS paid_currency, p.n
    FROM ledger l FULL JOIN paid p ON p.reference = l.reference
    WHERE (p.reference IS NULL AND l.created_at < %(ledger_until)s)
       OR l.reference IS NULL
       OR l.amount <> p.amount OR l.currency <> p.currency
)
SELECT m.kind, o.number AS order_number, m.dispute_id, m.reference, m.amount, m.currency, m.paid, m.paid_currency, m.n
FROM found m LEFT JOIN orders_order o ON o.id = m.order_id
"""


def _gateway(row: tuple) -> Mismatch:
    kind, number, dispute, reference, amount, currency, paid, paid_currency, times = row
    expected = f"{reference}: {_money(amount, currency)}" if amount is not None else f"{reference} in the ledger"
    if kind == "gateway_missing":
        return Mismatch(kind, number, dispute, expected + " paid by the gateway", "not in the gateway's list")
    found = f"the gateway paid {_money(paid, paid_currency)}" + (f" in {times} payments" if times > 1 else "")
    return Mismatch(kind, number, dispute, expected, found if kind == "gateway_amount" else found + ", no ledger row")


def _listed(sql: str) -> str:
    """At most `listed` rows of each kind, in order number order, each with how many of its kind there are."""
    return (
        "SELECT * FROM (SELECT m.*, "  # noqa: S608
        "ROW_NUMBER() OVER (PARTITION BY m.kind ORDER BY m.order_number, m.dispute_id) AS nth, "
        f"COUNT(*) OVER (PARTITION BY m.kind) AS of_kind FROM ({sql}) m) x WHERE x.nth <= %(listed)s"
    )


def _collect(findings: Findings, sql: str, params: dict, describe: Callable[[tuple], Mismatch]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_listed(sql), params)
        for row in cursor.fetchall():
            mismatch = describe(row[:-2])
            findings.listed.append(mismatch)
            findings.counts[mismatch.kind] = row[-1]


# --- the gateway's list, loaded into a temporary table to be joined like any other ---------------------

_BATCH = 10_000


def _load_gateway_list(provider: PaymentGateway, listed_until: datetime) -> int:
    """Ask the gateway what it paid and put it in `reconcile_gateway`; how many refunds it listed."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS reconcile_gateway")
        cursor.execute(
            "CREATE TEMPORARY TABLE reconcile_gateway "
            "(reference varchar(100), amount numeric(15, 3), currency varchar(3))"
        )
    refunds = iter(provider.refunds_paid(until=listed_until))
    listed = 0
    while batch := [(r.reference, r.amount, r.currency) for r in islice(refunds, _BATCH)]:
        listed += len(batch)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy("COPY reconcile_gateway (reference, amount, currency) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
            else:
                cursor.executemany("INSERT INTO reconcile_gateway VALUES (%s, %s, %s)", batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE reconcile_gateway")  # the join is planned on the real row count
    return listed


def _check_gateway(findings: Findings, params: dict) -> None:
    provider = gateway()
    findings.gateway = provider.name
    listed_until = findings.at - SETTLE
    try:
        try:
            # In a savepoint: a row the table refuses (a reference too long, a malformed currency) is
            # the gateway's list being unreadable, and must not leave the run's transaction aborted.
            with transaction.atomic():
                findings.compared = _load_gateway_list(provider, listed_until)
        except Exception as error:  # the provider's API: down, refusing, unable to list, or listing garbage
            log.exception("the payment gateway %r could not list its refunds", provider.name)
            found = f"{type(error).__name__}: {error}"
            findings.listed.append(Mismatch("gateway_unreadable", None, None, "the gateway's list of refunds", found))
            findings.counts["gateway_unreadable"] = 1
            return
        params = {**params, "gateway": provider.name, "ledger_until": listed_until - SETTLE}
        _collect(findings, GATEWAY, params, _gateway)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS reconcile_gateway")


# --- running it ------------------------------------------------------------------------------------


def find_mismatches(*, now: datetime | None = None, listed: int = LISTED) -> Findings:
    """Run every check on one snapshot of the database; nothing is written but a temporary table."""
    findings = Findings(at=now or timezone.now())
    params = {"listed": listed}
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                # A few large joins and sorts, once a day: memory rather than disk, and no JIT (its
                # compiling cost seconds per statement on a million orders, more than it saved).
                cursor.execute("SET LOCAL work_mem = '64MB'")
                cursor.execute("SET LOCAL jit = off")
        _collect(findings, ORDERS, params, _orders)
        _collect(findings, CURRENCIES, params, _currency)
        _collect(findings, RESOLUTIONS, params, _resolution)
        _check_gateway(findings, params)
    return findings


def ledger_reconcile(*, now: datetime | None = None, listed: int = LISTED, alert: bool = False) -> ReconciliationRun:
    """Reconcile the money (the module's docstring says what each check holds), record the run, audit it,
    and with `alert` tell every active superuser when anything disagreed."""
    started = time.monotonic()
    findings = find_mismatches(now=now, listed=listed)
    with transaction.atomic():
        run = ReconciliationRun.objects.create(
            at=findings.at,
            ok=findings.total == 0,
            mismatches=findings.total,
            counts={kind: findings.counts[kind] for kind in KINDS if findings.counts.get(kind)},
            report=findings.report(time.monotonic() - started),
        )
        if alert and not run.ok:
            superusers_alert(run)
    audit("reconcile.run", run=run.pk, ok=run.ok, mismatches=run.mismatches, kinds=run.counts)
    return run


def superusers_alert(run: ReconciliationRun) -> None:
    """Every active superuser hears of a run that found mismatches: once per run."""
    params = {"run": run.pk, "mismatches": run.mismatches, "at": run.at.isoformat(), "kinds": run.counts}
    for person in User.objects.filter(is_superuser=True, is_active=True):
        notify(recipient=person, kind=Notification.Kind.RECONCILE_MISMATCH, key=f"reconcile:{run.pk}:{person.pk}",
               params=params, url=_run_path(run))  # fmt: skip


def _run_path(run: ReconciliationRun) -> str:
    """The operator's page in admin, where the last run's report is shown."""
    try:
        return reverse("admin:operator") + "#reconciliation"
    except NoReverseMatch:  # no operator's page: the notice still says what to do
        return ""


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def reconcile_task() -> int:
    """The daily run (beat, 03:30 UTC): reconcile, and alert the superusers on any mismatch."""
    return ledger_reconcile(alert=True).mismatches


def last_run() -> ReconciliationRun | None:
    """The last reconciliation (when, whether it found mismatches, how many, its report), or None."""
    return ReconciliationRun.objects.order_by("-at", "-id").first()
