"""Generated requests against every operation of our own OpenAPI: whatever they send, the answer
is never a 500. Runs in-process through the WSGI application, authenticated as a person of a
provider set up like a real desk."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from usm.api.tokens import issue_token

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("USM_FUZZ_EXAMPLES", "6"))


@pytest.fixture
def wsgi_app():
    from django.core import signals
    from django.db import close_old_connections

    from usm.wsgi import application

    # As Django's own test client does: a request must not close the test's open transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(desk, staff):
    from django.contrib.auth.models import Permission

    # Write permissions too, so that writes reach the services instead of stopping at 403.
    staff.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["organisation", "agreements", "mir", "calls"]
        )
    )
    _, token = issue_token(staff, "schemathesis")
    return {"Authorization": f"Bearer {token}"}


def test_no_operation_answers_500(wsgi_app, bearer):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            # The suite must give the same answer on every run; a longer, random exploration is
            # `USM_FUZZ_EXAMPLES=200 pytest tests/api/test_no_server_errors.py`.
            derandomize=EXAMPLES <= 10,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case):
            response = case.call(headers=bearer)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body}")

        no_server_error()
    assert not failures, "\n".join(failures[:20])
