"""/api/v1/control/exports over HTTP with real bearer tokens: staff download what `usm export`
writes, with the same filters; customers' users are refused; bad filters are a 422."""

import json
import sqlite3
from datetime import timedelta

import pm4py
import pytest
from django.test import Client

from tests.control_exports.conftest import MONDAY
from usm.calls.models import CallEvent
from usm.control.exports.ocel import write_ocel_sqlite
from usm.control.exports.selection import Selection

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_days(walk):
    """A WF4 on Monday and a WF5 on Tuesday."""
    return walk(4), walk(5, MONDAY + timedelta(days=1))


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_xes_streams_the_log_read_back_by_pm4py(api_client, two_days, tmp_path):
    response = api_client.get("/api/v1/control/exports/xes")
    assert response.status_code == 200, response.content
    assert response.streaming
    assert response["Content-Type"].startswith("application/xml")
    assert 'filename="usm-' in response["Content-Disposition"]
    path = tmp_path / "log.xes"
    path.write_bytes(body(response))
    log = pm4py.read_xes(str(path))
    steps = CallEvent.objects.filter(kind="step_completed").count()
    assert len(log) == steps and log["case:concept:name"].nunique() == 2


def test_the_filters_are_those_of_the_command(api_client, two_days, tmp_path):
    monday = api_client.get(
        "/api/v1/control/exports/xes", {"from": "2024-03-04", "to": "2024-03-04"}
    )
    path = tmp_path / "monday.xes"
    path.write_bytes(body(monday))
    traces = set(pm4py.read_xes(str(path))["case:concept:name"])
    assert traces == {two_days[0].number}
    ops_only = api_client.get("/api/v1/control/exports/ocel", {"process": "ops"})
    document = json.loads(body(ops_only))
    processes = {
        a["value"] for e in document["events"] for a in e["attributes"] if a["name"] == "process"
    }
    assert processes == {"OPS"}


def test_ocel_json_and_sqlite(api_client, provider, two_days, tmp_path):
    as_json = api_client.get("/api/v1/control/exports/ocel")
    assert as_json.status_code == 200 and as_json.streaming
    path = tmp_path / "log.jsonocel"
    path.write_bytes(body(as_json))
    ocel = pm4py.read_ocel2_json(str(path))
    assert len(ocel.events) == CallEvent.objects.filter(provider=provider).count()
    as_sqlite = api_client.get("/api/v1/control/exports/ocel", {"format": "sqlite"})
    assert as_sqlite.status_code == 200
    assert as_sqlite["Content-Disposition"].endswith('.sqlite"')
    downloaded = tmp_path / "download.sqlite"
    downloaded.write_bytes(body(as_sqlite))
    written = tmp_path / "written.sqlite"
    write_ocel_sqlite(written, Selection(provider))
    tables = []
    for database in (downloaded, written):
        db = sqlite3.connect(database)
        try:
            tables.append(sorted(db.execute("SELECT * FROM event_object")))
        finally:
            db.close()
    assert tables[0] == tables[1] and tables[0]


def test_a_customers_user_is_refused(desk, requester_user):
    from usm.api.tokens import issue_token

    _, plain = issue_token(requester_user, "tests")
    client = Client(headers={"Authorization": f"Bearer {plain}"})
    for path in ("xes", "ocel"):
        assert client.get(f"/api/v1/control/exports/{path}").status_code == 403


def test_without_a_token_nothing(client):
    assert client.get("/api/v1/control/exports/xes").status_code == 401


@pytest.mark.parametrize(
    "query, field",
    [
        ({"process": "XYZ"}, "process"),
        ({"customer": "nobody"}, "customer"),
        # PostgreSQL would refuse the look-up itself: a 500 if it got that far.
        ({"customer": "city\x00"}, "customer"),
        ({"from": "soon"}, "from"),
        ({"from": "2024-03-05", "to": "2024-03-01"}, "to"),
        ({"format": "csv"}, "format"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api_client, desk, query, field):
    response = api_client.get("/api/v1/control/exports/ocel", query)
    assert response.status_code == 422, response.content
    assert field in str(response.json()["detail"])
