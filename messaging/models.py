import base64
import uuid

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.models import Order


class Thread(models.Model):
    """The one conversation about an order, between its buyer and its store (and the team)."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="thread", verbose_name=_("order"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_message_at = models.DateTimeField(_("last message at"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("thread")
        verbose_name_plural = _("threads")

    def __str__(self) -> str:
        return f"Thread on {self.order}"


class AuthorRole(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    SELLER = "seller", _("Seller")
    TEAM = "team", _("Dispute team")


class Message(models.Model):
    """A message is evidence: parties never edit or delete it."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages", verbose_name=_("thread"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    role = models.CharField(_("role"), max_length=6, choices=AuthorRole.choices)
    body = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["thread", "created_at"])]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.author} on {self.thread.order_id}: {self.body[:40]}"


class Photo(models.Model):
    """A cleaned photo (see messaging.photos). Served only through the checked photo view."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, null=True, blank=True, related_name="photos")
    evidence = models.ForeignKey(
        "disputes.Evidence", on_delete=models.CASCADE, null=True, blank=True, related_name="photos"
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(max_length=200)
    thumbnail = models.FileField(max_length=200)
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    sha256 = models.CharField(_("SHA-256 of the original"), max_length=64, db_index=True)
    original_size = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "position"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return f"Photo {self.id} ({self.width}×{self.height})"


class ThreadState(models.Model):
    """Per user per thread: what they have read, how many messages from others came since, and
    when they were last emailed about it."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="states", verbose_name=_("thread"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="thread_states", verbose_name=_("user")
    )
    last_read_at = models.DateTimeField(_("last read at"), null=True, blank=True)
    # Kept with each message (under the thread's lock) and zeroed on reading, so every page's
    # header reads the user's few unread rows instead of counting all their messages.
    unread = models.PositiveIntegerField(default=0)
    last_emailed_at = models.DateTimeField(_("last emailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("thread read state")
        verbose_name_plural = _("thread read states")
        constraints = [models.UniqueConstraint(fields=["thread", "user"], name="one_state_per_user_per_thread")]
        indexes = [models.Index(fields=["user"], condition=models.Q(unread__gt=0), name="thread_state_unread")]

    def __str__(self) -> str:
        return f"{self.user} on {self.thread}"


class PendingUpload(models.Model):
    """A photo chosen on a form that was refused, kept so the next try need not choose it again.
    Already cleaned by the photo pipeline; only its owner may attach it, and it expires
    (`messaging.photos.PENDING_UPLOAD_MINUTES`) unless a message or evidence takes it first."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("file name"), max_length=100, blank=True)  # as chosen, to tell photos apart
    file = models.FileField(max_length=200)
    thumbnail = models.FileField(max_length=200)
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(_("SHA-256 of the original"), max_length=64)
    original_size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("pending upload")
        verbose_name_plural = _("pending uploads")

    def __str__(self) -> str:
        return f"Pending upload {self.id} of {self.owner_id} until {self.expires_at:%H:%M}"

    def thumbnail_src(self) -> str:
        """The thumbnail inline, as a data: URL: a pending upload has no address of its own and is
        shown only on its owner's form (the CSP allows data: images)."""
        try:
            with default_storage.open(self.thumbnail.name, "rb") as thumbnail:
                encoded = base64.b64encode(thumbnail.read()).decode("ascii")
        except OSError:  # expired and swept between finding and showing it
            return ""
        return f"data:{self.content_type};base64,{encoded}"
