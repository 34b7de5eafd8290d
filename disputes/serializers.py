from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts import roles
from disputes.models import Dispute, DisputeEvent, Evidence, Outcome, Proposal, Reason, RefundType, ReturnCondition
from disputes.selectors import awaiting, default_outcome, refund_position
from messaging.serializers import PhotoSerializer
from orders.serializers import CarrierField


class DisputeOpenSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Reason.choices)
    item_received = serializers.BooleanField()
    refund_type = serializers.ChoiceField(choices=RefundType.choices)
    refund_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, min_value=Decimal("0.01")
    )
    return_item = serializers.BooleanField(required=False, default=False)
    description = serializers.CharField(max_length=5000)

    def validate(self, attrs):
        if attrs["refund_type"] == RefundType.PARTIAL and attrs.get("refund_amount") is None:
            raise serializers.ValidationError({"refund_amount": [_("Give the amount of the partial refund.")]})
        return attrs


class ProposalInSerializer(serializers.Serializer):
    refund_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    return_item = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReturnShipmentSerializer(serializers.Serializer):
    carrier = CarrierField()
    tracking_number = serializers.CharField(max_length=80)


class ReturnReceivedSerializer(serializers.Serializer):
    condition = serializers.ChoiceField(choices=ReturnCondition.choices)


class RulingSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[*Outcome.choices, ("return_and_refund", _("Return and refund"))])
    refund_amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)
    note = serializers.CharField(max_length=4000)


class ProposalSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")

    class Meta:
        model = Proposal
        fields = ["id", "party", "kind", "refund_amount", "return_item", "note", "author", "created_at"]


class EvidenceSerializer(serializers.ModelSerializer):
    images = PhotoSerializer(source="photos", many=True)

    class Meta:
        model = Evidence
        fields = ["id", "party", "note", "created_at", "images"]


# Event payload keys that name team members: the team sees them, the parties never do.
STAFF_PAYLOAD_KEYS = frozenset({"handover_from", "member", "approved_by", "pending_ruling"})


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    payload = serializers.SerializerMethodField()

    class Meta:
        model = DisputeEvent
        fields = ["id", "actor", "actor_party", "action", "from_state", "to_state", "payload", "created_at"]

    def _for_team(self) -> bool:
        request = self.context.get("request")
        return bool(request and roles.is_dispute_team(request.user))

    def get_payload(self, event) -> dict:
        if self._for_team():
            return event.payload
        return {key: value for key, value in event.payload.items() if key not in STAFF_PAYLOAD_KEYS}

    def get_actor(self, event) -> str | None:
        if event.actor_id is None:
            return None
        request = self.context.get("request")
        if event.actor_party == "team" and not (request and roles.is_dispute_team(request.user)):
            return str(_("Dispute team"))
        return event.actor.username


class DisputeListSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    awaiting = serializers.SerializerMethodField()
    currency = serializers.CharField(source="order.currency")

    class Meta:
        model = Dispute
        fields = ["id", "order", "state", "awaiting", "respond_by", "reason", "refund_amount", "currency", "opened_at"]

    def get_awaiting(self, dispute) -> str | None:
        return awaiting(dispute)


class DisputeSerializer(DisputeListSerializer):
    request = serializers.SerializerMethodField()
    proposals = ProposalSerializer(many=True)
    evidence = EvidenceSerializer(many=True)
    events = EventSerializer(many=True)
    default_outcome = serializers.SerializerMethodField()
    resolution = serializers.SerializerMethodField()
    return_shipment = serializers.SerializerMethodField()
    return_address = serializers.SerializerMethodField()
    ruling = serializers.SerializerMethodField()
    money = serializers.SerializerMethodField()
    needs_person = serializers.SerializerMethodField()

    class Meta(DisputeListSerializer.Meta):
        fields = [
            *DisputeListSerializer.Meta.fields,
            "item_received",
            "description",
            "request",
            "proposals",
            "evidence",
            "events",
            "default_outcome",
            "resolution",
            "return_shipment",
            "return_address",
            "ruling",
            "money",
            "needs_person",
        ]

    def get_request(self, dispute) -> dict:
        # The buyer's request as opened, in the fields they sent to open it.
        return DisputeOpenSerializer(dispute).data

    def get_money(self, dispute) -> dict:
        """What the buyer paid, what was refunded on the order so far, and what is left to ask for."""
        position = refund_position(dispute)
        return {key: str(value) for key, value in position.items()}

    def get_needs_person(self, dispute) -> dict | None:
        if dispute.set_aside_at is None:
            return None
        request = self.context.get("request")
        reason = dispute.set_aside_reason if request and roles.is_dispute_team(request.user) else None
        return {"since": dispute.set_aside_at, "reason": reason}

    def get_default_outcome(self, dispute) -> str | None:
        return default_outcome(dispute)

    def get_resolution(self, dispute) -> dict | None:
        if not dispute.outcome:
            return None
        return {
            "outcome": dispute.outcome,
            "refund_amount": str(dispute.resolved_refund_amount),
            "currency": dispute.order.currency,
            "cause": dispute.cause,
            "resolved_at": dispute.resolved_at,
            "refunded": str(sum((r.amount for r in dispute.refunds.all()), Decimal("0.00"))),
        }

    def get_return_shipment(self, dispute) -> dict | None:
        if not dispute.return_tracking_number:
            return None
        return {
            "carrier": dispute.return_carrier.code if dispute.return_carrier else None,
            "tracking_number": dispute.return_tracking_number,
            "shipped_at": dispute.return_shipped_at,
            "condition": dispute.return_condition or None,
        }

    def get_return_address(self, dispute) -> dict | None:
        if dispute.state not in ("awaiting_return", "return_in_transit"):
            return None
        return dispute.order.return_policy_snapshot.get("return_address")

    def get_ruling(self, dispute) -> dict | None:
        if not dispute.ruled_at:
            return None
        return {"ruled_at": dispute.ruled_at, "note": dispute.ruling_note}

    def to_representation(self, dispute):
        data = super().to_representation(dispute)
        request = self.context.get("request")
        if request and roles.is_dispute_team(request.user):
            data["assignee"] = dispute.assignee.username if dispute.assignee else None
        return data
