"""Full WF4 workflows through the services, as fast as one process goes: the engine's throughput.

Also a process of its own (`python -m bench.engine_load`) for the multi-worker figure: it sets up
Django, says `ready`, waits for `go` on stdin so that all workers start together, runs its share
and prints one JSON line with its time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench import workflows
from bench.organisation import BenchOrganisation

WORKFLOW = 4


def desk_for(org: BenchOrganisation, index: int) -> workflows.Desk:
    customer = index % len(org.customers)
    return workflows.Desk(
        org.provider,
        org.actor,
        org.customers[customer],
        org.requesters[customer],
        org.services[index % len(org.services)],
    )


def drive(org: BenchOrganisation, count: int, index: int = 0) -> float:
    """Run `count` WF4 workflows to their close; returns the seconds taken."""
    desk = desk_for(org, index)
    started = time.perf_counter()
    for n in range(count):
        workflows.run(WORKFLOW, desk, summary=f"Bench incident {index}/{n}")
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_load")
    parser.add_argument("--url", default="")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--workflows", type=int, required=True)
    parser.add_argument("--index", type=int, default=0)
    args = parser.parse_args(argv)
    from bench import django_env

    django_env.setup(args.url or None, args.data_dir)
    from bench import organisation

    org = organisation.load()
    drive(org, 1, args.index)  # warm the connection and the caches
    print("ready", flush=True)
    sys.stdin.readline()
    seconds = drive(org, args.workflows, args.index)
    print(json.dumps({"seconds": seconds, "workflows": args.workflows}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
