"""API authentication: django-rest-knox tokens (stored hashed, expiring), with our two-step rule."""

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from rest_framework import exceptions

from accounts import two_step


class ExpiringTokenAuthentication(TokenAuthentication):
    """Knox's tokens (hashed, expiring), refused for someone who must use two-step sign-in and
    has not set it up (a team member): their token was never issued, or predates the rule."""

    def authenticate_credentials(self, token):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        return super().authenticate_credentials(token)

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
