"""A working day in the browser: the desk registers an incident and walks it, a change and
operations recover it through forks, the incident closes; a requester uses the portal."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def complete(page, step_id: str, notes: str = "") -> None:
    if notes:
        page.get_by_label("Notes").fill(notes)
    page.get_by_role("button", name=f"Complete {step_id}").click()
    expect(page.locator("#call-body .notice.success")).to_have_text(f"Completed {step_id}.")


def walk(page, steps) -> None:
    for step in steps:
        complete(page, step)


def test_an_incident_recovered_with_a_change(open_as, live_server, busy_queue, screenshots):
    """Workflow 3: INC forks to CHM, which forks to OPS; each delivers to its caller, the MIR
    changes at CHM's Update MIR, and the incident closes."""
    from usm.mir.models import MirItem

    desk = open_as("desk")
    expect(desk).to_have_url(f"{live_server.url}/desk/")
    expect(desk.locator(".due-breached").first).to_be_visible()
    desk.screenshot(path=screenshots / "desk-queue.png", full_page=True)

    # Register: the facts propose the call type, the customer narrows the requesters.
    desk.get_by_role("link", name="Register a call").click()
    desk.get_by_label("An agreed service fails, or is about to fail").check()
    expect(desk.locator("#proposal strong")).to_have_text("Incident")
    desk.get_by_label("Customer", exact=True).select_option(label="City Council")
    city = busy_queue["customer"].pk
    expect(desk.locator(f'#parties[data-customer="{city}"]')).to_be_attached()
    expect(desk.get_by_label("Requester", exact=True)).not_to_contain_text("Otto Other")
    desk.get_by_label("Requester", exact=True).select_option(label="Rita Requester")
    desk.get_by_label("Service", exact=True).select_option(label="Mail")
    desk.get_by_label("Summary", exact=True).fill("Nobody at the council can send mail")
    desk.get_by_label("Description", exact=True).fill("Outgoing mail bounces since 08:40.")
    desk.get_by_label("Impact", exact=True).select_option("1")
    desk.get_by_label("Urgency", exact=True).select_option("1")
    desk.get_by_label("MIR items", exact=True).fill("relay-1")
    desk.screenshot(path=screenshots / "register.png", full_page=True)
    desk.get_by_role("button", name="Register the call").click()

    expect(desk.locator("h1 .number")).to_have_text(re.compile(r"INC-\d{6}"))
    incident = desk.locator("h1 .number").inner_text()
    expect(desk.locator("#flash")).to_contain_text(f"Registered {incident}")
    expect(desk.locator(".facts-grid")).to_contain_text("Rita Requester")
    expect(desk.locator(".facts-grid")).to_contain_text("City SA")
    expect(desk.locator(".mir")).to_contain_text("Mail relay")
    complete(desk, "INC-1")
    complete(desk, "INC-2")
    complete(desk, "INC-3", notes="The relay's certificate expired; it needs a new TLS setup.")
    complete(desk, "INC-4")
    desk.get_by_label("Hand over to").select_option("CHM")
    desk.get_by_role("button", name="Fork").click()
    expect(desk.locator("#call-body .notice.success")).to_contain_text("Forked into CHM-")
    change = desk.locator("#call-body .notice.success a").inner_text()
    expect(desk.locator(".path .stop-waiting")).to_contain_text("INC-5")
    expect(desk.locator(".badges")).to_contain_text("waiting")

    # The change manager finds the change in the Change queue, plans the MIR change, deploys.
    chris = open_as("chris")
    chris.get_by_role("link", name=change).click()
    expect(chris.locator(".facts-grid")).to_contain_text("Change")
    expect(chris.locator(".links")).to_contain_text(f"Forked from {incident}")
    walk(chris, ["CHM-1", "CHM-2", "CHM-3"])
    chris.get_by_text("Record a MIR change").click()
    chris.get_by_label("MIR item", exact=True).fill("relay-1")
    chris.get_by_label("Attributes").fill("tls = true\ncertificate = 2026-renewal")
    chris.get_by_role("button", name="Record the change").click()
    expect(chris.locator(".mir-planned")).to_contain_text("update relay-1: tls = true")
    walk(chris, ["CHM-4", "CHM-5"])
    chris.get_by_role("button", name="Fork").click()
    expect(chris.locator("#call-body .notice.success")).to_contain_text("Forked into OPS-")
    operations_call = chris.locator("#call-body .notice.success a").inner_text()

    # The operator deploys it.
    olga = open_as("olga")
    olga.get_by_role("link", name=operations_call).click()
    walk(olga, ["OPS-1", "OPS-2", "OPS-3", "OPS-4", "OPS-5", "OPS-6"])
    expect(olga.locator(".badges")).to_contain_text("closed")

    # The change resumes: review, Update MIR (the only place the MIR changes), close.
    chris.reload()
    expect(chris.locator(".path .stop-current")).to_contain_text("CHM-7")
    expect(chris.locator(".facts-grid")).to_contain_text("3 · Incident recovered with a change")
    complete(chris, "CHM-7")
    chris.screenshot(path=screenshots / "call.png", full_page=True)
    assert MirItem.objects.get(identifier="relay-1").attributes == {}
    complete(chris, "CHM-8")
    expect(chris.locator(".mir-applied")).to_contain_text("relay-1 altered attributes")
    assert MirItem.objects.get(identifier="relay-1").attributes["tls"] is True
    complete(chris, "CHM-9")
    expect(chris.locator(".badges")).to_contain_text("closed")

    # Back at the desk, the incident has resumed after its fork and closes.
    desk.reload()
    expect(desk.locator(".path .stop-current")).to_contain_text("INC-6")
    expect(desk.locator(".timeline")).to_contain_text("Resumed: CHM delivered")
    complete(desk, "INC-6")
    complete(desk, "INC-7")
    expect(desk.locator(".badges")).to_contain_text("closed")
    expect(desk.get_by_role("region", name="Next")).to_contain_text("This call is closed")


def test_a_requester_on_the_portal(open_as, live_server, busy_queue, screenshots):
    rita = open_as("rita")
    expect(rita).to_have_url(f"{live_server.url}/portal/")
    rita.get_by_role("link", name="Report or ask something").click()
    rita.get_by_label("Something does not work, or is about to stop working").check()
    rita.get_by_label("Service", exact=True).select_option(label="Mail")
    rita.get_by_label("In one line").fill("My calendar does not sync to my phone")
    rita.get_by_label("Details").fill("Since this morning; mail itself works.")
    rita.get_by_label("Who is affected?").select_option(label="Me")
    rita.get_by_role("button", name="Send").click()
    expect(rita.locator("#flash")).to_contain_text("Your call is registered as INC-")
    number = rita.locator("h1 .number").inner_text()
    expect(rita.locator(".badges")).to_contain_text("Received")

    rita.get_by_label("Your message").fill("It is the iPhone app.")
    rita.get_by_role("button", name="Add a note").click()
    expect(rita.locator(".timeline")).to_contain_text("It is the iPhone app.")

    rita.get_by_role("link", name="Your calls").first.click()
    expect(rita.get_by_role("link", name=number)).to_be_visible()
    expect(rita.locator("main")).not_to_contain_text("Cranes stopped")
    rita.screenshot(path=screenshots / "portal.png", full_page=True)

    other = busy_queue["other_call"].number
    response = rita.goto(f"{live_server.url}/portal/calls/{other}/")
    assert response.status == 404
    expect(rita.locator("h1")).to_have_text("Not found")
    assert rita.goto(f"{live_server.url}/desk/").status == 403
    assert rita.goto(f"{live_server.url}/calls/{number}/").status == 403
