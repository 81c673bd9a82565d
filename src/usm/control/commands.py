"""`usm control ...` (KPIs, conformance, one SLA sweep) and `usm worker` (background work)."""

from __future__ import annotations

from pathlib import Path

import typer

from usm.console import FAILURE, database_command, emit_json, fail, find_provider_or_only

control_app = typer.Typer(
    help="Process control: KPIs, conformance to the workflows, the SLA sweep.",
    no_args_is_help=True,
)

PROVIDER = typer.Option(
    None, "--provider", "-p", help="The provider's slug (may be left out when there is one)"
)
FROM = typer.Option(None, "--from", help="Start: ISO date or date-time (default: 30 days ago)")
TO = typer.Option(None, "--to", help="End: a date includes that day (default: now)")
JSON = typer.Option(False, "--json", help="Print JSON instead of text")


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f} h"


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f} %"


def _table(header: list[str], rows: list[list]) -> None:
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _lookup(model, provider, field: str, value: str | None, what: str) -> int | None:
    if value is None:
        return None
    row = model.objects.filter(provider=provider, **{field: value}).first()
    if row is None:
        fail(f"there is no {what} '{value}'")
    return row.pk


@control_app.command("kpis")
def show_kpis(
    provider: str = PROVIDER,
    start: str = FROM,
    end: str = TO,
    process: str = typer.Option(None, help="CTM, CHM, INC, OPS or IMP"),
    workflow: int = typer.Option(None, min=1, max=8),
    customer: str = typer.Option(None, help="A customer's code"),
    service: str = typer.Option(None, help="A service's code"),
    team: str = typer.Option(None, help="A team's name"),
    refresh: bool = typer.Option(
        False,
        "--refresh",
        help="First add every event not yet tallied to the day tallies (a register filled, "
        "imported or upgraded in one go); progress goes to stderr",
    ),
    rebuild: bool = typer.Option(
        False,
        "--rebuild",
        help="First drop the day tallies (every provider's) and tally the whole event log "
        "again (after an upgrade that changes how events are counted); progress goes to stderr",
    ),
    as_json: bool = JSON,
) -> None:
    """Key figures: intake, backlog, throughput, lead times, first-time-right, forks, SLAs.

    `usm worker` keeps day tallies of the event log as it grows, from which long periods are
    read quickly; whatever is not tallied yet is read from the log, so the figures are the same
    either way."""
    with database_command():
        if rebuild:
            from usm.control.services import forget_event_tallies

            typer.echo(f"usm: {forget_event_tallies()} day tally row(s) dropped", err=True)
        if refresh or rebuild:
            _tally_events()
        from usm.agreements.models import Service
        from usm.control import sources
        from usm.control.kpis import Slice, kpis
        from usm.control.periods import period_of
        from usm.model import reference_model
        from usm.organisation.models import Customer, Team

        tenant = find_provider_or_only(provider)
        if process and process.upper() not in reference_model().processes:
            fail(f"'{process}' is not a process ({', '.join(reference_model().processes)})")
        where = Slice(
            process=process.upper() if process else None,
            workflow=workflow,
            customer_id=_lookup(Customer, tenant, "code", customer, "customer"),
            service_id=_lookup(Service, tenant, "code", service, "service"),
            team_id=_lookup(Team, tenant, "name", team, "team"),
        )
        figures = kpis(
            *sources.of_provider(tenant.pk), period_of(start, end), where, kept_for=tenant.pk
        )
        if as_json:
            emit_json(figures)
        else:
            _print_kpis(figures)


def _print_kpis(figures: dict) -> None:
    period, totals = figures["period"], figures["totals"]
    typer.echo(f"KPIs from {period['start']} to {period['end']}")
    typer.echo(
        f"intake {totals['intake']}  throughput {totals['throughput']}  "
        f"aborted {totals['aborted']}  backlog {totals['backlog']} "
        f"(median age {_hours(totals['backlog_age']['median_seconds'])})"
    )
    typer.echo(
        f"lead time median {_hours(totals['lead_time']['median_seconds'])}, "
        f"p90 {_hours(totals['lead_time']['p90_seconds'])}; "
        f"workflows closed {totals['workflows_closed']}, "
        f"first-time-right {_percent(totals['first_time_right_rate'])}; "
        f"repeat rate {_percent(totals['repeat_rate'])}; "
        f"breaches {totals['breaches']['response']} response, "
        f"{totals['breaches']['resolution']} resolution"
    )
    typer.echo("")
    _table(
        ["process", "intake", "closed", "aborted", "backlog", "lead median", "lead p90", "repeats"],
        [
            [
                p["process"],
                p["intake"],
                p["throughput"],
                p["aborted"],
                p["backlog"],
                _hours(p["lead_time"]["median_seconds"]),
                _hours(p["lead_time"]["p90_seconds"]),
                p["repeats"],
            ]
            for p in figures["processes"]
        ],
    )
    typer.echo("")
    _table(
        ["workflow", "started", "closed", "open", "lead median", "lead p90", "first-time-right"],
        [
            [
                f"WF{w['workflow']}" if w["workflow"] else "undecided",
                w["started"],
                w["closed"],
                w["open"],
                _hours(w["lead_time"]["median_seconds"]),
                _hours(w["lead_time"]["p90_seconds"]),
                _percent(w["first_time_right_rate"]),
            ]
            for w in figures["workflows"]
        ],
    )
    typer.echo("")
    typer.echo(
        "forks: "
        + ", ".join(
            f"{f['process']}->{f['target']} (WF{f['workflow']}) {f['count']}"
            for f in figures["forks"]
        )
    )
    if figures["agreements"]:
        typer.echo("")
        _table(
            ["agreement", "response", "resolution", "pending", "breaches"],
            [
                [
                    f"{a['kind']} {a['name']}",
                    _percent(a["response"]["rate"]),
                    _percent(a["resolution"]["rate"]),
                    a["response"]["pending"] + a["resolution"]["pending"],
                    a["breaches"]["response"] + a["breaches"]["resolution"],
                ]
                for a in figures["agreements"]
            ],
        )
    risks = figures["risks"]
    typer.echo("")
    typer.echo(f"risks open {risks['open']}, of which known errors {risks['known_errors']}")


@control_app.command("conformance")
def show_conformance(
    provider: str = PROVIDER,
    start: str = FROM,
    end: str = TO,
    limit: int = typer.Option(100, min=1, max=100000, help="List at most this many deviations"),
    refresh: bool = typer.Option(
        False,
        "--refresh",
        help="First check every ended workflow of the provider's register that has no kept "
        "check yet, whatever the period (a register filled, imported or upgraded in one go); "
        "progress goes to stderr",
    ),
    rebuild: bool = typer.Option(
        False,
        "--rebuild",
        help="First drop the kept checks (every provider's) and check every ended workflow of "
        "the provider's register again (when events reached ended workflows after their check: "
        "an import, a repair); the worker re-checks other providers'; progress goes to stderr",
    ),
    as_json: bool = JSON,
) -> None:
    """Check the workflows closed in the period against their templates. Exits 1 when any
    deviates.

    Checks are kept once made. `usm worker` makes them in the background as workflows end;
    this command first checks those of the period (or, with --refresh, of the whole register)
    that are still missing, so its figures count every ended workflow."""
    with database_command():
        from usm.control import sources
        from usm.control.conformance import conformance
        from usm.control.periods import period_of

        tenant = find_provider_or_only(provider)
        period = period_of(start, end)
        calls, events = sources.of_provider(tenant.pk)
        if rebuild:
            from usm.control.services import forget_workflow_checks
            from usm.model import reference_model

            reference_model()  # what the checks are made with loads before any is dropped
            typer.echo(f"usm: {forget_workflow_checks()} kept check(s) dropped", err=True)
        if refresh or rebuild:
            _check_workflows(calls, announce=True)
        else:
            _check_workflows(calls.filter(closed_at__gte=period.start, closed_at__lt=period.end))
        report = conformance(calls, events, period, limit=limit)
    if as_json:
        emit_json(report)
    else:
        _print_conformance(report)
    if report["deviations_total"]:
        raise typer.Exit(FAILURE)


# Seconds between two progress lines of a long check.
PROGRESS_EVERY = 2.0


def _every_few_seconds(line, started: float):
    """A progress callback that writes `line(done, seconds since started)` to stderr at most
    once every PROGRESS_EVERY seconds."""
    import time

    last_shown = started

    def progress(done) -> None:
        nonlocal last_shown
        now = time.monotonic()
        if now - last_shown >= PROGRESS_EVERY:
            last_shown = now
            typer.echo(line(done, now - started), err=True)

    return progress


def _tally_events() -> None:
    """Add the events not yet tallied to the day tallies, telling on stderr how far it got."""
    import time

    from usm.control.services import keep_event_tallies

    started = time.monotonic()
    done = keep_event_tallies(
        progress=_every_few_seconds(
            lambda done, _: f"usm: events tallied through id {done.through}", started
        )
    )
    if done.deferred:
        fail("the event log is being written in bulk; try --refresh again in a moment")
    typer.echo(
        f"usm: {done.events} event(s) tallied in {time.monotonic() - started:.1f} s, "
        f"through id {done.through}",
        err=True,
    )


def _check_workflows(scope, *, announce: bool = False) -> None:
    """Check and keep the ended workflows of `scope` with no kept check, telling on stderr how
    far it got every few seconds when that takes a while (and, with `announce`, when done)."""
    import time

    from usm.control.conformance import checked_with, unchecked
    from usm.control.services import record_workflow_checks
    from usm.model import reference_model

    total = unchecked(scope, checked_with(reference_model())).count()
    if not total:
        if announce:
            typer.echo("usm: every ended workflow has been checked already", err=True)
        return
    started = time.monotonic()

    def line(done, seconds: float) -> str:
        rate = done.checked / seconds
        return f"usm: {done.checked} of {total} workflows checked ({rate:.0f} a second)"

    done = record_workflow_checks(scope, progress=_every_few_seconds(line, started))
    took = time.monotonic() - started
    if announce or took >= PROGRESS_EVERY:
        typer.echo(f"usm: {done.checked} workflow(s) checked in {took:.1f} s", err=True)
    if done.passed_over:
        typer.echo(
            f"usm: {done.passed_over} workflow(s) were being checked by a worker at the same "
            "time; they count once it has kept them",
            err=True,
        )
    if done.failed:
        typer.echo(
            f"usm: {done.failed} workflow(s) could not be checked (see the log); they count as "
            "awaiting their check",
            err=True,
        )


def _print_conformance(report: dict) -> None:
    typer.echo(
        f"{report['checked']} closed workflow(s) checked, {report['conforming']} conforming "
        f"({_percent(report['rate'])}), {report['with_repeats']} with repeated steps; "
        f"{report['aborted']} aborted"
        + (f"; {report['awaiting_check']} awaiting their check" if report["awaiting_check"] else "")
    )
    typer.echo("")
    _table(
        ["process", "calls", "conforming", "rate"],
        [
            [p["process"], p["calls"], p["conforming"], _percent(p["rate"])]
            for p in report["processes"]
        ],
    )
    typer.echo("")
    _table(
        ["workflow", "checked", "conforming", "rate", "aborted"],
        [
            [f"WF{w['workflow']}", w["checked"], w["conforming"], _percent(w["rate"]), w["aborted"]]
            for w in report["workflows"]
        ],
    )
    if report["deviations"]:
        typer.echo("")
        typer.echo(f"{report['deviations_total']} deviation(s):")
        for d in report["deviations"]:
            typer.echo(f"  {d['call']} {d['step'] or '-'}: {d['message']} ({d['code']})")


@control_app.command("sweep")
def run_sweep(
    at: str = typer.Option(None, "--at", help="Sweep as if it were this instant (ISO date-time)"),
    as_json: bool = JSON,
) -> None:
    """One SLA sweep now, in this process: record breaches, warn and escalate, send e-mail;
    then check the workflows ended since the last sweep against their templates (a bounded
    number per sweep; `usm control conformance --refresh` checks any number at once)."""
    with database_command():
        from django.utils import timezone

        from usm.control.periods import instant
        from usm.control.sweep import sweep

        moment = instant(at, "at")
        if moment is not None and moment > timezone.now():
            # Breaches are recorded for good and mailed: a sweep in the future would report
            # ones that may never happen.
            fail(f"--at {at} is in the future; a sweep runs now or replays the past")
        report = sweep(moment)
    if as_json:
        emit_json(report.as_dict())
        return
    typer.echo(
        f"swept at {report.at:%Y-%m-%d %H:%M} UTC: {len(report.breaches)} breach(es) recorded, "
        f"{report.notifications} notification(s), {report.sent} e-mail(s) sent, "
        f"{report.tallies.events} event(s) tallied, "
        f"{report.conformance.checked} ended workflow(s) checked"
        + (" (more left for the next sweep)" if report.conformance.more else "")
    )
    for line in report.breaches:
        typer.echo(f"  breach: {line}")
    for line in report.unrouted:
        typer.echo(f"  not notified: {line}")
    for line in report.failures:
        typer.echo(f"  not sent: {line}", err=True)
    if report.analysed:
        typer.echo(f"  planner statistics refreshed: {', '.join(report.analysed)}")
    if report.conformance.failed:
        typer.echo(f"  not checked: {report.conformance.failed} workflow(s), see the log", err=True)


@control_app.command("report")
def write_report(
    customer: str = typer.Option(..., "--customer", "-c", help="The customer's code"),
    month: str = typer.Option(..., "--month", "-m", help="The calendar month, e.g. 2026-10"),
    out: Path = typer.Option(..., "--out", "-o", help="The HTML file to write", dir_okay=False),
    agreement: str = typer.Option(None, help="Only this service agreement (its code)"),
    provider: str = PROVIDER,
) -> None:
    """Write the monthly service report of a customer: a printable HTML page with the SLA
    figures and charts of each of its service agreements."""
    with database_command():
        from django.template.loader import render_to_string

        from usm.control.reports import Month, service_report
        from usm.organisation.models import Customer

        tenant = find_provider_or_only(provider)
        chosen = Month.parse(month)
        found = Customer.objects.filter(provider=tenant, code=customer).first()
        if found is None:
            fail(f"there is no customer '{customer}'")
        page = render_to_string(
            "control/report.html", service_report(found, chosen, agreement=agreement)
        )
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}", FAILURE)
    typer.echo(f"usm: wrote the {chosen.label()} report of {found.name} to {out}")


def worker(
    sweep_every: float = typer.Option(
        60.0, "--sweep-every", min=1.0, help="Seconds between SLA sweeps"
    ),
    interval: float = typer.Option(
        1.0, min=0.1, help="Seconds to wait for work when the queue is empty"
    ),
    queue: str = typer.Option("default", help="The task queues to work on (comma-separated)"),
) -> None:
    """Run background work (django-tasks' database worker) and the SLA sweep every so often.
    Start as many as you like: they share the queue and never sweep the same call at once."""
    from usm.console import setup_django

    setup_django()
    from django.core.management import call_command

    from usm.control.tasks import SweepClock

    clock = SweepClock(sweep_every)
    clock.start()
    typer.echo(f"usm: worker started; SLA sweep every {sweep_every:g} s (Ctrl+C to stop)")
    try:
        call_command(
            "db_worker",
            "--no-reload",
            "--interval",
            str(interval),
            "--queue-name",
            queue,
        )
    finally:
        clock.stop()
