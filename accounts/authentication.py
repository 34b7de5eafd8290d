"""API authentication: django-rest-knox tokens (stored hashed, expiring), with our two-step rule."""

import binascii
from hmac import compare_digest

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions

from accounts import two_step
from accounts.middleware import activate_api_language
from accounts.models import User


class ExpiringTokenAuthentication(TokenAuthentication):
    """Knox's tokens (hashed, expiring), refused for someone who must use two-step sign-in and
    has not set it up (a team member): their token was never issued, or predates the rule.

    One query a request: the token, its user and whether they have two-step devices. (Knox's own
    lookup also reads all the user's other tokens to delete the expired ones; here an expired token
    is deleted when it is used, and `forget_expired_tokens` deletes the rest in the sweep.)"""

    def authenticate(self, request):
        """As knox does; then, knowing whose token it is, speak their language unless the call asks
        for one (Accept-Language): the middleware ran before DRF knew who was calling."""
        found = super().authenticate(request)
        if found is not None:
            activate_api_language(request, found[0])
        return found

    def authenticate_credentials(self, token):
        try:
            token = token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        found = _tokens_with_users(token[: CONSTANTS.TOKEN_KEY_LENGTH])
        for auth_token in found:
            if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                auth_token.delete()
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(_("Invalid token."))

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        if two_step.must_use_two_step(user) and not two_step.has_two_step(user):
            raise exceptions.AuthenticationFailed(_("Set up two-step sign-in on the website first."))
        return user, token


def _tokens_with_users(token_key: str) -> list:
    """The tokens under `token_key`, each with its user, and whether the user has a confirmed two-step
    device (so `two_step.has_two_step` asks nothing more): one query, written out once rather than built
    by the ORM on every API request."""
    Token = get_token_model()
    token_columns = [field.column for field in Token._meta.concrete_fields]
    user_fields = User._meta.concrete_fields
    columns = [f"t.{c}" for c in token_columns] + [f"u.{field.column}" for field in user_fields]
    sql = (
        f"SELECT {', '.join(columns)},"  # noqa: S608 - the models' own column names; the key is a parameter
        f" EXISTS (SELECT 1 FROM {TOTPDevice._meta.db_table} d WHERE d.user_id = u.id AND d.confirmed),"
        f" EXISTS (SELECT 1 FROM {StaticDevice._meta.db_table} d WHERE d.user_id = u.id AND d.confirmed)"
        f" FROM {Token._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id WHERE t.token_key = %s"
    )
    found = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_key])
        rows = cursor.fetchall()
    for row in rows:
        token_values, user_values = row[: len(token_columns)], row[len(token_columns) : -2]
        token_fields = Token._meta.concrete_fields
        auth_token = Token.from_db(
            connection.alias, [f.attname for f in token_fields], _converted(token_fields, token_values)
        )
        user = User.from_db(connection.alias, [f.attname for f in user_fields], _converted(user_fields, user_values))
        user._has_two_step = row[-2] or row[-1]
        auth_token.user = user
        found.append(auth_token)
    return found


def _converted(fields, values) -> list:
    """Values from a raw row as the model holds them: the database backend's converters, then the field's
    (what the ORM's compiler does for a queryset; on SQLite the backend's make the datetimes aware)."""
    out = []
    for field, value in zip(fields, values, strict=True):
        column = field.get_col(field.model._meta.db_table)
        for convert in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
            value = convert(value, column, connection)
        out.append(value)
    return out


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
