"""API sign-in: a token for a username and password (and a code, with two-step sign-in), stored
hashed and expiring (django-rest-knox); sign-out revokes it. The door shares the pages' throttle."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import throttle, two_step
from core.api import error_body
from core.audit import audit


class TokenRequest(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    otp = serializers.CharField(max_length=20, required=False, allow_blank=True)


class TokenView(APIView):
    """POST {username, password[, otp]} → {token, expires}. Past the sign-in limits: 429."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []  # accounts.throttle counts failures per account and address

    @extend_schema(
        request=TokenRequest,
        responses=inline_serializer(
            "TokenResponse", {"token": serializers.CharField(), "expires": serializers.DateTimeField()}
        ),
    )
    def post(self, request):
        data = TokenRequest(data=request.data)
        data.is_valid(raise_exception=True)
        username, password = data.validated_data["username"], data.validated_data["password"]
        attempt = throttle.begin(request, username, door="api")
        if isinstance(attempt, throttle.Refusal):
            return _too_many(attempt.wait_seconds)
        user = authenticate(request._request, username=username, password=password)
        if user is None:
            throttle.failed(request, attempt)
            # 400 as before (the contract clients rely on); the throttle has counted it.
            return Response(
                error_body("invalid", _("Unable to sign in with that username and password.")),
                status=status.HTTP_400_BAD_REQUEST,
            )
        if two_step.must_use_two_step(user):
            throttle.not_a_guess(attempt)  # the password was right; the code decides
            if not two_step.has_two_step(user):
                return Response(
                    error_body("otp_required", _("Set up two-step sign-in on the website, then sign in with a code.")),
                    status=status.HTTP_401_UNAUTHORIZED,
                )
            code = data.validated_data.get("otp") or ""
            if not code:
                return Response(
                    error_body("otp_required", _("Give the code from your authenticator app in `otp`.")),
                    status=status.HTTP_401_UNAUTHORIZED,
                )
            attempt = throttle.begin(request, username, door="api_code")
            if isinstance(attempt, throttle.Refusal):
                return _too_many(attempt.wait_seconds)
            wait = two_step.code_wait(user)
            if wait:
                throttle.not_a_guess(attempt)
                return _too_many(wait)
            if two_step.verify(user, code) is None:
                throttle.failed(request, attempt)
                return Response(
                    error_body("otp_invalid", _("That code is not right; give the current one.")),
                    status=status.HTTP_401_UNAUTHORIZED,
                )
        throttle.succeeded(request, user, attempt)
        token, key = AuthToken.objects.create(user)
        return Response({"token": key, "expires": token.expiry})


def _too_many(seconds: int) -> Response:
    body = error_body(
        "too_many_requests",
        _("Too many failed sign-ins for this account or from this network. Try again in %(n)s seconds.")
        % {"n": seconds},
    )
    return Response(body, status=429, headers={"Retry-After": str(seconds)})


class LogoutView(APIView):
    """Revoke the token this request was made with."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if isinstance(request.auth, AuthToken):
            request.auth.delete()
            audit("token.revoked", user=request.user.username, why="logout", count=1)
        return Response(status=status.HTTP_204_NO_CONTENT)
