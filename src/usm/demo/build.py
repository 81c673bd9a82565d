"""Making the demo database: refuse a database that holds something else, wipe on request, seed
the organisation and run the simulated days, all in one transaction (an interrupted run leaves
nothing half made)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from django.core.management import call_command
from django.db import transaction

from usm.control.services import record_workflow_checks
from usm.demo import catalogue
from usm.demo.seed import DemoOrganisation, seed
from usm.demo.simulate import Simulation, simulated_period
from usm.demo.summary import Summary, summarise
from usm.organisation.models import Provider


class DemoExists(Exception):
    """The database already holds the demo (or another provider's data)."""


def migrate() -> None:
    """Bring the schema up to date; a no-op on a database that already is."""
    call_command("migrate", interactive=False, verbosity=0)


def demo_provider() -> Provider | None:
    return Provider.objects.filter(slug=catalogue.PROVIDER_SLUG).first()


def check_empty() -> None:
    """The demo is seeded once into a database of its own."""
    if demo_provider() is not None:
        raise DemoExists("the demo organisation is already in this database")
    others = list(Provider.objects.order_by("slug").values_list("slug", flat=True)[:3])
    if others:
        raise DemoExists(f"this database already holds provider(s) {', '.join(others)}")


def wipe() -> None:
    """Empty every table (the schema stays): what `--reset` asks for."""
    call_command("flush", interactive=False, verbosity=0)


def build(
    *,
    seed_value: int,
    days: int,
    until: datetime,
    calls_per_day: float,
    on_day: Callable[[datetime], None] | None = None,
) -> tuple[DemoOrganisation, Summary]:
    start, end = simulated_period(until, days)
    rng = random.Random(seed_value)
    with transaction.atomic():
        check_empty()
        org = seed(rng, start=start, end=end)
        Simulation(org, rng, start, end, calls_per_day=calls_per_day, on_day=on_day).run()
        # What `usm worker` would do in the background: the dashboard opens with every ended
        # workflow's conformance check made.
        record_workflow_checks()
    return org, summarise(org.provider)
