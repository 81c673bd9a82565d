"""The `usm bench` command. The harness is a developer's tool that lives beside the sources (bench/
at the repository root, with its peer project and README), not inside the installed package: this
command finds the checkout, puts it on the import path and runs the harness with the same Python.
cli.py registers it with `app.command(name="bench")(bench)`."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from types import SimpleNamespace

import typer

from usm.console import FAILURE, fail


class Database(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"
    BOTH = "both"


def _holds_harness(root: Path) -> bool:
    return (root / "bench" / "harness.py").is_file()


def repository() -> Path | None:
    """The checkout holding bench/: USM_REPOSITORY if set; else the checkout this package runs
    from (an editable install: src/usm/bench -> the root); else the current directory."""
    configured = os.environ.get("USM_REPOSITORY")
    if configured:
        return Path(configured) if _holds_harness(Path(configured)) else None
    for root in (Path(__file__).resolve().parents[3], Path.cwd()):
        if _holds_harness(root):
            return root
    return None


def bench(
    database: Database = typer.Option(Database.BOTH, help="Which database to measure"),
    size: list[str] = typer.Option(
        None,
        help="Calls already in the register (default 10000). Several (repeat the option or "
        "10000,1000000) also give the cost growth between sizes.",
    ),
    only: list[str] = typer.Option(
        None,
        help="Run only these scenarios (repeat or comma-separate): raw, pgbench, spiff, "
        "helpdesk, engine, monitoring, queue, kpi, export, http, pages",
    ),
    quick: bool = typer.Option(False, "--quick", help="Few repetitions (for developers)"),
    json_only: bool = typer.Option(False, "--json", help="Only the JSON lines, no table"),
    out: Path | None = typer.Option(None, help="Also write the JSON lines to this file"),
    postgres: str | None = typer.Option(
        None,
        help="PostgreSQL server without a database name (default postgresql://USER@127.0.0.1:5432)",
    ),
) -> None:
    """Measure the engine, the API, the pages and the exports against baselines taken in the
    same run: one JSON line per measurement, then a table (see bench/README.md)."""
    root = repository()
    if root is None:
        fail(
            "bench/ (the benchmark harness) was not found: run from the root of a source "
            "checkout or set USM_REPOSITORY to it"
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from bench import harness

    try:
        plan = harness.plan_of(
            SimpleNamespace(
                database=database.value,
                size=size,
                only=only,
                quick=quick,
                json=json_only,
                out=out,
                postgres=postgres or harness.default_postgres(),
            )
        )
    except harness.BadInput as exc:
        fail(str(exc))
    code = harness.run(plan)
    if code:
        raise typer.Exit(FAILURE)
