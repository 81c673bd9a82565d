"""The event-log download of the dashboard (/control/export/), through Django's test client with
a signed-in user: the files the API sends, with the filters of its form; refused to a
customer's user; a filter that cannot be used shown on the page with the reason."""

import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.test import Client

from tests.control.conftest import MONDAY
from usm.calls.models import CallEvent

pytestmark = pytest.mark.django_db
XES = {"xes": "http://www.xes-standard.org/"}
MONDAY_ONLY = {"from": "2024-03-04", "to": "2024-03-04"}


@pytest.fixture
def two_days(walk):
    """A workflow 4 (INC, then OPS) on Monday and a workflow 5 (OPS) on Tuesday."""
    return walk(4), walk(5, start=MONDAY + timedelta(days=1))


def body(response) -> bytes:
    assert response.streaming  # sent as it is written, as the API sends it
    return b"".join(response.streaming_content)


def test_the_dashboard_offers_the_download_for_the_period_shown(desk_client):
    response = desk_client.get("/control/", {"start": "2024-03-04", "end": "2024-03-10"})
    page = response.content.decode()
    assert 'action="/control/export/"' in page
    assert re.search(r'name="from" value="2024-03-04"', page)
    assert re.search(r'name="to" value="2024-03-10"', page)
    assert '<option value="city">' in page  # the desk's customer
    assert '<option value="INC">INC Recover</option>' in page


def test_xes_of_one_day_holds_its_workflow_and_its_steps(desk_client, two_days):
    monday, _ = two_days
    response = desk_client.get("/control/export/", {**MONDAY_ONLY, "format": "xes"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="usm-acme.xes"'
    log = ET.fromstring(body(response))
    traces = log.findall("xes:trace", XES)
    names = [t.find("xes:string[@key='concept:name']", XES).get("value") for t in traces]
    assert names == [monday.number]
    steps = CallEvent.objects.filter(root=monday, kind="step_completed").count()
    assert len(log.findall("xes:trace/xes:event", XES)) == steps > 0


def test_xes_with_all_events_holds_every_logged_change(desk_client, two_days):
    monday, _ = two_days
    query = {**MONDAY_ONLY, "format": "xes", "all_events": "on"}
    log = ET.fromstring(body(desk_client.get("/control/export/", query)))
    everything = CallEvent.objects.filter(root=monday)
    assert everything.exclude(kind="step_completed").exists()
    assert len(log.findall("xes:trace/xes:event", XES)) == everything.count()


def test_the_xes_is_the_apis_for_the_same_filters(desk_client, api_client, two_days):
    query = {"process": "OPS", "customer": "city"}
    from_web = body(desk_client.get("/control/export/", {**query, "format": "xes"}))
    from_api = body(api_client.get("/api/v1/control/exports/xes", query))
    # Only the moment of the export differs.
    exported_at = re.compile(rb'<date key="usm:exported_at" value="[^"]+"/>')
    assert exported_at.sub(b"", from_web) == exported_at.sub(b"", from_api)
    assert from_web.count(b"<trace>") == 2


def test_ocel_json_of_one_process(desk_client, two_days):
    monday, _ = two_days
    query = {**MONDAY_ONLY, "process": "OPS", "format": "ocel-json"}
    response = desk_client.get("/control/export/", query)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="usm-acme.jsonocel"'
    document = json.loads(body(response))
    processes = {
        a["value"] for e in document["events"] for a in e["attributes"] if a["name"] == "process"
    }
    assert processes == {"OPS"}
    in_ops = CallEvent.objects.filter(root=monday, process="OPS").count()
    assert len(document["events"]) == in_ops > 0
    workflows = [o["id"] for o in document["objects"] if o["type"] == "workflow"]
    assert workflows == [f"workflow:{monday.number}"]


def test_ocel_sqlite_of_one_customer(desk_client, two_days, tmp_path):
    response = desk_client.get("/control/export/", {"customer": "city", "format": "ocel-sqlite"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.sqlite3"
    assert response["Content-Disposition"] == 'attachment; filename="usm-acme.sqlite"'
    path = tmp_path / "download.sqlite"
    path.write_bytes(body(response))
    db = sqlite3.connect(path)
    try:
        (events,) = db.execute("SELECT count(*) FROM event").fetchone()
        (workflows,) = db.execute(
            "SELECT count(*) FROM object WHERE ocel_type = 'workflow'"
        ).fetchone()
    finally:
        db.close()
    assert events == CallEvent.objects.filter(root__in=two_days).count()
    assert workflows == 2


def test_a_customers_user_is_refused(desk, requester_user):
    client = Client()
    client.force_login(requester_user)
    assert client.get("/control/export/", {"format": "xes"}).status_code == 403


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/control/export/", {"format": "xes"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(
    "query, field, reason",
    [
        (
            {"process": "XYZ"},
            "process",
            "&#x27;XYZ&#x27; is not a process (CTM, CHM, INC, OPS, IMP)",
        ),
        ({"customer": "nobody"}, "customer", "there is no customer &#x27;nobody&#x27; at acme"),
        ({"customer": "ci\x00ty"}, "customer", "Null characters are not allowed."),
        ({"from": "soon"}, "from", "&#x27;soon&#x27; is not an ISO date or date-time"),
        ({"from": "0999-01-01"}, "from", "lies outside the years 1970 to 9000"),
        ({"from": "2024-03-05", "to": "2024-03-01"}, "to", "lies before From"),
        ({"format": "csv"}, "format", "Select a valid choice. csv is not one of the available"),
        ({"format": ""}, "format", "This field is required."),
    ],
)
def test_a_filter_that_cannot_be_used_is_shown_on_the_page(desk_client, query, field, reason):
    response = desk_client.get("/control/export/", {"format": "xes", **query})
    assert response.status_code == 400
    assert not response.streaming
    assert response.context["export_form"].errors[field]
    page = response.content.decode()
    assert "The event log was not exported" in page
    # In the summary above the page and beside the field in the form.
    assert page.count(reason) == 2, page
