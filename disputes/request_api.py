"""The API of return and exchange requests (disputes/requests.py runs them)."""

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.models import User
from core.money import MoneyField, money_str
from core.throttles import with_write_throttle
from disputes import policy
from disputes.api import items_given
from disputes.idempotency import idempotent
from disputes.models import (
    ClaimItem,
    Evidence,
    RequestEvent,
    RequestKind,
    RequestState,
    ReturnCondition,
    ReturnRequest,
)
from disputes.requests import (
    CLOCKS,
    REASONS,
    default_outcome,
    moves_for,
    refuse_unless_order_buyer,
    request_act_by,
    request_open,
)
from disputes.serializers import EvidenceSerializer
from messaging.models import Photo
from orders.selectors import order_get_for
from orders.serializers import CarrierField

# --- reads ---------------------------------------------------------------------------------------


def requests_visible_to(user: User) -> QuerySet[ReturnRequest]:
    found = ReturnRequest.objects.select_related("order__store__owner", "order__buyer")
    if roles.is_dispute_team(user):
        return found
    return found.filter(Q(order__buyer=user) | Q(order__store__owner=user))


def request_get_for(user: User, request_id) -> ReturnRequest:
    """A request the user may see; missing and forbidden look the same (404)."""
    try:
        return requests_visible_to(user).get(pk=int(request_id))
    except (ReturnRequest.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def request_detail(request_id: int) -> ReturnRequest:
    return (
        ReturnRequest.objects.select_related(
            "order__store__owner", "order__buyer", "return_carrier", "replacement_carrier"
        )
        .prefetch_related(
            Prefetch("claim_items", queryset=ClaimItem.objects.select_related("order_item")),
            Prefetch("events", queryset=RequestEvent.objects.select_related("actor")),
            Prefetch(
                "evidence",
                queryset=Evidence.objects.prefetch_related(
                    Prefetch("photos", queryset=Photo.objects.order_by("position"))
                ),
            ),
            "refunds",
        )
        .get(pk=request_id)
    )


# --- serializers ---------------------------------------------------------------------------------


class ItemPickSerializer(serializers.Serializer):
    item = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1)


class RequestOpenSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    reason = serializers.ChoiceField(choices=[(r, r) for r in REASONS])
    items = ItemPickSerializer(many=True, required=False)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    variant = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ClaimItemSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="order_item_id")
    title = serializers.CharField(source="order_item.title")
    quantity = serializers.IntegerField()


class RequestEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = RequestEvent
        fields = ["id", "actor", "actor_party", "action", "from_state", "to_state", "payload", "created_at"]

    def get_actor(self, event) -> str | None:
        return event.actor.username if event.actor_id else None


class RequestSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    items = ClaimItemSerializer(source="claim_items", many=True)
    amount = MoneyField(currency_source="order.currency")
    refunded_amount = MoneyField(currency_source="order.currency")
    postage = serializers.SerializerMethodField()
    currency = serializers.CharField(source="order.currency")
    awaiting = serializers.SerializerMethodField()
    covered = serializers.SerializerMethodField()
    policy = serializers.SerializerMethodField()
    default_outcome = serializers.SerializerMethodField()
    return_address = serializers.SerializerMethodField()
    return_shipment = serializers.SerializerMethodField()
    replacement_shipment = serializers.SerializerMethodField()
    events = RequestEventSerializer(many=True)
    evidence = EvidenceSerializer(many=True)
    actions = serializers.SerializerMethodField()

    class Meta:
        model = ReturnRequest
        fields = [
            "id", "order", "kind", "reason", "items", "note", "variant", "state", "awaiting", "respond_by",
            "amount", "currency", "covered", "policy", "default_outcome", "decline_reason", "dispute_by",
            "return_address", "return_shipment", "postage", "replacement_shipment", "outcome", "refunded_amount",
            "dispute", "opened_at", "closed_at", "events", "evidence", "actions",
        ]  # fmt: skip

    def get_awaiting(self, obj) -> str | None:
        clock = CLOCKS.get(obj.state)
        return clock.waits_for if clock else None

    def get_covered(self, obj) -> str:
        return "full" if obj.fully_covered else "partial"

    def get_policy(self, obj) -> dict:
        """The terms that applied to this request, from the order's policy snapshot."""
        order = obj.order
        terms = policy.terms(order)
        period = policy.return_period(order)
        return {
            "accepts_returns": bool(terms.get("accepts_returns")),
            "return_days": terms.get("return_days"),
            "covered_reasons": policy.covered_reasons(order),
            "refund_without_return": bool(terms.get("refund_without_return")),
            "free_returns": bool(terms.get("free_returns")),
            "return_postage_payer": obj.postage_payer,
            "postage_cap": money_str(policy.postage_cap(order), order.currency),
            "return_period_ends": period[1].isoformat() if period else None,
            "condition_rules": terms.get("condition_rules", ""),
        }

    def get_default_outcome(self, obj) -> str | None:
        return default_outcome(obj)

    def get_return_address(self, obj) -> dict | None:
        if obj.kind == RequestKind.REFUND_ONLY or obj.state not in (
            RequestState.AWAITING_RETURN,
            RequestState.RETURN_IN_TRANSIT,
        ):
            return None
        return policy.terms(obj.order).get("return_address") or None

    def get_return_shipment(self, obj) -> dict | None:
        if not obj.return_shipped_at:
            return None
        return {
            "carrier": obj.return_carrier.code if obj.return_carrier else None,
            "tracking_number": obj.return_tracking_number,
            "shipped_at": obj.return_shipped_at,
            "condition": obj.return_condition or None,
        }

    def get_postage(self, obj) -> str | None:
        return money_str(obj.postage, obj.order.currency) if obj.postage is not None else None

    def get_replacement_shipment(self, obj) -> dict | None:
        if not obj.replacement_shipped_at:
            return None
        return {
            "carrier": obj.replacement_carrier.code if obj.replacement_carrier else None,
            "tracking_number": obj.replacement_tracking_number,
            "shipped_at": obj.replacement_shipped_at,
        }

    def get_actions(self, obj) -> list[str]:
        """What the caller may do now."""
        request = self.context.get("request")
        if request is None:
            return []
        side = roles.order_party(request.user, obj.order)
        if side is None:
            return []
        from disputes.models import Party

        return [move.action for move in moves_for(obj, Party(side))]


class RequestListSerializer(RequestSerializer):
    class Meta(RequestSerializer.Meta):
        fields = [
            "id", "order", "kind", "reason", "items", "state", "awaiting", "respond_by", "amount", "currency",
            "covered", "outcome", "dispute", "opened_at",
        ]  # fmt: skip


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class RequestReturnShipmentSerializer(serializers.Serializer):
    carrier = CarrierField()
    tracking_number = serializers.CharField(max_length=80)
    postage = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class ReplacementShipmentSerializer(serializers.Serializer):
    carrier = CarrierField()
    tracking_number = serializers.CharField(max_length=80)


class RequestReturnReceivedSerializer(serializers.Serializer):
    condition = serializers.ChoiceField(choices=ReturnCondition.choices)


class RequestNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


# --- views ---------------------------------------------------------------------------------------


def respond(request, obj: ReturnRequest, code=status.HTTP_200_OK) -> Response:
    return Response(RequestSerializer(request_detail(obj.pk), context={"request": request}).data, status=code)


class RequestOpenApi(APIView):
    write_scope = "dispute_open"
    throttle_classes = with_write_throttle()
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request=RequestOpenSerializer, responses={201: RequestSerializer})
    def post(self, request, number: str):
        order = order_get_for(request.user, number)
        refuse_unless_order_buyer(request.user, order)  # before the body: the seller gets 409, not 400
        if not hasattr(request.data, "get") or not hasattr(request.data, "__contains__"):
            raise ValidationError({"kind": [_("Send a JSON object with kind, reason and items.")]})
        data = {key: request.data.get(key) for key in ("kind", "reason", "note", "variant") if key in request.data}
        items = items_given(request.data)
        if items is not None:
            data["items"] = items
        serializer = RequestOpenSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        created = request_open(
            buyer=request.user,
            order=order,
            uploads=request.FILES.getlist("images") if request.FILES else [],
            **serializer.validated_data,
        )
        return respond(request, created, status.HTTP_201_CREATED)


class RequestListApi(generics.ListAPIView):
    serializer_class = RequestListSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReturnRequest.objects.none()
        found = requests_visible_to(self.request.user).prefetch_related(
            Prefetch("claim_items", queryset=ClaimItem.objects.select_related("order_item"))
        )
        state = self.request.query_params.get("state")
        if state:
            if state not in RequestState.values:
                raise ValidationError({"state": [_("Choose one of: %s.") % ", ".join(RequestState.values)]})
            found = found.filter(state=state)
        return found.order_by("-opened_at", "-id")


class RequestDetailApi(APIView):
    @extend_schema(responses=RequestSerializer)
    def get(self, request, pk: int):
        return respond(request, request_get_for(request.user, pk))


class RequestActionApi(APIView):
    action_name = ""
    input_serializer = RequestNoteSerializer
    money_moving = False
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def post(self, request, pk: int):
        found = request_get_for(request.user, pk)

        def act():
            serializer = self.input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            payload = dict(serializer.validated_data)
            if self.action_name == "return_shipment":
                payload["uploads"] = request.FILES.getlist("images") if request.FILES else []
            updated = request_act_by(user=request.user, request=found, action=self.action_name, **payload)
            return respond(request, updated)

        return idempotent(request, self, act) if self.money_moving else act()


def request_action(name, serializer=RequestNoteSerializer, *, money=False):
    attrs = {"action_name": name, "input_serializer": serializer, "money_moving": money}
    view = type(f"Request{name.title().replace('_', '')}Api", (RequestActionApi,), attrs)
    return extend_schema(request=serializer, responses=RequestSerializer)(view)


RequestApproveApi = request_action("approve", money=True)
RequestDeclineApi = request_action("decline", DeclineSerializer)
RequestReturnShipmentApi = request_action("return_shipment", RequestReturnShipmentSerializer)
RequestReturnReceivedApi = request_action("return_received", RequestReturnReceivedSerializer, money=True)
RequestReplacementShipmentApi = request_action("replacement_shipment", ReplacementShipmentSerializer)
RequestConfirmApi = request_action("confirm")
RequestCancelApi = request_action("cancel")
RequestToDisputeApi = request_action("to_dispute")
