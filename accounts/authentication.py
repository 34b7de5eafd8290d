"""API authentication: django-rest-knox tokens (stored hashed, expiring), with our two-step rule."""

import binascii
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework import exceptions

from accounts import two_step


class ExpiringTokenAuthentication(TokenAuthentication):
    """Knox's tokens (hashed, expiring), refused for someone who must use two-step sign-in and
    has not set it up (a team member): their token was never issued, or predates the rule.

    One query a request: the token, its user and whether they have two-step devices. (Knox's own
    lookup also reads all the user's other tokens to delete the expired ones; here an expired token
    is deleted when it is used, and `forget_expired_tokens` deletes the rest in the sweep.)"""

    def authenticate_credentials(self, token):
        try:
            token = token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        found = (
            get_token_model()
            .objects.filter(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH])
            .select_related("user")
            .annotate(**two_step.device_annotations())
        )
        for auth_token in found:
            if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                auth_token.delete()
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
            if compare_digest(digest, auth_token.digest):
                auth_token.user._has_two_step = auth_token._totp or auth_token._static
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(_("Invalid token."))

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        if two_step.must_use_two_step(user) and not two_step.has_two_step(user):
            raise exceptions.AuthenticationFailed(_("Set up two-step sign-in on the website first."))
        return user, token


class ExpiringTokenScheme(OpenApiAuthenticationExtension):
    """How the schema describes the token: `Authorization: Token <key>` from POST /api/auth/token/."""

    target_class = "accounts.authentication.ExpiringTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": _('Token-based authentication: "Token <key>", the key from POST /api/auth/token/.'),
        }


def forget_expired_tokens(*, now=None) -> int:
    """Delete every expired API token (the sweep runs this); returns how many."""
    deleted, _by_model = get_token_model().objects.filter(expiry__lt=now or timezone.now()).delete()
    return deleted
