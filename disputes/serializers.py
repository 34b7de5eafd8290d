from contextlib import suppress
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import roles
from core.money import MoneyField, money_str
from disputes.models import (
    RULING_OUTCOMES,
    Case,
    CaseRuling,
    Dispute,
    DisputeEvent,
    Evidence,
    MoreTime,
    PauseReason,
    Proposal,
    Reason,
    RefundType,
    ReturnCondition,
)
from disputes.policy import dispute_terms, dispute_words
from disputes.selectors import awaiting, default_outcome, refund_position
from messaging.serializers import PhotoSerializer
from orders.serializers import CarrierField, amount_in


class DisputeOpenSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Reason.choices)
    item_received = serializers.BooleanField()
    refund_type = serializers.ChoiceField(choices=RefundType.choices)
    refund_amount = amount_in(required=False, allow_null=True, min_value=Decimal("0.001"))
    return_item = serializers.BooleanField(required=False, default=False)
    description = serializers.CharField(max_length=5000, help_text="What happened.")
    why_unresolved = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why the buyer and the seller could not resolve it between them.",
    )

    def validate(self, attrs):
        if attrs["refund_type"] == RefundType.PARTIAL and attrs.get("refund_amount") is None:
            raise serializers.ValidationError({"refund_amount": [_("Give the amount of the partial refund.")]})
        return attrs


class ProposalInSerializer(serializers.Serializer):
    refund_amount = amount_in()
    return_item = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReturnShipmentSerializer(serializers.Serializer):
    carrier = CarrierField()
    tracking_number = serializers.CharField(max_length=80)
    postage = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the buyer paid to send it back, in the order's currency; with receipt `images` when "
        "the store's policy has the seller pay it.",
    )


class ReturnReceivedSerializer(serializers.Serializer):
    condition = serializers.ChoiceField(choices=ReturnCondition.choices)


class RulingSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=RULING_OUTCOMES)
    refund_amount = amount_in(required=False, allow_null=True)
    note = serializers.CharField(max_length=4000)


class PauseInSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=PauseReason.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    days = serializers.IntegerField(min_value=1, help_text="At most PAUSE_MAX_DAYS (14).")

    def validate_days(self, days: int) -> int:
        if days > settings.PAUSE_MAX_DAYS:
            raise serializers.ValidationError(_("At most %(n)s days.") % {"n": settings.PAUSE_MAX_DAYS})
        return days


class MoreTimeInSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, help_text="At most MORE_TIME_MAX_DAYS (7).")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate_days(self, days: int) -> int:
        if days > settings.MORE_TIME_MAX_DAYS:
            raise serializers.ValidationError(_("At most %(n)s days.") % {"n": settings.MORE_TIME_MAX_DAYS})
        return days


class MoreTimeAnswerSerializer(serializers.Serializer):
    accept = serializers.BooleanField()


class MoreTimeSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = MoreTime
        fields = ["id", "party", "days", "note", "status", "asked_at", "answered_at"]

    # No enum in the schema: another enum on a field named "status" would rename the orders' StatusEnum.
    @extend_schema_field({"type": "string", "description": "pending, accepted, declined or lapsed"})
    def get_status(self, asked) -> str:
        return asked.status


class ProposalSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")
    # proposal.dispute is the dispute it was prefetched from (disputes.api.dispute_detail): no query.
    refund_amount = MoneyField(currency_source="dispute.order.currency")

    class Meta:
        model = Proposal
        fields = ["id", "party", "kind", "refund_amount", "return_item", "note", "author", "created_at"]


class EvidenceSerializer(serializers.ModelSerializer):
    images = PhotoSerializer(source="photos", many=True)

    class Meta:
        model = Evidence
        fields = ["id", "party", "note", "created_at", "images"]


# Event payload keys that name team members: the team sees them, the parties never do.
STAFF_PAYLOAD_KEYS = frozenset(
    {"handover_from", "member", "approved_by", "pending_ruling", "case", "left_case", "case_ruling"}
)
# Event payload keys that hold an amount: written in the currency's minor unit, however the event
# stored it ("1234.00" or "1234.000" for yen from before, or from a three-decimal column, is "1234").
MONEY_PAYLOAD_KEYS = frozenset({"refund_amount", "refunded_now", "refunded", "amount", "total", "postage"})


def _money_payload(payload: dict, currency: str) -> dict:
    shown = dict(payload)
    for key in MONEY_PAYLOAD_KEYS.intersection(payload):
        value = payload[key]
        if isinstance(value, str | int | Decimal) and not isinstance(value, bool):
            with suppress(ArithmeticError, ValueError):  # not an amount after all ("None"): as it was stored
                shown[key] = money_str(value, currency)
    return shown


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
        # event.dispute is the dispute it was prefetched from (disputes.api.dispute_detail): no query.
        payload = _money_payload(event.payload, event.dispute.order.currency)
        if self._for_team():
            return payload
        return {key: value for key, value in payload.items() if key not in STAFF_PAYLOAD_KEYS}

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
    refund_amount = MoneyField(currency_source="order.currency")
    currency = serializers.CharField(source="order.currency")

    class Meta:
        model = Dispute
        fields = ["id", "order", "state", "awaiting", "respond_by", "reason", "refund_amount", "currency", "opened_at"]

    def get_awaiting(self, dispute) -> str | None:
        return awaiting(dispute)

    def to_representation(self, dispute):
        data = super().to_representation(dispute)
        request = self.context.get("request")
        if request and roles.is_dispute_team(request.user):
            data["case"] = dispute.case_id  # the team's alone: a party sees the case's public reason only
        return data


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
    items = serializers.SerializerMethodField(help_text="The order items and quantities the dispute covers.")
    from_request = serializers.SerializerMethodField(
        help_text="The return or exchange request this dispute was opened from, or null."
    )
    policy = serializers.SerializerMethodField(help_text="What the store's return policy means for this dispute.")
    pause = serializers.SerializerMethodField(help_text="Null, or the dispute team's pause of the clocks.")
    time_left_seconds = serializers.SerializerMethodField(
        help_text="While paused: what each clock had left, in seconds, by its deadline field; else null."
    )
    more_time = MoreTimeSerializer(many=True, help_text="The parties' requests for more time, oldest first.")
    case_reason = serializers.SerializerMethodField(
        help_text="Null, or why the dispute team rules this dispute together with others (a linked case): the "
        "case's public reason. The dispute team also sees `case`, the case's id."
    )

    class Meta(DisputeListSerializer.Meta):
        fields = [
            *DisputeListSerializer.Meta.fields,
            "item_received",
            "description",
            "why_unresolved",
            "items",
            "from_request",
            "policy",
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
            "pause",
            "time_left_seconds",
            "more_time",
            "case_reason",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "reason": {"type": "string", "enum": PauseReason.values},
                "note": {"type": "string"},
                "since": {"type": "string", "format": "date-time"},
                "until": {"type": "string", "format": "date-time"},
            },
        }
    )
    def get_pause(self, dispute) -> dict | None:
        if dispute.paused_at is None:
            return None
        return {
            "reason": dispute.pause_reason,
            "note": dispute.pause_note,
            "since": serializers.DateTimeField().to_representation(dispute.paused_at),
            "until": serializers.DateTimeField().to_representation(dispute.paused_until),
        }

    @extend_schema_field(
        {"type": "object", "nullable": True, "additionalProperties": {"type": "integer"}, "example": {
            "respond_by": 172800, "escalate_at": 864000}}
    )  # fmt: skip
    def get_time_left_seconds(self, dispute) -> dict | None:
        if dispute.paused_at is None:
            return None
        return {column: int(left) for column, left in dispute.paused_left.items()}

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "item": {"type": "integer"},
                    "title": {"type": "string"},
                    "quantity": {"type": "integer"},
                },
            },
        }
    )
    def get_items(self, dispute) -> list[dict]:
        return [
            {"item": claim.order_item_id, "title": claim.order_item.title, "quantity": claim.quantity}
            for claim in dispute.claim_items.all()
        ]

    @extend_schema_field({"type": "object", "nullable": True})
    def get_from_request(self, dispute) -> dict | None:
        request = getattr(dispute, "from_request", None)
        if request is None:
            return None
        return {"id": request.pk, "kind": request.kind, "reason": request.reason, "outcome": request.outcome}

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "covers_return": {"type": "boolean"},
                "refund_without_return": {"type": "boolean"},
                "return_postage_payer": {"type": "string", "enum": ["buyer", "seller"]},
                "postage_cap": {"type": "string"},
                "return_period_ends": {"type": "string", "format": "date-time", "nullable": True},
                "words": {"type": "string"},
            },
        }
    )
    def get_policy(self, dispute) -> dict:
        found = dispute_terms(dispute)
        found["postage_cap"] = money_str(found["postage_cap"], dispute.order.currency)
        ends = found["return_period_ends"]
        found["return_period_ends"] = ends.isoformat() if ends else None
        found["words"] = dispute_words(dispute)
        return found

    def get_request(self, dispute) -> dict:
        # The buyer's request as opened, in the fields they sent to open it; the amount as every
        # amount is written (the input field would give it the columns' three decimals).
        request = dict(DisputeOpenSerializer(dispute).data)
        request["refund_amount"] = money_str(dispute.refund_amount, dispute.order.currency)
        return request

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "paid": {"type": "string", "format": "decimal", "example": "80.00"},
                "refunded": {"type": "string", "format": "decimal", "example": "30.00"},
                "left": {"type": "string", "format": "decimal", "example": "50.00"},
                "currency": {"type": "string", "example": "USD"},
            },
        }
    )
    def get_money(self, dispute) -> dict:
        """What the buyer paid, what was refunded on the order so far, and what is left to ask for,
        each in the currency's minor unit."""
        position = refund_position(dispute)
        currency = position["currency"]
        return {key: value if key == "currency" else money_str(value, currency) for key, value in position.items()}

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
        currency, amount = dispute.order.currency, dispute.resolved_refund_amount
        refunded = sum((r.amount for r in dispute.refunds.all()), Decimal(0))
        return {
            "outcome": dispute.outcome,
            "refund_amount": None if amount is None else money_str(amount, currency),
            "currency": currency,
            "cause": dispute.cause,
            "resolved_at": dispute.resolved_at,
            "refunded": money_str(refunded, currency),
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

    def get_case_reason(self, dispute) -> str | None:
        from disputes.cases import public_reason

        return public_reason(dispute.case) if dispute.case_id else None

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


# --- linked cases (disputes/cases.py): the dispute team's alone -------------------------------------


def _totals_out(by_currency: dict) -> list[dict]:
    return [{"currency": currency, "amount": money_str(amount, currency)} for currency, amount in by_currency.items()]


class CaseInSerializer(serializers.Serializer):
    public_reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="",
        help_text="Why these disputes are ruled together, as both parties of each read it.",
    )  # fmt: skip
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    disputes = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=500
    )


class CaseDisputeInSerializer(serializers.Serializer):
    dispute = serializers.IntegerField(min_value=1)


class CaseRulingInSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=RULING_OUTCOMES)
    percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True, min_value=Decimal("0.01"),
        max_value=Decimal("100"), help_text="Each dispute gets this share of what its items are worth.",
    )  # fmt: skip
    amounts = serializers.DictField(
        child=serializers.CharField(max_length=30), required=False, allow_empty=True,
        help_text='Or the buyer\'s total from each dispute, by its id: {"12": "40.00"}.',
    )  # fmt: skip
    note = serializers.CharField(
        max_length=4000,
        help_text="Every buyer and seller of the case reads it: never name the other disputes or their parties.",
    )


class CaseApproveInSerializer(serializers.Serializer):
    ruling = serializers.IntegerField(min_value=1, help_text="The id of the ruling waiting for approval, as read.")


class CaseListSerializer(serializers.ModelSerializer):
    disputes_count = serializers.IntegerField(read_only=True)
    created_by = serializers.CharField(source="created_by.username")

    class Meta:
        model = Case
        fields = ["id", "public_reason", "status", "disputes_count", "created_by", "created_at", "ruled_at"]


def case_ruling_out(ruling: CaseRuling | None) -> dict | None:
    if ruling is None:
        return None
    return {
        "id": ruling.pk,
        "status": ruling.status,
        "outcome": ruling.outcome,
        "percent": str(ruling.percent) if ruling.percent is not None else None,
        "amounts": ruling.amounts,
        "totals": [{"currency": c, "amount": a} for c, a in ruling.totals.items()],
        "note": ruling.note,
        "proposed_by": ruling.proposed_by.username,
        "approved_by": ruling.approved_by.username if ruling.approved_by else None,
        "created_at": ruling.created_at.isoformat(),
        "decided_at": ruling.decided_at.isoformat() if ruling.decided_at else None,
    }


def case_out(case: Case, *, suggestions: bool = True) -> dict:
    """A case as the dispute team reads it: every member with its state, amounts and clocks, the totals at
    stake, the ruling waiting or applied, and the suggested disputes to link."""
    from disputes.cases import at_stake, case_members, case_suggestions, needs_approval

    members = case_members(case)
    stake = at_stake(members)
    ruling = case.rulings.exclude(status=CaseRuling.Status.WITHDRAWN).select_related("proposed_by", "approved_by")
    found = case_suggestions(case=case) if suggestions and not case.is_ruled else []
    return {
        "id": case.pk,
        "public_reason": case.public_reason,
        "note": case.note,
        "status": case.status,
        "created_by": case.created_by.username,
        "created_at": case.created_at.isoformat(),
        "ruled_at": case.ruled_at.isoformat() if case.ruled_at else None,
        "disputes": [
            {
                "id": m.dispute.pk,
                "order": m.dispute.order.number,
                "state": m.dispute.state,
                "awaiting": awaiting(m.dispute),
                "currency": m.currency,
                "at_stake": money_str(m.at_stake, m.currency),
                "worth": money_str(m.worth, m.currency),
                "ruled_amount": money_str(m.ruled, m.currency) if m.ruled is not None else None,
                "respond_by": m.dispute.respond_by.isoformat() if m.dispute.respond_by else None,
                "escalate_at": m.dispute.escalate_at.isoformat() if m.dispute.escalate_at else None,
                "paused_until": m.dispute.paused_until.isoformat() if m.dispute.paused_until else None,
                "assignee": m.dispute.assignee.username if m.dispute.assignee else None,
            }
            for m in members
        ],
        "at_stake": _totals_out(stake),
        "needs_approval": needs_approval(stake),
        "ruling": case_ruling_out(ruling.first()),
        "suggestions": [
            {"dispute": f.dispute.pk, "order": f.dispute.order.number, "state": f.dispute.state, "why": f.why}
            for f in found
        ],
    }


class CaseMemberDoc(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.CharField()
    state = serializers.CharField()
    awaiting = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    at_stake = serializers.CharField(help_text="What the buyer asks now, in the currency's minor unit.")
    worth = serializers.CharField(help_text="The most a ruling can give the buyer from this dispute.")
    ruled_amount = serializers.CharField(allow_null=True, help_text="The buyer's total under the case's ruling.")
    respond_by = serializers.DateTimeField(allow_null=True)
    escalate_at = serializers.DateTimeField(allow_null=True)
    paused_until = serializers.DateTimeField(allow_null=True)
    assignee = serializers.CharField(allow_null=True)


class TotalDoc(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.CharField()


class CaseRulingDoc(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CaseRuling.Status.choices)
    outcome = serializers.CharField()
    percent = serializers.CharField(allow_null=True)
    amounts = serializers.DictField(child=serializers.CharField(), help_text="The buyer's total, by dispute id.")
    totals = TotalDoc(many=True)
    note = serializers.CharField()
    proposed_by = serializers.CharField()
    approved_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class SuggestionDoc(serializers.Serializer):
    dispute = serializers.IntegerField()
    order = serializers.CharField()
    state = serializers.CharField()
    why = serializers.ListField(
        child=serializers.ChoiceField(choices=["tracking", "store_reason_week", "carrier_week"])
    )


class CaseSerializer(serializers.Serializer):
    """The shape of `case_out` (documentation for the schema)."""

    id = serializers.IntegerField()
    public_reason = serializers.CharField()
    note = serializers.CharField()
    status = serializers.ChoiceField(choices=Case.Status.choices)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    ruled_at = serializers.DateTimeField(allow_null=True)
    disputes = CaseMemberDoc(many=True)
    at_stake = TotalDoc(many=True, help_text="The live members' total at stake, currency by currency.")
    needs_approval = serializers.ListField(
        child=serializers.CharField(), help_text="The currencies whose total is above their approval threshold."
    )
    ruling = CaseRulingDoc(allow_null=True, help_text="The ruling waiting for approval or applied, or null.")
    suggestions = SuggestionDoc(many=True, help_text="Live disputes that look like sharing the cause.")
