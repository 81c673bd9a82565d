"""Who sees what of the organisation, through the real API: a customer's user sees their own
customers, the people those customers authorise, and the staff on their calls; never another
customer's people, nor the provider's internal set-up. Staff see all of their provider."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.calls import conftest as calls_fixtures
from usm.api.scoping import is_staff
from usm.api.tokens import issue_token
from usm.calls import services as calls
from usm.organisation import services
from usm.organisation.models import Procedure

pytestmark = pytest.mark.django_db
BASE = "/api/v1/organisation"

# A customer, its requester, a service under an SA, the "Service desk" team with the staff person
# in it holding the profile every procedure step names.
desk = calls_fixtures.desk


def bearer(user) -> Client:
    _, plain = issue_token(user, "tests")
    return Client(headers={"Authorization": f"Bearer {plain}"})


def login_for(person, username: str):
    return services.set_login(person, username, None).user


@pytest.fixture
def org(desk, provider, staff):
    """Two customers with a call each, handled by different teams:

    - City Council (`desk`): Rita and Carl are its requesters; its call is with the Service desk
      (Dana, the `staff` person) and assigned to Dana;
    - Harbour Authority: Otto is its requester; its call is with Networks (Sam), after the desk
      coordinator profile moved there;
    - Vera is staff too, in a team no customer's call is with.
    """
    city, rita = desk["customer"], desk["requester"]
    carl = services.create_person(provider, "Carl Colleague", email="carl@city.test")
    services.authorise_requester(city, carl, [])
    harbour = services.create_customer(provider, "port", "Harbour Authority")
    otto = services.create_person(provider, "Otto Other", email="otto@port.test", phone="555-0100")
    otto_requester = services.authorise_requester(harbour, otto, [])
    sam = services.create_person(provider, "Sam Switch", email="sam@acme.test")
    networks = services.create_team(provider, "Networks", members=[sam])
    vera = services.create_person(provider, "Vera Back-office")
    back_office = services.create_team(provider, "Back office", members=[vera])
    unit = services.create_unit(provider, "Operations")

    city_call = calls.register_call(
        provider,
        staff,
        call_type="incident",
        summary="Mail is down",
        customer=city,
        requester=rita,
        service=desk["service"],
        impact=2,
        urgency=2,
    )
    city_call = calls.assign_call(city_call, staff, staff.person)
    services.update_profile(desk["profile"], team=networks, holders=[staff.person, sam])
    harbour_call = calls.register_call(
        provider,
        staff,
        call_type="incident",
        summary="Cranes stopped",
        customer=harbour,
        requester=otto,
        impact=2,
        urgency=2,
    )
    assert (city_call.assignee_team, harbour_call.assignee_team) == (desk["team"], networks)
    return {
        "city": city,
        "harbour": harbour,
        "rita": rita,
        "carl": carl,
        "otto": otto,
        "otto_requester": otto_requester,
        "dana": staff.person,
        "sam": sam,
        "vera": vera,
        "desk_team": desk["team"],
        "networks": networks,
        "back_office": back_office,
        "unit": unit,
        "city_call": city_call,
    }


@pytest.fixture
def rita(org):
    """City Council's requester, over the API."""
    return bearer(login_for(org["rita"], "rita"))


def listed(client, path: str) -> list[int]:
    body = client.get(f"{BASE}{path}").json()
    ids = [row["id"] for row in body["items"]]
    assert body["count"] == len(ids) == len(set(ids)), body
    return sorted(ids)


def ids(*rows) -> list[int]:
    return sorted(row.pk for row in rows)


def test_a_requester_sees_their_colleagues_and_the_staff_on_their_calls(org, rita):
    assert listed(rita, "/people") == ids(org["rita"], org["carl"], org["dana"])
    for person in ("rita", "carl", "dana"):
        assert rita.get(f"{BASE}/people/{org[person].pk}").status_code == 200, person
    # Another customer's requester, the staff on other customers' calls, the rest of the staff.
    for person in ("otto", "sam", "vera"):
        assert rita.get(f"{BASE}/people/{org[person].pk}").status_code == 404, person
    assert listed(rita, f"/people?team={org['networks'].pk}") == []
    assert listed(rita, "/people?q=otto") == []


def test_a_requester_sees_only_their_own_customer_and_its_requesters(org, rita):
    assert listed(rita, "/customers") == ids(org["city"])
    assert rita.get(f"{BASE}/customers/{org['harbour'].pk}").status_code == 404
    requesters = rita.get(f"{BASE}/requesters").json()["items"]
    assert sorted(r["person_id"] for r in requesters) == ids(org["rita"], org["carl"])
    assert {r["customer_id"] for r in requesters} == {org["city"].pk}
    assert rita.get(f"{BASE}/requesters/{org['otto_requester'].pk}").status_code == 404
    assert listed(rita, f"/requesters?customer={org['harbour'].pk}") == []


def test_a_requester_finds_the_team_and_person_their_call_is_with(org, rita):
    call = rita.get(f"/api/v1/calls/{org['city_call'].number}").json()
    team = rita.get(f"{BASE}/teams/{call['assignee_team_id']}")
    assert team.status_code == 200 and team.json()["name"] == "Service desk"
    assert rita.get(f"{BASE}/people/{call['assignee_id']}").json()["name"] == "Dana Desk"
    assert listed(rita, "/teams") == ids(org["desk_team"])
    for team in ("networks", "back_office"):
        assert rita.get(f"{BASE}/teams/{org[team].pk}").status_code == 404, team


def test_the_providers_own_set_up_is_not_shown_to_a_requester(org, rita, desk, provider):
    service = desk["service"]
    instruction = services.set_work_instruction(service, "OPS-4", "Restart the mail relay")
    procedure = Procedure.objects.filter(provider=provider, active=True).first()
    for path in ("/units", "/profiles", "/procedures", "/work-instructions"):
        assert listed(rita, path) == [], path
    for path in (
        f"/units/{org['unit'].pk}",
        f"/profiles/{desk['profile'].pk}",
        f"/procedures/{procedure.pk}",
        f"/procedures/{procedure.pk}/wif",
        f"/work-instructions/{instruction.pk}",
    ):
        assert rita.get(f"{BASE}{path}").status_code == 404, path


def test_each_customer_sees_its_own_side(org):
    """The rule is the same for every customer: Harbour's requester sees Harbour's people and the
    team its call is with, and none of City's."""
    otto = bearer(login_for(org["otto"], "otto"))
    assert listed(otto, "/people") == ids(org["otto"], org["sam"])
    assert listed(otto, "/customers") == ids(org["harbour"])
    assert listed(otto, "/teams") == ids(org["networks"])
    for person in ("rita", "carl", "dana", "vera"):
        assert otto.get(f"{BASE}/people/{org[person].pk}").status_code == 404, person
    assert otto.get(f"{BASE}/customers/{org['city'].pk}").status_code == 404


def test_a_person_reached_several_ways_is_listed_once(org, rita, provider):
    """Rita is authorised by two customers and requested the call; Dana is in the team and the
    call's assignee. Each is one row, and reading one is not refused as ambiguous."""
    schools = services.create_customer(provider, "schools", "Schools")
    services.authorise_requester(schools, org["rita"], [])
    services.authorise_requester(schools, org["carl"], [])
    assert listed(rita, "/people") == ids(org["rita"], org["carl"], org["dana"])
    assert listed(rita, "/customers") == ids(org["city"], schools)
    for person in ("rita", "carl", "dana"):
        assert rita.get(f"{BASE}/people/{org[person].pk}").status_code == 200, person


def test_an_authorisation_taken_back_leaves_only_the_person_themselves(org, rita):
    for authorisation in org["rita"].authorisations.all():
        services.update_requester(authorisation, active=False)
    assert listed(rita, "/people") == ids(org["rita"])
    assert listed(rita, "/customers") == []
    assert listed(rita, "/requesters") == []
    assert listed(rita, "/teams") == []


def test_staff_see_everything_of_their_provider(org, staff, provider, other_provider):
    stranger = services.create_person(other_provider, "Someone Else")
    dana = bearer(staff)
    people = listed(dana, "/people")
    assert people == ids(*[org[p] for p in ("rita", "carl", "otto", "dana", "sam", "vera")])
    assert listed(dana, "/customers") == ids(org["city"], org["harbour"])
    assert len(listed(dana, "/requesters")) == 3
    assert listed(dana, "/teams") == ids(org["desk_team"], org["networks"], org["back_office"])
    assert listed(dana, "/profiles") and listed(dana, "/procedures") and listed(dana, "/units")
    assert dana.get(f"{BASE}/people/{stranger.pk}").status_code == 404


def test_a_login_given_permissions_is_staff(org, provider, django_user_model):
    """Permissions are given to change the provider's set-up, which only its own people do: a
    login holding one is staff even without a team or profile, on the API and in the browser."""
    admin = services.create_person(provider, "Ada Admin")
    user = login_for(admin, "ada")
    assert not is_staff(user)
    user.user_permissions.set(Permission.objects.filter(codename="change_customer"))
    user = django_user_model.objects.get(pk=user.pk)
    assert is_staff(user)
    assert listed(bearer(user), "/customers") == ids(org["city"], org["harbour"])
    browser = Client()
    browser.force_login(user)
    assert browser.get("/")["Location"] == "/desk/"
    assert browser.get("/desk/").status_code == 200
    assert browser.get("/portal/")["Location"] == "/desk/"


def test_a_login_without_team_profile_or_authorisation_sees_no_one_else(org, provider):
    newcomer = services.create_person(provider, "Nina Newcomer")
    nina = bearer(login_for(newcomer, "nina"))
    assert listed(nina, "/people") == ids(newcomer)
    for path in ("/customers", "/requesters", "/teams", "/profiles", "/procedures"):
        assert listed(nina, path) == [], path


def test_a_requester_cannot_register_a_call_for_another_customer(org, rita):
    """The calls API reads the customer and requester it is given through the same rule: another
    customer is unknown (404) rather than refused by name."""
    body = {"call_type": "incident", "summary": "Help", "customer_id": org["harbour"].pk}
    response = rita.post("/api/v1/calls/", body, content_type="application/json")
    assert response.status_code == 404
    body = {"call_type": "incident", "summary": "Help", "requester_id": org["otto"].pk}
    assert rita.post("/api/v1/calls/", body, content_type="application/json").status_code == 404
