"""A small provider for the MIR tests: two teams, three services, customers with agreements in
and out of force, and a second provider with look-alike names."""

from datetime import date, timedelta

import pytest

from usm.agreements.models import Agreement, Calendar, Service
from usm.mir.services import apply_changes
from usm.organisation.models import Customer, Team


@pytest.fixture
def organisation(provider, other_provider):
    hosting = Team.objects.create(provider=provider, name="Hosting")
    Team.objects.create(provider=provider, name="Network")
    Team.objects.create(provider=other_provider, name="Their hosting")
    webshop = Service.objects.create(
        provider=provider, code="webshop", name="Web shop", facility="x"
    )
    Service.objects.create(provider=provider, code="email", name="E-mail", facility="x")
    Service.objects.create(provider=provider, code="backup", name="Backup", facility="x")
    Service.objects.create(provider=other_provider, code="theirs", name="Theirs", facility="x")
    return {"hosting": hosting, "webshop": webshop}


@pytest.fixture
def agreements(organisation, provider):
    """bakery: an SA in force on the web shop; florist: an ended SA on it; garage: an SA whose
    period is over although its status still says active; depot: an SA on e-mail only."""
    calendar = Calendar.objects.create(provider=provider, name="Office hours")
    today = date.today()
    year_ago = today - timedelta(days=365)

    def sa(customer_code, code, services, **extra):
        customer = Customer.objects.create(
            provider=provider, code=customer_code, name=customer_code.title()
        )
        agreement = Agreement.objects.create(
            provider=provider,
            kind="SA",
            code=code,
            name=code,
            customer=customer,
            calendar=calendar,
            valid_from=extra.pop("valid_from", year_ago),
            **extra,
        )
        agreement.services.set(Service.objects.filter(provider=provider, code__in=services))
        return agreement

    sa("bakery", "sa-bakery", ["webshop"])
    sa("florist", "sa-florist", ["webshop"], status="ended")
    sa("garage", "sa-garage", ["webshop"], valid_until=today - timedelta(days=1))
    sa("depot", "sa-depot", ["email"])


def create(identifier, **fields):
    return {
        "action": "create",
        "identifier": identifier,
        "name": fields.pop("name", identifier.replace("-", " ").title()),
        "type": fields.pop("type", "server"),
        **fields,
    }


def relate(source, kind, target):
    return {"action": "relate", "source": source, "kind": kind, "target": target}


@pytest.fixture
def record():
    """Write records through Change's door, as the Update MIR step does."""

    def write(provider, *changes, reference="CHM-000001", actor=None):
        return apply_changes(provider, list(changes), reference=reference, actor=actor)

    return write
