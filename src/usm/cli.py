"""The `usm` command. Each domain contributes one sub-application; this file only assembles them
and turns errors the user can fix into one-line messages."""

from __future__ import annotations

import os
import sys

import typer

from usm.api.commands import token_app
from usm.bench.commands import bench
from usm.calls.commands import call_app
from usm.console import fail
from usm.control.commands import control_app, worker
from usm.control.exports.commands import export_app
from usm.demo.commands import demo
from usm.mir.commands import mir_app
from usm.model.commands import model_app
from usm.model.frameworks.commands import frameworks_app
from usm.organisation.commands import organisation_app

app = typer.Typer(
    name="usm",
    help="Service management on the USM process model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(model_app, name="model")
app.add_typer(frameworks_app, name="frameworks")
app.add_typer(call_app, name="call")
app.add_typer(mir_app, name="mir")
app.add_typer(token_app, name="token")
app.add_typer(control_app, name="control")
app.add_typer(export_app, name="export")
app.command("worker")(worker)
# Contributes the `provider` and `procedure` groups at the top level.
app.add_typer(organisation_app)
app.command("demo")(demo)
app.command(name="bench")(bench)


def _django(*args: str) -> None:
    """Run a Django management command inside our settings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usm.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["usm", *args])


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    _django("migrate", "--no-input")


@app.command()
def serve(
    address: str = typer.Option("127.0.0.1:8000", help="host:port to listen on"),
    threads: int = typer.Option(8, help="worker threads"),
) -> None:
    """Serve the web application, the admin and the API."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail(
            f"address '{address}' must be host:port with a port from 1 to 65535, e.g. 127.0.0.1:8000"
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usm.settings")
    from waitress import serve as waitress_serve

    from usm.wsgi import application

    typer.echo(f"usm: serving on http://{address}/ (Ctrl+C to stop)")
    waitress_serve(application, host=host.strip("[]"), port=int(port), threads=threads)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def manage(ctx: typer.Context) -> None:
    """Run any Django management command (for administrators)."""
    _django(*ctx.args)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
