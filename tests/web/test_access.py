"""Who may open which page: staff on the desk, requesters on the portal, nobody anonymous."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    ["/desk/", "/desk/new/", "/calls/INC-000001/", "/portal/", "/portal/new/", "/portal/calls/X/"],
)
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/login/?next={url}")


def test_anonymous_posts_write_nothing(client, register):
    call = register()
    response = client.post(f"/calls/{call.number}/complete/", {"complete-version": call.version})
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.step == "INC-1"


@pytest.mark.parametrize("url", ["/desk/", "/desk/new/", "/desk/new/propose/"])
def test_requesters_may_not_open_the_desk(portal_client, url):
    assert portal_client.get(url).status_code == 403


def test_requesters_may_not_open_or_act_on_the_desk_call_page(portal_client, register):
    call = register()
    assert portal_client.get(f"/calls/{call.number}/").status_code == 403
    response = portal_client.post(
        f"/calls/{call.number}/complete/", {"complete-version": call.version}
    )
    assert response.status_code == 403
    call.refresh_from_db()
    assert call.step == "INC-1"


def test_staff_visiting_the_portal_go_to_the_desk(desk_client):
    response = desk_client.get("/portal/")
    assert response.status_code == 302 and response["Location"] == "/desk/"


def test_an_account_without_a_person_sees_neither(django_user_model):
    user = django_user_model.objects.create_user("loose", password="x")
    client = Client()
    client.force_login(user)
    assert client.get("/desk/").status_code == 403
    assert client.get("/portal/").status_code == 403
    assert client.get("/")["Location"] == "/model/"


def test_the_start_page_depends_on_who_logs_in(desk_client, portal_client, client):
    assert desk_client.get("/")["Location"] == "/desk/"
    assert portal_client.get("/")["Location"] == "/portal/"
    assert client.get("/")["Location"] == "/model/"


def test_staff_of_another_provider_do_not_find_the_call(
    register, other_provider, django_user_model
):
    from usm.organisation.models import Person, Team

    call = register()
    user = django_user_model.objects.create_user("stranger", password="x")
    person = Person.objects.create(provider=other_provider, user=user, name="Sam Stranger")
    Team.objects.create(provider=other_provider, name="Their desk").members.add(person)
    client = Client()
    client.force_login(user)
    assert client.get(f"/calls/{call.number}/").status_code == 404
    assert client.post(f"/calls/{call.number}/note/", {"note-text": "hi"}).status_code == 404
    assert call.number not in client.get("/desk/?status=any&team=all").content.decode()


def test_navigation_follows_the_role(desk_client, portal_client, client, staff):
    desk_page = desk_client.get("/model/").content.decode()
    assert 'href="/desk/"' in desk_page and 'href="/portal/"' not in desk_page
    assert 'href="/control/"' in desk_page
    assert 'href="/admin/"' not in desk_page
    portal_page = portal_client.get("/model/").content.decode()
    assert 'href="/portal/"' in portal_page and 'href="/desk/"' not in portal_page
    # Process control reads every customer's calls: it is the provider's, not the requester's.
    assert 'href="/control/"' not in portal_page
    anonymous = client.get("/model/").content.decode()
    for link in ('href="/desk/"', 'href="/portal/"', 'href="/control/"', 'href="/admin/"'):
        assert link not in anonymous
    staff.is_staff = True
    staff.save()
    assert 'href="/admin/"' in desk_client.get("/model/").content.decode()


def test_every_page_loads_htmx_from_our_own_static_files(desk_client):
    page = desk_client.get("/desk/").content.decode()
    assert '<script src="/static/web/vendor/htmx.min.js"' in page
    assert "X-CSRFToken" in page
    assert "unpkg" not in page and "cdn" not in page.lower()


def test_posts_without_the_csrf_token_are_refused(desk, staff, requester_user, register):
    call = register()
    desk_browser = Client(enforce_csrf_checks=True)
    desk_browser.force_login(staff)
    refused = desk_browser.post(f"/calls/{call.number}/note/", {"note-text": "forged"})
    assert refused.status_code == 403
    portal_browser = Client(enforce_csrf_checks=True)
    portal_browser.force_login(requester_user)
    refused = portal_browser.post(f"/portal/calls/{call.number}/note/", {"note-text": "forged"})
    assert refused.status_code == 403
    assert not call.notes.exists()
    # With the token the page carries, the same note goes through.
    page = desk_browser.get(f"/calls/{call.number}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    sent = desk_browser.post(
        f"/calls/{call.number}/note/", {"note-text": "real", "csrfmiddlewaretoken": token}
    )
    assert sent.status_code == 302 and call.notes.get().text == "real"
