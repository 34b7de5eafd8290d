"""Hostile input: schemathesis generates requests from our own OpenAPI schema for every operation,
as a buyer with real data behind the ids, and no response may be a server error."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from knox.models import AuthToken

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture
def alice_token(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import make_order

    make_order(buyer=world.alice, store=world.carols, number="FZ-1", shipped_at=timezone.now() - timedelta(days=8))
    return AuthToken.objects.create(world.alice)[1]


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail(case, alice_token):
    if case.path_parameters:
        for name in list(case.path_parameters):
            case.path_parameters[name] = {"number": "FZ-1", "slug": "carols-gadgets"}.get(
                name, case.path_parameters[name]
            )
    response = case.call(headers={"Authorization": f"Token {alice_token}"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )
