"""The baselines, measured in the same run as our figures:

- raw single-row write transactions of the same database (the physical limit of one step);
- pgbench TPC-B with 2 clients on PostgreSQL (what the server does for a standard OLTP load);
- SpiffWorkflow running our own BPMN export of WF4, serialising and storing the workflow after
  every task (a persisted task completion, as an engine built on it would do);
- django-helpdesk 2.6.1 (the Python peer), in its own venv, a ticket with as many follow-ups and
  status changes as our WF4 has step completions and status changes.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.stats import Measurement, log, skipped

BENCH_DIR = Path(__file__).resolve().parent
PEER_VENV = BENCH_DIR / ".peer-venv"
PEER_REQUIREMENTS = BENCH_DIR / "peer-requirements.txt"


def _sqlite(path: Path) -> sqlite3.Connection:
    """A connection configured as our settings configure Django's: WAL, synchronous=NORMAL."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def raw_writes_sqlite(path: Path, count: int) -> Measurement:
    connection = _sqlite(path)
    connection.execute("CREATE TABLE raw_write (id INTEGER PRIMARY KEY, note TEXT, at TEXT)")
    started = time.perf_counter()
    for n in range(count):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "INSERT INTO raw_write (note, at) VALUES (?, datetime('now'))", (f"row {n}",)
        )
        connection.execute("COMMIT")
    seconds = time.perf_counter() - started
    connection.close()
    return Measurement(
        "baseline.raw_write_tps",
        "sqlite",
        None,
        count / seconds,
        "transactions/s",
        {"transactions": count, "how": "sqlite3, WAL, synchronous=NORMAL, one INSERT per commit"},
    )


def raw_writes_postgresql(url: str, count: int) -> Measurement:
    import psycopg

    with psycopg.connect(url) as connection:
        connection.execute(
            "CREATE TABLE raw_write (id bigserial PRIMARY KEY, note text, at timestamptz)"
        )
        connection.commit()
        started = time.perf_counter()
        for n in range(count):
            connection.execute("INSERT INTO raw_write (note, at) VALUES (%s, now())", (f"row {n}",))
            connection.commit()
        seconds = time.perf_counter() - started
        connection.execute("DROP TABLE raw_write")
        connection.commit()
    return Measurement(
        "baseline.raw_write_tps",
        "postgresql",
        None,
        count / seconds,
        "transactions/s",
        {"transactions": count, "how": "psycopg 3, one INSERT per commit, server defaults"},
    )


def pgbench(url: str, seconds: int, clients: int = 2) -> Measurement:
    """pgbench's TPC-B-like load on the bench database; its tables are dropped afterwards."""
    binary = shutil.which("pgbench")
    if binary is None:
        return skipped(
            "baseline.pgbench_tps", "postgresql", None, "pgbench is not installed on this machine"
        )
    subprocess.run([binary, "-i", "-q", url], check=True, capture_output=True)
    try:
        run = subprocess.run(
            [binary, "-c", str(clients), "-j", str(clients), "-T", str(seconds), url],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        subprocess.run([binary, "-i", "-I", "d", url], check=True, capture_output=True)
    found = re.search(r"tps = ([0-9.]+)", run.stdout)
    if found is None:
        raise RuntimeError(f"pgbench printed no tps: {run.stdout[-500:]}")
    return Measurement(
        "baseline.pgbench_tps",
        "postgresql",
        None,
        float(found.group(1)),
        "transactions/s",
        {"clients": clients, "seconds": seconds, "scale": 1},
    )


def spiffworkflow(path: Path, runs: int) -> Measurement:
    """Persisted task completions/s of SpiffWorkflow on the WF4 BPMN our model exports."""
    try:
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState
    except ImportError:
        return skipped(
            "baseline.spiff_tasks_per_s",
            "sqlite",
            None,
            "SpiffWorkflow is not installed (it comes with the project's test dependencies)",
        )
    from importlib.metadata import version

    from usm.model import reference_model
    from usm.model.io.bpmn import FORK_VARIABLE, workflow_to_bpmn

    model = reference_model()
    parser = BpmnParser()
    parser.add_bpmn_str(workflow_to_bpmn(model, model.workflow(4)).encode("utf-8"))
    [process_id] = parser.get_process_ids()
    spec = parser.get_spec(process_id)
    serializer = BpmnWorkflowSerializer()
    connection = _sqlite(path)
    connection.execute("CREATE TABLE workflow (id INTEGER PRIMARY KEY, state TEXT)")
    completions = 0
    started = time.perf_counter()
    for _ in range(runs):
        engine = BpmnWorkflow(spec)
        engine.do_engine_steps()
        row = connection.execute(
            "INSERT INTO workflow (state) VALUES (?)", (serializer.serialize_json(engine),)
        ).lastrowid
        while not engine.is_completed():
            [task] = engine.get_tasks(state=TaskState.READY, manual=True)
            task.data[FORK_VARIABLE] = "OPS"
            task.run()
            engine.do_engine_steps()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "UPDATE workflow SET state = ? WHERE id = ?",
                (serializer.serialize_json(engine), row),
            )
            connection.execute("COMMIT")
            completions += 1
    seconds = time.perf_counter() - started
    connection.close()
    return Measurement(
        "baseline.spiff_tasks_per_s",
        "sqlite",
        None,
        completions / seconds,
        "task completions/s",
        {
            "SpiffWorkflow": version("SpiffWorkflow"),
            "workflow": "WF4 (usm.model.io.bpmn export)",
            "tasks_per_run": completions // runs,
            "persisted": "serialize_json after every task, one UPDATE per commit (SQLite WAL)",
        },
    )


# -- django-helpdesk ------------------------------------------------------------------------------
def peer_python() -> Path | str:
    """The peer venv's Python, built from peer-requirements.txt when missing or out of date; or
    why it could not be built."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".installed"
    wanted = PEER_REQUIREMENTS.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    log("building bench/.peer-venv for django-helpdesk (once)")
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(PEER_REQUIREMENTS)],
            check=True,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        return f"could not build bench/.peer-venv from peer-requirements.txt ({exc})"
    stamp.write_text(wanted)
    return python


def helpdesk(
    database: str,
    *,
    url: str | None,
    sqlite_path: Path | None,
    tickets: int,
    followups: int,
    status_changes: int,
) -> list[Measurement]:
    python = peer_python()
    if isinstance(python, str):
        return [skipped("baseline.helpdesk_tickets_per_s", database, None, python)]
    env = {"PATH": "/usr/bin:/bin"}
    if url:
        env["PEER_DATABASE_URL"] = url
    else:
        env["PEER_SQLITE_PATH"] = str(sqlite_path)
    run = subprocess.run(
        [
            str(python),
            "tickets.py",
            "--tickets",
            str(tickets),
            "--followups",
            str(followups),
            "--status-changes",
            str(status_changes),
        ],
        cwd=BENCH_DIR / "peer",
        env=env,
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        log(f"django-helpdesk run failed: {run.stderr[-1500:]}")
        last = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "no output"
        return [skipped("baseline.helpdesk_tickets_per_s", database, None, f"failed: {last}")]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    detail = {
        "tickets": result["tickets"],
        "followups": result["followups"],
        "status_changes": result["status_changes"],
        "helpdesk": result["helpdesk"],
        "django": result["django"],
    }
    return [
        Measurement(
            "baseline.helpdesk_tickets_per_s",
            database,
            None,
            result["tickets_per_s"],
            "tickets/s",
            detail,
        ),
        Measurement(
            "baseline.helpdesk_followups_per_s",
            database,
            None,
            result["followups_per_s"],
            "follow-ups/s",
            detail,
        ),
        Measurement(
            "baseline.helpdesk_sql_per_ticket",
            database,
            None,
            result["sql_per_ticket"],
            "statements/ticket",
            {**detail, "writes_per_ticket": result["writes_per_ticket"]},
        ),
    ]
