from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from core import read_cache
from core.throttles import with_write_throttle
from orders import services
from orders.filters import OrderFilter
from orders.models import Carrier, ExtensionRequest, Order
from orders.selectors import order_get_for, order_read_version, orders_annotated, orders_visible_to
from orders.serializers import (
    CarrierSerializer,
    DeliverySerializer,
    ExtensionDeclineSerializer,
    ExtensionGrantSerializer,
    ExtensionRequestSerializer,
    OrderCreateSerializer,
    OrderListSerializer,
    OrderSerializer,
    ShipmentSerializer,
)


def _require_platform(user) -> None:
    if not roles.is_platform(user):
        raise PermissionDenied(_("Only the marketplace platform may record orders and their shipments."))


def _detail(order: Order) -> Order:
    """Reload an order with everything its detail shows, in a fixed number of queries."""
    return (
        orders_annotated(Order.objects.select_related("store__owner", "carrier", "buyer", "shipment_carrier"))
        .prefetch_related(
            "items", Prefetch("extension_requests", queryset=ExtensionRequest.objects.order_by("-created_at"))
        )
        .get(pk=order.pk)
    )


class CarrierListApi(generics.ListAPIView):
    serializer_class = CarrierSerializer
    queryset = Carrier.objects.filter(is_active=True)


class OrderListCreateApi(generics.ListAPIView):
    """GET: the caller's orders (filters status, window). POST: the platform creates an order."""

    serializer_class = OrderListSerializer
    filterset_class = OrderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return Order.objects.none()
        return orders_visible_to(self.request.user)

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderSerializer, 200: OrderSerializer})
    def post(self, request):
        _require_platform(request.user)
        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order, created = services.order_create(
            actor=request.user,
            number=data["number"],
            buyer=data["buyer"],
            store=data["seller"],
            carrier=data["carrier"],
            placed_at=data["placed_at"],
            ship_by=data["ship_by"],
            total=data["total"],
            currency=data["currency"],
            items=data["items"],
        )
        return Response(
            OrderSerializer(_detail(order)).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class OrderDetailApi(APIView):
    @extend_schema(responses=OrderSerializer)
    def get(self, request, number: str):
        if not read_cache.enabled():
            return Response(OrderSerializer(_detail(order_get_for(request.user, number))).data)
        version = order_read_version(request.user, number)  # the access check too: 404 alike

        def build():
            return OrderSerializer(_detail(Order.objects.only("pk").get(number=number))).data

        return read_cache.cached_response("order", [number], version, request, build)


class ShipmentApi(APIView):
    @extend_schema(request=ShipmentSerializer, responses=OrderSerializer)
    def post(self, request, number: str):
        _require_platform(request.user)
        order = get_object_or_404(Order, number=number)
        serializer = ShipmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_record_shipment(actor=request.user, order=order, **serializer.validated_data)
        return Response(OrderSerializer(_detail(order)).data)


class DeliveryApi(APIView):
    @extend_schema(request=DeliverySerializer, responses=OrderSerializer)
    def post(self, request, number: str):
        _require_platform(request.user)
        order = get_object_or_404(Order, number=number)
        serializer = DeliverySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_record_delivery(actor=request.user, order=order, **serializer.validated_data)
        return Response(OrderSerializer(_detail(order)).data)


class ExtensionRequestApi(APIView):
    write_scope = "extension"
    throttle_classes = with_write_throttle()
    """The buyer asks for more days of protection."""

    @extend_schema(request=ExtensionRequestSerializer, responses={201: OrderSerializer})
    def post(self, request, number: str):
        order = order_get_for(request.user, number)
        if not roles.is_order_buyer(request.user, order):
            raise PermissionDenied(_("Only the buyer can ask for an extension; the seller grants one."))
        serializer = ExtensionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.extension_request(buyer=request.user, order=order, **serializer.validated_data)
        return Response(OrderSerializer(_detail(order)).data, status=status.HTTP_201_CREATED)


class ExtensionGrantApi(APIView):
    """The seller grants more days of protection."""

    @extend_schema(
        request=ExtensionGrantSerializer,
        responses=OrderSerializer,
        parameters=[OpenApiParameter("number", str, "path")],
    )
    def post(self, request, number: str):
        order = order_get_for(request.user, number)
        if not roles.is_order_seller(request.user, order):
            raise PermissionDenied(_("Only the store owner can grant an extension."))
        serializer = ExtensionGrantSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.extension_grant(seller=request.user, order=order, **serializer.validated_data)
        return Response(OrderSerializer(_detail(order)).data)


class ExtensionDeclineApi(APIView):
    """The seller declines the buyer's waiting extension request, with a reason the buyer reads."""

    @extend_schema(
        request=ExtensionDeclineSerializer,
        responses=OrderSerializer,
        parameters=[OpenApiParameter("number", str, "path")],
    )
    def post(self, request, number: str):
        order = order_get_for(request.user, number)
        if not roles.is_order_seller(request.user, order):
            raise PermissionDenied(_("Only the store owner can decline an extension."))
        serializer = ExtensionDeclineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.extension_decline(seller=request.user, order=order, **serializer.validated_data)
        return Response(OrderSerializer(_detail(order)).data)
