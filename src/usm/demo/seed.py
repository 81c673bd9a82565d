"""Writing the demo organisation through the services of each app, the only writers: the provider
and its administrator, units, teams and their people, profiles and who holds them, customers with
their requesters, the service catalogue, calendars, SAs, OLAs and UCs, the MIR (by the logged
administrator import), the procedures of all eight workflows and some work instructions."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction

from usm.agreements import services as agreements
from usm.agreements.queries import service_hours
from usm.demo import catalogue, procedures
from usm.demo.people import NamePool, mail
from usm.demo.register import mir_rows
from usm.engine.service_hours import ServiceHours
from usm.mir import services as mir
from usm.mir.models import MirItem
from usm.model import reference_model
from usm.organisation import services as organisation
from usm.organisation.models import Person

MIR_BATCH = "demo-initial-load"


@dataclass
class DemoOrganisation:
    """Handles on what was seeded, for the simulation and the summary."""

    provider: object
    admin: object
    customers: dict[str, object] = field(default_factory=dict)
    customer_specs: dict[str, catalogue.CustomerSpec] = field(default_factory=dict)
    requesters: dict[str, list] = field(default_factory=dict)  # customer code -> people
    services: dict[str, object] = field(default_factory=dict)
    teams: dict[str, object] = field(default_factory=dict)
    members: dict[str, list] = field(default_factory=dict)  # team name -> people
    profiles: dict[str, object] = field(default_factory=dict)
    holders: dict[int, list] = field(default_factory=dict)  # profile id -> users
    logins: list[catalogue.Login] = field(default_factory=list)
    mir_items: dict[str, MirItem] = field(default_factory=dict)
    monitoring: object = None  # the user monitoring events arrive as
    office_hours: ServiceHours | None = None
    round_the_clock: ServiceHours | None = None


@transaction.atomic
def seed(rng: random.Random, *, start: datetime, end: datetime) -> DemoOrganisation:
    """Seed the demo organisation; agreements are valid from a year before `start`, calendars
    carry the holidays of every year up to `end`."""
    login = {entry.username: entry for entry in catalogue.LOGINS}
    admin_login = login["admin"]
    provider = organisation.bootstrap_provider(
        catalogue.PROVIDER_NAME,
        catalogue.PROVIDER_SLUG,
        admin_login.username,
        admin_login.password,
        admin_name="Orvane administrator",
        email=mail("admin", catalogue.MAIL_DOMAIN),
    )
    org = DemoOrganisation(provider=provider, admin=None, logins=list(catalogue.LOGINS))
    org.admin = provider_admin(provider)
    names = NamePool(rng)
    reserved = set(login)
    units = _units(provider)
    _teams(org, names, units, reserved)
    _process_control(org, names, units, reserved)
    _profiles(org, units)
    _services(org)
    years = range(start.year - 1, end.year + 2)
    calendars = _calendars(org, years)
    _customers(org, names, calendars, start)
    _team_agreements(org, calendars, start)
    _mir(org, rng)
    for number in range(1, len(reference_model().workflows) + 1):
        organisation.set_procedure(
            provider, number, procedures.name_of(number), procedures.raci(number)
        )
    _work_instructions(org)
    _demo_logins(org)
    org.monitoring = organisation.create_person(
        provider,
        "Monitoring bridge",
        email=mail("monitoring", catalogue.MAIL_DOMAIN),
        username="monitoring",
    ).user
    org.office_hours = service_hours(calendars[catalogue.OFFICE_HOURS])
    org.round_the_clock = service_hours(calendars[catalogue.ROUND_THE_CLOCK])
    return org


def provider_admin(provider):
    return Person.objects.get(provider=provider, user__username="admin").user


def _units(provider) -> dict[str, object]:
    units: dict[str, object] = {}
    for name, parent in catalogue.UNITS:
        units[name] = organisation.create_unit(provider, name, parent=units.get(parent))
    return units


def _staff_member(org, names: NamePool, reserved: set[str], *, unit=None, domain=None):
    """A person with a login name; staff without a demo login cannot sign in (no password) but
    are named as the actors of the steps they do."""
    name = names.name()
    username = names.login(name, reserved)
    return organisation.create_person(
        org.provider,
        name,
        email=mail(username, domain or catalogue.MAIL_DOMAIN),
        unit=unit,
        username=username,
        password=None,
    )


def _teams(org, names, units, reserved) -> None:
    for spec in catalogue.TEAMS:
        domain = spec.email.partition("@")[2]
        unit = units.get(spec.unit) if spec.unit else None
        people = [
            _staff_member(org, names, reserved, unit=unit, domain=domain) for _ in range(spec.size)
        ]
        org.members[spec.name] = people
        org.teams[spec.name] = organisation.create_team(
            org.provider, spec.name, kind=spec.kind, unit=unit, email=spec.email, members=people
        )


def _process_control(org, names, units, reserved) -> None:
    """The workflow manager and the coordinators, in the service management office."""
    office = units["Service management office"]
    org.members["process control"] = [
        _staff_member(org, names, reserved, unit=office) for _ in range(4)
    ]


def _profiles(org, units) -> None:
    manager, coordinator, changes, improvements = org.members["process control"]
    holders: dict[str, list] = {
        catalogue.WORKFLOW_MANAGER: [manager],
        "Incident coordinator": [coordinator],
        "Operations coordinator": [coordinator],
        "Change coordinator": [changes],
        "Contract coordinator": [improvements],
        "Improvement coordinator": [improvements],
    }
    for operator, team in catalogue.OPERATORS.items():
        people = org.members[team]
        # Two of Infrastructure's people also analyse problems.
        holders[operator] = people[:2] if operator == "Problem analyst" else people
    for spec in catalogue.TEAMS:
        if spec.kind == "internal":
            holders[catalogue.team_coordinator(spec.name)] = org.members[spec.name][:1]
    for spec in catalogue.profiles():
        profile = organisation.create_profile(
            org.provider,
            spec.name,
            description=spec.description,
            unit=units.get(spec.unit) if spec.unit else None,
            team=org.teams[spec.team] if spec.team else None,
            holders=holders.get(spec.name, []),
        )
        org.profiles[spec.name] = profile
        org.holders[profile.pk] = [person.user for person in holders.get(spec.name, [])]


def _services(org) -> None:
    for spec in catalogue.SERVICES:
        org.services[spec.code] = agreements.create_service(
            org.provider,
            spec.code,
            spec.name,
            spec.facility,
            support=spec.support,
            functionality=spec.functionality,
            functioning=spec.functioning,
        )


def _calendars(org, years: range) -> dict[str, object]:
    holidays = catalogue.public_holidays(years)
    return {
        catalogue.OFFICE_HOURS: agreements.create_calendar(
            org.provider,
            catalogue.OFFICE_HOURS,
            time_zone=catalogue.TIME_ZONE,
            opening_hours=catalogue.weekly(range(5), "08:00", "18:00"),
            holidays=holidays,
            exceptions=catalogue.short_days(years),
        ),
        catalogue.ROUND_THE_CLOCK: agreements.create_calendar(
            org.provider, catalogue.ROUND_THE_CLOCK, time_zone=catalogue.TIME_ZONE, always_open=True
        ),
        catalogue.SUPPLIER_HOURS: agreements.create_calendar(
            org.provider,
            catalogue.SUPPLIER_HOURS,
            time_zone=catalogue.TIME_ZONE,
            opening_hours=catalogue.weekly(range(5), "07:00", "19:00")
            + catalogue.weekly(range(5, 6), "09:00", "13:00"),
            holidays=[h for h in holidays if h["name"] in ("Christmas Day", "New Year's Day")],
        ),
    }


def _valid_from(start: datetime) -> date:
    return date(start.year - 1, start.month, 1)


def _customers(org, names, calendars, start) -> None:
    for spec in catalogue.CUSTOMERS:
        customer = organisation.create_customer(org.provider, spec.code, spec.name, kind=spec.kind)
        org.customers[spec.code] = customer
        org.customer_specs[spec.code] = spec
        covered = [org.services[code] for code in spec.services]
        agreements.create_agreement(
            org.provider,
            "SA",
            f"sa-{spec.code}",
            f"Service agreement {spec.name}",
            calendar=calendars[spec.calendar],
            valid_from=_valid_from(start),
            customer=customer,
            services=covered,
            norms=catalogue.sa_norms(spec.level),
        )
        people = []
        for _ in range(spec.requesters):
            name = names.name()
            person = organisation.create_person(
                org.provider, name, email=mail(names.login(name), spec.mail_domain)
            )
            organisation.authorise_requester(customer, person, covered)
            people.append(person)
        org.requesters[spec.code] = people


def _team_agreements(org, calendars, start) -> None:
    for spec in catalogue.TEAMS:
        if spec.name == "Service desk":
            continue  # the desk works under the SAs themselves
        internal = spec.kind == "internal"
        kind = "OLA" if internal else "UC"
        slug = spec.name.lower().replace(" ", "-")
        agreements.create_agreement(
            org.provider,
            kind,
            f"{kind.lower()}-{slug}",
            f"{kind} {spec.name}",
            calendar=calendars[catalogue.OFFICE_HOURS if internal else catalogue.SUPPLIER_HOURS],
            valid_from=_valid_from(start),
            team=org.teams[spec.name],
            services=list(org.services.values()),
            norms=catalogue.team_norms(spec.kind),
        )


def _mir(org, rng) -> None:
    report = mir.admin_import(org.provider, mir_rows(rng), actor=org.admin, batch=MIR_BATCH)
    if not report.ok:
        raise RuntimeError(f"the demo register does not import: {report.errors[:3]}")
    org.mir_items = {
        item.identifier: item
        for item in MirItem.objects.filter(provider=org.provider).prefetch_related("services")
    }


INSTRUCTIONS = (
    ("identity", "OPS-4", "Reset a password", "Verify the caller with two questions from the "
     "account record, reset in the directory console and have the user change it at sign-in."),
    ("identity", "INC-3", "Sign-in failures", "Check the multi-factor service status page first; "
     "a general failure is a monitoring incident already."),
    ("mail", "OPS-4", "Create a shared mailbox", "Create it in the mail console with the owner as "
     "delegate; shared mailboxes get no licence."),
    ("network", "INC-3", "Site offline", "Check the carrier link in the carrier portal before "
     "dispatching anyone; a carrier fault goes to Ashgrove under its UC."),
    ("printing", "OPS-4", "Replace toner", "Toner stock is in the office's supply room; log the "
     "cartridge in the printer's record."),
    ("workplace", "OPS-4", "Prepare a laptop", "Enrol the device in endpoint management and let "
     "the standard package install before handing it over."),
    ("hosting", "CHM-4", "Prepare a server change", "Write the fallback first; test on the "
     "acceptance server of the application."),
    ("ledger", "CHM-5", "Test a ledger release", "Run the month-end test set on the acceptance "
     "environment; finance signs off the result."),
)  # fmt: skip


def _work_instructions(org) -> None:
    for code, step, title, text in INSTRUCTIONS:
        organisation.set_work_instruction(
            org.services[code],
            step,
            title,
            text=text,
            links=[f"https://wiki.{catalogue.MAIL_DOMAIN}/{code}/{step.lower()}"],
        )


def _demo_logins(org) -> None:
    """Give the known passwords to the people whose roles they show: one of each kind of staff,
    and the first requester of every customer."""
    manager, coordinator, changes, _ = org.members["process control"]
    holders = {
        "manager": manager,
        "coordinator": coordinator,
        "changes": changes,
        "desk": org.members["Service desk"][1],
        "operator": org.members["Workplace support"][1],
        "teamlead": org.members["Service desk"][0],
        "supplier": org.members["Ashgrove Carrier Services"][0],
    }
    for code, people in org.requesters.items():
        holders[f"requester-{code}"] = people[0]
    # The administrator's login came with the provider (bootstrap_provider).
    for entry in org.logins:
        if entry.username in holders:
            organisation.set_login(holders[entry.username], entry.username, entry.password)
