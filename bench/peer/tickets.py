"""The peer's workload, run with bench/.peer-venv/bin/python from bench/peer/: tickets with as many
follow-ups and status changes as one of our WF4 runs has step completions and status changes, made
through helpdesk's models and its own `update_ticket` (what its views and API call). Prints one
JSON line: tickets/s, follow-ups/s, and the SQL statements and writes of one ticket.

    python tickets.py --tickets 200 --followups 13 --status-changes 8
"""

import argparse
import json
import os
import sys
import time


def status_plan(followups: int, changes: int) -> list[int | None]:
    """The status each follow-up sets (None: a comment only). Changes are spread evenly; they go
    resolved / reopened in turn and the last one closes the ticket."""
    from helpdesk.models import Ticket

    changing = {round(i * followups / changes) for i in range(1, changes + 1)}
    plan: list[int | None] = []
    made = 0
    for position in range(1, followups + 1):
        if position not in changing:
            plan.append(None)
            continue
        made += 1
        if made == changes:
            plan.append(Ticket.CLOSED_STATUS)
        else:
            plan.append(Ticket.RESOLVED_STATUS if made % 2 else Ticket.REOPENED_STATUS)
    return plan


def one_ticket(queue, user, plan: list[int | None], index: int) -> None:
    from helpdesk.models import Ticket
    from helpdesk.update_ticket import update_ticket

    ticket = Ticket.objects.create(
        title=f"Mail is down #{index}",
        queue=queue,
        submitter_email="requester@example.test",
        description="Users cannot send mail.",
        priority=2,
        assigned_to=user,
    )
    for step, status in enumerate(plan, start=1):
        ticket = Ticket.objects.get(pk=ticket.pk)
        update_ticket(user, ticket, comment=f"step {step} done", new_status=status)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--followups", type=int, required=True)
    parser.add_argument("--status-changes", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from helpdesk.models import Queue

    call_command("migrate", verbosity=0, interactive=False)
    user = get_user_model().objects.create_user("agent", "agent@example.test", "x", is_staff=True)
    queue = Queue.objects.create(title="Service desk", slug="desk", allow_email_submission=False)
    plan = status_plan(args.followups, args.status_changes)
    for index in range(args.warmup):
        one_ticket(queue, user, plan, -index)
    with CaptureQueriesContext(connection) as queries:
        one_ticket(queue, user, plan, 0)
    statements = [q["sql"].lstrip().split(None, 1)[0].upper() for q in queries.captured_queries]
    writes = sum(1 for s in statements if s in ("INSERT", "UPDATE", "DELETE"))
    started = time.perf_counter()
    for index in range(1, args.tickets + 1):
        one_ticket(queue, user, plan, index)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "tickets": args.tickets,
                "seconds": seconds,
                "tickets_per_s": args.tickets / seconds,
                "followups_per_s": args.tickets * args.followups / seconds,
                "sql_per_ticket": len(statements),
                "writes_per_ticket": writes,
                "followups": args.followups,
                "status_changes": sum(1 for s in plan if s is not None),
                "helpdesk": _version("django-helpdesk"),
                "django": django.get_version(),
            }
        )
    )
    return 0


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


if __name__ == "__main__":
    sys.exit(main())
