"""What the dispute team does beyond plain transitions: rulings that need a second approval,
evidence requests, assigning and releasing. Admin screens and the API both call these."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import User
from core.audit import audit
from core.errors import RuleViolation
from disputes.models import Dispute, EvidenceRequest, Party, PendingRuling
from disputes.services import dispute_act_by
from notifications.models import Notification
from notifications.services import notify


def _require_team(user: User) -> None:
    if not roles.is_dispute_team(user):
        raise RuleViolation("forbidden", _("Only the dispute team can do this."), status=403)


def ruling_submit(*, staff: User, dispute: Dispute, outcome: str, refund_amount=None, note: str = ""):
    """Rule now, or, above the approval threshold, record the ruling for a second member.
    Returns ("ruled", dispute) or ("pending", PendingRuling)."""
    _require_team(staff)
    try:
        return "ruled", dispute_act_by(
            user=staff, dispute=dispute, action="ruling", outcome=outcome, refund_amount=refund_amount, note=note
        )
    except RuleViolation as refusal:
        if refusal.code != "approval_required":
            raise
    try:
        with transaction.atomic():
            pending = PendingRuling.objects.create(
                dispute=dispute, outcome=outcome, refund_amount=refund_amount, note=note, proposed_by=staff
            )
    except IntegrityError:
        raise RuleViolation(
            "approval_pending", _("A ruling on this dispute is already waiting for approval.")
        ) from None
    audit("dispute.ruling_proposed", dispute=dispute.pk, actor=staff.username, outcome=outcome)
    return "pending", pending


def ruling_approve(*, staff: User, pending: PendingRuling) -> Dispute:
    """A second team member approves; the ruling takes effect as the proposer's."""
    _require_team(staff)
    with transaction.atomic():
        pending = PendingRuling.objects.select_for_update().get(pk=pending.pk)
        if pending.status != PendingRuling.Status.PENDING:
            raise RuleViolation("invalid_state", _("This ruling was already decided."))
        if pending.proposed_by_id == staff.pk:
            raise RuleViolation("invalid_state", _("The second approval must come from another team member."))
        dispute = dispute_act_by(
            user=pending.proposed_by,
            dispute=pending.dispute,
            action="ruling",
            outcome=pending.outcome,
            refund_amount=pending.refund_amount,
            note=pending.note,
            approved_by=staff,
            pending_ruling=pending.pk,  # carried out, not withdrawn, by this ruling
        )
        pending.status = PendingRuling.Status.APPROVED
        pending.approved_by = staff
        pending.decided_at = timezone.now()
        pending.save(update_fields=["status", "approved_by", "decided_at"])
    audit("dispute.ruling_approved", dispute=dispute.pk, actor=staff.username)
    return dispute


def evidence_request_create(*, staff: User, dispute: Dispute, party: str, note: str) -> EvidenceRequest:
    """Ask the buyer or the seller for evidence, due in EVIDENCE_REQUEST_DAYS."""
    _require_team(staff)
    if party not in (Party.BUYER, Party.SELLER):
        raise RuleViolation("invalid", _("Ask the buyer or the seller."), status=400)
    if not (note or "").strip():
        raise RuleViolation("invalid", _("Say what evidence you need."), status=400)
    if not dispute.is_live:
        raise RuleViolation("invalid_state", _("This dispute is closed."))
    request = EvidenceRequest.objects.create(
        dispute=dispute,
        party=party,
        note=note.strip(),
        requested_by=staff,
        due_at=timezone.now() + timedelta(days=settings.EVIDENCE_REQUEST_DAYS),
    )
    recipient = dispute.order.buyer if party == Party.BUYER else dispute.order.store.owner
    params = {"order": dispute.order.number, "dispute": dispute.pk, "role": party, "event": "evidence_request",
              "note": request.note, "deadline": request.due_at.isoformat()}  # fmt: skip
    notify(recipient=recipient, kind=Notification.Kind.YOUR_TURN, key=f"evidence_request:{request.pk}", params=params,
           url=reverse("disputes:detail", args=[dispute.pk]) + "#evidence")  # fmt: skip
    audit("dispute.evidence_requested", dispute=dispute.pk, actor=staff.username, party=party)
    return request


def evidence_requests_answer(*, dispute: Dispute, party: str) -> int:
    """New evidence from a party answers the team's open requests to that party."""
    return EvidenceRequest.objects.filter(
        dispute=dispute, party=party, answered_at__isnull=True, expired_at__isnull=True
    ).update(answered_at=timezone.now())


def sweep_evidence_requests(*, now=None) -> int:
    """Unanswered requests past their deadline expire: review goes on without the evidence."""
    now = now or timezone.now()
    return EvidenceRequest.objects.filter(answered_at__isnull=True, expired_at__isnull=True, due_at__lte=now).update(
        expired_at=now
    )
