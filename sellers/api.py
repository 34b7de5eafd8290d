from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from sellers.models import Store
from sellers.serializers import ReturnPolicySerializer
from sellers.services import return_policy_update, store_policy


class ReturnPolicyApi(APIView):
    """Any signed-in user reads a store's current policy; only its owner replaces it."""

    @extend_schema(responses=ReturnPolicySerializer)
    def get(self, request, slug: str):
        store = get_object_or_404(Store, slug=slug)
        return Response(ReturnPolicySerializer(store_policy(store)).data)

    @extend_schema(request=ReturnPolicySerializer, responses=ReturnPolicySerializer)
    def put(self, request, slug: str):
        store = get_object_or_404(Store, slug=slug)
        serializer = ReturnPolicySerializer(data=request.data)
        # Ownership before validation: a stranger learns nothing from field errors.
        if store.owner_id != request.user.pk:
            raise PermissionDenied("Only the store owner can change its return policy.")
        serializer.is_valid(raise_exception=True)
        policy = return_policy_update(
            actor=request.user, store=store, **ReturnPolicySerializer.to_model_fields(serializer.validated_data)
        )
        return Response(ReturnPolicySerializer(policy).data)
