"""Browser tests: Debian's Chromium driven by Playwright against the real server that
pytest-django's `live_server` runs in a thread. Browsers are never downloaded."""

import os
from datetime import timedelta
from pathlib import Path

import pytest

from tests.calls import conftest as calls_fixtures

# The organisation every test here starts from, shared with the calls tests.
desk = calls_fixtures.desk

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery 7"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            "the browser tests drive Debian's Chromium at /usr/bin/chromium, which is not "
            "installed here (apt-get install -y chromium)"
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the test thread, so Django takes every ORM
    # call of the test for one made from async code. Allowed only while the browser runs, so
    # that the rest of the suite keeps Django's guard.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            yield chromium
            chromium.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def open_as(browser, live_server):
    """A logged-in page for `username`, in a browser context of its own."""
    contexts = []

    def login(username: str):
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    yield login
    for context in contexts:
        context.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where the pictures of the user guide go: docs/screenshots when USM_SCREENSHOTS names it,
    else a scratch directory, so that an ordinary run leaves the repository untouched."""
    target = Path(os.environ.get("USM_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture
def organisation(desk, provider, staff, django_user_model):
    """The desk of `desk`; a change team and an operations team who do Change's and Operate's
    steps of workflow 3 (an incident recovered with a change); a mail relay in the MIR; a
    requester who can log in; and a second customer with a call of its own."""
    from usm.calls import services
    from usm.mir.services import admin_import
    from usm.model import reference_model
    from usm.organisation import services as organisation
    from usm.organisation.models import Customer, Person, Profile, Requester, Team

    def team_with(name: str, username: str, person_name: str, profile_name: str):
        team = Team.objects.create(provider=provider, name=name)
        user = django_user_model.objects.create_user(username, password=PASSWORD)
        person = Person.objects.create(provider=provider, user=user, name=person_name)
        team.members.add(person)
        profile = Profile.objects.create(provider=provider, name=profile_name, team=team)
        profile.holders.add(person)
        return team, profile

    change_team, change_manager = team_with("Change", "chris", "Chris Change", "Change manager")
    operations, operator = team_with("Operations", "olga", "Olga Operator", "Operator")
    doers = {"INC": desk["profile"], "CHM": change_manager, "OPS": operator}
    model = reference_model()
    raci = {p.step.id: {doers[p.step.process].name: "RA"} for p in model.path(model.workflow(3))}
    organisation.set_procedure(provider, 3, "WF3 with change and operations", raci)

    relay = {"identifier": "relay-1", "name": "Mail relay", "type": "server", "attributes": {}}
    assert admin_import(provider, [relay], actor=staff, batch="setup").written

    rita = django_user_model.objects.create_user("rita", password=PASSWORD)
    desk["requester"].user = rita
    desk["requester"].save()

    harbour = Customer.objects.create(provider=provider, code="port", name="Harbour Authority")
    otto = Person.objects.create(provider=provider, name="Otto Other")
    Requester.objects.create(provider=provider, person=otto, customer=harbour)
    other_call = services.register_call(
        provider,
        staff,
        call_type="incident",
        summary="Cranes stopped",
        customer=harbour,
        requester=otto,
        impact=1,
        urgency=1,
    )
    return {**desk, "change": change_team, "operations": operations, "other_call": other_call}


@pytest.fixture
def busy_queue(organisation, provider, staff):
    """A few calls of different kinds and deadlines, so that the queue reads like a real one."""
    from django.utils import timezone

    from usm.calls import services
    from usm.calls.models import Call

    def register(call_type, summary, impact, urgency, **levels):
        return services.register_call(
            provider,
            staff,
            call_type=call_type,
            summary=summary,
            customer=organisation["customer"],
            requester=organisation["requester"],
            service=organisation["service"],
            impact=impact,
            urgency=urgency,
            channel="email",
            **levels,
        )

    vpn = register("incident", "VPN drops every hour", 1, 1)
    register("service_request", "New starter needs a mailbox", 3, 2)
    register("rfc", "Raise the mailbox quota to 50 GB", 2, 3)
    slow = register("incident", "Shared calendar is slow", 2, 2)
    register("risk", "Mail relay certificate expires soon", None, None, effect=2, likelihood=2)
    now = timezone.now()
    Call.objects.filter(pk=vpn.pk).update(
        created_at=now - timedelta(hours=6), resolution_due=now - timedelta(minutes=40)
    )
    Call.objects.filter(pk=slow.pk).update(
        created_at=now - timedelta(hours=5), resolution_due=now + timedelta(minutes=30)
    )
    return organisation
