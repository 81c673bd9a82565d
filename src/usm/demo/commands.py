"""`usm demo`: migrate, seed the demo organisation, simulate its days of service, print who can log
in as what, and serve the application. What `make demo` runs."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from usm.console import database_command, fail

DEFAULT_DAYS = 60
DEFAULT_CALLS_PER_DAY = 5.0
MAX_PORT = 65535
# A year of simulated days before the end, and room after it, stay well inside the calendar.
EARLIEST_END = datetime(1971, 1, 1, tzinfo=UTC)
LATEST_END = datetime(9000, 1, 1, tzinfo=UTC)


def demo(
    seed: int = typer.Option(1, help="Random seed: the same seed and period give the same data"),
    days: int = typer.Option(DEFAULT_DAYS, min=1, max=366, help="Days of service to simulate"),
    calls_per_day: float = typer.Option(
        DEFAULT_CALLS_PER_DAY,
        min=0.5,
        max=500,
        help="Customers' calls on an ordinary working day (risks and monitoring come on top)",
    ),
    until: str = typer.Option(
        None,
        help="End of the simulated period, ISO date or date-time in UTC (default: this hour)",
    ),
    reset: bool = typer.Option(False, "--reset", help="Empty the database first and seed anew"),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the application after"),
    address: str = typer.Option("127.0.0.1:8000", help="host:port to serve on"),
) -> None:
    """Seed a demo service organisation, simulate its days of service through the engine, print
    the logins and serve the application."""
    end = _end(until)
    host, _, port = address.rpartition(":")
    # Checked before seeding: the server starts only after minutes of simulation.
    if not host or not port.isdigit() or not 0 < int(port) <= MAX_PORT:
        fail(f"address '{address}' must be host:port, e.g. 127.0.0.1:8000")
    with database_command():
        from usm.demo import build

        build.migrate()
        where = _database()
        if reset:
            build.wipe()
            typer.echo(f"usm demo: emptied {where}")
        try:
            build.check_empty()
        except build.DemoExists as exc:
            if build.demo_provider() is None or not serve:
                fail(f"{exc} ({where}); --reset empties it and seeds anew")
            typer.echo(f"usm: {exc} ({where}); not seeding it again (--reset does)", err=True)
        else:
            typer.echo(f"usm demo: seeding into {where}, then simulating {days} days")
            with typer.progressbar(length=days, label="simulating") as bar:
                _, summary = build.build(
                    seed_value=seed,
                    days=days,
                    until=end,
                    calls_per_day=calls_per_day,
                    on_day=lambda _: bar.update(1),
                )
            for line in summary.lines():
                typer.echo(f"  {line}")
        _print_logins(address)
    if serve:
        from usm import cli

        cli.serve(address=address, threads=8)


def _end(until: str | None) -> datetime:
    if until is None:
        return datetime.now(UTC)
    try:
        end = datetime.fromisoformat(until)
    except ValueError:
        fail(
            f"--until: '{until}' is not an ISO date or date-time (e.g. 2025-03-14 or 2025-03-14T12:00)"
        )
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    if not EARLIEST_END <= end <= LATEST_END:
        # Near either end of the calendar the simulated days would run off it, halfway through.
        fail(f"--until: {until} lies outside the years {EARLIEST_END.year} to {LATEST_END.year}")
    return end


def _database() -> str:
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite {settings['NAME']}"
    host = settings.get("HOST") or "localhost"
    return f"{connection.vendor} database '{settings['NAME']}' on {host}"


def _print_logins(address: str) -> None:
    from usm.demo.catalogue import LOGINS, PROVIDER_NAME

    typer.echo(f"\n{PROVIDER_NAME}: log in at http://{address}/ as")
    width = max(len(login.username) for login in LOGINS)
    password_width = max(len(login.password) for login in LOGINS)
    for login in LOGINS:
        typer.echo(
            f"  {login.username:<{width}}  {login.password:<{password_width}}  "
            f"{login.role}: {login.sees}"
        )
    typer.echo(f"The API and its interactive docs: http://{address}/api/v1/docs\n")
