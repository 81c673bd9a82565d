"""What the demo's requesters and monitoring say: call summaries per service and call type, so
that the register reads like a real desk's."""

from __future__ import annotations

import random

INCIDENTS = {
    "workplace": (
        "Laptop does not start after the update",
        "Screen stays black when docked",
        "Software centre shows no applications",
        "Laptop very slow since this morning",
    ),
    "mail": (
        "Mail stuck in the outbox",
        "Shared calendar no longer visible",
        "Mail to external addresses bounces",
        "Phone stopped synchronising mail",
    ),
    "ledger": (
        "Ledger shows an error when posting invoices",
        "Month-end report does not finish",
        "Approval flow skips the second approver",
    ),
    "payroll": (
        "Payslips missing in the staff portal",
        "Payroll mutation screen hangs",
        "Tax table not loaded for the new month",
    ),
    "hosting": (
        "Berth booking answers very slowly",
        "Tide tracking dashboard shows old data",
        "Permit desk returns server errors",
        "Water level telemetry stopped updating",
    ),
    "network": (
        "No network on the second floor",
        "Wi-Fi drops every few minutes in the meeting rooms",
        "Remote access refuses to connect",
        "Office link very slow",
    ),
    "identity": (
        "Cannot sign in: account locked",
        "Second sign-in factor not accepted",
        "New colleague's account has no group rights",
    ),
    "files": (
        "Department share not reachable",
        "Files on the share open read-only",
        "Folder disappeared from the personal drive",
    ),
    "telephony": (
        "Call queue plays no waiting message",
        "Calls to the switchboard drop after 30 seconds",
        "Mobile cannot call out",
    ),
    "website": (
        "Website shows an error on the news page",
        "Contact form sends nothing",
        "Search on the website finds no results",
    ),
    "printing": (
        "Printer on the ground floor jams on every job",
        "Follow-me printing does not release jobs",
        "Scanning to mail stopped working",
    ),
}

SERVICE_REQUESTS = {
    "workplace": (
        "New laptop for a starting colleague",
        "Install the drawing package",
        "Second monitor for a workstation",
    ),
    "mail": (
        "Create a shared mailbox for the project team",
        "Give a colleague access to my calendar",
        "Larger mailbox for the director's office",
    ),
    "ledger": ("Add a cost centre to the ledger", "Report of open invoices per supplier"),
    "payroll": ("Give a new payroll officer access", "Extra payment run for holiday pay"),
    "hosting": ("Restore yesterday's database backup", "Extend disk space of the booking server"),
    "network": ("Guest Wi-Fi for a conference", "Patch a network point in room 2.14"),
    "identity": (
        "Reset my password",
        "Account for a temporary worker",
        "Add a colleague to the finance group",
        "Reset the sign-in factor of a new phone",
    ),
    "files": ("Restore a deleted folder", "New share for the audit team"),
    "telephony": ("New extension for a new colleague", "Change the opening-hours message"),
    "website": ("Publish an urgent notice", "New editor account for the website"),
    "printing": ("Replace the toner on the first floor", "Badge not recognised at the printer"),
}

RFCS = (
    "Upgrade {service} to the new release",
    "Move {service} servers to the south data room",
    "Add capacity to {service}",
    "Replace end-of-life hardware under {service}",
    "Apply the quarterly security patches to {service}",
)
WISHES = (
    "Extend {service} to the new office",
    "Complaint: {service} too often unavailable",
    "Longer support hours for {service}",
    "Add weekend support to {service}",
    "New service: a room booking system alongside {service}",
)
RISKS = (
    "Single point of failure in {service}",
    "Certificate of {service} expires next quarter",
    "{service} runs on software without vendor support",
    "Capacity of {service} near its limit",
    "Opportunity: automate routine requests for {service}",
)

CHECKS = {
    # monitoring check -> (what the tool reports, impact, urgency)
    "ping": ("does not answer ping", 2, 1),
    "disk": ("disk over 95% full", 3, 2),
    "cpu": ("CPU load above 90% for 15 minutes", 3, 2),
    "service": ("service check failing", 2, 1),
    "certificate": ("certificate expires within 7 days", 3, 3),
    "latency": ("response time above threshold", 3, 2),
}

HOLD_REASONS = (
    "Waiting for the requester to confirm the details",
    "Requester asked to continue after a meeting",
    "Waiting for the requester's approval",
    "Requester is away until later",
)


def summary(rng: random.Random, call_type: str, service_code: str, service_name: str) -> str:
    if call_type == "incident":
        return rng.choice(INCIDENTS[service_code])
    if call_type == "service_request":
        return rng.choice(SERVICE_REQUESTS[service_code])
    templates = {"rfc": RFCS, "wish": WISHES, "risk": RISKS}[call_type]
    return rng.choice(templates).format(service=service_name)


def description(rng: random.Random, call_type: str, requester: str) -> str:
    """What the requester adds to the summary."""
    opening = {
        "incident": "Since this morning",
        "service_request": "When convenient",
        "rfc": "As discussed with the team",
        "wish": "On behalf of our management",
    }.get(call_type, "")
    detail = rng.choice(DETAILS)
    return f"{opening}: {detail} Reported by {requester}."


DETAILS = (
    "several colleagues are affected.",
    "only my own workplace seems affected.",
    "it is needed before the end of the week.",
    "we tried restarting, without effect.",
    "details are in the attached screenshot.",
    "please call me back on my mobile.",
)

# What the person doing a step notes on it, per step; steps not listed get no note.
STEP_NOTES = {
    "INC-3": (
        "Matched a known error in the knowledge base.",
        "No match in the knowledge base; analysed with the solution team.",
        "Workaround given to the requester while the cause is fixed.",
    ),
    "INC-4": ("Recovery planned.", "Recovery needs a change to a registered item."),
    "OPS-3": ("Planned on the operations calendar.", "Planned for the next maintenance window."),
    "OPS-4": ("Done as planned.", "Done; the requester confirmed it works."),
    "CHM-3": ("Standard change; plan agreed.", "Normal change; discussed in the change board."),
    "CHM-4": ("Build ready, test plan and fallback written.",),
    "CHM-5": ("Tests passed on acceptance; released.",),
    "CTM-3": ("Teams involved consulted; cost estimated.",),
    "CTM-4": ("Offer drafted with the OLAs it needs.",),
    "CTM-5": ("Negotiated with the customer.",),
    "IMP-3": ("Root cause analysis held with the teams involved.",),
    "IMP-4": ("Measure chosen; residual risk accepted by the owner.",),
    "IMP-7": ("Residual risk recorded.",),
}


def note(rng: random.Random, step_id: str) -> str:
    options = STEP_NOTES.get(step_id)
    return rng.choice(options) if options else ""
