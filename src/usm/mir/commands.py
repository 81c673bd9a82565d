"""`usm mir ...`: the administrator's import and export of the MIR, and the impact of an item."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from usm.console import database_command, emit_json, fail, find_provider
from usm.mir.formats import FORMATS, format_of

mir_app = typer.Typer(
    help="The managed infrastructure register (MIR): import, export, impact.",
    no_args_is_help=True,
)

PROVIDER = typer.Option(..., "--provider", "-p", help="The provider's slug")
JSON = typer.Option(False, "--json", help="Print JSON instead of text")
FORMAT = typer.Option(
    None, "--format", "-f", help="csv or json (default: from the file name, else its content)"
)


def _chosen_format(file_format: str | None, name: str, content: bytes | str = b"") -> str:
    if file_format is None:
        return format_of(name, content)
    if file_format.lower() not in FORMATS:
        fail(f"'{file_format}' is not a format; use {' or '.join(FORMATS)}")
    return file_format.lower()


@mir_app.command(name="import")
def import_command(
    file: str = typer.Argument(..., help="A CSV or JSON file, or - for standard input"),
    provider: str = PROVIDER,
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and report; write nothing"),
    file_format: str | None = FORMAT,
    as_json: bool = JSON,
) -> None:
    """Import items into the MIR, all or nothing (the logged administrator door).

    A bad row is reported with its row and column; then nothing is written and the exit code is 2.
    """
    if file == "-":
        content, name = sys.stdin.buffer.read(), "stdin"
    else:
        path = Path(file)
        if not path.is_file():
            fail(f"{file}: no such file")
        content, name = path.read_bytes(), path.name
    chosen = _chosen_format(file_format, name, content)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with database_command():
        from usm.mir.files import import_file

        report = import_file(
            find_provider(provider),
            content,
            file_format=chosen,
            actor=None,
            batch=f"cli {stamp} {name}",
            dry_run=dry_run,
        )
    if as_json:
        emit_json(report.as_json())
        if not report.ok:
            raise typer.Exit(2)
        return
    if not report.ok:
        for error in report.errors:
            typer.echo(f"usm: {error}", err=True)
        fail(f"{len(report.errors)} problem(s) in {name}; nothing was written")
    counts = (
        f"{len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged"
    )
    if report.dry_run:
        typer.echo(
            f"{name}: {report.rows} rows are valid; would be {counts} (dry run, nothing written)"
        )
    else:
        typer.echo(f"{name}: {report.rows} rows imported as batch '{report.batch}': {counts}")


@mir_app.command(name="export")
def export_command(
    file: str = typer.Argument(..., help="Where to write, or - for standard output"),
    provider: str = PROVIDER,
    file_format: str | None = FORMAT,
) -> None:
    """Export the provider's whole register; the file imports back unchanged."""
    chosen = _chosen_format(file_format or ("json" if file == "-" else None), file)
    with database_command():
        from usm.mir.files import export_register

        text = export_register(find_provider(provider), chosen)
    if file == "-":
        sys.stdout.write(text)
        return
    try:
        # newline="": CSV rows already end in \r\n; no second translation.
        Path(file).write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    typer.echo(f"exported to {file} ({chosen})")


@mir_app.command(name="impact")
def impact_command(
    identifier: str = typer.Argument(..., help="The MIR item's identifier"),
    provider: str = PROVIDER,
    as_json: bool = JSON,
) -> None:
    """What depends on an item: items, the services they serve, the customers' agreements."""
    with database_command():
        from usm.mir.models import MirItem
        from usm.mir.queries import impact

        chosen = find_provider(provider)
        item = MirItem.objects.filter(provider=chosen, identifier=identifier).first()
        if item is None:
            fail(f"there is no MIR item '{identifier}' at {chosen.slug}")
        result = impact(item)
    if as_json:
        emit_json(result.as_json())
        return
    typer.echo(f"Impact of {item.identifier} ({item.type}, {item.status})")
    typer.echo("\nItems that depend on it:" if result.dependents else "\nNo item depends on it.")
    for dependent in result.dependents:
        relation = "depends on" if dependent.relation == "depends_on" else "contains"
        typer.echo(
            f"  {dependent.level}  {dependent.identifier} ({dependent.type}) "
            f"{relation} {dependent.via}"
        )
    typer.echo("\nServices affected:" if result.services else "\nNo service is affected.")
    for service in result.services:
        typer.echo(f"  {service.code}  {service.name}  served by {', '.join(service.served_by)}")
    typer.echo(
        "\nCustomers with an agreement in force:"
        if result.customers
        else "\nNo customer's agreement in force covers those services."
    )
    for customer in result.customers:
        typer.echo(
            f"  {customer.code}  {customer.name}  {', '.join(customer.agreements)} "
            f"({', '.join(customer.services)})"
        )
