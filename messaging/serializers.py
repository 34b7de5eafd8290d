from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts import roles
from messaging.models import AuthorRole, Message, Photo
from notifications.render import render


class PhotoSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = ["id", "url", "thumbnail_url", "width", "height", "sha256"]

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, photo) -> str:
        return self._absolute(reverse("photo", args=[photo.pk]))

    def get_thumbnail_url(self, photo) -> str:
        return self._absolute(reverse("photo-thumbnail", args=[photo.pk]))


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    images = PhotoSerializer(source="photos", many=True)

    class Meta:
        model = Message
        fields = ["id", "author", "role", "body", "created_at", "images"]

    def get_author(self, message) -> str:
        request = self.context.get("request")
        # Parties see the team as one voice; the team sees which member wrote.
        if message.role == AuthorRole.TEAM and not (request and roles.is_dispute_team(request.user)):
            return str(_("Dispute team"))
        return message.author.username


class MessageInSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=settings.MESSAGE_MAX_LENGTH, allow_blank=True, required=False, default="")
    images = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class UnreadSerializer(serializers.Serializer):
    order = serializers.CharField()
    unread = serializers.IntegerField()


# A notification in its reader's words (language and time zone), put into words now from its kind
# and parameters; `url` is absolute (SITE_URL). (A comment, not a docstring: the schema shows docstrings.)
class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    read = serializers.SerializerMethodField()

    def get_read(self, note) -> bool:
        return note.read_at is not None

    def to_representation(self, note):
        data = super().to_representation(note)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        recipient = user if getattr(user, "pk", None) == note.recipient_id else None
        notice = render(note, recipient=recipient, language=translation.get_language())  # the call's language
        data.update(title=notice.title, body=notice.body, url=notice.url)
        return data
