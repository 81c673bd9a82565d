"""The benchmark harness itself: its statistics, its comparisons with baselines and targets, its
report formats, its command line, and a tiny run of one scenario. Nothing here times anything or
judges a figure: performance is reported by `usm bench`, never asserted in a test."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from bench import harness, report
from bench.stats import Measurement, percentile, skipped
from typer.testing import CliRunner

from usm.cli import app

REPOSITORY = Path(__file__).resolve().parents[2]
MACHINE = {"cpus": 2, "memory_mib": 4096, "python": "3.11", "sqlite": "3.40", "system": "Linux"}


# -- statistics -----------------------------------------------------------------------------------
def test_percentiles_are_nearest_rank_samples():
    samples = [float(n) for n in range(100, 0, -1)]
    assert percentile(samples, 0.5) == 50
    assert percentile(samples, 0.95) == 95
    assert percentile(samples, 1.0) == 100
    # 0.95 * 20 is 19.000000000000004 in floating point: still the 19th sample.
    assert percentile([float(n) for n in range(1, 21)], 0.95) == 19
    assert percentile([7.0], 0.5) == percentile([7.0], 0.95) == 7


def test_a_percentile_needs_samples_and_a_share():
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1.0], 0)


# -- comparisons ----------------------------------------------------------------------------------
def ledger(capsys, *measurements, smallest=10_000):
    found = harness.Ledger(smallest=smallest, machine=MACHINE)
    for m in measurements:
        found.record(m)
    capsys.readouterr()  # the JSON lines each record printed
    return found


def comparisons(line):
    return {c["target"] or c["baseline"]: c for c in line["comparisons"]}


def test_a_figure_is_judged_against_the_baseline_of_its_own_database(capsys):
    lines = ledger(
        capsys,
        Measurement("baseline.helpdesk_tickets_per_s", "sqlite", None, 20.0, "tickets/s"),
        Measurement("baseline.helpdesk_tickets_per_s", "postgresql", None, 10.0, "tickets/s"),
        Measurement("engine.wf4_per_s", "postgresql", 10_000, 50.0, "workflows/s"),
    ).lines
    judged = comparisons(lines[-1])[">= 10x helpdesk"]
    assert judged["baseline_value"] == 10.0
    assert judged["ratio"] == 5.0
    assert judged["met"] is False
    assert lines[-1]["met"] is False  # the first comparison is repeated at the top level


def test_growth_divides_costs_one_way_and_rates_the_other(capsys):
    lines = ledger(
        capsys,
        Measurement("engine.steps_per_s", "sqlite", 10_000, 200.0, "steps/s"),
        Measurement("engine.steps_per_s", "sqlite", 1_000_000, 100.0, "steps/s"),
        Measurement("export.xes_peak_rss_mib", "sqlite", 10_000, 60.0, "MiB"),
        Measurement("export.xes_peak_rss_mib", "sqlite", 1_000_000, 66.0, "MiB"),
    ).lines
    steps = comparisons(lines[1])["cost/step <= 1.5x smallest size"]
    assert steps["ratio"] == 2.0 and steps["met"] is False  # half the rate: twice the cost
    memory = comparisons(lines[3])["peak memory <= 1.5x smallest size"]
    assert memory["ratio"] == pytest.approx(1.1) and memory["met"] is True
    assert "cost/step <= 1.5x smallest size" not in comparisons(lines[0])


def test_a_skipped_figure_keeps_its_targets_unjudged(capsys):
    [line] = ledger(
        capsys, skipped("web.kpi_dashboard_ms_p95", "sqlite", 10_000, "no page at /control/")
    ).lines
    assert line["value"] is None and line["skipped"] == "no page at /control/"
    assert [(c["target"], c["met"]) for c in line["comparisons"]] == [("< 1 s", None)]


# -- report ---------------------------------------------------------------------------------------
def test_numbers_and_sizes_read_the_way_the_readme_prints_them():
    assert [report.number(v) for v in (None, 0, 83206.4, 221.4, 17.04, 1.234, 0.07382)] == [
        "-",
        "0",
        "83,206",
        "221",
        "17.0",
        "1.23",
        "0.0738",
    ]
    assert [report.size_text(s) for s in (None, 300, 10_000, 1_000_000, 12_345)] == [
        "-",
        "300",
        "10k",
        "1M",
        "12345",
    ]


def test_the_table_markdown_and_plot_show_verdicts_and_skips(capsys, tmp_path):
    lines = ledger(
        capsys,
        Measurement("engine.steps_per_s", "sqlite", 10_000, 221.0, "steps/s"),
        Measurement("queue.query_ms_p95", "sqlite", 10_000, 2.0, "ms"),
        skipped("web.call_page_ms_p95", "sqlite", 10_000, "no page | yet"),
    ).lines
    table = report.table(lines).splitlines()
    assert table[0].split(" | ")[0].strip() == "database"
    assert any("FAIL" in row and "engine.steps_per_s" in row for row in table)
    assert any("PASS" in row and "queue.query_ms_p95" in row for row in table)
    assert any("skipped: no page | yet" in row for row in table)
    markdown = report.markdown(lines)
    assert "| engine.steps_per_s >= 3000 steps/s | sqlite | 10k | 221 steps/s |" in markdown
    assert "skipped: no page / yet" in markdown  # a | would split the Markdown cell
    svg = tmp_path / "plot.svg"
    svg.write_text(report.svg(lines))
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    bars = root.findall("{http://www.w3.org/2000/svg}rect")[1:]
    assert [bar.get("fill") for bar in bars] == ["#c62828", "#2e7d32"]  # FAIL, then PASS


# -- command line ---------------------------------------------------------------------------------
def options(**given):
    defaults = {
        "database": "sqlite",
        "size": None,
        "only": None,
        "quick": False,
        "json": False,
        "out": None,
        "postgres": "postgresql://bench@127.0.0.1:5432",
    }
    return SimpleNamespace(**{**defaults, **given})


def test_the_plan_defaults_to_10k_and_accepts_lists():
    plan = harness.plan_of(options())
    assert plan.sizes == (10_000,) and plan.scenarios == harness.SCENARIOS
    plan = harness.plan_of(options(size=["1000000,10000"], only=["engine", "spiff,raw"]))
    assert plan.sizes == (10_000, 1_000_000)
    assert plan.baselines == ("raw", "spiff") and plan.worker_scenarios == ("engine",)


@pytest.mark.parametrize(
    "given, reason",
    [
        ({"only": ["engine,teleport"]}, "unknown scenario teleport"),
        ({"size": ["many"]}, "--size takes whole numbers"),
        ({"size": ["50"]}, "at least 100 calls"),
        ({"out": Path("/no/such/dir/run.jsonl")}, "does not exist"),
    ],
)
def test_the_plan_refuses_bad_options(given, reason):
    with pytest.raises(harness.BadInput, match=reason):
        harness.plan_of(options(**given))


def test_usm_bench_reports_bad_input_in_one_line():
    result = CliRunner().invoke(app, ["bench", "--only", "teleport"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "unknown scenario teleport" in result.output


def test_usm_bench_says_where_the_harness_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("USM_REPOSITORY", str(tmp_path))
    result = CliRunner().invoke(app, ["bench"])
    assert result.exit_code == 2
    assert "bench/ (the benchmark harness) was not found" in result.output


# -- a tiny run -----------------------------------------------------------------------------------
@pytest.mark.slow  # its own SQLite file whatever the suite's database: nothing to add on PostgreSQL
def test_a_tiny_engine_run_prints_one_json_line_per_figure(tmp_path):
    out = tmp_path / "run.jsonl"
    command = [sys.executable, "-m", "bench", "--database", "sqlite", "--size", "100"]
    command += ["--only", "engine", "--quick", "--json", "--out", str(out)]
    run = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    printed = [json.loads(raw) for raw in run.stdout.splitlines()]  # --json: nothing else
    assert printed == [json.loads(raw) for raw in out.read_text().splitlines()]
    by_name = {line["name"]: line for line in printed}
    assert {
        "background.fill_calls_per_s",
        "engine.sql_per_step",
        "engine.wf4_per_s",
        "engine.steps_per_s",
    } <= set(by_name)
    steps = by_name["engine.steps_per_s"]
    assert steps["database"] == "sqlite" and steps["size"] == 100 and steps["value"] > 0
    assert steps["machine"]["cpus"] and steps["skipped"] is None
    assert set(by_name["engine.sql_per_workflow"]["detail"]) == {"load_avg_1m"}
    assert by_name["engine.sql_per_step"]["detail"]["per_workflow"] > 0
