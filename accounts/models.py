import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

DISPUTE_TEAM_GROUP = "Dispute team"
PLATFORM_GROUP = "Platform"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class User(AbstractUser):
    """A person or service account. Roles come from data, not from a flag on the user:
    a seller owns a store, the dispute team is a group, the platform holds order permissions."""

    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text=_("Times are shown to this user in this zone."),
    )
    # Blank: never chose. Pages then follow the browser (accounts/middleware.py).
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        default="",
        choices=settings.LANGUAGES,
        help_text=_("Pages, notices and emails are written in this language."),
    )
    # The first of the site's languages the browser asked for (Accept-Language) at the last sign-in, at any
    # door: what a person who never chose reads, in pages and in the notices and emails sent to them.
    signin_language = models.CharField(
        _("language at the last sign-in"), max_length=10, blank=True, default="", editable=False
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def reading_language(self) -> str:
        """The language to write to this person in when they are not here to ask (notices, emails, the
        language of their messages): their choice, else their browser's at the last sign-in, else the
        site's (English)."""
        return self.language or self.signin_language or settings.LANGUAGE_CODE


class SignInFailure(models.Model):
    """One failed password check, at any door (accounts.throttle counts them over a window)."""

    account = models.CharField(max_length=64)  # sha256 of the lower-cased username tried
    address = models.CharField(max_length=45)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["account", "at"], name="signin_failure_account"),
            models.Index(fields=["address", "at"], name="signin_failure_address"),
            models.Index(fields=["at"], name="signin_failure_at"),
        ]

    def __str__(self) -> str:
        return f"{self.address} at {self.at:%Y-%m-%d %H:%M:%S}"


class KnownAddress(models.Model):
    """An address a user has signed in from: during an attack on the account, it is not delayed."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="known_addresses")
    address = models.CharField(max_length=45)
    last_signed_in_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "address"], name="one_known_address_row")]

    def __str__(self) -> str:
        return f"{self.user_id} from {self.address}"


class DemoAccount(models.Model):
    """A user that `seed_demo` created. seed_demo refuses a database holding any other user, so
    it can never touch real people's accounts (or reset their passwords)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="demo_account")

    def __str__(self) -> str:
        return f"demo {self.user_id}"
