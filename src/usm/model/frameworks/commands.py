"""`usm frameworks ...`: the practice catalogues of ITIL v3, ITIL 4, COBIT and FitSM, how the USM
model realises them and what doubling disappears when they are combined."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import typer

from usm.console import FAILURE, emit_json, fail
from usm.model.errors import ModelError
from usm.model.frameworks.analysis import (
    coverage,
    overlap,
    practice_processes,
    practice_workflows,
    read_practice_selection,
)
from usm.model.frameworks.catalogue import CatalogueError, Framework, framework, load_frameworks
from usm.model.loader import reference_model
from usm.model.process_model import ProcessModel

frameworks_app = typer.Typer(
    help="Framework practices (ITIL v3, ITIL 4, COBIT, FitSM) realised by the USM model.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON instead of a table")
FRAMEWORK = typer.Option(
    None, "--framework", "-f", help="Only this framework (itil3, itil4, cobit, fitsm)"
)


def _catalogues() -> Mapping[str, Framework]:
    # The shipped catalogues failing to load is our fault, not the user's: exit 1, not 2.
    try:
        return load_frameworks()
    except ModelError as exc:
        fail(str(exc), FAILURE)


def _model() -> ProcessModel:
    try:
        return reference_model()
    except ModelError as exc:
        fail(str(exc), FAILURE)


def _chosen(framework_id: str | None) -> list[Framework]:
    catalogues = _catalogues()
    if framework_id is None:
        return list(catalogues.values())
    try:
        return [framework(framework_id, catalogues)]
    except CatalogueError as exc:
        fail(str(exc))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@frameworks_app.command("list")
def list_practices(framework_id: str = FRAMEWORK, as_json: bool = JSON) -> None:
    """List each framework's practices with the USM processes and steps that realise them."""
    chosen = _chosen(framework_id)
    model = _model()
    if as_json:
        emit_json({"frameworks": [_framework_json(model, f) for f in chosen]})
        return
    for number, catalogue in enumerate(chosen):
        if number:
            typer.echo("")
        groups = ", ".join(f"{g.name} {len(catalogue.in_group(g.id))}" for g in catalogue.groups)
        typer.echo(
            f"{catalogue.name} ({catalogue.edition}): {len(catalogue.practices)} practices"
            f" [{groups}]"
        )
        rows = [
            (
                p.id,
                p.name,
                p.group,
                " ".join(practice_processes(model, p)),
                " ".join(str(w.number) for w in practice_workflows(model, p)),
                " ".join(p.steps),
            )
            for p in catalogue.practices
        ]
        typer.echo(_table(("id", "practice", "group", "processes", "workflows", "steps"), rows))


def _framework_json(model: ProcessModel, catalogue: Framework) -> dict[str, Any]:
    return {
        "id": catalogue.id,
        "name": catalogue.name,
        "edition": catalogue.edition,
        "basis": catalogue.basis,
        "groups": [
            {"id": g.id, "name": g.name, "practices": len(catalogue.in_group(g.id))}
            for g in catalogue.groups
        ],
        "practices": [
            {
                "key": p.key,
                "id": p.id,
                "name": p.name,
                "abbreviation": p.abbreviation or None,
                "group": p.group,
                "description": p.description,
                "steps": list(p.steps),
                "processes": list(practice_processes(model, p)),
                "workflows": [w.number for w in practice_workflows(model, p)],
                "who_how": p.who_how,
                "rationale": p.rationale,
            }
            for p in catalogue.practices
        ],
    }


@frameworks_app.command("coverage")
def coverage_command(framework_id: str = FRAMEWORK, as_json: bool = JSON) -> None:
    """Show how many practices of each framework the model realises and where they land.

    Per USM process: how many practices have at least one step there. Exit 1 when a practice is
    not realised.
    """
    chosen = _chosen(framework_id)
    model = _model()
    report = coverage(model, chosen)
    complete = all(entry.complete for entry in report)
    if as_json:
        emit_json({"complete": complete, "frameworks": [entry.as_json() for entry in report]})
    else:
        codes = list(model.processes)
        rows = [
            (
                entry.framework.name,
                f"{len(entry.realised)}/{entry.total}",
                f"{entry.percent:g}%",
                *(entry.per_process[code] for code in codes),
            )
            for entry in report
        ]
        typer.echo(_table(("framework", "realised", "%", *codes), rows))
        typer.echo("\nA practice counts once under every process where it has at least one step.")
        for entry in report:
            for practice in entry.unmapped:
                typer.echo(f"{practice.key}: realised by no step")
            for practice_id, steps in entry.missing.items():
                typer.echo(
                    f"{entry.framework.id}:{practice_id}: maps to missing step {', '.join(steps)}"
                )
    if not complete:
        raise typer.Exit(FAILURE)


@frameworks_app.command("overlap")
def overlap_command(
    framework_ids: list[str] = typer.Argument(
        None, metavar="[FRAMEWORK]...", help="Frameworks whose practices are combined"
    ),
    practices_file: Path = typer.Option(
        None,
        "--practices",
        help="Only the practices listed in this file (framework:practice-id per line, or a JSON "
        "list); with FRAMEWORK arguments, only those of the named frameworks",
    ),
    as_json: bool = JSON,
) -> None:
    """Show the USM steps that several of the combined practices claim.

    That is the work a patchwork of frameworks does more than once and USM does once.
    """
    catalogues = _catalogues()
    if not framework_ids and practices_file is None:
        fail("name at least one framework (e.g. itil4 fitsm) or give --practices FILE")
    try:
        named = [framework(f, catalogues) for f in framework_ids or []]
        if practices_file is None:
            chosen = [p for f in named for p in f.practices]
        else:
            chosen = read_practice_selection(practices_file, catalogues)
            if named:
                wanted = {f.id for f in named}
                chosen = [p for p in chosen if p.framework in wanted]
    except CatalogueError as exc:
        fail(str(exc))
    if not chosen:
        fail(f"{practices_file} lists no practice of {', '.join(f.id for f in named)}")
    result = overlap(_model(), chosen)
    if as_json:
        emit_json(result.as_json())
        return
    rows = []
    for claim in result.shared:
        for index, practice in enumerate(claim.practices):
            lead = (claim.step.id, claim.step.name) if index == 0 else ("", "")
            rows.append((*lead, practice.key, practice.name))
    frameworks = ", ".join(dict.fromkeys(p.framework for p in result.practices))
    typer.echo(f"{len(result.practices)} practices of {frameworks}")
    if rows:
        typer.echo(_table(("step", "name", "practice", "practice name"), rows))
    typer.echo(
        f"\n{len(result.shared)} of the {len(result.claims)} steps these practices claim are "
        f"claimed more than once. Of {result.claim_count} claims in all, "
        f"{result.redundant_claims} repeat a step another chosen practice already claims; "
        "USM performs each step once."
    )
