"""A review that tries to break the command line of process control, the exports and the demo: bad
input is one line on stderr and exit 2, never a traceback, and nothing is written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from usm.cli import app

pytestmark = pytest.mark.django_db


REPORT = ["control", "report", "-c", "city", "-m", "2024-03", "-o", "r.html"]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _refused(result) -> str:
    """The one line a refusal prints; fails the test on a traceback or another exit code."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("usm"), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize(
    "args, said",
    [
        (["control", "kpis", "--from", "garbage"], "not an ISO date"),
        (["control", "kpis", "--to", "2024-02-30"], "not an ISO date"),
        (["control", "kpis", "--from", "0001-01-01"], "1970 to 9000"),
        (["control", "kpis", "--from", "2024-03-05", "--to", "2024-03-01"], "ends before"),
        (["control", "kpis", "--process", "XYZ"], "not a process"),
        (["control", "kpis", "--customer", "nobody"], "no customer 'nobody'"),
        (["control", "kpis", "--customer", "bcust"], "no customer 'bcust'"),
        (["control", "kpis", "--team", "B desk"], "no team"),
        (["control", "kpis", "--provider", "nope"], "no provider 'nope'"),
        (["control", "conformance", "--from", "9999-01-01"], "1970 to 9000"),
        (["control", "sweep", "--at", "yesterday"], "not an ISO date"),
        (["control", "sweep", "--at", "2999-01-01T00:00"], "in the future"),
        (["control", "report", "-c", "city", "-m", "2024-13", "-o", "r.html"], "not a month"),
        (["control", "report", "-c", "city", "-m", "x", "-o", "r.html"], "not a month"),
        (["control", "report", "-c", "bcust", "-m", "2024-03", "-o", "r.html"], "no customer"),
        ([*REPORT, "--agreement", "sa-b"], "not a service agreement"),
        (["export", "xes", "log.xes", "--from", "garbage"], "not an ISO date"),
        (["export", "xes", "log.xes", "--customer", "bcust"], "no customer 'bcust'"),
        (["export", "xes", "log.xes", "--process", "nope"], "not a process"),
        (["export", "ocel", "log.txt"], "cannot tell the format"),
        (["export", "xes", "no/such/dir/log.xes"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    provider, other_provider, tmp_path, monkeypatch, args, said
):
    """Two providers, so that every command is told which one; B's customer and team are
    unknown to A."""
    from usm.organisation.models import Customer, Team

    Customer.objects.create(provider=provider, code="city", name="City Council")
    Customer.objects.create(provider=other_provider, code="bcust", name="B Customer")
    Team.objects.create(provider=other_provider, name="B desk")
    monkeypatch.chdir(tmp_path)
    if args[0] != "control" or args[1] != "sweep":
        args = [*args, "--provider", "acme"] if "--provider" not in args else args
    assert said in _refused(run(*args))
    assert list(tmp_path.iterdir()) == []


def test_without_a_provider_named_two_are_one_too_many(provider, other_provider):
    assert "--provider" in _refused(run("control", "kpis"))


@pytest.mark.parametrize(
    "args, said",
    [
        (["--until", "0001-01-03"], "--until"),
        (["--until", "9999-12-31T23:00"], "--until"),
        (["--until", "tomorrow"], "--until"),
        (["--address", "127.0.0.1:99999"], "host:port"),
        (["--address", "nohost"], "host:port"),
    ],
)
def test_demo_refuses_bad_input_before_touching_the_database(args, said):
    """Regression: an --until near the ends of the calendar overflowed inside the simulation
    (a traceback after migrating), and a port past 65535 failed only after seeding."""
    from usm.organisation.models import Provider

    line = _refused(run("demo", "--no-serve", "--days", "2", *args))
    assert said in line
    assert not Provider.objects.exists()
