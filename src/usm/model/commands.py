"""`usm model ...`: show, validate and export the process model."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from usm.console import FAILURE, emit_json, fail
from usm.model.errors import ModelError
from usm.model.frameworks import load_frameworks
from usm.model.io.plain import model_as_json, workflow_as_json
from usm.model.loader import reference_model
from usm.model.sources import model_from_paths
from usm.model.validator import Report, validate

model_app = typer.Typer(help="The USM process model: show, validate, export.", no_args_is_help=True)

FILES = typer.Argument(None, help="USM-WIF .json files, TOML model files or a directory")
JSON = typer.Option(False, "--json", help="Print JSON instead of text")


def _load(files: list[Path] | None):
    try:
        return model_from_paths(list(files or []))
    except ModelError as exc:
        fail(str(exc))


@model_app.command()
def show(
    files: list[Path] = FILES,
    workflow: int = typer.Option(None, "--workflow", "-w", help="Show one workflow's path"),
    as_json: bool = JSON,
) -> None:
    """Show the processes, their steps and the workflows."""
    model = _load(files)
    if workflow is not None:
        try:
            chosen = model.workflow(workflow)
        except KeyError:
            fail(f"there is no workflow {workflow}; the model has {_numbers(model)}")
        if as_json:
            emit_json(workflow_as_json(model, chosen))
            return
        typer.echo(f"{chosen.label} ({chosen.kind.value}, {chosen.dynamicity.value})")
        for path_step in model.path(chosen):
            step = path_step.step
            typer.echo(f"{'    ' * path_step.depth}{step.id:7} {step.name}  [{step.kind.value}]")
        return
    if as_json:
        emit_json(model_as_json(model))
        return
    typer.echo(f"{model.name} {model.version}".strip())
    for process in model.processes.values():
        typer.echo(
            f"\n{process.code}  {process.verb} ({process.name}), triggered by a "
            f"{process.trigger.replace('_', ' ')}"
        )
        for step in process.steps:
            fork = f" -> {', '.join(step.fork_to)}" if step.fork_to else ""
            typer.echo(f"  {step.id:7} {step.name}  [{step.kind.value}{fork}]")
    typer.echo("\nWorkflows")
    for flow in model.workflows:
        typer.echo(
            f"  {flow.number}  {flow.name:36} {' -> '.join(flow.processes):26} "
            f"{flow.kind.value}, {flow.dynamicity.value}"
        )


def _numbers(model) -> str:
    return ", ".join(str(w.number) for w in model.workflows) or "none"


@model_app.command(name="validate")
def validate_command(files: list[Path] = FILES, as_json: bool = JSON) -> None:
    """Check a model against USM's ten design criteria (exit 1 on violations)."""
    model = _load(files)
    report = validate(model, frameworks=load_frameworks())
    if as_json:
        emit_json(report.as_json())
    else:
        _print_report(report)
    if not report.clean:
        raise typer.Exit(FAILURE)


def _print_report(report: Report) -> None:
    typer.echo(f"{report.model}: {report.processes} processes, {report.workflows} workflows")
    if report.clean:
        typer.echo("No violations of the design criteria.")
    else:
        typer.echo(f"{len(report.violations)} violation(s):")
        for v in report.violations:
            typer.echo(f"  criterion {v.criterion:2}  {v.where}: {v.message}")
    typer.echo("Not checked by machine:")
    for u in report.unchecked:
        typer.echo(f"  criterion {u.criterion:2}  {u.reason}")


class Format(StrEnum):
    wif = "wif"
    bpmn = "bpmn"
    mermaid = "mermaid"
    svg = "svg"


@model_app.command()
def export(
    fmt: Format = typer.Option(..., "--format", "-f", help="wif, bpmn, mermaid or svg"),
    workflow: int = typer.Option(None, "--workflow", "-w", help="Only this workflow"),
    out: Path = typer.Option(Path("."), "--out", "-o", help="Directory to write to"),
) -> None:
    """Export the built-in model: USM-WIF templates, BPMN 2.0 or diagrams."""
    model = reference_model()
    if workflow is not None and all(w.number != workflow for w in model.workflows):
        fail(f"there is no workflow {workflow}; the model has {_numbers(model)}")
    numbers = [workflow] if workflow is not None else None
    if out.exists() and not out.is_dir():
        fail(f"{out}: is not a directory")
    try:
        written = _writers()[fmt](model, out, numbers)
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror}", FAILURE)
    for path in written:
        sys.stdout.write(f"{path}\n")


def _writers():
    from usm.model.io.bpmn import model_to_bpmn_files
    from usm.model.io.diagrams import write_diagrams
    from usm.model.io.wif import write_wif_files

    return {
        Format.wif: write_wif_files,
        Format.bpmn: model_to_bpmn_files,
        Format.mermaid: lambda model, out, numbers: write_diagrams(model, out, "mmd", numbers),
        Format.svg: lambda model, out, numbers: write_diagrams(model, out, "svg", numbers),
    }
