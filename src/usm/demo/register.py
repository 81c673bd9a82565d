"""The managed infrastructure register of the demo organisation, as rows for the administrator's
logged import: sites, network, storage, clusters and hosts, virtual servers, databases,
applications, workplace device pools, printers and the agreements' own documents, related by
`depends_on` and `part_of` so that impact analysis has something to walk."""

from __future__ import annotations

import random
from dataclasses import dataclass

from usm.demo.catalogue import CUSTOMERS, TEAMS

INFRA = "Infrastructure"
NETWORK = "Network and security"
APPS = "Application management"
WORKPLACE = "Workplace support"
OFFICE = "Service level office"
CARRIER = "Ashgrove Carrier Services"
DATACENTRE = "Fernhill Datacentre Services"

DATA_ROOMS = ("north", "south")
OFFICES = ("harbour", "quillfield", "velden")


@dataclass(frozen=True)
class Application:
    identifier: str
    name: str
    services: tuple[str, ...]
    servers: int  # virtual servers it runs on
    database: bool
    owner: str = APPS


APPLICATIONS = (
    Application("app-ledger", "Finance ledger", ("ledger",), 4, True),
    Application("app-payroll", "Payroll engine", ("payroll",), 3, True),
    Application("app-payslips", "Payslip portal", ("payroll",), 2, False),
    Application("app-mail", "Mail platform", ("mail",), 5, True),
    Application("app-directory", "Staff directory", ("identity",), 4, True, INFRA),
    Application("app-mfa", "Multi-factor sign-in", ("identity",), 2, True, INFRA),
    Application("app-fileshares", "File shares", ("files",), 4, False, INFRA),
    Application("app-backup", "Backup service", ("files", "hosting"), 3, True, INFRA),
    Application("app-print", "Follow-me printing", ("printing",), 2, True, WORKPLACE),
    Application("app-endpoint", "Endpoint management", ("workplace",), 3, True, WORKPLACE),
    Application("app-softcentre", "Software centre", ("workplace",), 2, False, WORKPLACE),
    Application("app-switchboard", "Switchboard and call queues", ("telephony",), 2, True),
    Application("app-cms", "Website content management", ("website",), 3, True),
    Application("app-web-quillfield", "Quillfield College website", ("website",), 2, False),
    Application("app-web-tamsbury", "Harbour Authority website", ("website",), 2, False),
    Application("app-berths", "Berth booking", ("hosting",), 3, True),
    Application("app-tides", "Tide and vessel tracking", ("hosting",), 3, True),
    Application("app-levels", "Water level telemetry", ("hosting",), 4, True),
    Application("app-permits", "Permit desk", ("hosting",), 2, True),
    Application("app-monitoring", "Monitoring platform", ("hosting", "network"), 2, True, INFRA),
    Application("app-vpn-portal", "Remote access portal", ("network",), 2, False, NETWORK),
)

OPERATING_SYSTEMS = ("linux-debian-12", "linux-rhel-9", "windows-server-2022")


def mir_rows(rng: random.Random) -> list[dict]:
    """A few hundred items with their relations, the same for the same random state."""
    rows: list[dict] = []

    def item(identifier, name, type_, owner, services=(), attributes=None, **relations):
        rows.append(
            {
                "identifier": identifier,
                "name": name,
                "type": type_,
                "status": "active",
                "owner": owner,
                "services": list(services),
                "attributes": attributes or {},
                "depends_on": list(relations.get("depends_on", ())),
                "part_of": list(relations.get("part_of", ())),
            }
        )
        return identifier

    # Sites: two data rooms and the offices the customers work from.
    for room in DATA_ROOMS:
        item(f"site-dc-{room}", f"Data room {room.title()}", "site", INFRA, (), {"tier": 3})
    for office in OFFICES:
        item(f"site-{office}", f"{office.title()} office", "site", WORKPLACE, (), {"floors": 3})

    # Network: redundant cores and firewalls per data room, carrier links to every office,
    # access switches and Wi-Fi at the offices, remote access.
    for room in DATA_ROOMS:
        for n in (1, 2):
            item(
                f"net-core-{room}-{n}",
                f"Core switch {room} {n}",
                "switch",
                NETWORK,
                ("network",),
                {"model": "cs-9400", "firmware": "17.9.4"},
                part_of=[f"site-dc-{room}"],
            )
        item(
            f"net-fw-{room}",
            f"Firewall {room}",
            "firewall",
            NETWORK,
            ("network",),
            {"model": "fw-3100", "firmware": "7.4.2"},
            depends_on=[f"net-core-{room}-1", f"net-core-{room}-2"],
            part_of=[f"site-dc-{room}"],
        )
    item(
        "net-link-dc",
        "Data room interconnect",
        "network-link",
        CARRIER,
        ("network",),
        {"bandwidth_mbps": 10000},
        depends_on=["net-core-north-1", "net-core-south-1"],
    )
    for office in OFFICES:
        link = item(
            f"net-link-{office}",
            f"Carrier link {office.title()}",
            "network-link",
            CARRIER,
            ("network",),
            {"bandwidth_mbps": rng.choice((500, 1000, 2000))},
            depends_on=["net-fw-north"],
        )
        switches = []
        for n in range(1, rng.randint(4, 7) + 1):
            switches.append(
                item(
                    f"net-sw-{office}-{n:02d}",
                    f"Access switch {office.title()} {n}",
                    "switch",
                    NETWORK,
                    ("network",),
                    {"ports": rng.choice((24, 48)), "floor": (n - 1) % 3},
                    depends_on=[link],
                    part_of=[f"site-{office}"],
                )
            )
        item(
            f"net-wifi-{office}",
            f"Wi-Fi {office.title()}",
            "wifi",
            NETWORK,
            ("network",),
            {"access_points": rng.randint(12, 40)},
            depends_on=switches[:2],
            part_of=[f"site-{office}"],
        )
    item(
        "net-vpn",
        "Remote access gateway",
        "vpn-gateway",
        NETWORK,
        ("network",),
        {"max_sessions": 2000},
        depends_on=["net-fw-north", "net-fw-south"],
    )

    # Storage and compute: one array and one or two clusters per data room, hosts part of them.
    clusters = []
    for room in DATA_ROOMS:
        array = item(
            f"stor-{room}",
            f"Storage array {room}",
            "storage",
            DATACENTRE,
            ("hosting", "files"),
            {"capacity_tb": rng.choice((120, 180, 240))},
            depends_on=[f"net-core-{room}-1", f"net-core-{room}-2"],
            part_of=[f"site-dc-{room}"],
        )
        for letter in ("a", "b") if room == "north" else ("a",):
            cluster = item(
                f"clu-{room}-{letter}",
                f"Compute cluster {room} {letter.upper()}",
                "cluster",
                INFRA,
                ("hosting",),
                {"hypervisor": "kvm"},
                depends_on=[array, f"net-core-{room}-1"],
                part_of=[f"site-dc-{room}"],
            )
            clusters.append(cluster)
            for n in range(1, 6):
                item(
                    f"host-{room}-{letter}{n}",
                    f"Host {room} {letter.upper()}{n}",
                    "server",
                    DATACENTRE,
                    ("hosting",),
                    {"cores": rng.choice((32, 48, 64)), "ram_gb": rng.choice((512, 768, 1024))},
                    part_of=[cluster],
                )

    # Applications on their own virtual servers, with a database where they keep data.
    for application in APPLICATIONS:
        servers = []
        for n in range(1, application.servers + 1):
            servers.append(
                item(
                    f"vm-{application.identifier[4:]}-{n:02d}",
                    f"{application.name} server {n}",
                    "virtual-server",
                    INFRA,
                    application.services,
                    {
                        "os": rng.choice(OPERATING_SYSTEMS),
                        "vcpu": rng.choice((2, 4, 8)),
                        "ram_gb": rng.choice((8, 16, 32)),
                        "patch_level": "2024.12",
                    },
                    depends_on=[rng.choice(clusters)],
                )
            )
        # Each application has an acceptance environment where its changes are tested first.
        for n in range(1, rng.randint(1, 2) + 1):
            item(
                f"vm-{application.identifier[4:]}-acc-{n:02d}",
                f"{application.name} acceptance server {n}",
                "virtual-server",
                INFRA,
                (),
                {"os": rng.choice(OPERATING_SYSTEMS), "environment": "acceptance"},
                depends_on=[rng.choice(clusters)],
            )
        depends = list(servers)
        if application.database:
            depends.append(
                item(
                    f"db-{application.identifier[4:]}",
                    f"{application.name} database",
                    "database",
                    INFRA,
                    application.services,
                    {"engine": rng.choice(("postgresql-16", "sqlserver-2022"))},
                    depends_on=servers[-1:],
                )
            )
        item(
            application.identifier,
            application.name,
            "application",
            application.owner,
            application.services,
            {"version": f"{rng.randint(3, 12)}.{rng.randint(0, 9)}"},
            depends_on=depends,
        )
    # Everything a user touches depends on signing in.
    for row in rows:
        if row["type"] == "application" and row["identifier"] not in ("app-directory", "app-mfa"):
            row["depends_on"].append("app-directory")

    # The workplace: device pools per customer and printers at the offices.
    for customer in CUSTOMERS:
        item(
            f"pool-{customer.code}",
            f"Laptops of {customer.name}",
            "device-pool",
            WORKPLACE,
            ("workplace",),
            {"devices": customer.requesters * rng.randint(8, 14)},
            depends_on=["app-endpoint", "app-softcentre"],
        )
    for office in OFFICES:
        for n in range(1, rng.randint(10, 16) + 1):
            item(
                f"prn-{office}-{n:02d}",
                f"Printer {office.title()} {n}",
                "printer",
                WORKPLACE,
                ("printing",),
                {"model": rng.choice(("mf-4500", "mf-6200")), "firmware": "3.2"},
                depends_on=["app-print", f"net-sw-{office}-01"],
                part_of=[f"site-{office}"],
            )

    # The agreements themselves are registered items too, as USM has it.
    for customer in CUSTOMERS:
        item(
            f"doc-sa-{customer.code}",
            f"Service agreement {customer.name}",
            "contract",
            OFFICE,
            customer.services,
            {"level": customer.level},
        )
    for team in TEAMS:
        kind = "uc" if team.kind == "supplier" else "ola"
        slug = team.name.lower().replace(" ", "-")
        item(
            f"doc-{kind}-{slug}",
            f"{kind.upper()} {team.name}",
            "contract",
            OFFICE,
            (),
            {"kind": kind.upper()},
        )
    return rows
