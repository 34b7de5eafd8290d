"""REST API for linked cases (disputes/cases.py): the dispute team's alone; anyone else gets 403."""

from django.db.models import Count
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from core.errors import RuleViolation
from disputes import serializers as s
from disputes.cases import (
    case_add,
    case_create,
    case_remove,
    case_rule,
    case_ruling_approve,
    case_ruling_withdraw,
)
from disputes.idempotency import idempotent
from disputes.models import Case


def _team_only(request) -> None:
    if not roles.is_dispute_team(request.user):
        raise RuleViolation("forbidden", _("Only the dispute team works with linked cases."), status=403)


def _case(pk) -> Case:
    found = Case.objects.select_related("created_by").filter(pk=pk).first()
    if found is None:
        raise RuleViolation("not_found", _("Not found."), status=404)
    return found


def _respond(pk: int, code=status.HTTP_200_OK) -> Response:
    return Response(s.case_out(_case(pk)), status=code)


class CaseListCreateApi(generics.ListAPIView):
    """The cases, newest first (filter `status`: open, ruled); POST creates one with the disputes named."""

    serializer_class = s.CaseListSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Case.objects.none()
        _team_only(self.request)
        cases = Case.objects.select_related("created_by").annotate(disputes_count=Count("disputes"))
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in Case.Status.values:
                raise RuleViolation("invalid", _("Choose a status: %s.") % ", ".join(Case.Status.values), status=400,
                                    fields={"status": [_("One of: %s.") % ", ".join(Case.Status.values)]})  # fmt: skip
            cases = cases.filter(status=wanted)
        return cases.order_by("-created_at", "-id")

    @extend_schema(request=s.CaseInSerializer, responses={201: s.CaseSerializer})
    def post(self, request):
        _team_only(request)
        serializer = s.CaseInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = case_create(staff=request.user, **serializer.validated_data)
        return _respond(case.pk, status.HTTP_201_CREATED)


class CaseDetailApi(APIView):
    @extend_schema(responses=s.CaseSerializer)
    def get(self, request, pk: int):
        _team_only(request)
        return _respond(pk)


class CaseDisputesApi(APIView):
    """Link one more dispute (`dispute`): 201 with the case."""

    @extend_schema(request=s.CaseDisputeInSerializer, responses={201: s.CaseSerializer})
    def post(self, request, pk: int):
        _team_only(request)
        case = _case(pk)
        serializer = s.CaseDisputeInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case_add(staff=request.user, case=case, dispute=serializer.validated_data["dispute"])
        return _respond(case.pk, status.HTTP_201_CREATED)


class CaseDisputeApi(APIView):
    """Take a dispute out of the case before its ruling: 204."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int, dispute: int):
        _team_only(request)
        case_remove(staff=request.user, case=_case(pk), dispute_id=dispute)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CaseRulingApi(APIView):
    """One ruling for every live member: 200 ruled, or 202 when it waits for a second member's approval."""

    @extend_schema(request=s.CaseRulingInSerializer, responses={200: s.CaseSerializer, 202: s.CaseSerializer})
    def post(self, request, pk: int):
        _team_only(request)
        case = _case(pk)

        def act():
            serializer = s.CaseRulingInSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            result, _ruling = case_rule(staff=request.user, case=case, **serializer.validated_data)
            pending = result == "pending"
            response = _respond(case.pk, status.HTTP_202_ACCEPTED if pending else status.HTTP_200_OK)
            if pending:
                response.data["detail"] = _("The ruling waits for a second team member's approval.")
            return response

        return idempotent(request, self, act)


class CaseRulingApproveApi(APIView):
    """A second team member approves the ruling waiting on the case (`ruling`: the id they read): it applies,
    as proposed."""

    @extend_schema(request=s.CaseApproveInSerializer, responses=s.CaseSerializer)
    def post(self, request, pk: int):
        _team_only(request)
        case = _case(pk)

        def act():
            serializer = s.CaseApproveInSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            case_ruling_approve(staff=request.user, case=case, ruling=serializer.validated_data["ruling"])
            return _respond(case.pk)

        return idempotent(request, self, act)


class CaseRulingWithdrawApi(APIView):
    """Withdraw the ruling waiting for approval."""

    @extend_schema(request=None, responses=s.CaseSerializer)
    def post(self, request, pk: int):
        _team_only(request)
        case = _case(pk)
        case_ruling_withdraw(staff=request.user, case=case)
        return _respond(case.pk)
