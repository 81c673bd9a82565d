"""The organisation of `tests/calls/conftest.py::desk`, plus the logins the pages need: the desk
user, a requester of the City Council, and another customer with a call of its own."""

import pytest
from django.test import Client

from tests.calls import conftest as calls_fixtures

# The organisation every test here starts from, shared with the calls tests.
desk = calls_fixtures.desk

PASSWORD = "correct horse battery 7"


@pytest.fixture
def desk_client(desk, staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def requester_user(desk, django_user_model):
    user = django_user_model.objects.create_user("rita", password=PASSWORD)
    person = desk["requester"]
    person.user = user
    person.save()
    return user


@pytest.fixture
def portal_client(requester_user):
    client = Client()
    client.force_login(requester_user)
    return client


@pytest.fixture
def other_customer(desk, provider):
    from usm.organisation.models import Customer, Person, Requester

    customer = Customer.objects.create(provider=provider, code="port", name="Harbour Authority")
    person = Person.objects.create(provider=provider, name="Otto Other")
    Requester.objects.create(provider=provider, person=person, customer=customer)
    return {"customer": customer, "requester": person}


@pytest.fixture
def register(desk, provider, staff):
    """Register a call for the City Council through the services, as the desk user."""
    from usm.calls import services

    def make(call_type="incident", summary="Mail is down", **overrides):
        fields = {
            "requester": desk["requester"],
            "customer": desk["customer"],
            "service": desk["service"],
            "impact": 2,
            "urgency": 2,
            **overrides,
        }
        return services.register_call(
            provider, staff, call_type=call_type, summary=summary, **fields
        )

    return make


@pytest.fixture
def other_call(other_customer, provider, staff):
    from usm.calls import services

    return services.register_call(
        provider,
        staff,
        call_type="incident",
        summary="Cranes stopped",
        customer=other_customer["customer"],
        requester=other_customer["requester"],
    )
