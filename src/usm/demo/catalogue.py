"""The demo organisation as data: who Orvane Shared Services serves, with what, under which
agreements, and who works there. Every name is invented; `seed` writes these rows through the
services of each app.

Orvane is the shared IT service centre of a small region: three departments of its own parent
organisation are internal customers, a college, a harbour authority and a water board buy its
services as external customers. Two suppliers underpin it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

PROVIDER_NAME = "Orvane Shared Services"
PROVIDER_SLUG = "orvane"
TIME_ZONE = "Europe/Amsterdam"
MAIL_DOMAIN = "orvane.example"


# -- the service catalogue -------------------------------------------------------------------------
@dataclass(frozen=True)
class ServiceSpec:
    code: str
    name: str
    facility: str
    support: str
    functionality: str
    functioning: str


SERVICES = (
    ServiceSpec(
        "workplace",
        "Digital workplace",
        "A managed laptop or desktop with the standard office software, kept patched.",
        "Desk help on using the workplace; replacement of a broken device within a day.",
        "Office software, browser, printing to nearby printers, access to the file store.",
        "Devices patched within 14 days of a release; 98% of working days without a failure.",
    ),
    ServiceSpec(
        "mail",
        "Mail and calendar",
        "Mailboxes, shared calendars and delivery of internal and external mail.",
        "Help with shared mailboxes, delegates and lost messages.",
        "A 50 GB mailbox per user, shared mailboxes, calendars, mobile synchronisation.",
        "99.8% available in service hours; mail delivered within 5 minutes.",
    ),
    ServiceSpec(
        "ledger",
        "Finance ledger",
        "The general ledger application with accounts payable and receivable.",
        "Functional support on bookings and month-end closing; report requests.",
        "Bookings, approval flows, month-end and year-end closing, standard reports.",
        "99.5% available in service hours; month-end closing runs finish by 06:00.",
    ),
    ServiceSpec(
        "payroll",
        "Payroll",
        "Salary calculation and payment runs, payslips in the staff portal.",
        "Help for payroll officers; corrections before the payment run.",
        "Monthly payment runs, payslips, tax returns, mutations by payroll officers.",
        "Payment runs on the agreed date without exception; mutations processed in 2 days.",
    ),
    ServiceSpec(
        "hosting",
        "Application hosting",
        "Virtual servers and databases in two data rooms, with backups.",
        "Capacity advice; restores on request.",
        "Virtual servers, managed databases, daily backups kept for 30 days.",
        "99.9% available around the clock; a restore started within 4 hours.",
    ),
    ServiceSpec(
        "network",
        "Network and connectivity",
        "Wired and wireless network at every site, the links between sites and remote access.",
        "Help with connecting devices and with remote access.",
        "Wired and Wi-Fi access, site links, VPN for remote work, guest Wi-Fi.",
        "99.9% available around the clock; site links restored within 4 hours.",
    ),
    ServiceSpec(
        "identity",
        "Accounts and access",
        "User accounts, group memberships, multi-factor sign-in and password resets.",
        "Password resets and account questions by phone and portal.",
        "Accounts for staff and guests, access rights on request, multi-factor sign-in.",
        "Accounts ready on the first working day; access changes within one working day.",
    ),
    ServiceSpec(
        "files",
        "File storage",
        "Department shares and personal storage with snapshots.",
        "Restoring deleted files; advice on structuring shares.",
        "Shares per department, personal storage, hourly snapshots kept for a week.",
        "99.8% available in service hours; restores of a snapshot within 4 hours.",
    ),
    ServiceSpec(
        "telephony",
        "Telephony",
        "Fixed and mobile numbers, the switchboard and call queues.",
        "Changes to call queues and extensions; replacement phones.",
        "Extensions, mobile subscriptions, call queues with waiting messages.",
        "99.9% available around the clock; extension changes within 2 working days.",
    ),
    ServiceSpec(
        "website",
        "Public website",
        "Hosting and publishing of the customer's public website.",
        "Help for editors; publication of urgent notices at any hour.",
        "Content management, publication workflow, forms, search.",
        "99.9% available around the clock; pages load within 2 seconds.",
    ),
    ServiceSpec(
        "printing",
        "Printing",
        "Multifunction printers at every site, with follow-me printing and supplies.",
        "Toner and paper replenished; broken printers repaired within a working day.",
        "Printing, scanning to mail, follow-me printing with the staff badge.",
        "A working printer within 50 metres of every desk on 97% of working days.",
    ),
)


# -- teams, people and profiles --------------------------------------------------------------------
UNITS = (
    # (name, parent)
    ("Orvane", None),
    ("Service desk", "Orvane"),
    ("Service management office", "Orvane"),
    ("IT operations", "Orvane"),
    ("Applications", "Orvane"),
)


@dataclass(frozen=True)
class TeamSpec:
    name: str
    kind: str  # internal | supplier
    unit: str | None
    size: int
    email: str


TEAMS = (
    TeamSpec("Service desk", "internal", "Service desk", 6, "desk@orvane.example"),
    TeamSpec(
        "Service level office", "internal", "Service management office", 3, "slo@orvane.example"
    ),
    TeamSpec("Workplace support", "internal", "IT operations", 5, "workplace@orvane.example"),
    TeamSpec("Infrastructure", "internal", "IT operations", 5, "infra@orvane.example"),
    TeamSpec("Network and security", "internal", "IT operations", 4, "network@orvane.example"),
    TeamSpec("Operations centre", "internal", "IT operations", 4, "opscentre@orvane.example"),
    TeamSpec("Application management", "internal", "Applications", 5, "apps@orvane.example"),
    TeamSpec("Ashgrove Carrier Services", "supplier", None, 3, "noc@ashgrove-carrier.example"),
    TeamSpec("Fernhill Datacentre Services", "supplier", None, 3, "support@fernhill-dc.example"),
)


@dataclass(frozen=True)
class ProfileSpec:
    name: str
    team: str | None
    unit: str | None
    description: str


# The five workflow coordinators: one per process, Accountable for every step of it.
COORDINATORS = {
    "CTM": "Contract coordinator",
    "CHM": "Change coordinator",
    "INC": "Incident coordinator",
    "OPS": "Operations coordinator",
    "IMP": "Improvement coordinator",
}
WORKFLOW_MANAGER = "Workflow manager"

# The operator profiles: who does the work in each team.
OPERATORS = {
    "Desk operator": "Service desk",
    "Service level officer": "Service level office",
    "Workplace specialist": "Workplace support",
    "Infrastructure specialist": "Infrastructure",
    "Problem analyst": "Infrastructure",
    "Network specialist": "Network and security",
    "Operations centre operator": "Operations centre",
    "Application specialist": "Application management",
    "Carrier engineer": "Ashgrove Carrier Services",
    "Datacentre engineer": "Fernhill Datacentre Services",
}


def team_coordinator(team: str) -> str:
    return f"{team} team coordinator"


def profiles() -> list[ProfileSpec]:
    found = [
        ProfileSpec(
            WORKFLOW_MANAGER,
            None,
            "Service management office",
            "Keeps the workflows, their procedures and resources in order; steers improvements.",
        )
    ]
    found += [
        ProfileSpec(
            name,
            None,
            "Service management office",
            f"Handles the {process} calls and owns their output.",
        )
        for process, name in COORDINATORS.items()
    ]
    found += [
        ProfileSpec(name, team, None, f"Does the work of {team} on a call.")
        for name, team in OPERATORS.items()
    ]
    found += [
        ProfileSpec(team_coordinator(t.name), t.name, t.unit, f"Line manager of {t.name}.")
        for t in TEAMS
        if t.kind == "internal"
    ]
    return found


# -- customers and their agreements ----------------------------------------------------------------
@dataclass(frozen=True)
class CustomerSpec:
    code: str
    name: str
    kind: str  # internal | external
    level: str  # gold | silver | bronze: which norms its SA carries
    calendar: str
    services: tuple[str, ...]
    requesters: int
    # Relative share of the calls; a bigger customer calls more.
    weight: float
    mail_domain: str


CUSTOMERS = (
    CustomerSpec(
        "finance",
        "Finance and Control",
        "internal",
        "silver",
        "Office hours",
        ("workplace", "mail", "ledger", "identity", "files", "telephony", "printing"),
        10,
        1.0,
        "finance.orvane.example",
    ),
    CustomerSpec(
        "people",
        "People and Payroll",
        "internal",
        "silver",
        "Office hours",
        ("workplace", "mail", "payroll", "identity", "files", "telephony", "printing"),
        8,
        0.8,
        "people.orvane.example",
    ),
    CustomerSpec(
        "facilities",
        "Facilities and Buildings",
        "internal",
        "bronze",
        "Office hours",
        ("workplace", "mail", "identity", "files", "telephony", "printing", "network"),
        8,
        0.7,
        "facilities.orvane.example",
    ),
    CustomerSpec(
        "quillfield",
        "Quillfield College",
        "external",
        "silver",
        "Office hours",
        ("workplace", "mail", "identity", "files", "network", "website", "printing"),
        14,
        1.6,
        "quillfield-college.example",
    ),
    CustomerSpec(
        "tamsbury",
        "Tamsbury Harbour Authority",
        "external",
        "gold",
        "Around the clock",
        ("workplace", "mail", "hosting", "network", "telephony", "identity", "website"),
        10,
        1.3,
        "tamsbury-harbour.example",
    ),
    CustomerSpec(
        "velden",
        "Velden Water Board",
        "external",
        "bronze",
        "Office hours",
        ("workplace", "mail", "ledger", "payroll", "hosting", "files", "identity"),
        9,
        1.0,
        "velden-water.example",
    ),
)

# Targets per call type and priority: (response, resolution, unit). They are tight enough that the
# simulated workers miss some of them, as real desks do.
_SA_TARGETS = {
    "incident": {
        1: (30, 240, "minutes"),
        2: (1, 8, "hours"),
        3: (4, 20, "hours"),
        4: (8, 40, "hours"),
        5: (1, 10, "days"),
    },
    "service_request": {
        1: (1, 8, "hours"),
        2: (2, 16, "hours"),
        3: (4, 30, "hours"),
        4: (1, 5, "days"),
        5: (2, 10, "days"),
    },
    "rfc": {p: (1, days, "days") for p, days in zip(range(1, 6), (3, 5, 10, 15, 20), strict=True)},
    "wish": {
        p: (2, days, "days") for p, days in zip(range(1, 6), (20, 25, 30, 35, 40), strict=True)
    },
    "risk": {
        p: (2, days, "days") for p, days in zip(range(1, 6), (10, 15, 20, 30, 40), strict=True)
    },
}
# A bronze customer pays for slower resolution; a gold one for incidents on the clock round the
# clock (its calendar is 24x7 anyway, the basis says so in the agreement too).
_SLOWER = {"gold": 1.0, "silver": 1.0, "bronze": 1.5}


def sa_norms(level: str) -> list[dict]:
    rows = []
    for call_type, by_priority in _SA_TARGETS.items():
        for priority, (response, resolution, unit) in by_priority.items():
            basis = "calendar" if level == "gold" and call_type == "incident" else "business"
            rows.append(
                _norm(
                    call_type, priority, response, round(resolution * _SLOWER[level]), unit, basis
                )
            )
    return rows


# What a team promises the service centre for the work forked to it: OLAs for the internal
# solution teams, UCs for the suppliers (on the suppliers' own hours).
_OLA_TARGETS = {
    "service_request": {1: (1, 4), 2: (1, 8), 3: (2, 16), 4: (4, 24), 5: (8, 40)},
    "rfc": {1: (4, 16), 2: (8, 24), 3: (8, 40), 4: (16, 60), 5: (16, 80)},
}
_UC_TARGETS = {
    "service_request": {1: (1, 6), 2: (2, 12), 3: (4, 24), 4: (8, 40), 5: (8, 60)},
}


def team_norms(kind: str) -> list[dict]:
    table = _OLA_TARGETS if kind == "internal" else _UC_TARGETS
    return [
        _norm(call_type, priority, response, resolution, "hours")
        for call_type, by_priority in table.items()
        for priority, (response, resolution) in by_priority.items()
    ]


def _norm(call_type, priority, response, resolution, unit, basis="business") -> dict:
    return {
        "call_type": call_type,
        "priority": priority,
        "response": response,
        "resolution": resolution,
        "unit": unit,
        "basis": basis,
    }


# -- calendars ---------------------------------------------------------------------------------------
OFFICE_HOURS = "Office hours"
ROUND_THE_CLOCK = "Around the clock"
SUPPLIER_HOURS = "Supplier hours"


def weekly(days: range, opens: str, closes: str) -> list[dict]:
    return [{"weekday": day, "opens": opens, "closes": closes} for day in days]


def public_holidays(years: range) -> list[dict]:
    """The public holidays the offices close on, for every year of `years`."""
    rows = []
    for year in years:
        easter = _easter(year)
        kings_day = date(year, 4, 27)
        if kings_day.weekday() == 6:  # moved to Saturday when it falls on a Sunday
            kings_day -= timedelta(days=1)
        for day, name in (
            (date(year, 1, 1), "New Year's Day"),
            (easter - timedelta(days=2), "Good Friday"),
            (easter + timedelta(days=1), "Easter Monday"),
            (kings_day, "King's Day"),
            (easter + timedelta(days=39), "Ascension Day"),
            (easter + timedelta(days=50), "Whit Monday"),
            (date(year, 12, 25), "Christmas Day"),
            (date(year, 12, 26), "Boxing Day"),
        ):
            rows.append({"date": day, "name": name})
    return sorted(rows, key=lambda row: row["date"])


def short_days(years: range) -> list[dict]:
    """Christmas and New Year's Eve close at noon when they fall on a working day."""
    return [
        {"date": day, "opens": "08:00", "closes": "12:00", "reason": reason}
        for year in years
        for day, reason in (
            (date(year, 12, 24), "Christmas Eve"),
            (date(year, 12, 31), "New Year's Eve"),
        )
        if day.weekday() < 5
    ]


def _easter(year: int) -> date:
    """Easter Sunday of the Gregorian calendar (the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


# -- the logins a visitor can try ------------------------------------------------------------------
@dataclass(frozen=True)
class Login:
    role: str
    username: str
    password: str
    sees: str


# Known passwords on purpose: this is a demo on a local machine. Each passes Django's validators
# (long enough, not a common password).
def _login(role: str, username: str, sees: str) -> Login:
    return Login(role, username, f"{username}-usm-demo", sees)


LOGINS = (
    _login("administrator", "admin", "everything, and the Django admin at /admin/"),
    _login("workflow manager", "manager", "the desk of every team, process control"),
    _login(
        "incident and operations coordinator",
        "coordinator",
        "the desk; owns the incident and service-request calls",
    ),
    _login("change coordinator", "changes", "the desk; owns the RFCs and their changes"),
    _login("service desk agent", "desk", "the service desk's queue"),
    _login("operator (Workplace support)", "operator", "a solution team's queue"),
    _login("team coordinator (Service desk)", "teamlead", "the service desk's queue"),
    _login("supplier engineer (Ashgrove Carrier Services)", "supplier", "the supplier's queue"),
    *(
        _login(f"requester ({customer.name})", f"requester-{customer.code}", "the portal")
        for customer in CUSTOMERS
    ),
)
