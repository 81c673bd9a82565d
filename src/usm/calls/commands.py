"""`usm call ...`: the call register for scripts and administrators."""

from __future__ import annotations

import typer

from usm.console import database_command, emit_json, fail, find_provider

call_app = typer.Typer(help="Register calls and walk their steps.", no_args_is_help=True)

PROVIDER = typer.Option(..., "--provider", "-p", help="The provider's slug")
ACTOR = typer.Option(None, "--user", "-u", help="Act as this login (recorded in the event log)")
JSON = typer.Option(False, "--json", help="Print JSON instead of text")


def _context(provider_slug: str, username: str | None):
    from django.contrib.auth import get_user_model

    provider = find_provider(provider_slug)
    actor = None
    if username:
        actor = get_user_model().objects.filter(username=username).first()
        if actor is None:
            fail(f"there is no user '{username}'")
    return provider, actor


def _call(provider, number: str):
    from usm.calls.models import Call

    call = Call.objects.filter(provider=provider, number=number.upper()).first()
    if call is None:
        fail(f"there is no call {number.upper()}")
    return call


def _show(call, as_json: bool) -> None:
    from usm.calls.schemas import CallOut

    if as_json:
        emit_json(CallOut.from_orm(call).dict())
        return
    due = f", due {call.resolution_due:%Y-%m-%d %H:%M}" if call.resolution_due else ""
    workflow = f"WF{call.workflow}" if call.workflow else "workflow open"
    typer.echo(
        f"{call.number}  {call.status.replace('_', ' ')} at {call.step or '-'}  "
        f"({workflow}, P{call.priority or '-'}{due})  {call.summary}"
    )


@call_app.command("register")
def register(
    provider: str = PROVIDER,
    call_type: str = typer.Option(
        ..., "--type", "-t", help="wish, rfc, incident, service_request, risk"
    ),
    summary: str = typer.Option(..., "--summary", "-s"),
    description: str = typer.Option("", "--description"),
    impact: int = typer.Option(None, min=1, max=9),
    urgency: int = typer.Option(None, min=1, max=9),
    username: str = ACTOR,
    as_json: bool = JSON,
) -> None:
    """Put a call in the register."""
    with database_command():
        from usm.calls import services

        tenant, actor = _context(provider, username)
        call = services.register_call(
            tenant,
            actor,
            call_type=call_type,
            summary=summary,
            description=description,
            channel="internal",
            impact=impact,
            urgency=urgency,
        )
        _show(call, as_json)


@call_app.command("show")
def show(number: str, provider: str = PROVIDER, as_json: bool = JSON) -> None:
    """One call."""
    with database_command():
        tenant, _ = _context(provider, None)
        _show(_call(tenant, number), as_json)


@call_app.command("list")
def list_calls(
    provider: str = PROVIDER,
    open_only: bool = typer.Option(False, "--open", help="Only calls still open"),
    limit: int = typer.Option(50, min=1, max=10000),
    as_json: bool = JSON,
) -> None:
    """Calls, newest first."""
    with database_command():
        from usm.calls.models import Call
        from usm.calls.schemas import CallOut

        tenant, _ = _context(provider, None)
        calls = Call.objects.filter(provider=tenant).order_by("-id")
        if open_only:
            calls = calls.exclude(status__in=("closed", "aborted"))
        calls = list(calls[:limit])
        if as_json:
            emit_json([CallOut.from_orm(c).dict() for c in calls])
            return
        for call in calls:
            _show(call, False)


@call_app.command("complete")
def complete(
    number: str,
    step: str,
    provider: str = PROVIDER,
    outcome: str = typer.Option(None, help="e.g. no_deal, cause_known"),
    notes: str = typer.Option(""),
    username: str = ACTOR,
    as_json: bool = JSON,
) -> None:
    """Complete the call's current step."""
    with database_command():
        from usm.calls import services

        tenant, actor = _context(provider, username)
        call = services.complete_step(
            _call(tenant, number), actor, step.upper(), outcome=outcome, notes=notes
        )
        _show(call, as_json)


@call_app.command("fork")
def fork(
    number: str,
    target: str,
    provider: str = PROVIDER,
    username: str = ACTOR,
    as_json: bool = JSON,
) -> None:
    """At the fork step, hand the call over to another process (prints the new call)."""
    with database_command():
        from usm.calls import services

        tenant, actor = _context(provider, username)
        _show(services.fork_call(_call(tenant, number), actor, target.upper()), as_json)


@call_app.command("events")
def events(number: str, provider: str = PROVIDER, as_json: bool = JSON) -> None:
    """The event log of one call."""
    with database_command():
        from usm.calls.schemas import EventOut

        tenant, _ = _context(provider, None)
        rows = list(_call(tenant, number).events.order_by("at", "id"))
        if as_json:
            emit_json([EventOut.from_orm(e).dict() for e in rows])
            return
        for event in rows:
            typer.echo(
                f"{event.at:%Y-%m-%d %H:%M:%S}  {event.process:3} {event.step:6} "
                f"{event.kind:16} {event.outcome or event.status}  {event.detail}".rstrip()
            )
