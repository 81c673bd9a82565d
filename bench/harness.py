"""`usm bench` / `python -m bench`: make fresh databases, measure the baselines, run the workers,
and print every measurement as one JSON line (with its baseline, ratio and target) and a table.

    usm bench [--database sqlite|postgresql|both] [--size 10000[,1000000]] [--only SCENARIO]
              [--quick] [--json] [--out FILE]

The harness never imports Django: each database is measured by a `bench.worker` process of its
own. PostgreSQL databases are `usm_bench` and `usm_bench_peer` on 127.0.0.1:5432 (created and
dropped here, nothing else is touched); SQLite files live in a temporary directory.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import baselines, report
from bench.stats import Measurement, log, stop_cleanly_on_sigterm
from bench.stats import skipped as skipped_measurement
from bench.targets import CONTEXT, TARGETS
from bench.worker import SCENARIOS as WORKER_SCENARIOS
from bench.workflows import shape

REPOSITORY = Path(__file__).resolve().parents[1]
ALL_BASELINES = ("raw", "pgbench", "spiff", "helpdesk")
SCENARIOS = (*ALL_BASELINES, *WORKER_SCENARIOS)
DEFAULT_SIZE = 10_000
BENCH_DATABASE = "usm_bench"
PEER_DATABASE = "usm_bench_peer"


@dataclass(frozen=True)
class Plan:
    databases: tuple[str, ...]
    sizes: tuple[int, ...]
    quick: bool
    scenarios: tuple[str, ...]
    out: Path | None
    postgres: str  # postgresql://user@host:port, without a database name
    json_only: bool = False
    postgres_required: bool = False  # asked for by name: unreachable is a failure, not a skip
    workers: int = 2

    @property
    def baselines(self) -> tuple[str, ...]:
        return tuple(name for name in self.scenarios if name in ALL_BASELINES)

    @property
    def worker_scenarios(self) -> tuple[str, ...]:
        return tuple(name for name in self.scenarios if name in WORKER_SCENARIOS)

    @property
    def raw_writes(self) -> dict[str, int]:
        return (
            {"sqlite": 5_000, "postgresql": 1_000}
            if self.quick
            else {
                "sqlite": 50_000,
                "postgresql": 10_000,
            }
        )

    @property
    def spiff_runs(self) -> int:
        return 20 if self.quick else 150

    @property
    def helpdesk_tickets(self) -> int:
        return 20 if self.quick else 150

    @property
    def pgbench_seconds(self) -> int:
        return 5 if self.quick else 10


def default_postgres() -> str:
    return os.environ.get("USM_BENCH_POSTGRES", f"postgresql://{getpass.getuser()}@127.0.0.1:5432")


class BadInput(ValueError):
    """An option the harness cannot run with; the command reports it in one line, exit 2."""


def _list(values: list[str] | None) -> list[str]:
    """Options given several times or comma-separated, or both."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def parse(argv: list[str]) -> Plan:
    parser = argparse.ArgumentParser(prog="usm bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--size",
        action="append",
        help=f"calls already in the register (default {DEFAULT_SIZE}); several sizes, "
        "e.g. 10000,1000000, also give the cost growth between them",
    )
    parser.add_argument(
        "--only",
        action="append",
        help=f"run only these scenarios (repeat or comma-separate): {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--quick", action="store_true", help="few repetitions (for developers)")
    parser.add_argument("--json", action="store_true", help="only the JSON lines, no table")
    parser.add_argument("--out", type=Path, help="also write the JSON lines to this file")
    parser.add_argument(
        "--postgres",
        default=default_postgres(),
        help="PostgreSQL server (no database name): usm_bench is created and dropped on it",
    )
    args = parser.parse_args(argv)
    return plan_of(args)


def plan_of(args) -> Plan:
    chosen = _list(args.only) or list(SCENARIOS)
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        raise BadInput(f"unknown scenario {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    try:
        sizes = sorted({int(s) for s in _list(args.size)} or {DEFAULT_SIZE})
    except ValueError:
        raise BadInput("--size takes whole numbers, e.g. 10000 or 10000,1000000") from None
    if sizes[0] < 100:
        raise BadInput("--size: the register holds at least 100 calls")
    if args.out is not None and not args.out.parent.is_dir():
        raise BadInput(f"--out: directory {args.out.parent} does not exist")
    return Plan(
        databases=("sqlite", "postgresql") if args.database == "both" else (args.database,),
        sizes=tuple(sizes),
        quick=args.quick,
        scenarios=tuple(name for name in SCENARIOS if name in chosen),
        out=args.out,
        postgres=args.postgres.rstrip("/"),
        json_only=args.json,
        postgres_required=args.database == "postgresql",
    )


# -- the machine ----------------------------------------------------------------------------------
def machine(plan: Plan) -> dict:
    memory = 0
    try:
        with open("/proc/meminfo") as meminfo:
            memory = int(meminfo.readline().split()[1]) // 1024
    except OSError:
        pass
    found = {
        "cpus": os.cpu_count(),
        "memory_mib": memory,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "system": f"{platform.system()} {platform.machine()}",
        **checkout(),
    }
    if "postgresql" in plan.databases and postgres_unreachable(plan) is None:
        import psycopg

        with psycopg.connect(f"{plan.postgres}/postgres", autocommit=True) as connection:
            found["postgresql"] = connection.execute("SHOW server_version").fetchone()[0]
    return found


def checkout() -> dict:
    """The code measured: the commit, and how many files under src/ differ from it (the
    figures of a checkout with changes in progress are not the commit's)."""

    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True)
        return run.stdout.strip() if run.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return {}
    changed = git("status", "--porcelain", "--", "src")
    return {"commit": commit, "src_files_changed": len(changed.splitlines())}


def postgres_unreachable(plan: Plan) -> str | None:
    """Why the PostgreSQL server cannot be used, or None."""
    import psycopg

    try:
        with psycopg.connect(f"{plan.postgres}/postgres", connect_timeout=5):
            return None
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL at {plan.postgres} is not reachable ({first})"


# -- databases ------------------------------------------------------------------------------------
@contextmanager
def postgres_databases(plan: Plan):
    """Fresh usm_bench and usm_bench_peer; both dropped afterwards, whatever happens."""
    import psycopg

    names = (BENCH_DATABASE, PEER_DATABASE)

    def drop_all(connection):
        for name in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    with psycopg.connect(f"{plan.postgres}/postgres", autocommit=True) as connection:
        drop_all(connection)
        for name in names:
            connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {name: f"{plan.postgres}/{name}" for name in names}
    finally:
        with psycopg.connect(f"{plan.postgres}/postgres", autocommit=True) as connection:
            drop_all(connection)


# -- comparisons ----------------------------------------------------------------------------------
@dataclass
class Comparison:
    baseline: str
    baseline_value: float | None
    ratio: float | None
    target: str | None = None
    met: bool | None = None
    score: float | None = None  # how many times over the target is met (1 = just met)


@dataclass
class Ledger:
    """What the run has measured so far: baselines by (name, database) and each figure at the
    smallest size, for growth."""

    smallest: int
    machine: dict
    baselines: dict[tuple[str, str], float] = field(default_factory=dict)
    first_size: dict[tuple[str, str], float] = field(default_factory=dict)
    lines: list[dict] = field(default_factory=list)

    def compare(self, m: Measurement) -> list[Comparison]:
        found = []
        for target in TARGETS:
            if target.measurement != m.name or m.database not in target.databases:
                continue
            if target.baseline is None:
                bound = target.at_least if target.at_least is not None else target.at_most
                found.append(
                    Comparison(
                        "target",
                        bound,
                        m.value / bound,
                        target.text(),
                        target.met(m.value),
                        target.score(m.value),
                    )
                )
            elif target.baseline == "growth":
                small = self.first_size.get((m.name, m.database))
                if m.size == self.smallest or not small or not m.value:
                    continue
                growth = target.growth(m.value, small)
                found.append(
                    Comparison(
                        f"{m.name}@{self.smallest}",
                        small,
                        growth,
                        target.text(),
                        target.met(growth),
                        target.score(growth),
                    )
                )
            else:
                found.append(self._against(m, target.baseline, target))
        for name, baseline in CONTEXT:
            if name == m.name:
                found.append(self._against(m, baseline, None))
        return found

    def _against(self, m: Measurement, baseline: str, target) -> Comparison:
        theirs = self.baselines.get((baseline, m.database))
        if theirs is None:
            return Comparison(baseline, None, None, target.text() if target else None, None)
        ratio = m.value / theirs if theirs else None
        if target is None or ratio is None:
            return Comparison(baseline, theirs, ratio, target.text() if target else None)
        return Comparison(
            baseline, theirs, ratio, target.text(), target.met(ratio), target.score(ratio)
        )

    def record(self, m: Measurement) -> dict:
        if m.skipped is not None:
            # The targets it would have been judged on stay in the report, unjudged.
            comparisons = [
                Comparison(t.baseline or "target", None, None, t.text())
                for t in TARGETS
                if t.measurement == m.name and m.database in t.databases
            ]
        else:
            if m.name.startswith("baseline."):
                self.baselines[(m.name, m.database)] = m.value
            if m.size == self.smallest:
                self.first_size[(m.name, m.database)] = m.value
            comparisons = self.compare(m)
        primary = comparisons[0] if comparisons else None
        line = {
            "name": m.name,
            "database": m.database,
            "size": m.size,
            "value": m.value,
            "unit": m.unit,
            "baseline": primary.baseline if primary else None,
            "baseline_value": primary.baseline_value if primary else None,
            "ratio": primary.ratio if primary else None,
            "target": primary.target if primary else None,
            "met": primary.met if primary else None,
            "comparisons": [asdict(c) for c in comparisons],
            "skipped": m.skipped,
            "detail": m.detail,
            "machine": self.machine,
        }
        self.lines.append(line)
        print(json.dumps(line), flush=True)
        if m.skipped is not None:
            log(f"{m.database}: {m.name} skipped: {m.skipped}")
        return line


# -- running --------------------------------------------------------------------------------------
def run_worker(plan: Plan, ledger: Ledger, database: str, url: str | None, data_dir: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "bench.worker",
        "--database",
        database,
        "--data-dir",
        str(data_dir),
        "--sizes",
        ",".join(str(s) for s in plan.sizes),
        "--url",
        url or "",
        "--workers",
        str(plan.workers if database == "postgresql" else 1),
        "--only",
        ",".join(plan.worker_scenarios),
    ]
    if plan.quick:
        command.append("--quick")
    process = subprocess.Popen(
        command, cwd=REPOSITORY, stdout=subprocess.PIPE, text=True, env=_python_env()
    )
    try:
        for raw in process.stdout:
            raw = raw.strip()
            if raw.startswith("{"):
                ledger.record(Measurement(**json.loads(raw)))
    finally:
        if process.poll() is None:  # the harness is stopping early: stop our worker with it
            process.terminate()
    if process.wait() != 0:
        raise RuntimeError(f"the {database} worker failed (exit {process.returncode})")


def _python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), env.get("PYTHONPATH")]))
    return env


def measure_database(plan: Plan, ledger: Ledger, database: str, scratch: Path) -> None:
    wf4 = shape(4)
    data_dir = scratch / database / "usm"
    data_dir.mkdir(parents=True)
    helpdesk_work = {
        "tickets": plan.helpdesk_tickets,
        "followups": wf4.step_completions,
        "status_changes": wf4.status_changes,
    }
    if database == "sqlite":
        if "raw" in plan.baselines:
            ledger.record(
                baselines.raw_writes_sqlite(scratch / "raw.sqlite3", plan.raw_writes[database])
            )
        if "helpdesk" in plan.baselines:
            for m in baselines.helpdesk(
                database, url=None, sqlite_path=scratch / "peer.sqlite3", **helpdesk_work
            ):
                ledger.record(m)
        if plan.worker_scenarios:
            run_worker(plan, ledger, database, None, data_dir)
        return
    with postgres_databases(plan) as urls:
        url = urls[BENCH_DATABASE]
        if "raw" in plan.baselines:
            ledger.record(baselines.raw_writes_postgresql(url, plan.raw_writes[database]))
        if "pgbench" in plan.baselines:
            ledger.record(baselines.pgbench(url, plan.pgbench_seconds))
        if "helpdesk" in plan.baselines:
            for m in baselines.helpdesk(
                database, url=urls[PEER_DATABASE], sqlite_path=None, **helpdesk_work
            ):
                ledger.record(m)
        if plan.worker_scenarios:
            run_worker(plan, ledger, database, url, data_dir)


def run(plan: Plan) -> int:
    """Measure what `plan` asks; 0 when every scenario ran (missed targets included), 1 when one
    failed (its figures are reported as skipped with the reason)."""
    stop_cleanly_on_sigterm()
    unreachable = postgres_unreachable(plan) if "postgresql" in plan.databases else None
    if unreachable and plan.postgres_required:
        log(unreachable)
        return 1
    ledger = Ledger(smallest=plan.sizes[0], machine=machine(plan))
    scratch = Path(tempfile.mkdtemp(prefix="usm-bench-"))
    failed = False
    try:
        if "spiff" in plan.baselines:
            ledger.record(baselines.spiffworkflow(scratch / "spiff.sqlite3", plan.spiff_runs))
        for database in plan.databases:
            if database == "postgresql" and unreachable:
                ledger.record(skipped_measurement("run", database, None, unreachable))
                continue
            try:
                measure_database(plan, ledger, database, scratch)
            except Exception as exc:  # one database failing must not hide the other's figures
                log(f"{database}: {type(exc).__name__}: {exc}")
                failed = True
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not plan.json_only:
        print()
        print(report.table(ledger.lines))
    if plan.out:
        plan.out.write_text("".join(json.dumps(line) + "\n" for line in ledger.lines))
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    try:
        plan = parse(argv)
    except BadInput as exc:
        print(f"usm bench: {exc}", file=sys.stderr)
        return 2
    return run(plan)
