"""The targets of issue 7, as comparisons the harness evaluates on each measurement it receives.

A comparison is against a baseline measured in the same run (ratio = ours / theirs, or for
growth, cost at this size / cost at the smallest size), or against a fixed figure where the issue
sets one (then the "baseline" is the target itself and the ratio says how far we are from it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    measurement: str
    databases: tuple[str, ...]
    baseline: str | None  # a baseline measurement name, "growth", or None for a fixed figure
    at_least: float | None = None
    at_most: float | None = None
    label: str = ""
    # For growth: the figure is a cost (ms, MiB: larger is worse), not a rate (steps/s).
    cost: bool = False

    def growth(self, figure: float, at_smallest: float) -> float:
        """How much dearer the work is at this size than at the smallest one (1 = no growth)."""
        return figure / at_smallest if self.cost else at_smallest / figure

    def met(self, figure: float) -> bool:
        if self.at_least is not None and figure < self.at_least:
            return False
        return not (self.at_most is not None and figure > self.at_most)

    def score(self, figure: float) -> float:
        """How many times over the target is met: 1 is just met, 0.5 half-way, 2 twice over."""
        if self.at_least is not None:
            return figure / self.at_least
        return self.at_most / figure if figure else float("inf")

    def text(self) -> str:
        bound = f">= {self.at_least:g}" if self.at_least is not None else f"<= {self.at_most:g}"
        return self.label or bound


BOTH = ("sqlite", "postgresql")
EXPORT_FORMS = ("xes", "ocel_json", "ocel_sqlite")

TARGETS = (
    Target("engine.steps_per_s", ("sqlite",), None, at_least=3000, label=">= 3000 steps/s"),
    Target(
        "engine.wf4_per_s",
        BOTH,
        "baseline.helpdesk_tickets_per_s",
        at_least=10,
        label=">= 10x helpdesk",
    ),
    Target(
        "engine.steps_per_s",
        ("sqlite",),
        "baseline.spiff_tasks_per_s",
        at_least=1.5,
        label=">= 1.5x SpiffWorkflow",
    ),
    Target(
        "engine.steps_per_s_2workers",
        ("postgresql",),
        "baseline.pgbench_tps",
        at_least=0.5,
        label=">= 0.5x pgbench TPC-B",
    ),
    Target(
        "engine.steps_per_s",
        BOTH,
        "growth",
        at_most=1.5,
        label="cost/step <= 1.5x smallest size",
    ),
    Target("queue.query_ms_p95", BOTH, None, at_most=50, label="< 50 ms"),
    Target("http.queue_ms_p95", BOTH, None, at_most=50, label="< 50 ms"),
    Target("web.desk_ms_p95", BOTH, None, at_most=50, label="< 50 ms"),
    Target("http.register_ms_p95", BOTH, None, at_most=30, label="< 30 ms"),
    Target("kpi.compute_ms_p95", BOTH, None, at_most=1000, label="< 1 s"),
    Target("web.kpi_dashboard_ms_p95", BOTH, None, at_most=1000, label="< 1 s"),
    *(
        Target(f"export.{form}_events_per_s", BOTH, None, at_least=100_000, label=">= 100k/s")
        for form in EXPORT_FORMS
    ),
    *(
        Target(
            f"export.{form}_peak_rss_mib",
            BOTH,
            "growth",
            at_most=1.5,
            label="peak memory <= 1.5x smallest size",
            cost=True,
        )
        for form in EXPORT_FORMS
    ),
)

# Ratios reported for understanding, with no target: how close a step comes to the database's
# physical limit, and how our statement and write counts compare with the peer's.
CONTEXT = (
    ("engine.steps_per_s", "baseline.raw_write_tps"),
    ("engine.steps_per_s_2workers", "baseline.raw_write_tps"),
    ("http.steps_per_s", "baseline.raw_write_tps"),
    ("engine.sql_per_workflow", "baseline.helpdesk_sql_per_ticket"),
    ("http.wf4_per_s", "baseline.helpdesk_tickets_per_s"),
    ("monitoring.events_per_s", "baseline.raw_write_tps"),
)
