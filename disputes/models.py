from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.money import money_str
from disputes.states import CLOCK_STATES, LIVE_STATES, State
from disputes.states import NEGOTIATING as NEGOTIATING_STATES
from orders.models import Carrier, Order, OrderItem
from sellers.models import ReturnReason

# The states and their clocks live in disputes/states.py (the workflow's table reads them there).
NEGOTIATING = list(NEGOTIATING_STATES)


# Why a buyer opens a dispute: the item never came, or any reason a return policy covers but a change
# of mind (a return, not a dispute). A new return reason is a dispute reason too.
Reason = models.TextChoices(
    "Reason",
    [
        ("NOT_RECEIVED", ("not_received", _("Item not received"))),
        *((r.name, (r.value, r.label)) for r in ReturnReason if r != ReturnReason.CHANGED_MIND),
    ],
)


# Reasons about the item's condition: a buyer who received it must show photos. Listed by hand: a new
# reason asks for photos only once it is added here.
CONDITION_REASONS = {
    Reason.NOT_AS_DESCRIBED,
    Reason.DAMAGED,
    Reason.WRONG_ITEM,
    Reason.MISSING_PARTS,
    Reason.DEFECTIVE,
    Reason.COUNTERFEIT,
}


class RefundType(models.TextChoices):
    FULL = "full", _("Full refund")
    PARTIAL = "partial", _("Partial refund")


class Outcome(models.TextChoices):
    FULL_REFUND = "full_refund", _("Full refund")
    PARTIAL_REFUND = "partial_refund", _("Partial refund")
    NO_REFUND = "no_refund", _("No refund")


# What a ruling of the dispute team may decide: an outcome, or the item back first and then the refund.
RULING_OUTCOMES = [*Outcome.choices, ("return_and_refund", _("Return and refund"))]


class Cause(models.TextChoices):
    AGREEMENT = "agreement", _("Buyer and seller agreed")
    SELLER_TIMEOUT = "seller_timeout", _("The seller did not answer in time")
    BUYER_TIMEOUT = "buyer_timeout", _("The buyer did not answer in time")
    RULING = "ruling", _("Ruling by the dispute team")
    RETURN_NOT_SHIPPED = "return_not_shipped", _("The return was not shipped in time")
    RETURN_NOT_CONFIRMED = "return_not_confirmed", _("The seller did not confirm the return in time")
    NOT_SHIPPED = "not_shipped", _("The order was never shipped")
    RETURN_POLICY = "return_policy", _("Refunded under the store's return policy")


class ReturnCondition(models.TextChoices):
    OK = "ok", _("Received in the expected condition")
    DAMAGED = "damaged", _("Received damaged")
    EMPTY = "empty", _("Received an empty parcel")
    DIFFERENT = "different", _("Received a different item")


class Party(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    SELLER = "seller", _("Seller")
    TEAM = "team", _("Dispute team")
    SYSTEM = "system", _("System")


class PauseReason(models.TextChoices):
    CARRIER_INVESTIGATION = "carrier_investigation", _("The carrier is investigating the shipment")
    PUBLIC_HOLIDAY = "public_holiday", _("A public holiday")
    THIRD_PARTY = "third_party", _("Waiting for a third party")


class Dispute(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="disputes", verbose_name=_("order"))
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    item_received = models.BooleanField(_("item received"))
    description = models.TextField(_("what happened"), max_length=5000)
    why_unresolved = models.TextField(_("why the seller could not resolve it"), max_length=2000, blank=True)
    # The buyer's request as opened; later changes live in proposals.
    refund_type = models.CharField(_("refund"), max_length=8, choices=RefundType.choices)
    refund_amount = models.DecimalField(_("refund amount"), max_digits=15, decimal_places=3)
    return_item = models.BooleanField(_("return the item"))
    # What the items it covers are worth (disputes.claims), fixed when it opens; null: the whole order.
    items_worth = models.DecimalField(max_digits=15, decimal_places=3, null=True, blank=True)

    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.AWAITING_SELLER)
    # Deadlines are columns, so sweeps find what is due with an index (the partial indexes below);
    # (state, respond_by) serves lookups by state. No single-column indexes beside them: each
    # index is one more write on every transition.
    respond_by = models.DateTimeField(_("respond by"), null=True, blank=True)
    escalate_at = models.DateTimeField(_("escalates by itself at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    escalated_at = models.DateTimeField(null=True, blank=True)

    # What happens once the item is back (set when an outcome needs a return).
    agreed_refund_amount = models.DecimalField(max_digits=15, decimal_places=3, null=True, blank=True)
    agreed_cause = models.CharField(max_length=24, choices=Cause.choices, blank=True)
    return_carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    return_tracking_number = models.CharField(max_length=80, blank=True)
    return_shipped_at = models.DateTimeField(null=True, blank=True)
    # What the buyer paid to send it back (refunded with the item when the policy has the seller pay).
    return_postage = models.DecimalField(max_digits=15, decimal_places=3, null=True, blank=True)
    return_condition = models.CharField(max_length=10, choices=ReturnCondition.choices, blank=True)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_disputes",
        verbose_name=_("assignee"),
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    ruled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ruled_at = models.DateTimeField(null=True, blank=True)
    ruling_note = models.TextField(blank=True)
    buyer_appealed = models.BooleanField(default=False)
    seller_appealed = models.BooleanField(default=False)
    # An appeal is reviewed by someone other than the member who ruled first.
    excluded_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    resolved_refund_amount = models.DecimalField(max_digits=15, decimal_places=3, null=True, blank=True)
    cause = models.CharField(max_length=24, choices=Cause.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Counts resolutions: 1 for the first, 2 after an appeal is ruled. One refund per resolution.
    resolution_number = models.PositiveSmallIntegerField(default=0)
    # What this dispute has refunded so far, over all its resolutions (the sum of its refunds).
    refunded_amount = models.DecimalField(max_digits=15, decimal_places=3, default=Decimal("0.00"))
    # Set aside: a clock or routing step failed here and a person must look. The sweeps skip it
    # until retry_at (hourly), and any team action retries it at once.
    set_aside_at = models.DateTimeField(_("set aside at"), null=True, blank=True)
    set_aside_reason = models.TextField(_("why it needs a person"), blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    # Paused by the dispute team (disputes/pauses.py): the deadline columns are empty meanwhile and
    # `paused_left` holds what each running clock had left, in seconds, by column; they get exactly
    # that back when the pause ends, by hand or when `paused_until` passes (the clock sweep).
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    paused_until = models.DateTimeField(_("paused until"), null=True, blank=True)
    pause_reason = models.CharField(_("why it is paused"), max_length=24, choices=PauseReason.choices, blank=True)
    pause_note = models.TextField(_("pause note"), max_length=2000, blank=True)
    paused_left = models.JSONField(default=dict, blank=True)
    # The side whose request for more time waits for the other side's answer ("" when none): read by
    # every transition, so a state that moves on lapses the request without a query when there is none.
    more_time_asked_by = models.CharField(max_length=6, blank=True)
    # The linked case this dispute is ruled with (disputes/cases.py): the team's alone; a party sees only
    # the case's public reason.
    case = models.ForeignKey(
        "Case", on_delete=models.PROTECT, null=True, blank=True, related_name="disputes", verbose_name=_("case")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        constraints = [
            models.CheckConstraint(condition=Q(refund_amount__gt=0), name="dispute_refund_amount_positive"),
            # A pause always has an end.
            models.CheckConstraint(
                condition=Q(paused_at__isnull=True) | Q(paused_until__isnull=False, paused_until__gt=F("paused_at")),
                name="dispute_pause_has_an_end",
            ),
        ]
        indexes = [
            # Lookups by state (routing, the review queue and its deadlines, reminders).
            models.Index(fields=["state", "respond_by"]),
            # What the clock sweep reads, in deadline order, stopping at a batch: only disputes whose
            # clock can run out are in these (a set-aside one waits in the retry index instead), so a
            # resolved dispute leaves them, and the sweep's work follows what is due, not how many
            # disputes there have ever been.
            models.Index(
                fields=["respond_by"],
                condition=Q(
                    state__in=[s.value for s in CLOCK_STATES], set_aside_at__isnull=True, paused_at__isnull=True
                ),
                name="dispute_answer_due",
            ),
            models.Index(
                fields=["escalate_at"],
                condition=Q(
                    state__in=[s.value for s in NEGOTIATING], set_aside_at__isnull=True, paused_at__isnull=True
                ),
                name="dispute_escalation_due",
            ),
            # Paused disputes wait here for their pause to end (the clock sweep resumes them).
            models.Index(
                fields=["paused_until"],
                condition=Q(paused_at__isnull=False, set_aside_at__isnull=True),
                name="dispute_pause_ends",
            ),
            # Set-aside disputes wait here for their hourly retry (a handful, never the sweep's path).
            models.Index(fields=["retry_at"], condition=Q(set_aside_at__isnull=False), name="dispute_set_aside_retry"),
        ]

    def __str__(self) -> str:
        return f"Dispute {self.pk} on {self.order_id}"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def currency(self) -> str:
        return self.order.currency

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class Proposal(models.Model):
    """Each side's word, in order: the buyer's request and modifications, the seller's counters and rejections."""

    class Kind(models.TextChoices):
        REQUEST = "request", _("Request")
        MODIFICATION = "modification", _("Modified request")
        COUNTER = "counter", _("Counter-offer")
        REJECTION = "rejection", _("Rejection")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="proposals", verbose_name=_("dispute"))
    party = models.CharField(_("party"), max_length=6, choices=[(Party.BUYER, _("Buyer")), (Party.SELLER, _("Seller"))])
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    refund_amount = models.DecimalField(_("refund amount"), max_digits=15, decimal_places=3, default=Decimal("0.00"))
    return_item = models.BooleanField(_("return the item"), default=False)
    note = models.TextField(_("note"), blank=True, max_length=2000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.party}: {self.refund_amount.normalize():f}"


# Evidence and claimed items belong to exactly one claim: a dispute or a request.
ONE_CLAIM = Q(dispute__isnull=False, request__isnull=True) | Q(dispute__isnull=True, request__isnull=False)


class Evidence(models.Model):
    """Photos and a note from a party: on a dispute, or on a return or exchange request (its photos,
    the return's postage receipt)."""

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="evidence", null=True, blank=True, verbose_name=_("dispute")
    )
    request = models.ForeignKey(
        "ReturnRequest", on_delete=models.CASCADE, related_name="evidence", null=True, blank=True
    )
    party = models.CharField(_("party"), max_length=6, choices=Party.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    note = models.TextField(_("note"), blank=True, max_length=2000)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        constraints = [
            models.CheckConstraint(
                condition=ONE_CLAIM,
                name="evidence_on_one_claim",
            )
        ]

    def __str__(self) -> str:
        if self.dispute_id is None:
            return f"Evidence from {self.party} on request {self.request_id}"
        return f"Evidence from {self.party} on dispute {self.dispute_id}"

    @property
    def order(self) -> Order:
        return (self.dispute or self.request).order


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("dispute events are append-only")

    def delete(self):
        raise TypeError("dispute events are append-only")


class DisputeEvent(models.Model):
    """The timeline: one row per transition, never updated or deleted."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="events", verbose_name=_("dispute"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_party = models.CharField(_("acting party"), max_length=6, choices=Party.choices)
    action = models.CharField(_("action"), max_length=32)
    from_state = models.CharField(_("from state"), max_length=20, blank=True)
    to_state = models.CharField(_("to state"), max_length=20)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("dispute event")
        verbose_name_plural = _("dispute events")

    def __str__(self) -> str:
        return f"{self.action}: {self.from_state} → {self.to_state}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("dispute events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("dispute events are append-only")


class Refund(models.Model):
    """The ledger: money sent back to the buyer. Exactly one per resolution of a dispute."""

    # No dispute: the full refund of an order cancelled because it never shipped, or a return
    # request's refund (request set).
    dispute = models.ForeignKey(
        Dispute, on_delete=models.PROTECT, related_name="refunds", null=True, blank=True, verbose_name=_("dispute")
    )
    request = models.ForeignKey(
        "ReturnRequest", on_delete=models.PROTECT, related_name="refunds", null=True, blank=True
    )
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order"))
    resolution_number = models.PositiveSmallIntegerField(_("resolution number"))
    amount = models.DecimalField(_("amount"), max_digits=15, decimal_places=3)
    # The part of `amount` that is return postage the seller pays under its policy: refunded above
    # the item's price, so it never counts against what is left to refund on the order.
    postage = models.DecimalField(max_digits=15, decimal_places=3, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3)
    gateway = models.CharField(_("gateway"), max_length=40)
    gateway_reference = models.CharField(_("gateway reference"), max_length=100)
    cause = models.CharField(_("cause"), max_length=24, choices=Cause.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.UniqueConstraint(fields=["dispute", "resolution_number"], name="one_refund_per_resolution"),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(dispute__isnull=True, request__isnull=True),
                name="one_cancellation_refund_per_order",
            ),
            models.UniqueConstraint(fields=["request"], name="one_refund_per_request"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(postage__gte=0, postage__lte=models.F("amount")), name="refund_postage_within_amount"
            ),
        ]

    def __str__(self) -> str:
        amount = money_str(self.amount, self.currency)
        if self.request_id is not None:
            return f"{amount} {self.currency} for request {self.request_id}"
        if self.dispute_id is None:
            return f"{amount} {self.currency} for cancelled order {self.order_id}"
        return f"{amount} {self.currency} for dispute {self.dispute_id}"


class IdempotencyRecord(models.Model):
    """The first response to a money-moving request, replayed for a retry with the same key."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    key = models.CharField(_("key"), max_length=200)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_record_per_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class EvidenceRequest(models.Model):
    """The dispute team asks a party for more evidence, with a deadline. Unanswered by then,
    review goes on without it."""

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="evidence_requests", verbose_name=_("dispute")
    )
    party = models.CharField(_("party"), max_length=6, choices=[(Party.BUYER, _("Buyer")), (Party.SELLER, _("Seller"))])
    note = models.TextField(_("what is needed"), max_length=2000)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    due_at = models.DateTimeField(_("due at"), db_index=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    expired_at = models.DateTimeField(_("expired at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("evidence request")
        verbose_name_plural = _("evidence requests")

    def __str__(self) -> str:
        return f"Evidence from {self.party} on dispute {self.dispute_id} by {self.due_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.answered_at is None and self.expired_at is None


class PendingRuling(models.Model):
    """A ruling above the approval threshold waits here for a second team member."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a second approval")
        APPROVED = "approved", _("Approved and applied")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    dispute = models.ForeignKey(
        Dispute, on_delete=models.CASCADE, related_name="pending_rulings", verbose_name=_("dispute")
    )
    outcome = models.CharField(_("outcome"), max_length=20)
    refund_amount = models.DecimalField(_("refund amount"), max_digits=15, decimal_places=3, null=True, blank=True)
    note = models.TextField(max_length=4000)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("proposed by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("pending ruling")
        verbose_name_plural = _("pending rulings")
        constraints = [
            models.UniqueConstraint(fields=["dispute"], condition=Q(status="pending"), name="one_pending_ruling")
        ]

    def __str__(self) -> str:
        return f"{self.outcome} on dispute {self.dispute_id} ({self.status})"


class Case(models.Model):
    """Disputes that share a cause (one lost container, one carrier's strike, one bad batch), linked by
    the dispute team and ruled once together (disputes/cases.py). The parties see only `public_reason`."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RULED = "ruled", _("Ruled")

    public_reason = models.CharField(_("reason shown to the parties"), max_length=300, blank=True)
    note = models.TextField(_("team note"), max_length=4000, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    ruled_at = models.DateTimeField(_("ruled"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("linked case")
        verbose_name_plural = _("linked cases")

    def __str__(self) -> str:
        return str(_("Case %(id)s") % {"id": self.pk})

    @property
    def is_ruled(self) -> bool:
        return self.status == self.Status.RULED


class CaseRuling(models.Model):
    """One ruling over a whole case: the outcome and the amount for each member dispute, fixed when it is
    proposed. Above the approval threshold (in total, currency by currency) it waits for a second team
    member. At most one per case is waiting or applied (a constraint): a case is ruled once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a second approval")
        APPLIED = "applied", _("Applied")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="rulings")
    outcome = models.CharField(max_length=20)
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    # {dispute id: the buyer's total from that dispute, as a decimal string}; {currency: total} for the approval.
    amounts = models.JSONField(default=dict)
    totals = models.JSONField(default=dict)
    note = models.TextField(max_length=4000)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status__in=["pending", "applied"]), name="one_live_case_ruling"
            )
        ]

    def __str__(self) -> str:
        return f"{self.outcome} on case {self.case_id} ({self.status})"


class MoreTime(models.Model):
    """One side asks the other for more days on the current deadline (disputes/pauses.py). Once per side
    per dispute (a constraint); the other side accepts or declines; a request still waiting when the
    dispute's state moves on lapses."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the other side")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        LAPSED = "lapsed", _("Lapsed: the dispute moved on")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="more_time")
    party = models.CharField(max_length=6, choices=[(Party.BUYER, _("Buyer")), (Party.SELLER, _("Seller"))])
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    days = models.PositiveSmallIntegerField(_("days"))
    note = models.TextField(_("note"), max_length=2000, blank=True)
    state = models.CharField(max_length=20, choices=State.choices)  # the dispute's state when asked
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    asked_at = models.DateTimeField(default=timezone.now)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_at", "id"]
        verbose_name = _("request for more time")
        verbose_name_plural = _("requests for more time")
        constraints = [
            models.UniqueConstraint(fields=["dispute", "party"], name="more_time_once_per_side"),
            models.UniqueConstraint(fields=["dispute"], condition=Q(status="pending"), name="one_pending_more_time"),
            models.CheckConstraint(condition=Q(days__gte=1), name="more_time_days_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.days} more days asked by the {self.party} on dispute {self.dispute_id} ({self.status})"


class ReviewQueueItem(Dispute):
    """The dispute team's queue in admin: escalated and under-review disputes."""

    class Meta:
        proxy = True
        verbose_name = _("review queue item")
        verbose_name_plural = _("review queue")


# --- return and exchange requests (no dispute) and per-item claims ---------------------------------


class RequestKind(models.TextChoices):
    RETURN_REFUND = "return_refund", _("Return the item for a refund")
    EXCHANGE = "exchange", _("Exchange the item")
    REFUND_ONLY = "refund_only", _("Refund without returning the item")


class RequestState(models.TextChoices):
    AWAITING_SELLER = "awaiting_seller", _("Waiting for the seller")
    APPROVED = "approved", _("Approved: waiting for the seller to ship the replacement")
    DECLINED = "declined", _("Declined by the seller")
    AWAITING_RETURN = "awaiting_return", _("Waiting for the buyer to ship the return")
    RETURN_IN_TRANSIT = "return_in_transit", _("Return on its way to the seller")
    REPLACEMENT_IN_TRANSIT = "replacement_in_transit", _("Replacement on its way to the buyer")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


# A live request holds its items: no other request or dispute may cover them meanwhile.
LIVE_REQUEST_STATES = (
    RequestState.AWAITING_SELLER,
    RequestState.APPROVED,
    RequestState.AWAITING_RETURN,
    RequestState.RETURN_IN_TRANSIT,
    RequestState.REPLACEMENT_IN_TRANSIT,
)


class RequestOutcome(models.TextChoices):
    REFUNDED = "refunded", _("Refunded")
    EXCHANGED = "exchanged", _("Exchanged")
    DECLINED = "declined", _("Declined by the seller")
    WITHDRAWN = "withdrawn", _("Withdrawn by the buyer")
    LAPSED = "lapsed", _("The return was not shipped in time")
    DISPUTED = "disputed", _("Turned into a dispute")
    SETTLED = "settled", _("Closed: nothing was left to refund on the order")


class ReturnRequest(models.Model):
    """A buyer asking the seller directly, under the order's policy snapshot, for a refund after
    return, an exchange or a refund without return. Run by disputes/requests.py."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="return_requests")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("what you ask for"), max_length=16, choices=RequestKind.choices)
    reason = models.CharField(_("reason"), max_length=20)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    # An exchange: the variant wanted, in the buyer's words (blank: the same item again).
    variant = models.CharField(_("variant wanted"), max_length=200, blank=True)
    # The policy covers the request in full (the seller cannot decline it; silence approves it)
    # or only in part (the seller may decline; silence turns it into a dispute).
    fully_covered = models.BooleanField(default=False)
    # Who pays return postage under the policy, for this reason: "buyer" or "seller".
    postage_payer = models.CharField(max_length=6, blank=True)
    # What the items are worth (refunded after return, or without one); 0 for an exchange.
    amount = models.DecimalField(_("amount"), max_digits=15, decimal_places=3)

    state = models.CharField(max_length=24, choices=RequestState.choices, default=RequestState.AWAITING_SELLER)
    respond_by = models.DateTimeField(_("respond by"), null=True, blank=True)
    # The deadline the awaited party was last reminded of, a day before it (once per deadline).
    reminded_for = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(_("why the seller declined"), max_length=2000, blank=True)
    # After a decline the buyer may turn the request into a dispute until this moment.
    dispute_by = models.DateTimeField(null=True, blank=True)

    return_carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    return_tracking_number = models.CharField(max_length=80, blank=True)
    return_shipped_at = models.DateTimeField(null=True, blank=True)
    postage = models.DecimalField(max_digits=15, decimal_places=3, null=True, blank=True)
    return_condition = models.CharField(max_length=10, choices=ReturnCondition.choices, blank=True)
    replacement_carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    replacement_tracking_number = models.CharField(max_length=80, blank=True)
    replacement_shipped_at = models.DateTimeField(null=True, blank=True)

    outcome = models.CharField(max_length=10, choices=RequestOutcome.choices, blank=True)
    refunded_amount = models.DecimalField(max_digits=15, decimal_places=3, default=Decimal("0"))
    closed_at = models.DateTimeField(null=True, blank=True)
    dispute = models.OneToOneField(
        Dispute, on_delete=models.PROTECT, null=True, blank=True, related_name="from_request"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("return or exchange request")
        verbose_name_plural = _("return and exchange requests")
        indexes = [
            models.Index(fields=["state", "respond_by"]),
            # What the request sweep reads: only live requests have a running clock.
            models.Index(
                fields=["respond_by"],
                condition=Q(state__in=[s.value for s in LIVE_REQUEST_STATES]),
                name="request_answer_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="request_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Request {self.pk} on {self.order_id}"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_REQUEST_STATES

    @property
    def currency(self) -> str:
        return self.order.currency


class RequestEvent(models.Model):
    """A request's timeline: one row per step, never updated or deleted."""

    request = models.ForeignKey(ReturnRequest, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_party = models.CharField(max_length=6, choices=Party.choices)
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_state} → {self.to_state}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("request events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("request events are append-only")


class ClaimItem(models.Model):
    """An order item (and how many of it) that a dispute or a request covers. `live` follows the
    claim's state, written in the same transaction as every transition; the database lets each
    item be in at most one live claim."""

    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="claims")
    quantity = models.PositiveIntegerField()
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, null=True, blank=True, related_name="claim_items")
    request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, null=True, blank=True, related_name="claim_items"
    )
    live = models.BooleanField(default=True)

    class Meta:
        ordering = ["order_item_id"]
        constraints = [
            models.UniqueConstraint(fields=["order_item"], condition=Q(live=True), name="one_live_claim_per_item"),
            models.CheckConstraint(
                condition=ONE_CLAIM,
                name="claim_item_on_one_claim",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="claim_item_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of item {self.order_item_id}"


# --- the daily money check (disputes/reconcile.py) -------------------------------------------------


class ReconciliationRun(models.Model):
    """One run of the money reconciliation (`manage.py reconcile`, daily in beat): when it ran, whether
    the ledger, the orders, the resolutions and the payment gateway agreed, and its report."""

    at = models.DateTimeField(_("ran at"), default=timezone.now)
    ok = models.BooleanField(_("everything agreed"))
    mismatches = models.PositiveIntegerField(_("mismatches"), default=0)
    counts = models.JSONField(_("mismatches by kind"), default=dict, blank=True)
    report = models.TextField(_("report"), blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")

    def __str__(self) -> str:
        return f"Reconciliation at {self.at:%Y-%m-%d %H:%M}: {self.mismatches} mismatch(es)"
