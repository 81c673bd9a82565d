"""The provider every measurement runs against, set up through the real services: teams with their
profiles, a procedure for each of the 8 workflows, customers with SAs and norms, a service
catalogue, office-hour calendars with holidays. Small on purpose: the scale is in the calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from usm.model import StepKind, reference_model

PASSWORD = "bench horse battery staple 7"

# Which team does a step: the desk takes every accept and classify, each process has its own team
# for the rest. This spreads open calls over several queues, as a real organisation's are.
TEAMS = {
    "desk": ("Service desk", "Desk coordinator"),
    "INC": ("Second line", "Incident analyst"),
    "OPS": ("Operations", "Operator"),
    "CHM": ("Change team", "Change coordinator"),
    "CTM": ("Contract management", "Contract manager"),
    "IMP": ("Risk office", "Risk manager"),
}
CUSTOMERS = 20
SERVICES = 10
CALL_TYPES = ("wish", "rfc", "incident", "service_request", "risk")


@dataclass
class BenchOrganisation:
    provider: object
    actor: object
    teams: dict
    customers: list
    agreements: list
    requesters: list
    services: list


def _norms() -> list[dict]:
    """Response and resolution targets per call type and priority, in business hours."""
    return [
        {
            "call_type": call_type,
            "priority": priority,
            "response": priority,
            "resolution": 4 * priority,
            "unit": "hours",
        }
        for call_type in CALL_TYPES
        for priority in range(1, 6)
    ]


def set_up() -> BenchOrganisation:
    from usm.agreements import services as agreements
    from usm.organisation import services as organisation

    provider = organisation.bootstrap_provider("Bench Services", "bench", "bench", PASSWORD)
    actor = provider_admin(provider)
    agreements.install_default_matrices(provider)
    staff = actor.person
    teams, profiles = {}, {}
    for key, (team_name, profile_name) in TEAMS.items():
        teams[key] = organisation.create_team(provider, team_name, members=[staff])
        profiles[key] = organisation.create_profile(
            provider, profile_name, team=teams[key], holders=[staff]
        )
    model = reference_model()
    for workflow in model.workflows:
        raci = {}
        for walked in model.path(workflow):
            step = walked.step
            front = step.kind in (StepKind.ACCEPT, StepKind.CLASSIFY)
            raci[step.id] = {profiles["desk" if front else step.process].name: "RA"}
        organisation.set_procedure(provider, workflow.number, f"WF{workflow.number}", raci)
    office = agreements.create_calendar(
        provider,
        "Office hours",
        time_zone="Europe/Amsterdam",
        opening_hours=[{"weekday": day, "opens": "08:00", "closes": "18:00"} for day in range(5)],
        holidays=[{"date": f"{year}-12-25", "name": "Christmas"} for year in range(2020, 2031)],
    )
    always = agreements.create_calendar(provider, "Around the clock", always_open=True)
    services = [
        agreements.create_service(
            provider, f"service-{n:02d}", f"Service {n:02d}", f"Facility {n:02d}"
        )
        for n in range(1, SERVICES + 1)
    ]
    customers, sas, requesters = [], [], []
    for n in range(1, CUSTOMERS + 1):
        customer = organisation.create_customer(provider, f"customer-{n:02d}", f"Customer {n:02d}")
        sa = agreements.create_agreement(
            provider,
            "SA",
            f"sa-{n:02d}",
            f"SA customer {n:02d}",
            customer=customer,
            calendar=always if n % 5 == 0 else office,
            valid_from=date(2020, 1, 1),
            services=services,
            norms=_norms(),
        )
        person = organisation.create_person(provider, f"Requester {n:02d}")
        organisation.authorise_requester(customer, person)
        customers.append(customer)
        sas.append(sa)
        requesters.append(person)
    return BenchOrganisation(provider, actor, teams, customers, sas, requesters, services)


def provider_admin(provider):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(person__provider=provider, username="bench")


def load() -> BenchOrganisation:
    """The organisation `set_up` made, read back (for worker processes)."""
    from usm.agreements.models import Agreement, Service
    from usm.organisation.models import Customer, Provider, Requester, Team

    provider = Provider.objects.get(slug="bench")
    by_name = {team.name: team for team in Team.objects.filter(provider=provider)}
    teams = {key: by_name[name] for key, (name, _) in TEAMS.items()}
    customers = list(Customer.objects.filter(provider=provider).order_by("code"))
    agreements = [Agreement.objects.get(customer=c, kind="SA") for c in customers]
    requesters = [
        Requester.objects.filter(customer=c).select_related("person").first().person
        for c in customers
    ]
    services = list(Service.objects.filter(provider=provider).order_by("code"))
    return BenchOrganisation(
        provider, provider_admin(provider), teams, customers, agreements, requesters, services
    )
