from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from disputes.states import CLOCK_STATES, LIVE_STATES, State
from disputes.states import NEGOTIATING as NEGOTIATING_STATES
from orders.models import Carrier, Order
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


class Cause(models.TextChoices):
    AGREEMENT = "agreement", _("Buyer and seller agreed")
    SELLER_TIMEOUT = "seller_timeout", _("The seller did not answer in time")
    BUYER_TIMEOUT = "buyer_timeout", _("The buyer did not answer in time")
    RULING = "ruling", _("Ruling by the dispute team")
    RETURN_NOT_SHIPPED = "return_not_shipped", _("The return was not shipped in time")
    RETURN_NOT_CONFIRMED = "return_not_confirmed", _("The seller did not confirm the return in time")
    NOT_SHIPPED = "not_shipped", _("The order was never shipped")


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


class Dispute(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="disputes")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    item_received = models.BooleanField(_("item received"))
    description = models.TextField(_("description"), max_length=5000)
    # The buyer's request as opened; later changes live in proposals.
    refund_type = models.CharField(_("refund"), max_length=8, choices=RefundType.choices)
    refund_amount = models.DecimalField(_("refund amount"), max_digits=12, decimal_places=2)
    return_item = models.BooleanField(_("return the item"))

    state = models.CharField(max_length=20, choices=State.choices, default=State.AWAITING_SELLER)
    # Deadlines are columns, so sweeps find what is due with an index (the partial indexes below);
    # (state, respond_by) serves lookups by state. No single-column indexes beside them: each
    # index is one more write on every transition.
    respond_by = models.DateTimeField(_("respond by"), null=True, blank=True)
    escalate_at = models.DateTimeField(_("escalates by itself at"), null=True, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    escalated_at = models.DateTimeField(null=True, blank=True)

    # What happens once the item is back (set when an outcome needs a return).
    agreed_refund_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    agreed_cause = models.CharField(max_length=24, choices=Cause.choices, blank=True)
    return_carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    return_tracking_number = models.CharField(max_length=80, blank=True)
    return_shipped_at = models.DateTimeField(null=True, blank=True)
    return_condition = models.CharField(max_length=10, choices=ReturnCondition.choices, blank=True)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="assigned_disputes"
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
    resolved_refund_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    cause = models.CharField(max_length=24, choices=Cause.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Counts resolutions: 1 for the first, 2 after an appeal is ruled. One refund per resolution.
    resolution_number = models.PositiveSmallIntegerField(default=0)
    # What this dispute has refunded so far, over all its resolutions (the sum of its refunds).
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    # Set aside: a clock or routing step failed here and a person must look. The sweeps skip it
    # until retry_at (hourly), and any team action retries it at once.
    set_aside_at = models.DateTimeField(_("set aside at"), null=True, blank=True)
    set_aside_reason = models.TextField(_("why it needs a person"), blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(state__in=[s.value for s in LIVE_STATES]),
                name="one_live_dispute_per_order",
            ),
            models.CheckConstraint(condition=Q(refund_amount__gt=0), name="dispute_refund_amount_positive"),
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
                condition=Q(state__in=[s.value for s in CLOCK_STATES], set_aside_at__isnull=True),
                name="dispute_answer_due",
            ),
            models.Index(
                fields=["escalate_at"],
                condition=Q(state__in=[s.value for s in NEGOTIATING], set_aside_at__isnull=True),
                name="dispute_escalation_due",
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


class Proposal(models.Model):
    """Each side's word, in order: the buyer's request and modifications, the seller's counters and rejections."""

    class Kind(models.TextChoices):
        REQUEST = "request", _("Request")
        MODIFICATION = "modification", _("Modified request")
        COUNTER = "counter", _("Counter-offer")
        REJECTION = "rejection", _("Rejection")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="proposals")
    party = models.CharField(max_length=6, choices=[(Party.BUYER, _("Buyer")), (Party.SELLER, _("Seller"))])
    kind = models.CharField(max_length=12, choices=Kind.choices)
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    return_item = models.BooleanField(default=False)
    note = models.TextField(blank=True, max_length=2000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.party}: {self.refund_amount}"


class Evidence(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="evidence")
    party = models.CharField(max_length=6, choices=Party.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = _("evidence")

    def __str__(self) -> str:
        return f"Evidence from {self.party} on dispute {self.dispute_id}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("dispute events are append-only")

    def delete(self):
        raise TypeError("dispute events are append-only")


class DisputeEvent(models.Model):
    """The timeline: one row per transition, never updated or deleted."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_party = models.CharField(max_length=6, choices=Party.choices)
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

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

    # No dispute: the full refund of an order cancelled because it never shipped.
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="refunds", null=True, blank=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    resolution_number = models.PositiveSmallIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    gateway = models.CharField(max_length=40)
    gateway_reference = models.CharField(max_length=100)
    cause = models.CharField(max_length=24, choices=Cause.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dispute", "resolution_number"], name="one_refund_per_resolution"),
            models.UniqueConstraint(
                fields=["order"], condition=Q(dispute__isnull=True), name="one_cancellation_refund_per_order"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        if self.dispute_id is None:
            return f"{self.amount} {self.currency} for cancelled order {self.order_id}"
        return f"{self.amount} {self.currency} for dispute {self.dispute_id}"


class IdempotencyRecord(models.Model):
    """The first response to a money-moving request, replayed for a retry with the same key."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_record_per_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class EvidenceRequest(models.Model):
    """The dispute team asks a party for more evidence, with a deadline. Unanswered by then,
    review goes on without it."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="evidence_requests")
    party = models.CharField(max_length=6, choices=[(Party.BUYER, _("Buyer")), (Party.SELLER, _("Seller"))])
    note = models.TextField(_("what is needed"), max_length=2000)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

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

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="pending_rulings")
    outcome = models.CharField(max_length=20)
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    note = models.TextField(max_length=4000)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["dispute"], condition=Q(status="pending"), name="one_pending_ruling")
        ]

    def __str__(self) -> str:
        return f"{self.outcome} on dispute {self.dispute_id} ({self.status})"


class ReviewQueueItem(Dispute):
    """The dispute team's queue in admin: escalated and under-review disputes."""

    class Meta:
        proxy = True
        verbose_name = _("review queue item")
        verbose_name_plural = _("review queue")
