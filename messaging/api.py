from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from core import read_cache
from core.throttles import with_write_throttle
from messaging.models import Message
from messaging.selectors import thread_messages, unread_by_order
from messaging.serializers import MessageInSerializer, MessageSerializer, NotificationSerializer, UnreadSerializer
from messaging.services import message_post, thread_mark_read
from notifications.models import Notification
from notifications.services import unread_count
from orders.selectors import order_get_for, order_read_version

# The version of everything a thread's page of messages is built from (core/read_cache.py): the order `o`,
# its messages, their photos and their authors.
_MESSAGES = "thread_id IN (SELECT id FROM messaging_thread WHERE order_id = o.id)"
_MESSAGE_IDS = (
    "SELECT id FROM messaging_message WHERE thread_id IN (SELECT id FROM messaging_thread WHERE order_id = o.id)"
)
_AUTHOR_IDS = (
    "SELECT author_id FROM messaging_message WHERE thread_id IN (SELECT id FROM messaging_thread WHERE order_id = o.id)"
)
THREAD_VERSION = (
    read_cache.row_version("o"),
    read_cache.row_version("s"),
    read_cache.rows_version("messaging_thread", "order_id = o.id"),
    read_cache.rows_version("messaging_message", _MESSAGES),
    read_cache.rows_version("messaging_photo", f"message_id IN ({_MESSAGE_IDS})"),
    read_cache.rows_version("accounts_user", f"id IN ({_AUTHOR_IDS})"),
)


class ThreadApi(generics.ListAPIView):
    write_scope = "messages"
    throttle_classes = with_write_throttle()
    """GET: the order's thread, oldest first. POST (multipart): body and up to 6 images."""

    serializer_class = MessageSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Message.objects.none()
        return thread_messages(order_get_for(self.request.user, self.kwargs["number"], conversation=True))

    def list(self, request, *args, **kwargs):
        if not read_cache.enabled():
            return super().list(request, *args, **kwargs)
        number = self.kwargs["number"]
        version = order_read_version(request.user, number, conversation=True, parts=THREAD_VERSION)  # 404 alike
        team = roles.is_dispute_team(request.user)  # the team sees which member wrote

        def build():
            return super(ThreadApi, self).list(request, *args, **kwargs).data

        return read_cache.cached_response("thread", [number, team, request.GET.urlencode()], version, request, build)

    @extend_schema(request={"multipart/form-data": MessageInSerializer}, responses={201: MessageSerializer})
    def post(self, request, number: str):
        order = order_get_for(request.user, number, conversation=True)
        uploads = request.FILES.getlist("images") if hasattr(request, "FILES") else []
        serializer = MessageInSerializer(data={"body": request.data.get("body", "")})
        serializer.is_valid(raise_exception=True)
        message = message_post(
            author=request.user, order=order, body=serializer.validated_data["body"], uploads=uploads
        )
        message = thread_messages(order).get(pk=message.pk)
        return Response(MessageSerializer(message, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ThreadReadApi(APIView):
    @extend_schema(request=None, responses=UnreadSerializer)
    def post(self, request, number: str):
        order = order_get_for(request.user, number, conversation=True)
        thread_mark_read(user=request.user, order=order)
        return Response({"order": order.number, "unread": 0, "detail": _("Marked as read.")})


class UnreadApi(APIView):
    @extend_schema(responses=UnreadSerializer(many=True))
    def get(self, request):
        counts = unread_by_order(request.user)
        return Response([{"order": number, "unread": n} for number, n in sorted(counts.items())])


class NotificationsApi(generics.ListAPIView):
    """The caller's notifications, newest first, with the unread count."""

    serializer_class = NotificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return Notification.objects.filter(recipient=self.request.user).order_by("-created_at", "-id")

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        response.data["unread"] = unread_count(request.user)
        return response


class NotificationsReadApi(APIView):
    @extend_schema(request=None, responses=UnreadSerializer)
    def post(self, request):
        Notification.objects.filter(recipient=request.user, read_at__isnull=True).update(read_at=timezone.now())
        return Response({"unread": 0})
