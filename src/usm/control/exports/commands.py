"""`usm export xes|ocel FILE`: the event log for process-mining tools."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer

from usm.console import database_command, emit_json, fail, find_provider_or_only

export_app = typer.Typer(
    help="Export the event log for process mining: XES (one trace per workflow) or OCEL 2.0.",
    no_args_is_help=True,
)

FILE = typer.Argument(..., help="The file to write ('-' writes to standard output)")
PROVIDER = typer.Option(
    None, "--provider", "-p", help="The provider's slug (may be left out when there is one)"
)
FROM = typer.Option(
    None, "--from", help="Workflows registered from this ISO date or date-time (included)"
)
TO = typer.Option(None, "--to", help="... up to this one (a date includes that whole day)")
PROCESS = typer.Option(
    None,
    "--process",
    help="Only workflows entering CTM, CHM, INC, OPS or IMP, and their events there",
)
CUSTOMER = typer.Option(None, "--customer", help="Only workflows of this customer (its code)")
JSON = typer.Option(False, "--json", help="Print a summary of what was written as JSON")

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
JSON_SUFFIXES = (".json", ".jsonocel")


class OcelFormat(StrEnum):
    JSON = "json"
    SQLITE = "sqlite"


def _selection(provider, start, end, process, customer):
    from usm.control.exports.selection import selection_of

    names = {"start": "--from", "end": "--to", "process": "--process", "customer": "--customer"}
    return selection_of(
        find_provider_or_only(provider),
        start=start,
        end=end,
        process=process,
        customer=customer,
        names=names,
    )


def _check_target(file: str, as_json: bool) -> Path | None:
    """The path to write, or None for standard output."""
    if file == "-":
        if as_json:
            fail("--json prints a summary to standard output; give a FILE to write the log to")
        return None
    path = Path(file)
    if path.is_dir():
        fail(f"{file} is a directory; name the file to write")
    if not path.parent.is_dir():
        fail(f"cannot write {file}: the directory {path.parent} does not exist")
    return path


@contextmanager
def _text_target(path: Path | None):
    from usm.control.exports.files import replacing

    if path is None:
        yield sys.stdout
        return
    with replacing(path) as partial, partial.open("w", encoding="utf-8", newline="\n") as out:
        yield out


def _report(summary: dict, as_json: bool, to_stdout: bool, text: str) -> None:
    if as_json:
        emit_json(summary)
    else:
        typer.echo(f"usm: {text}", err=to_stdout)


@export_app.command("xes")
def export_xes(
    file: str = FILE,
    provider: str = PROVIDER,
    start: str = FROM,
    end: str = TO,
    process: str = PROCESS,
    customer: str = CUSTOMER,
    all_events: bool = typer.Option(
        False,
        "--all-events",
        help="Besides the completed steps, every change the log records (forks, holds, ...)",
    ),
    as_json: bool = JSON,
) -> None:
    """IEEE 1849 XES: one trace per workflow, one event per completed step, in time order."""
    path = _check_target(file, as_json)
    with database_command():
        from usm.control.exports.xes import write_xes

        selection = _selection(provider, start, end, process, customer)
        try:
            with _text_target(path) as out:
                counts = write_xes(out, selection, all_events=all_events)
        except OSError as exc:
            fail(f"cannot write {file}: {exc.strerror or exc}")
    summary = {
        "format": "xes",
        "file": file,
        "selection": selection.describe(),
        "traces": counts.traces,
        "events": counts.events,
    }
    text = f"{counts.traces} traces, {counts.events} events written to {file}"
    _report(summary, as_json, path is None, text)


def _ocel_format(file: str, chosen: OcelFormat | None) -> OcelFormat:
    if chosen is not None:
        return chosen
    if file == "-":
        return OcelFormat.JSON
    suffix = Path(file).suffix.lower()
    if suffix in JSON_SUFFIXES:
        return OcelFormat.JSON
    if suffix in SQLITE_SUFFIXES:
        return OcelFormat.SQLITE
    fail(
        f"cannot tell the format of {file} from its name: end it in "
        f"{', '.join(JSON_SUFFIXES + SQLITE_SUFFIXES)} or give --format"
    )


@export_app.command("ocel")
def export_ocel(
    file: str = FILE,
    provider: str = PROVIDER,
    start: str = FROM,
    end: str = TO,
    process: str = PROCESS,
    customer: str = CUSTOMER,
    format: OcelFormat = typer.Option(
        None, "--format", help="json or sqlite (default: from the file's suffix)"
    ),
    as_json: bool = JSON,
) -> None:
    """OCEL 2.0: calls, workflows, MIR items, services, customers and teams as objects, every
    logged change as an event related to them (JSON or SQLite)."""
    chosen = _ocel_format(file, format)
    if chosen is OcelFormat.SQLITE and file == "-":
        fail("an OCEL SQLite database cannot go to standard output; give a FILE")
    path = _check_target(file, as_json)
    with database_command():
        from usm.control.exports.ocel import write_ocel_json, write_ocel_sqlite

        selection = _selection(provider, start, end, process, customer)
        try:
            if chosen is OcelFormat.SQLITE:
                counts = write_ocel_sqlite(path, selection)
            else:
                with _text_target(path) as out:
                    counts = write_ocel_json(out, selection)
        except OSError as exc:
            fail(f"cannot write {file}: {exc.strerror or exc}")
    summary = {
        "format": f"ocel2-{chosen.value}",
        "file": file,
        "selection": selection.describe(),
        **counts.as_dict(),
    }
    text = (
        f"{counts.objects} objects, {counts.events} events, "
        f"{counts.event_object + counts.object_object} relations written to {file}"
    )
    _report(summary, as_json, path is None, text)
