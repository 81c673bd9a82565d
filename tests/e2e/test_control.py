"""The process manager's day in the browser: the dashboard of the desk's work, and the event log
downloaded from it for a process-mining tool."""

import json
import xml.etree.ElementTree as ET

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_dashboard_downloads_the_event_log(open_as, live_server, busy_queue, screenshots):
    from usm.calls.models import Call, CallEvent

    manager = open_as("desk")
    manager.goto(f"{live_server.url}/control/")
    expect(manager.get_by_role("heading", name="Export the event log")).to_be_visible()
    registered = Call.objects.filter(provider=busy_queue["customer"].provider).count()
    expect(manager.locator("body")).to_contain_text("Intake")
    export = manager.get_by_role("form", name="Export the event log")
    export.screenshot(path=screenshots / "control-export.png")
    # The period shown, as dates, to start with.
    expect(export.get_by_label("From")).not_to_have_value("")
    export.get_by_label("Format").select_option(label="OCEL 2.0 JSON")
    with manager.expect_download() as started:
        export.get_by_role("button", name="Download").click()
    download = started.value
    assert download.suggested_filename.endswith(".jsonocel")
    ocel = json.loads(download.path().read_text(encoding="utf-8"))
    calls = [o for o in ocel["objects"] if o["type"] == "call"]
    assert len(calls) == registered
    assert len(ocel["events"]) == CallEvent.objects.count()

    # The queue's calls have completed no step yet: every logged change, to see them all.
    export.get_by_label("Format").select_option(label="XES (one trace per workflow)")
    export.get_by_label("All events (XES)").check()
    with manager.expect_download() as started:
        export.get_by_role("button", name="Download").click()
    log = ET.parse(started.value.path()).getroot()
    traces = [child for child in log if child.tag.endswith("trace")]
    workflows = Call.objects.filter(accepting=True).count()
    assert len(traces) == workflows

    # A period that ends before it starts is refused beside the field, nothing downloaded.
    export = manager.get_by_role("form", name="Export the event log")
    export.get_by_label("From").fill("2026-03-10")
    export.get_by_label("To (included)").fill("2026-03-01")
    export.get_by_role("button", name="Download").click()
    expect(manager.locator(".has-error .error").first).to_be_visible()
    expect(manager.locator("body")).to_contain_text("The event log was not exported")
