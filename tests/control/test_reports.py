"""The monthly service report and the `usm control` commands, run in-process against the test
database."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from tests.control.conftest import MONDAY, register
from usm.cli import app
from usm.control.reports import Month, service_report

pytestmark = pytest.mark.django_db


def usm(*args):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def three_incidents(walk):
    # Resolution (INC-6, the 12th action) after 120, 240 and 360 minutes against four hours.
    return [walk(4, every=timedelta(minutes=m)) for m in (10, 20, 30)]


def test_the_report_of_a_month(desk, three_incidents):
    report = service_report(desk["customer"], Month(2024, 3), as_of=MONDAY + timedelta(days=40))
    (section,) = report["sections"]
    assert section["agreement"] == desk["agreement"]
    assert (section["intake"], section["closed"], section["backlog"]) == (6, 6, 0)
    assert section["response"] == {"met": 6, "missed": 0, "pending": 0, "rate": 1.0}
    assert section["resolution"] == {"met": 5, "missed": 1, "pending": 0, "rate": 0.8333}
    assert section["breaches"] == {"response": 0, "resolution": 1}
    (late,) = section["late"]
    slowest = three_incidents[2]
    assert (late["number"], late["deadline"]) == (slowest.number, "resolution")
    assert (late["due"], late["done"]) == (MONDAY.replace(hour=11), MONDAY.replace(hour=13))
    # Priority 1 only: every call was registered with impact and urgency 1.
    assert [row["priority"] for row in section["priorities"]] == [1]
    incidents = next(r for r in section["intake_by_type"] if r["call_type"] == "Incident")
    assert incidents["count"] == 3


def test_the_month_is_the_agreements_own(desk, staff):
    # The SA's calendar runs in Amsterdam (UTC+1 in winter, UTC+2 from 31 March).
    register(desk, staff, "incident", datetime(2024, 2, 29, 23, 30, tzinfo=UTC))  # 1 March there
    register(desk, staff, "incident", datetime(2024, 3, 31, 22, 30, tzinfo=UTC))  # 1 April there
    (march,) = service_report(desk["customer"], Month(2024, 3))["sections"]
    assert march["period"].start == datetime(2024, 2, 29, 23, 0, tzinfo=UTC)
    assert march["period"].end == datetime(2024, 3, 31, 22, 0, tzinfo=UTC)
    assert march["intake"] == 1


@pytest.mark.parametrize("text", ["2024-13", "2024", "march", "0000-01", "2024-03-01"])
def test_a_month_is_checked(text):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        Month.parse(text)


def test_usm_control_report_writes_a_page(desk, three_incidents, tmp_path):
    out = tmp_path / "city.html"
    result = usm("control", "report", "--customer", "city", "--month", "2024-03", "--out", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "March 2024" in page and "City SA" in page and "<svg" in page
    assert three_incidents[2].number in page  # listed as late
    assert "83.3 %" in page


@pytest.mark.parametrize(
    "args, message",
    [
        (["--customer", "city", "--month", "2024-13"], "month: '2024-13' is not a month"),
        (["--customer", "nobody", "--month", "2024-03"], "there is no customer 'nobody'"),
        (["--customer", "city", "--month", "2024-03", "--agreement", "x"], "agreement: 'x'"),
    ],
)
def test_usm_control_report_bad_input(desk, tmp_path, args, message):
    result = usm("control", "report", *args, "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_usm_control_kpis_and_conformance(desk, walk):
    walk(4)
    result = usm("control", "kpis", "--from", "2024-03-04", "--to", "2024-03-04", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["intake"] == 2
    text = usm("control", "kpis", "--from", "2024-03-04", "--to", "2024-03-04")
    assert text.exit_code == 0 and "intake 2" in text.stdout
    checked = usm("control", "conformance", "--from", "2024-03-01", "--to", "2024-03-31", "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["rate"] == 1.0
    bad = usm("control", "kpis", "--process", "XYZ")
    assert bad.exit_code == 2 and "'XYZ' is not a process" in bad.stderr


def test_usm_control_sweep(desk, staff):
    incident = register(desk, staff, "incident", MONDAY)
    result = usm("control", "sweep", "--at", "2024-03-04T12:00:00", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["breaches"] == [
        f"{incident.number} response",
        f"{incident.number} resolution",
    ]
    again = usm("control", "sweep", "--at", "2024-03-04T12:05:00")
    assert again.exit_code == 0 and "0 breach(es) recorded" in again.stdout
