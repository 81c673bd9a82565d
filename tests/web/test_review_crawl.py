"""A review that tries to break the web pages: every GET page of the desk, the portal and process
control, opened by staff and by a requester with odd path segments and odd query parameters, never
answers 500; another provider's call, file and customer stay invisible; a POST without a CSRF token
changes nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from usm.calls import services
from usm.calls.models import Call

pytestmark = pytest.mark.django_db

NUL = "\x00"
HUGE = "9" * 30
# Query strings that every page should shrug off: garbage, NUL bytes, numbers past 64 bits,
# negative and empty values, repeated keys, a very long value.
ODD_QUERIES = [
    {"start": "garbage", "end": "2024-13-45"},
    {"start": "0001-01-01", "end": "9999-12-31", "days": "0"},
    {"start": NUL, "end": NUL, "days": NUL},
    {"q": NUL, "customer": NUL, "service": NUL, "team": NUL, "after": NUL, "before": NUL},
    {"customer": HUGE, "service": HUGE, "team": HUGE, "priority": HUGE, "agreement": HUGE},
    {"customer": "-1", "service": "0", "team": "-5", "priority": "-1", "after": "n-" + HUGE},
    {"after": "99999999999999999-1", "status": "nonsense", "show": NUL, "process": NUL},
    {"agreement": NUL, "call_type": NUL, "breached": NUL, "mine": "yes"},
    {"q": "x" * 5000, "agreement": "x" * 5000},
]


@pytest.fixture
def world(desk, provider, staff, other_provider, django_user_model, register):
    """Provider A (the desk fixture) with a call, a file and a requester who can log in, and
    provider B with its own customer, staff, SA, call and file."""
    from datetime import date

    from usm.agreements import services as agreements
    from usm.agreements.models import Agreement, Calendar
    from usm.organisation.models import Customer, Person, Requester, Team

    call_a = register()
    file_a = services.attach_file(
        call_a, staff, SimpleUploadedFile("a.txt", b"A's file", content_type="text/plain")
    )
    # A kind of call B has none of, so that its number exists at A only.
    request_a = register("service_request", "New mailbox for the mayor", impact=3, urgency=3)
    rita = django_user_model.objects.create_user("rita")
    desk["requester"].user = rita
    desk["requester"].save()

    agreements.install_default_matrices(other_provider)
    user_b = django_user_model.objects.create_user("bert")
    staff_b = Person.objects.create(provider=other_provider, user=user_b, name="Bert B")
    Team.objects.create(provider=other_provider, name="B desk").members.add(staff_b)
    customer_b = Customer.objects.create(provider=other_provider, code="bcust", name="B Customer")
    requester_b = Person.objects.create(provider=other_provider, name="Bea Requester")
    Requester.objects.create(provider=other_provider, person=requester_b, customer=customer_b)
    calendar_b = Calendar.objects.create(provider=other_provider, name="B hours")
    Agreement.objects.create(
        provider=other_provider,
        kind="SA",
        code="sa-b",
        name="B SA",
        customer=customer_b,
        calendar=calendar_b,
        valid_from=date(2020, 1, 1),
    )
    # Numbers count per provider: B's first incident would share A's number, so B's call that
    # the tests look for is its second.
    for summary in ("B's first call", "Secret of provider B"):
        call_b = services.register_call(
            other_provider,
            user_b,
            call_type="incident",
            summary=summary,
            requester=requester_b,
            customer=customer_b,
            impact=1,
            urgency=1,
        )
    file_b = services.attach_file(
        call_b, user_b, SimpleUploadedFile("b.txt", b"B's secret", content_type="text/plain")
    )
    return {
        "call_a": call_a,
        "file_a": file_a,
        "request_a": request_a,
        "rita": rita,
        "user_b": user_b,
        "customer_b": customer_b,
        "call_b": call_b,
        "file_b": file_b,
    }


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _pages(world) -> list[str]:
    """Every GET page of the web and control, with valid, foreign and odd path segments."""
    a, b = world["call_a"].number, world["call_b"].number
    file_a, file_b = world["file_a"].pk, world["file_b"].pk
    numbers = [a, a.lower(), b, "NOPE-1", "%00", "A%00B", HUGE, "%E2%80%AE"]
    pages = [
        "/",
        "/model/",
        "/model/validation/",
        "/model/frameworks/",
        "/model/workflows/1/",
        "/model/workflows/" + HUGE + "/",
        "/model/workflows/0/",
        "/model/export/model.json",
        "/model/export/model.nope",
        "/model/export/1.bpmn",
        "/model/export/" + HUGE + ".json",
        "/desk/",
        "/desk/new/",
        "/desk/new/propose/",
        "/desk/new/parties/",
        "/portal/",
        "/portal/new/",
        "/control/",
        "/control/reports/city/2024-03/",
        "/control/reports/city/garbage/",
        "/control/reports/city/2024-3-1/",
        "/control/reports/city/0000-00/",
        "/control/reports/city/" + HUGE + "-01/",
        "/control/reports/city/2024-%00/",
        "/control/reports/nobody/2024-03/",
        "/control/reports/bcust/2024-03/",
    ]
    for number in numbers:
        pages += [
            f"/calls/{number}/",
            f"/portal/calls/{number}/",
            f"/calls/{number}/attachments/{file_a}/",
            f"/calls/{number}/attachments/{file_b}/",
            f"/calls/{number}/attachments/{HUGE}/",
            f"/calls/{number}/note/",  # an action answers GET with 405
        ]
    return pages


def _crawl(client, world, pages) -> dict[str, int]:
    # Failures are collected rather than raised, so that one run names every page that fails.
    client.raise_request_exception = False
    answers, failures = {}, []
    secret = world["call_b"].summary.encode()
    for page in pages:
        # Pages about one call read no query parameters: one odd query is enough for them.
        about_a_call = page.startswith(("/calls/", "/portal/calls/"))
        for query in [{}, ODD_QUERIES[3]] if about_a_call else [{}, *ODD_QUERIES]:
            response = client.get(page, query)
            if response.status_code >= 500:
                failures.append((page, sorted(query)))
                continue
            body = b"".join(response) if response.streaming else response.content
            assert secret not in body and b"B's secret" not in body, (page, query)
            if not query:
                answers[page] = response.status_code
    assert not failures, "\n".join(f"{page} {keys}" for page, keys in failures)
    return answers


def test_staff_crawl_never_fails_nor_shows_the_other_provider(world, staff):
    answers = _crawl(_client(staff), world, _pages(world))
    a, b = world["call_a"].number, world["call_b"].number
    assert answers[f"/calls/{a}/"] == 200
    assert answers[f"/calls/{a}/attachments/{world['file_a'].pk}/"] == 200
    assert answers[f"/calls/{b}/"] == 404
    assert answers[f"/calls/{b}/attachments/{world['file_b'].pk}/"] == 404
    # A's file asked for through B's call number, and B's file through A's call: neither.
    assert answers[f"/calls/{a}/attachments/{world['file_b'].pk}/"] == 404
    assert answers[f"/calls/{b}/attachments/{world['file_a'].pk}/"] == 404
    assert answers["/control/"] == 200
    assert answers["/control/reports/city/2024-03/"] == 200
    assert answers["/control/reports/bcust/2024-03/"] == 404


def test_requester_crawl_never_fails_nor_shows_the_desk(world):
    answers = _crawl(_client(world["rita"]), world, _pages(world))
    a, b = world["call_a"].number, world["call_b"].number
    assert answers[f"/portal/calls/{a}/"] == 200
    assert answers[f"/portal/calls/{b}/"] == 404
    for page in ("/desk/", "/control/", f"/calls/{a}/", f"/calls/{a}/attachments/1/"):
        assert answers.get(page, 403) == 403
    assert answers["/control/reports/city/2024-03/"] == 403


def test_staff_of_the_other_provider_see_none_of_a(world):
    client = _client(world["user_b"])
    a = world["request_a"]
    assert client.get(f"/calls/{a.number}/").status_code == 404
    file_a = world["file_a"].pk
    assert client.get(f"/calls/{a.number}/attachments/{file_a}/").status_code == 404
    assert client.get(f"/calls/{world['call_b'].number}/attachments/{file_a}/").status_code == 404
    assert client.get("/control/reports/city/2024-03/").status_code == 404
    page = client.get("/control/").content.decode()
    assert "City Council" not in page and a.summary not in page
    queue = client.get("/desk/", {"team": "all", "status": "any"}).content.decode()
    assert a.number not in queue and world["call_b"].number in queue
    response = client.post(f"/calls/{a.number}/note/", {"note-text": "from B"})
    assert response.status_code == 404 and not a.notes.exists()


# -- CSRF ------------------------------------------------------------------------------------------
def _csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


CSRF_ACTIONS = {
    "note": {"note-text": "forged"},
    "hold": {"hold-reason": "forged"},
    "abort": {"abort-reason": "forged", "abort-confirm": "on"},
    "link": {"link-target": "INC-000001", "link-kind": "related"},
    "complete": {},
}


def test_desk_actions_without_a_csrf_token_change_nothing(world, staff):
    call = world["call_a"]
    before = Call.objects.get(pk=call.pk)
    client = _csrf_client(staff)
    for action, data in CSRF_ACTIONS.items():
        response = client.post(f"/calls/{call.number}/{action}/", data)
        assert response.status_code == 403, action
    after = Call.objects.get(pk=call.pk)
    assert (after.version, after.status, after.step) == (before.version, before.status, before.step)
    assert not after.notes.exists() and not after.links_out.exists()


def test_forms_without_a_csrf_token_write_nothing(world, staff, desk):
    count = Call.objects.count()
    desk_post = _csrf_client(staff).post(
        "/desk/new/", {"summary": "forged", "channel": "phone", "customer": desk["customer"].pk}
    )
    portal = _csrf_client(world["rita"])
    number = world["call_a"].number
    answers = [
        desk_post.status_code,
        portal.post("/portal/new/", {"summary": "forged", "call_type": "incident"}).status_code,
        portal.post(f"/portal/calls/{number}/note/", {"note-text": "forged"}).status_code,
        portal.post(f"/portal/calls/{number}/reply/", {"reply-text": "forged"}).status_code,
    ]
    assert answers == [403, 403, 403, 403]
    assert Call.objects.count() == count and not world["call_a"].notes.exists()


def test_the_pages_carry_a_csrf_token_in_every_post_form(world, staff):
    """The other side of the check: the forms the pages offer can be sent."""
    import re

    client = _csrf_client(staff)
    for page in ("/desk/new/", f"/calls/{world['call_a'].number}/"):
        html = client.get(page).content.decode()
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, re.S | re.I)
        assert forms, page
        for form in forms:
            assert "csrfmiddlewaretoken" in form, page
