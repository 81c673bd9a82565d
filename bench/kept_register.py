"""Re-measure a register kept from an earlier fill, without filling again: the engine's CPU cost
per WF4, the desk queue (query, API, web page) of the busiest team, and one SLA sweep.

    python -m bench.kept_register DATA_DIR [--database-url URL] [--workflows 60] [--no-sweep]

Filling a million calls takes 10-30 minutes; a register kept in a data dir of its own (SQLite,
or a PostgreSQL database with `--database-url`) lets a change be judged at that size in a minute.
The register must hold the bench organisation (`bench.organisation.set_up`) and is migrated first.
The engine's figure is CPU seconds of this process, which a machine shared with other work
disturbs less than wall-clock time; the latencies are wall-clock. Note: the workflows run and
the sweep write to the register (a few hundred calls; the checks and breaches a sweep records).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench import django_env, workflows
from bench.stats import latencies_ms, log, percentile


def engine_cpu_ms_per_workflow(org, count: int) -> float:
    """The least CPU time of three runs of `count` WF4 workflows, per workflow, in ms."""
    from bench.engine_load import drive

    drive(org, 3)  # warm the connection, the compiled statements and the configuration
    runs = []
    for _ in range(3):
        started = time.process_time()
        drive(org, count)
        runs.append((time.process_time() - started) * 1000 / count)
    return min(runs)


def busiest_queue(org) -> tuple[int, int]:
    from django.db.models import Count

    from usm.calls.models import Call

    row = (
        Call.objects.filter(provider=org.provider, to_do=1)
        .values("assignee_team_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    return (row["assignee_team_id"], row["n"]) if row else (org.teams["desk"].pk, 0)


def queue_latencies(org, team_id: int) -> dict[str, list[float]]:
    from django.test import Client

    from usm.calls.models import Call

    def query():
        calls = Call.objects.filter(provider=org.provider, assignee_team_id=team_id, to_do=1)
        return list(calls.order_by("resolution_due", "id")[:50])

    client = Client()
    client.force_login(org.actor)
    for path in (f"/api/v1/calls/queue?team_id={team_id}", f"/desk/?team={team_id}"):
        status = client.get(path).status_code
        if status != 200:
            raise SystemExit(f"bench: {path} answered {status}")
    return {
        "queue.query": latencies_ms(query, 30),
        "queue.api": latencies_ms(lambda: client.get(f"/api/v1/calls/queue?team_id={team_id}"), 30),
        "queue.desk_page": latencies_ms(lambda: client.get(f"/desk/?team={team_id}"), 20),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kept_register")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--workflows", type=int, default=60)
    parser.add_argument("--no-sweep", action="store_true")
    args = parser.parse_args(argv)
    django_env.setup(args.database_url or None, args.data_dir)
    django_env.migrate()
    from bench import organisation
    from usm.calls.models import Call

    org = organisation.load()
    print(f"register: {Call.objects.count():,} calls; load {os.getloadavg()[0]:.1f}")
    cpu = engine_cpu_ms_per_workflow(org, args.workflows)
    steps = workflows.step_count(4)
    print(f"engine: {cpu:.1f} ms CPU per WF4 ({1000 * steps / cpu:,.0f} steps per CPU second)")
    team_id, open_calls = busiest_queue(org)
    print(f"desk queue of team {team_id} ({open_calls:,} open calls):")
    for name, samples in queue_latencies(org, team_id).items():
        p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
        print(f"  {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    if not args.no_sweep:
        from usm.control.sweep import sweep

        started = time.perf_counter()
        report = sweep()
        seconds = time.perf_counter() - started
        checked = report.conformance.checked
        print(f"sweep: {seconds:.1f} s ({checked:,} workflows checked, {report.claimed} claimed)")
    print(f"load {os.getloadavg()[0]:.1f}")
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
