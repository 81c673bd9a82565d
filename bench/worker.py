"""Everything measured on one database, in one process with Django set up for it:

    python -m bench.worker --database sqlite --data-dir DIR --sizes 10000,1000000
                           [--only engine,http,...] [--quick]

Migrates the fresh database the harness made, sets up the bench organisation through the services,
then for each size (ascending) fills the register up to that many calls and runs the chosen
scenarios (SCENARIOS). Each figure is one raw JSON line on stdout (see `bench.stats.Measurement`);
a scenario that cannot run here (a page not written yet) or fails says so in a line of its own and
the others go on. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import json
import os
import subprocess
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench import django_env, workflows
from bench.stats import (
    Measurement,
    emit,
    latencies_ms,
    log,
    percentile,
    skipped,
    stop_cleanly_on_sigterm,
)

# The scenarios a worker runs, in the order it runs them at each size, with the figure a skip or
# a failure is reported under.
SCENARIOS = {
    "engine": "engine.steps_per_s",
    "monitoring": "monitoring.events_per_s",
    "queue": "queue.query_ms_p95",
    "kpi": "kpi.compute_ms_p95",
    "export": "export.xes_events_per_s",
    "http": "http.steps_per_s",
    "pages": "web.desk_ms_p95",
}
# Scenarios that need a running `usm serve`.
SERVED = ("http", "pages")
# The most calls whose workflows one export scenario writes (see Session.export).
EXPORT_CALLS = 100_000


class Skip(Exception):
    """A scenario that cannot be measured here, and why (reported, not a failure)."""


@dataclass(frozen=True)
class Effort:
    """How many repetitions each measurement gets."""

    workflows: int
    http_workflows: int
    registrations: int
    reads: int
    monitoring: int
    kpi: int

    @classmethod
    def for_mode(cls, quick: bool) -> Effort:
        if quick:
            return cls(
                workflows=5, http_workflows=2, registrations=10, reads=10, monitoring=20, kpi=2
            )
        return cls(
            workflows=150, http_workflows=30, registrations=200, reads=200, monitoring=800, kpi=10
        )


class Session:
    def __init__(self, args):
        self.database = args.database
        self.url = args.url or None
        self.data_dir = args.data_dir
        self.effort = Effort.for_mode(args.quick)
        self.workers = args.workers
        self.seed = args.seed
        self.quick = args.quick
        self.only = [name for name in SCENARIOS if name in args.only.split(",")]
        self.failed = False

    def emit(self, name, size, value, unit, **detail) -> None:
        # The machine's load when the figure was taken: on a shared machine it explains a figure
        # that moved between runs or sizes.
        detail["load_avg_1m"] = round(os.getloadavg()[0], 2)
        emit(Measurement(name, self.database, size, value, unit, detail))

    # -- setting up -----------------------------------------------------------------------------
    def prepare(self) -> None:
        django_env.setup(self.url, self.data_dir)
        log(f"{self.database}: migrating")
        django_env.migrate()
        from bench import background, organisation
        from usm.api.tokens import issue_token

        self.org = organisation.set_up()
        priorities = background.QUICK_PRIORITIES if self.quick else background.PRIORITIES
        self.templates = background.capture_templates(self.org, priorities)
        _, self.token = issue_token(self.org.actor, "bench")

    def fill(self, size: int) -> None:
        from bench import background

        log(f"{self.database}: filling to {size} calls")
        report = background.fill_to(self.org, self.templates, size, self.seed + size)
        self.emit(
            "background.fill_calls_per_s",
            size,
            report.calls / report.seconds if report.seconds else 0.0,
            "calls/s",
            calls_added=report.calls,
            events_added=report.events,
            seconds=round(report.seconds, 1),
        )
        log(
            f"{self.database}: {report.calls} calls, {report.events} events in {report.seconds:.0f} s"
        )
        self.catch_up(size)

    def catch_up(self, size: int) -> None:
        """What `usm worker` keeps as the register grows, brought up to date after the fill (a
        running installation has it): the event log's day tallies and the conformance checks of
        the ended workflows. Timed, as the cost of a register upgraded or imported in one go."""
        try:
            from usm.control.services import keep_event_tallies, record_workflow_checks
        except ImportError as exc:
            self.skip("background.tally_events_per_s", size, f"not in this checkout ({exc})")
            return
        tallied, seconds = _timed(keep_event_tallies)
        self.emit(
            "background.tally_events_per_s",
            size,
            tallied.events / seconds if seconds else 0.0,
            "events/s",
            events=tallied.events,
            days=tallied.days,
            seconds=round(seconds, 1),
        )
        checked, seconds = _timed(record_workflow_checks)
        self.emit(
            "background.check_workflows_per_s",
            size,
            checked.checked / seconds if seconds else 0.0,
            "workflows/s",
            workflows=checked.checked,
            seconds=round(seconds, 1),
        )
        # The statistics a running installation has of the tables just written (PostgreSQL's
        # autovacuum keeps them): the fill's were taken with no check kept, and planned with
        # those, the conformance reads every check of the register instead of the period's.
        # The fill's own tables were analysed at its end.
        from django.db import connection

        from usm.control.models import DayTally, WorkflowCheckRecord

        with connection.cursor() as cursor:
            for model in (DayTally, WorkflowCheckRecord):
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')

    # -- measurements ---------------------------------------------------------------------------
    def statements(self, size: int) -> None:
        """SQL statements of one WF4 run, by operation and by verb."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from bench.engine_load import desk_for

        desk = desk_for(self.org, 0)
        workflows.run(4, desk)
        per_kind: dict[str, list[int]] = {}
        with CaptureQueriesContext(connection) as queries:
            marks = [0]

            def after(op, calls):
                per_kind.setdefault(op.kind, []).append(len(queries) - marks[-1])
                marks.append(len(queries))

            workflows.run(4, desk, after=after)
        verbs = Counter(q["sql"].lstrip().split(None, 1)[0].upper() for q in queries)
        writes = sum(verbs[v] for v in ("INSERT", "UPDATE", "DELETE"))
        steps = workflows.step_count(4)
        per_operation = {kind: round(sum(v) / len(v), 1) for kind, v in per_kind.items()}
        self.emit(
            "engine.sql_per_step",
            size,
            len(queries) / steps,
            "statements/step",
            per_workflow=len(queries),
            writes_per_workflow=writes,
            by_verb=dict(verbs),
            per_operation=per_operation,
        )
        self.emit("engine.sql_per_workflow", size, len(queries), "statements/WF4")
        self.emit("engine.writes_per_workflow", size, writes, "writes/WF4")

    def engine(self, size: int) -> None:
        """The SQL one WF4 run sends, then full WF4 runs as fast as one process goes, then (on
        PostgreSQL) as fast as `self.workers` processes go together."""
        from bench.engine_load import drive

        self.statements(size)
        drive(self.org, 2)
        count = self.effort.workflows
        # This process's CPU time as well as the wall clock: on a shared machine the wall clock
        # also counts waiting for a core; on SQLite the CPU time includes the database's work.
        cpu = time.process_time()
        seconds = drive(self.org, count)
        cpu = time.process_time() - cpu
        steps = count * workflows.step_count(4)
        detail = {"workflows": count, "steps": steps, "seconds": round(seconds, 2)}
        detail["cpu_seconds"] = round(cpu, 2)
        self.emit("engine.wf4_per_s", size, count / seconds, "workflows/s", **detail)
        self.emit("engine.steps_per_s", size, steps / seconds, "steps/s", **detail)
        log(f"{self.database}: {count} WF4 in-process in {seconds:.1f} s")
        if self.workers > 1:
            self.engine_workers(size)

    def engine_workers(self, size: int) -> None:
        """`self.workers` processes, each running its share of WF4 runs at the same moment."""
        share = max(1, self.effort.workflows // self.workers)
        command = [sys.executable, "-m", "bench.engine_load", "--data-dir", str(self.data_dir)]
        command += ["--url", self.url or "", "--workflows", str(share)]
        processes = [
            subprocess.Popen(
                [*command, "--index", str(index + 1)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=Path(__file__).resolve().parents[1],
            )
            for index in range(self.workers)
        ]
        for process in processes:
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError("an engine worker did not start")
        started = time.perf_counter()
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        results = [json.loads(process.stdout.readline()) for process in processes]
        wall = time.perf_counter() - started
        for process in processes:
            process.wait()
        total = share * self.workers
        steps = total * workflows.step_count(4)
        label = f"{self.workers}workers"
        detail = {
            "workers": self.workers,
            "per_worker_s": [round(r["seconds"], 2) for r in results],
        }
        self.emit(f"engine.wf4_per_s_{label}", size, total / wall, "workflows/s", **detail)
        self.emit(f"engine.steps_per_s_{label}", size, steps / wall, "steps/s", **detail)

    def monitoring(self, size: int) -> None:
        from usm.calls import services

        count = self.effort.monitoring
        keys = max(1, count // 4)
        started = time.perf_counter()
        created = 0
        for n in range(count):
            _, new = services.monitoring_event(
                self.org.provider,
                self.org.actor,
                source=f"bench-{size}",
                key=f"host{n % keys}/disk",
                summary="Disk nearly full",
                impact=2,
                urgency=2,
            )
            created += new
        seconds = time.perf_counter() - started
        self.emit(
            "monitoring.events_per_s",
            size,
            count / seconds,
            "events/s",
            new_incidents=created,
            repeats=count - created,
        )

    def busiest_team(self) -> tuple[int, int]:
        """The team with the most open calls in its queue, and how many."""
        from django.db.models import Count

        from usm.calls.models import Call

        row = (
            Call.objects.filter(provider=self.org.provider)
            .exclude(status__in=("closed", "aborted", "waiting"))
            .values("assignee_team_id")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        if row is None:  # a tiny register may have no open call at all: the desk's empty queue
            return self.org.teams["desk"].pk, 0
        return row["assignee_team_id"], row["n"]

    def queue(self, size: int) -> None:
        """The desk queue query exactly as the API builds it (first 50 by resolution due), for
        the team with the most open calls."""
        from usm.calls.models import Call

        team_id, open_calls = self.busiest_team()

        def read():
            calls = Call.objects.filter(provider=self.org.provider, assignee_team_id=team_id)
            calls = calls.filter(to_do=1)
            return list(calls.order_by("resolution_due", "id")[:50])

        samples = latencies_ms(read, self.effort.reads)
        self.percentiles("queue.query", size, samples, team_id=team_id, open_calls=open_calls)

    def percentiles(self, name: str, size: int, samples: list[float], **detail) -> None:
        for label, share in (("p50", 0.5), ("p95", 0.95)):
            self.emit(
                f"{name}_ms_{label}",
                size,
                percentile(samples, share),
                "ms",
                samples=len(samples),
                **detail,
            )

    def sample_numbers(self, count: int) -> list[str]:
        """Numbers of calls picked at random over the whole register (old and new alike)."""
        import random

        from django.db.models import Max

        from usm.calls.models import Call

        rng = random.Random(self.seed)
        top = Call.objects.aggregate(m=Max("id"))["m"]
        ids = [rng.randint(1, top) for _ in range(count)]
        return list(Call.objects.filter(pk__in=ids).values_list("number", flat=True))

    def http(self, size: int, port: int) -> None:
        """The API through a real server: registration latency, WF4 runs, the queue endpoint, a
        call and its event log, monitoring intake."""
        from bench import http_load
        from bench.engine_load import desk_for

        team_id, open_calls = self.busiest_team()
        client = http_load.Client(port, self.token)
        try:
            found = http_load.measure(
                client,
                desk_for(self.org, 0),
                team_id=team_id,
                sample_numbers=self.sample_numbers(50),
                registrations=self.effort.registrations,
                workflow_runs=self.effort.http_workflows,
                reads=self.effort.reads,
                monitoring_events=max(4, self.effort.monitoring // 4),
                tag=str(size),
            )
        finally:
            client.close()
        self.percentiles("http.register", size, found["register_ms"])
        self.emit("http.wf4_per_s", size, found["wf4_per_s"], "workflows/s")
        self.emit("http.steps_per_s", size, found["steps_per_s"], "steps/s")
        self.percentiles(
            "http.queue", size, found["queue_ms"], team_id=team_id, open_calls=open_calls
        )
        self.percentiles("http.call", size, found["call_ms"])
        self.percentiles("http.call_events", size, found["call_events_ms"])
        self.emit("http.monitoring_events_per_s", size, found["monitoring_per_s"], "events/s")

    def session_cookie(self) -> str:
        """A logged-in session of the bench user, as the login page would make it."""
        from django.conf import settings
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore

        session = SessionStore()
        session[SESSION_KEY] = str(self.org.actor.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = self.org.actor.get_session_auth_hash()
        session.create()
        return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"

    def pages(self, size: int, port: int) -> None:
        """The web pages as a logged-in staff member gets them (HTML, templates and all): the
        desk queue of the busiest team, call pages picked over the whole register, and the
        process-control dashboard. A page the application does not have yet is skipped."""
        from bench import http_load

        team_id, open_calls = self.busiest_team()
        numbers = itertools.cycle(self.sample_numbers(50))
        reads = self.effort.reads
        pages = (
            ("web.desk", "/desk/", lambda: f"/desk/?team={team_id}&status=todo", reads, {}),
            ("web.call_page", "/calls/INC-000001/", lambda: f"/calls/{next(numbers)}/", reads, {}),
            (
                "web.kpi_dashboard",
                "/control/",
                lambda: "/control/",
                self.effort.kpi,
                {"budget_s": 90},
            ),
        )
        # The dashboard may take minutes on a big register: wait for it rather than fail.
        client = http_load.Client(port, session_cookie=self.session_cookie(), timeout=600)
        try:
            for name, probe, path, repeat, options in pages:
                if missing := self.missing_page(probe):
                    self.skip(f"{name}_ms_p95", size, missing)
                    continue
                try:
                    samples = latencies_ms(
                        lambda path=path, client=client: client.raw("GET", path()),
                        repeat,
                        warmup=1 if options else 3,
                        **options,
                    )
                except Exception as exc:  # one page failing must not hide the others
                    self.failed = True
                    self.skip(f"{name}_ms_p95", size, f"failed: {type(exc).__name__}: {exc}")
                    client.close()
                    client = http_load.Client(port, session_cookie=self.session_cookie())
                    continue
                detail = (
                    {"team_id": team_id, "open_calls": open_calls} if name == "web.desk" else {}
                )
                self.percentiles(name, size, samples, **detail)
        finally:
            client.close()

    @staticmethod
    def missing_page(path: str) -> str | None:
        """Why `path` cannot be measured (no such page in this checkout's URLconf), or None."""
        from django.urls import Resolver404, resolve

        try:
            resolve(path)
        except Resolver404:
            return f"no page at {path} in this checkout yet"
        return None

    def kpi(self, size: int) -> None:
        """Every key figure of the default period (the last 30 days) for the provider: what the
        control dashboard computes (usm.control.kpis.kpis), without the page around it."""
        try:
            from usm.calls.models import Call, CallEvent
            from usm.control.kpis import kpis
            from usm.control.periods import Period
        except ImportError as exc:
            raise Skip(f"usm.control.kpis is not importable yet ({exc})") from exc
        calls = Call.objects.filter(provider=self.org.provider)
        events = CallEvent.objects.filter(provider=self.org.provider)
        # As the dashboard computes them for the provider's staff: from the day tallies, where
        # the checkout keeps them.
        kept = {}
        if "kept_for" in inspect.signature(kpis).parameters:
            kept["kept_for"] = self.org.provider.pk
        samples = latencies_ms(
            lambda: kpis(calls, events, Period.last_days(), **kept),
            self.effort.kpi,
            warmup=1,
            budget_s=90,
        )
        self.percentiles("kpi.compute", size, samples, period="last 30 days")

    def export(self, size: int) -> None:
        """XES and OCEL 2.0 (JSON, SQLite), each in a process of its own (`bench.export_load`):
        events per second and the peak memory of that process. Up to EXPORT_CALLS calls the whole
        log is exported; above, the workflows of the latest EXPORT_CALLS calls (a period), so a
        1M register exports 10x the log of a 10k one in minutes, not the better part of an hour."""
        for form in ("xes", "ocel_json", "ocel_sqlite"):
            command = [sys.executable, "-m", "bench.export_load", "--format", form]
            command += ["--data-dir", str(self.data_dir), "--url", self.url or ""]
            if size > EXPORT_CALLS:
                command += ["--latest-calls", str(EXPORT_CALLS)]
            run = subprocess.run(
                command,
                capture_output=True,
                text=True,
                cwd=Path(__file__).resolve().parents[1],
            )
            if run.returncode != 0:
                reason = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "?"
                self.skip(f"export.{form}_events_per_s", size, f"failed: {reason}")
                self.failed = True
                continue
            found = json.loads(run.stdout.strip().splitlines()[-1])
            if "skipped" in found:
                self.skip(f"export.{form}_events_per_s", size, found["skipped"])
                continue
            detail = {
                "events": found["events"],
                "seconds": round(found["seconds"], 2),
                "selection": found["selection"],
            }
            rate = found["events"] / found["seconds"] if found["seconds"] else 0.0
            self.emit(f"export.{form}_events_per_s", size, rate, "events/s", **detail)
            added = max(0, found["peak_rss_kib"] - found["rss_before_kib"]) / 1024
            self.emit(
                f"export.{form}_peak_rss_mib",
                size,
                found["peak_rss_kib"] / 1024,
                "MiB",
                added_mib=round(added, 1),
                bytes=found["bytes"],
                peak_reset=found["peak_reset"],
            )
            self.emit(f"export.{form}_added_mib", size, added, "MiB")
            log(f"{self.database}: {form} export of {found['events']} events")

    # -- running --------------------------------------------------------------------------------
    def skip(self, name: str, size: int | None, reason: str) -> None:
        log(f"{self.database}: {name} skipped: {reason}")
        emit(skipped(name, self.database, size, reason))

    def scenario(self, name: str, size: int, *args) -> None:
        """Run one scenario; a skip or a failure is reported under its main figure and the run
        goes on with the next."""
        try:
            getattr(self, name)(size, *args)
        except Skip as reason:
            self.skip(SCENARIOS[name], size, str(reason))
        except Exception as exc:
            self.failed = True
            self.skip(SCENARIOS[name], size, f"failed: {type(exc).__name__}: {exc}")
            log(traceback.format_exc())

    def run(self, sizes: list[int]) -> None:
        self.prepare()
        for size in sorted(sizes):
            self.fill(size)
            for name in self.only:
                if name not in SERVED:
                    self.scenario(name, size)
            served = [name for name in self.only if name in SERVED]
            if served:
                from bench import http_load

                with http_load.server(self.url, self.data_dir) as port:
                    for name in served:
                        self.scenario(name, size, port)
            log(f"{self.database}: figures at {size} calls done")


def _timed(work):
    """What `work()` returns, and the seconds it took."""
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("--database", required=True)
    parser.add_argument("--url", default="")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--sizes", required=True)
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    stop_cleanly_on_sigterm()
    session = Session(args)
    session.run([int(s) for s in args.sizes.split(",")])
    return 1 if session.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
