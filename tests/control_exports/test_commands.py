"""`usm export xes|ocel`: files, summaries, filters and one-line errors."""

import json
from datetime import timedelta

import pm4py
import pytest
from typer.testing import CliRunner

from tests.control_exports.conftest import MONDAY
from usm.control.exports.commands import export_app

pytestmark = pytest.mark.django_db


def run(*args):
    return CliRunner().invoke(export_app, [str(a) for a in args])


@pytest.fixture
def three_workflows(walk):
    return [walk(5), walk(4, MONDAY + timedelta(days=1)), walk(6, MONDAY + timedelta(days=2))]


def test_xes_with_a_json_summary_and_filters(provider, three_workflows, tmp_path):
    path = tmp_path / "log.xes"
    result = run("xes", path, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["traces"], summary["format"]) == (3, "xes")
    assert summary["events"] == len(pm4py.read_xes(str(path)))

    # A period by dates (the end day included), a process, a customer.
    by_day = json.loads(
        run("xes", path, "--json", "--from", "2024-03-05", "--to", "2024-03-05").stdout
    )
    assert by_day["traces"] == 1
    entering_inc = json.loads(run("xes", path, "--json", "--process", "inc").stdout)
    log = pm4py.read_xes(str(path))
    assert entering_inc["traces"] == 1 and set(log["usm:process"]) == {"INC"}
    assert set(log["case:concept:name"]) == {three_workflows[1].number}
    city = json.loads(run("xes", path, "--json", "--customer", "city").stdout)
    assert city["traces"] == 3


def test_ocel_format_follows_the_suffix(provider, three_workflows, tmp_path):
    as_json = json.loads(run("ocel", tmp_path / "log.jsonocel", "--json").stdout)
    as_sqlite = json.loads(run("ocel", tmp_path / "log.sqlite", "--json").stdout)
    assert as_json["format"] == "ocel2-json" and as_sqlite["format"] == "ocel2-sqlite"
    assert {k: v for k, v in as_json.items() if k not in ("format", "file")} == {
        k: v for k, v in as_sqlite.items() if k not in ("format", "file")
    }
    assert len(pm4py.read_ocel2_sqlite(str(tmp_path / "log.sqlite")).events) == as_json["events"]


def test_standard_output(provider, three_workflows):
    result = run("xes", "-")
    assert result.exit_code == 0
    assert result.stdout.startswith("<?xml") and result.stdout.rstrip().endswith("</log>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["xes", "{tmp}/log.xes", "--process", "FIX"], "'FIX' is not a process"),
        (["xes", "{tmp}/log.xes", "--customer", "nobody"], "there is no customer 'nobody'"),
        (["xes", "{tmp}/log.xes", "--from", "yesterday"], "is not an ISO date"),
        (["xes", "{tmp}/log.xes", "--from", "2024-03-06", "--to", "2024-03-01"], "before --from"),
        (["xes", "{tmp}/log.xes", "--provider", "ghost"], "there is no provider 'ghost'"),
        (["xes", "{tmp}/missing/log.xes"], "does not exist"),
        (["xes", "{tmp}"], "is a directory"),
        (["xes", "-", "--json"], "give a FILE"),
        (["ocel", "{tmp}/log.txt"], "cannot tell the format"),
        (["ocel", "-", "--format", "sqlite"], "cannot go to standard output"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(provider, tmp_path, args, message):
    result = run(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
