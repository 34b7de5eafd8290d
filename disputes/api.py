import json

from django.db.models import Prefetch
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from core import read_cache
from core.errors import RuleViolation
from core.throttles import with_write_throttle
from disputes import serializers as s
from disputes.idempotency import idempotent
from disputes.models import ClaimItem, Dispute, DisputeEvent, Evidence, Proposal, State
from disputes.pauses import dispute_pause, dispute_resume, more_time_answer, more_time_ask
from disputes.review import ruling_submit
from disputes.selectors import dispute_get_for, dispute_read_version, disputes_visible_to
from disputes.services import dispute_act_by, dispute_open, evidence_add, refuse_unless_buyer
from messaging.models import Photo
from messaging.photos import clean_uploads
from orders.selectors import order_get_for


def dispute_detail(dispute_id: int, *, visible_to=None) -> Dispute:
    """A dispute with everything its detail shows; `visible_to` a user: only if they may see it (404 alike
    for missing and forbidden), in the same query."""
    base = Dispute.objects if visible_to is None else disputes_visible_to(visible_to)
    found = (
        base.select_related("order__store", "order__buyer", "assignee", "return_carrier", "from_request", "case")
        .prefetch_related(
            Prefetch("proposals", queryset=Proposal.objects.select_related("author")),
            Prefetch(
                "evidence",
                queryset=Evidence.objects.prefetch_related(
                    Prefetch("photos", queryset=Photo.objects.order_by("position"))
                ),
            ),
            Prefetch("events", queryset=DisputeEvent.objects.select_related("actor")),
            "refunds",
            "more_time",
            Prefetch("claim_items", queryset=ClaimItem.objects.select_related("order_item")),
        )
        .filter(pk=dispute_id)
        .first()
    )
    if found is None:
        raise Http404
    return found


def items_given(data) -> list[dict] | None:
    """The items a claim names, `[{"item": id, "quantity": n}]`: a JSON list, or in a multipart form
    the same list as a JSON string. None (all of the order) when left out."""
    items = data.get("items") if hasattr(data, "get") else None
    if items in (None, ""):
        return None
    if isinstance(items, str):
        try:
            items = json.loads(items)
        except ValueError:
            items = None
    if not isinstance(items, list) or not items or not all(isinstance(entry, dict) for entry in items):
        raise RuleViolation(
            "invalid",
            _('Name the items as a list of {"item": id, "quantity": n}.'),
            status=400,
            fields={"items": [_('A list of {"item": id, "quantity": n}.')]},
        )
    return items


def respond(request, dispute, code=status.HTTP_200_OK) -> Response:
    return Response(s.DisputeSerializer(dispute_detail(dispute.pk), context={"request": request}).data, status=code)


class DisputeOpenApi(APIView):
    write_scope = "dispute_open"
    throttle_classes = with_write_throttle()
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request={"multipart/form-data": s.DisputeOpenSerializer}, responses={201: s.DisputeSerializer})
    def post(self, request, number: str):
        order = order_get_for(request.user, number)
        refuse_unless_buyer(request.user, order)  # before the body is read: the seller gets 409, not 400
        serializer = s.DisputeOpenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dispute = dispute_open(
            buyer=request.user,
            order=order,
            uploads=request.FILES.getlist("images") if request.FILES else [],
            items=items_given(request.data),
            **serializer.validated_data,
        )
        return respond(request, dispute, status.HTTP_201_CREATED)


class DisputeListApi(generics.ListAPIView):
    serializer_class = s.DisputeListSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Dispute.objects.none()
        disputes = disputes_visible_to(self.request.user).order_by("respond_by", "id")
        state = self.request.query_params.get("state")
        if state:
            if state not in State.values:
                from rest_framework.exceptions import ValidationError

                raise ValidationError({"state": [_("Choose one of: %s.") % ", ".join(State.values)]})
            disputes = disputes.filter(state=state)
        return disputes


class DisputeDetailApi(APIView):
    @extend_schema(responses=s.DisputeSerializer)
    def get(self, request, pk: int):
        if not read_cache.enabled():
            return respond(request, dispute_get_for(request.user, pk))
        version = dispute_read_version(request.user, pk)  # the access check too: 404 alike
        team = roles.is_dispute_team(request.user)

        def build():
            return s.DisputeSerializer(dispute_detail(int(pk)), context={"request": request}).data

        return read_cache.cached_response("dispute", [pk, team], version, request, build)


class DisputeActionApi(APIView):
    """POST /api/disputes/{id}/<action>/: one class per action, each a row of the workflow table."""

    action_name = ""
    input_serializer = s.NoteSerializer
    money_moving = False
    team_only = False
    parser_classes = [JSONParser, MultiPartParser, FormParser]  # a return's postage receipt is a photo

    def payload(self, data: dict) -> dict:
        return data

    def post(self, request, pk: int):
        dispute = dispute_get_for(request.user, pk)
        if self.team_only and not roles.is_dispute_team(request.user):
            raise RuleViolation("invalid_state", _("Only the dispute team can do this."))

        def act():
            serializer = self.input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            payload = self.payload(serializer.validated_data)
            receipt = request.FILES.getlist("images") if request.FILES and self.action_name == "return_shipment" else []
            if self.action_name == "return_shipment":
                clean_uploads(receipt)  # refused before anything moves
                payload["has_receipt"] = bool(receipt)
            updated = dispute_act_by(user=request.user, dispute=dispute, action=self.action_name, **payload)
            if receipt:
                evidence_add(author=request.user, dispute=updated, note=_("Return postage receipt"), uploads=receipt)
            return respond(request, updated)

        return idempotent(request, self, act) if self.money_moving else act()


def action_view(name, serializer=s.NoteSerializer, *, money=False, team=False, payload=None):
    attrs = {"action_name": name, "input_serializer": serializer, "money_moving": money, "team_only": team}
    if payload:
        attrs["payload"] = lambda self, data: payload(data)
    view = type(f"Dispute{name.title().replace('_', '')}Api", (DisputeActionApi,), attrs)
    return extend_schema(request=serializer, responses=s.DisputeSerializer)(view)


ProposalApi = action_view("propose", s.ProposalInSerializer)
AcceptApi = action_view("accept", s.NoteSerializer, money=True)
RejectApi = action_view("reject", s.NoteSerializer)
EscalateApi = action_view("escalate", s.NoteSerializer)
CancelApi = action_view("cancel", s.NoteSerializer)
ReturnShipmentApi = action_view("return_shipment", s.ReturnShipmentSerializer)
ReturnReceivedApi = action_view("return_received", s.ReturnReceivedSerializer, money=True)


class RulingApi(DisputeActionApi):
    """Staff rule. Above the approval threshold the ruling waits for a second member: 202."""

    @extend_schema(request=s.RulingSerializer, responses={200: s.DisputeSerializer, 202: s.DisputeSerializer})
    def post(self, request, pk: int):
        dispute = dispute_get_for(request.user, pk)
        if not roles.is_dispute_team(request.user):
            raise RuleViolation("invalid_state", _("Only the dispute team can rule."))

        def act():
            serializer = s.RulingSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            result, _subject = ruling_submit(staff=request.user, dispute=dispute, **serializer.validated_data)
            response = respond(
                request, dispute, status.HTTP_202_ACCEPTED if result == "pending" else status.HTTP_200_OK
            )
            if result == "pending":
                response.data["detail"] = _("The ruling waits for a second team member's approval.")
            return response

        return idempotent(request, self, act)


AppealApi = action_view("appeal", s.NoteSerializer)
ClaimApi = action_view("claim", s.NoteSerializer, team=True)
ReleaseApi = action_view("release", s.NoteSerializer, team=True)
# A dispute set aside as needing a person (a clock that could not run) is taken into the review queue.
TakeOverApi = action_view("take_over", s.NoteSerializer, team=True)


class PauseApi(APIView):
    """The team pauses a dispute's clocks (`reason`, `note`, `days` up to PAUSE_MAX_DAYS)."""

    @extend_schema(request=s.PauseInSerializer, responses=s.DisputeSerializer)
    def post(self, request, pk: int):
        dispute = dispute_get_for(request.user, pk)

        def act():
            if not roles.is_dispute_team(request.user):  # before the body is read: 409, not 400
                raise RuleViolation("invalid_state", _("Only the dispute team can pause a dispute's clocks."))
            serializer = s.PauseInSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return respond(request, dispute_pause(staff=request.user, dispute=dispute, **serializer.validated_data))

        return idempotent(request, self, act)


class ResumeApi(APIView):
    """The team ends a pause: each clock gets back exactly the time it had left."""

    @extend_schema(request=None, responses=s.DisputeSerializer)
    def post(self, request, pk: int):
        dispute = dispute_get_for(request.user, pk)
        return idempotent(request, self, lambda: respond(request, dispute_resume(staff=request.user, dispute=dispute)))


class MoreTimeApi(APIView):
    """A party asks the other for more days on the current deadline (`days`, `note`)."""

    @extend_schema(request=s.MoreTimeInSerializer, responses={201: s.DisputeSerializer})
    def post(self, request, pk: int):
        dispute = dispute_get_for(request.user, pk)

        def act():
            if roles.order_party(request.user, dispute.order) is None:  # before the body is read: 409, not 400
                raise RuleViolation(
                    "invalid_state", _("Only the buyer or the seller can ask each other for more time.")
                )
            serializer = s.MoreTimeInSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            more_time_ask(user=request.user, dispute=dispute, **serializer.validated_data)
            return respond(request, dispute, status.HTTP_201_CREATED)

        return idempotent(request, self, act)


class MoreTimeAnswerApi(APIView):
    """The other side accepts (`accept`: true) or declines the waiting request for more time."""

    @extend_schema(request=s.MoreTimeAnswerSerializer, responses=s.DisputeSerializer)
    def post(self, request, pk: int):
        dispute = dispute_get_for(request.user, pk)

        def act():
            if roles.order_party(request.user, dispute.order) is None:
                raise RuleViolation(
                    "invalid_state", _("Only the buyer or the seller can answer a request for more time.")
                )
            serializer = s.MoreTimeAnswerSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            more_time_answer(user=request.user, dispute=dispute, accept=serializer.validated_data["accept"])
            return respond(request, dispute)

        return idempotent(request, self, act)


class EvidenceApi(APIView):
    write_scope = "evidence"
    throttle_classes = with_write_throttle()
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request={"multipart/form-data": s.NoteSerializer}, responses={201: s.EvidenceSerializer})
    def post(self, request, pk: int):
        dispute = dispute_get_for(request.user, pk)
        serializer = s.NoteSerializer(data={"note": request.data.get("note", "")})
        serializer.is_valid(raise_exception=True)
        evidence = evidence_add(
            author=request.user,
            dispute=dispute,
            note=serializer.validated_data["note"],
            uploads=request.FILES.getlist("images") if request.FILES else [],
        )
        evidence = Evidence.objects.prefetch_related("photos").get(pk=evidence.pk)
        return Response(
            s.EvidenceSerializer(evidence, context={"request": request}).data, status=status.HTTP_201_CREATED
        )
