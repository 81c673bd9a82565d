"""One export of the bench provider's whole log, in a process of its own so that its peak memory is
the export's and nothing else's:

    python -m bench.export_load --format xes|ocel_json|ocel_sqlite --data-dir DIR [--url URL]
                                [--latest-calls N] [--out DIR]

Exports the whole log, or with --latest-calls the workflows of (about) the N most recent calls
(a period's worth: what an analyst exports from a big register). Sets up Django, resets the
kernel's peak-RSS mark, runs the writer of usm.control.exports into a file in the data dir (or
--out, for a register that is only read), removes the file afterwards and prints one JSON line:
the events written, the seconds the writer took (wall and CPU), the RSS before it and the peak
RSS during it (KiB). A writer that cannot be imported prints {"skipped": reason} instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

FORMS = ("xes", "ocel_json", "ocel_sqlite")


def status_kib(field: str) -> int:
    """A figure of /proc/self/status in KiB (VmRSS now, VmHWM the peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def reset_peak() -> bool:
    """Make VmHWM start again from the current RSS (Linux >= 4.0), so that what Django's setup
    took is not counted as the export's peak. False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def events_in(result) -> int | None:
    """The writers report what they wrote; accept a count object, a dict or a bare number."""
    if isinstance(result, int):
        return result
    if isinstance(result, dict):
        return result.get("events")
    return getattr(result, "events", None)


def writer(form: str):
    """A function (path, selection) -> the writer's result, or the reason there is none."""
    try:
        if form == "xes":
            from usm.control.exports.xes import write_xes

            def run(path, selection):
                with open(path, "w", encoding="utf-8") as out:
                    return write_xes(out, selection)

            return run
        if form == "ocel_json":
            from usm.control.exports.ocel import write_ocel_json

            def run(path, selection):
                with open(path, "w", encoding="utf-8") as out:
                    return write_ocel_json(out, selection)

            return run
        from usm.control.exports.ocel import write_ocel_sqlite

        return write_ocel_sqlite
    except ImportError as exc:
        return f"the {form} writer is not importable yet ({exc})"


def since(provider, latest_calls: int):
    """When the workflows of the `latest_calls` most recent calls begin (None: all of them)."""
    if not latest_calls:
        return None
    from usm.calls.models import Call

    newest = Call.objects.filter(provider=provider).order_by("-created_at")
    return newest.values_list("created_at", flat=True)[latest_calls - 1 : latest_calls].first()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export_load")
    parser.add_argument("--format", choices=FORMS, required=True)
    parser.add_argument("--url", default="")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--latest-calls", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="where the file goes")
    args = parser.parse_args(argv)
    from bench import django_env

    django_env.setup(args.url or None, args.data_dir)
    run = writer(args.format)
    if isinstance(run, str):
        print(json.dumps({"skipped": run}), flush=True)
        return 0
    from usm.control.exports.selection import Selection
    from usm.organisation.models import Provider

    provider = Provider.objects.get(slug="bench")
    selection = Selection(provider=provider, since=since(provider, args.latest_calls))
    target = (args.out or args.data_dir) / f"bench-export.{args.format}"
    peak_reset = reset_peak()
    before = status_kib("VmRSS")
    started, started_cpu = time.perf_counter(), time.process_time()
    try:
        result = run(target, selection)
        seconds = time.perf_counter() - started
        # On a shared machine the wall time says as much about the neighbours as about the
        # writer; the CPU time it used says what it costs (the database server's, on
        # PostgreSQL, is not in it).
        cpu_seconds = time.process_time() - started_cpu
        peak = status_kib("VmHWM")
        size = target.stat().st_size
    finally:
        target.unlink(missing_ok=True)
    events = events_in(result)
    if events is None:
        print(json.dumps({"skipped": f"the {args.format} writer reported no event count"}))
        return 0
    print(
        json.dumps(
            {
                "events": events,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "rss_before_kib": before,
                "peak_rss_kib": peak,
                "peak_reset": peak_reset,
                "bytes": size,
                "selection": selection.describe(),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
