import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


def _shared_fixtures() -> Path | None:
    # Third-party inputs shared by the whole team live beside the project, never inside it. A clone
    # made elsewhere (CI) finds them through USM_SHARED_FIXTURES or the team's usual location.
    candidates = [
        os.environ.get("USM_SHARED_FIXTURES"),
        PROJECT.parent / "shared" / "fixtures",
        "/work/shared/fixtures",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture
def shared_fixtures() -> Path:
    found = _shared_fixtures()
    if found is None:
        pytest.skip("the team's shared fixtures (../shared/fixtures) are not on this machine")
    return found


@pytest.fixture(autouse=True)
def _planner_statistics_fresh(monkeypatch):
    """Sweeps in tests leave SQLite's planner statistics alone (as if refreshed a moment ago):
    statistics a test left behind would outlive its data (a flush keeps them) and change the
    plans of the tests after it. tests/control/test_sweep.py tests the refresh itself."""
    import time

    from usm import planner_statistics

    monkeypatch.setattr(planner_statistics, "_refreshed_at", time.monotonic())


# -- shared fixtures for database tests -------------------------------------------------------------
@pytest.fixture
def provider(db):
    from usm.organisation.models import Provider

    return Provider.objects.create(name="Acme Services", slug="acme")


@pytest.fixture
def other_provider(db):
    from usm.organisation.models import Provider

    return Provider.objects.create(name="Other Provider", slug="other")


@pytest.fixture
def staff(provider, django_user_model):
    """A person of the provider who can log in."""
    from usm.organisation.models import Person

    user = django_user_model.objects.create_user("desk", password="correct horse battery 7")
    Person.objects.create(provider=provider, user=user, name="Dana Desk", email="dana@acme.test")
    return user


@pytest.fixture
def api_client(staff):
    """Django's test client sending a real bearer token of `staff` on every request."""
    from django.test import Client

    from usm.api.tokens import issue_token

    _, plain = issue_token(staff, "tests")
    return Client(headers={"Authorization": f"Bearer {plain}"})
