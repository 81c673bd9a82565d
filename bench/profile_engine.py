"""Where one WF4 run's time goes: cProfile of the services and the SQL they send, on a fresh
database with the bench organisation and `--size` background calls.

    python -m bench.profile_engine [--database-url URL] [--size 10000] [--workflows 50]

Prints the functions by own and by cumulative time, and the SQL statements of one run grouped by
shape (literals replaced), most frequent first, with the time each group took.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench import django_env, workflows
from bench.stats import log

SHAPE = re.compile(r"'[^']*'|\b\d+\b|\"s\d+_x\d+\"")
# An UPDATE of every column is told apart by its table, not by its (long) column list.
FULL_UPDATE = re.compile(r'^(UPDATE "\w+") SET .{200,}( WHERE .*)$')


def statement_shapes(desk: workflows.Desk) -> list[tuple[str, int, float]]:
    """(shape, count, total ms) of the SQL of one WF4 run, most frequent first."""
    from django.db import connection

    found: dict[str, list[float]] = defaultdict(list)

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            shape = FULL_UPDATE.sub(
                r"\1 SET <every column>\2", SHAPE.sub("?", " ".join(sql.split()))
            )
            found[shape].append((time.perf_counter() - started) * 1000)

    with connection.execute_wrapper(timed):
        workflows.run(4, desk)
    return sorted(
        ((shape, len(ms), sum(ms)) for shape, ms in found.items()), key=lambda r: (-r[1], -r[2])
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_engine")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--workflows", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="usm-profile-"))
    django_env.setup(args.database_url or None, scratch)
    django_env.migrate()
    from bench import background, organisation
    from bench.engine_load import desk_for, drive

    org = organisation.set_up()
    background.fill_to(org, background.capture_templates(org), args.size, seed=1)
    drive(org, 2)
    profile = cProfile.Profile()
    profile.enable()
    drive(org, args.workflows)
    profile.disable()
    sections = (
        ("own time", "tottime", ()),
        ("cumulative time", "cumulative", ()),
        ("cumulative time, the project's own functions", "cumulative", ("/usm/",)),
    )
    for title, order, restriction in sections:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(*restriction, args.top)
        print(f"== by {title} ==")
        print(out.getvalue())
    print("== SQL of one WF4 run, by shape: count, total ms ==")
    for shape, count, ms in statement_shapes(desk_for(org, 0)):
        print(f"{count:4d} {ms:8.2f}  {shape[:220]}")
    log(f"scratch database left in {scratch}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
