"""A small provider with everything a call needs: a customer and its requester, a service under
an SA with norms and office hours, a procedure for every workflow, and a MIR item."""

from datetime import date, time

import pytest

from usm.model import reference_model


@pytest.fixture
def desk(provider, staff):
    from usm.agreements import services as agreements
    from usm.agreements.models import Agreement, Calendar, Norm, OpeningHours, Service
    from usm.organisation import services as organisation
    from usm.organisation.models import Customer, Person, Profile, Requester, Team

    agreements.install_default_matrices(provider)
    customer = Customer.objects.create(provider=provider, code="city", name="City Council")
    person = Person.objects.create(provider=provider, name="Rita Requester")
    service = Service.objects.create(
        provider=provider, code="mail", name="Mail", facility="Mailboxes and delivery"
    )
    Requester.objects.create(provider=provider, person=person, customer=customer)
    calendar = Calendar.objects.create(
        provider=provider, name="Office", time_zone="Europe/Amsterdam"
    )
    for weekday in range(5):
        OpeningHours.objects.create(
            calendar=calendar, weekday=weekday, opens=time(8), closes=time(17)
        )
    sa = Agreement.objects.create(
        provider=provider,
        kind="SA",
        code="sa-city",
        name="City SA",
        customer=customer,
        calendar=calendar,
        valid_from=date(2020, 1, 1),
    )
    sa.services.add(service)
    for call_type in ("wish", "rfc", "incident", "service_request", "risk"):
        for priority in range(1, 6):
            Norm.objects.create(
                agreement=sa,
                call_type=call_type,
                priority=priority,
                response=priority,
                resolution=4 * priority,
                unit="hours",
            )
    team = Team.objects.create(provider=provider, name="Service desk")
    team.members.add(staff.person)
    profile = Profile.objects.create(provider=provider, name="Desk coordinator", team=team)
    profile.holders.add(staff.person)
    model = reference_model()
    for workflow in model.workflows:
        raci = {p.step.id: {profile.name: "RA"} for p in model.path(workflow)}
        organisation.set_procedure(provider, workflow.number, f"WF{workflow.number}", raci)
    return {
        "customer": customer,
        "requester": person,
        "service": service,
        "agreement": sa,
        "team": team,
        "profile": profile,
    }
