"""The organisation's writers: providers, people and logins, customers, requesters, teams,
profiles and work instructions; what they refuse and how they say it."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from usm.agreements.models import Service
from usm.organisation import services
from usm.organisation.models import Customer, Person, Provider, WorkInstruction

pytestmark = pytest.mark.django_db


def field_errors(excinfo) -> dict:
    return excinfo.value.message_dict


@pytest.fixture
def service(provider):
    return Service.objects.create(provider=provider, code="mail", name="Mail", facility="Mailboxes")


def test_bootstrap_makes_a_provider_and_its_administrator():
    provider = services.bootstrap_provider("Beta", "beta", "boss", "a long passphrase 42")
    user = get_user_model().objects.get(username="boss")
    assert user.person.provider == provider
    assert user.is_staff and user.is_superuser and user.is_active
    assert user.password.startswith("argon2$")
    assert user.check_password("a long passphrase 42")


def test_bootstrap_with_a_weak_password_leaves_nothing_behind():
    with pytest.raises(ValidationError) as excinfo:
        services.bootstrap_provider("Beta", "beta", "boss", "short")
    assert "password" in field_errors(excinfo)
    assert not Provider.objects.filter(slug="beta").exists()
    assert not get_user_model().objects.filter(username="boss").exists()


def test_a_provider_is_renamed_but_keeps_its_slug_unique(provider, other_provider):
    services.update_provider(provider, name="Acme Group")
    assert Provider.objects.get(slug="acme").name == "Acme Group"
    with pytest.raises(ValidationError) as excinfo:
        services.update_provider(provider, slug="other")
    assert list(field_errors(excinfo)) == ["slug"]
    with pytest.raises(ValidationError) as excinfo:
        services.update_provider(provider, created_at=None)
    assert field_errors(excinfo) == {"created_at": ["cannot be changed here"]}


def test_a_password_is_changed_hashed_and_checked(provider, staff):
    person = staff.person
    services.set_password(person, "another long phrase 7")
    staff.refresh_from_db()
    assert staff.check_password("another long phrase 7") and staff.password.startswith("argon2$")
    with pytest.raises(ValidationError) as excinfo:
        services.set_password(person, "password")
    assert "password" in field_errors(excinfo)
    without_login = services.create_person(provider, "No Login")
    with pytest.raises(ValidationError) as excinfo:
        services.set_password(without_login, "another long phrase 7")
    assert list(field_errors(excinfo)) == ["username"]


def test_a_provider_slug_is_unique(provider):
    with pytest.raises(ValidationError) as excinfo:
        services.create_provider("Acme Again", "acme")
    assert field_errors(excinfo) == {"slug": ["there is already a provider 'acme'"]}


def test_a_login_name_is_taken_once(provider, staff):
    with pytest.raises(ValidationError) as excinfo:
        services.create_person(provider, "Second Desk", username="desk", password="x" * 12)
    assert field_errors(excinfo) == {"username": ["'desk' is taken"]}
    assert not Person.objects.filter(name="Second Desk").exists()


def test_a_person_who_leaves_loses_the_login(provider):
    person = services.create_person(
        provider, "Lee", username="lee", password="a long passphrase 42"
    )
    services.update_person(person, active=False)
    person.user.refresh_from_db()
    assert person.user.is_active is False


def test_customer_codes_are_unique_per_provider(provider, other_provider):
    services.create_customer(provider, "town", "Town Hall")
    services.create_customer(other_provider, "town", "Another Town Hall")
    with pytest.raises(ValidationError) as excinfo:
        services.create_customer(provider, "town", "Town Hall 2")
    assert field_errors(excinfo) == {"code": ["there is already a customer code 'town'"]}
    assert Customer.objects.filter(code="town").count() == 2


def test_fields_refuse_what_postgresql_cannot_store(provider):
    with pytest.raises(ValidationError) as excinfo:
        services.create_customer(provider, "nul", "Null\x00Byte")
    assert field_errors(excinfo) == {"name": ["must not contain NUL characters"]}


def test_a_unit_cannot_be_part_of_itself(provider):
    top = services.create_unit(provider, "IT")
    middle = services.create_unit(provider, "Operations", parent=top)
    with pytest.raises(ValidationError) as excinfo:
        services.update_unit(top, parent=middle)
    assert field_errors(excinfo) == {"parent": ["would make the unit part of itself"]}


def test_requesters_are_people_and_services_of_the_customers_provider(
    provider, other_provider, service
):
    customer = services.create_customer(provider, "town", "Town Hall")
    mine = services.create_person(provider, "Mina")
    theirs = services.create_person(other_provider, "Theo")
    their_service = Service.objects.create(
        provider=other_provider, code="web", name="Web", facility="Sites"
    )

    requester = services.authorise_requester(customer, mine, [service])
    assert list(requester.services.all()) == [service]

    with pytest.raises(ValidationError) as excinfo:
        services.authorise_requester(customer, theirs)
    assert field_errors(excinfo) == {"person": ["belongs to another provider"]}
    with pytest.raises(ValidationError) as excinfo:
        services.update_requester(requester, services=[their_service])
    assert "services" in field_errors(excinfo)
    assert list(requester.services.all()) == [service]
    with pytest.raises(ValidationError) as excinfo:
        services.authorise_requester(customer, mine)
    assert field_errors(excinfo) == {"person": ["Mina is already a requester for Town Hall"]}


def test_team_members_and_profile_holders_are_the_providers_people(provider, other_provider):
    mine = services.create_person(provider, "Mina")
    theirs = services.create_person(other_provider, "Theo")
    team = services.create_team(provider, "Service desk", members=[mine])
    profile = services.create_profile(provider, "Desk coordinator", team=team, holders=[mine])
    with pytest.raises(ValidationError) as excinfo:
        services.set_team_members(team, [mine, theirs])
    assert field_errors(excinfo) == {"members": ["belong to another provider: Theo"]}
    with pytest.raises(ValidationError) as excinfo:
        services.assign_holders(profile, [theirs])
    assert field_errors(excinfo) == {"holders": ["belong to another provider: Theo"]}
    assert list(team.members.all()) == [mine] and list(profile.holders.all()) == [mine]


def test_a_profile_may_not_sit_in_another_providers_team(provider, other_provider):
    their_team = services.create_team(other_provider, "Their desk")
    with pytest.raises(ValidationError) as excinfo:
        services.create_profile(provider, "Desk coordinator", team=their_team)
    assert field_errors(excinfo) == {"team": ["belongs to another provider"]}


def test_a_work_instruction_is_set_once_per_service_and_step(service):
    services.set_work_instruction(
        service, "OPS-4", "Create the mailbox", links=["https://wiki.test/m"]
    )
    replaced = services.set_work_instruction(
        service, "OPS-4", "Create it", links=[{"title": "Runbook", "url": "https://wiki.test/r"}]
    )
    assert WorkInstruction.objects.get() == replaced
    assert replaced.links == [{"title": "Runbook", "url": "https://wiki.test/r"}]
    assert replaced.provider_id == service.provider_id


@pytest.mark.parametrize(
    "step, links, field",
    [
        ("OPS-99", [], "step"),
        ("OPS-4", ["javascript:alert(1)"], "links"),
        ("OPS-4", [{"title": "no url"}], "links"),
    ],
)
def test_a_work_instruction_names_a_model_step_and_web_links(service, step, links, field):
    with pytest.raises(ValidationError) as excinfo:
        services.set_work_instruction(service, step, "Title", links=links)
    assert list(field_errors(excinfo)) == [field]
    assert not WorkInstruction.objects.exists()


def test_a_new_provider_starts_with_the_default_matrices(db):
    from usm.agreements.models import MatrixCell
    from usm.organisation.services import create_provider

    provider = create_provider("Fresh Provider", "fresh")
    cells = MatrixCell.objects.filter(provider=provider)
    assert cells.filter(matrix="priority").count() == 9
    assert cells.filter(matrix="risk").count() == 25
