"""Workflows for the export tests, walked through the call services on a simulated clock, and a
cheap way to a big log (rows written straight into the tables) for the memory checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import F

from tests.calls import conftest as calls_fixtures
from usm.model import StepKind, reference_model

# A customer with an SA, a service, a team and a procedure for every workflow.
desk = calls_fixtures.desk

MODEL = reference_model()
MONDAY = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)


def run_template(desk, actor, number: int, start: datetime, *, every=timedelta(minutes=7), **call):
    """Register the trigger of workflow `number` at `start` and walk its template path, one step
    every `every` (forks included). Returns the accepting call."""
    from usm.calls import services

    workflow = MODEL.workflow(number)
    path = MODEL.path(workflow)
    details = {
        "summary": f"WF{number} at {start:%H:%M}",
        "requester": desk["requester"],
        "customer": desk["customer"],
        "service": desk["service"],
        "impact": 2,
        "urgency": 2,
    }
    details.update(call)
    root = services.register_call(
        desk["customer"].provider, actor, call_type=workflow.trigger, at=start, **details
    )
    at, by_depth = start, {0: root}
    for index, walked in enumerate(path):
        at += every
        here = by_depth[walked.depth]
        if walked.step.kind is StepKind.FORK:
            target = path[index + 1].step.process
            by_depth[walked.depth + 1] = services.fork_call(here, actor, target, at=at)
        else:
            services.complete_step(here, actor, walked.step.id, at=at)
    root.refresh_from_db()
    return root


@pytest.fixture
def walk(desk, staff):
    """`walk(number, start=MONDAY, **call)`: one clean run of a workflow template."""

    def walk(number, start=MONDAY, **call):
        return run_template(desk, staff, number, start, **call)

    return walk


@pytest.fixture
def mir_item(provider, desk):
    """A registered MIR item serving the desk's service, owned by its team."""
    from usm.mir.models import MirItem
    from usm.mir.services import admin_import

    report = admin_import(
        provider,
        [
            {
                "identifier": "mail-01",
                "name": "Mail server",
                "type": "server",
                "owner": desk["team"].name,
                "services": [desk["service"].code],
            }
        ],
        actor=None,
        batch="tests",
    )
    assert not report.errors
    return MirItem.objects.get(provider=provider, identifier="mail-01")


def bulk_log(provider, desk, workflows: int, steps: int, start=MONDAY, first: int = 0):
    """`workflows` accepted calls with `steps` completed-step rows each, written in bulk: a log of
    any size in a second, for checks that are about size, not about the flow."""
    from usm.calls.models import Call, CallEvent

    step_ids = [s.id for s in MODEL.processes["OPS"].steps]
    calls = Call.objects.bulk_create(
        Call(
            provider=provider,
            number=f"BULK-{first + n:07d}",
            call_type="service_request",
            process="OPS",
            summary=f"bulk call {n}",
            customer=desk["customer"],
            service=desk["service"],
            workflow=5,
            status="closed",
            created_at=start + timedelta(minutes=n),
        )
        for n in range(workflows)
    )
    new = Call.objects.filter(provider=provider, number__startswith="BULK-", root=None)
    calls = list(new.order_by("pk"))
    new.update(root_id=F("pk"))
    CallEvent.objects.bulk_create(
        (
            CallEvent(
                provider=provider,
                call=call,
                root=call,
                process="OPS",
                step=step_ids[i % len(step_ids)],
                attempt=1 + i // len(step_ids),
                workflow=5,
                kind="step_completed",
                team=desk["team"],
                profile=desk["profile"],
                at=call.created_at + timedelta(seconds=i),
            )
            for call in calls
            for i in range(steps)
        ),
        batch_size=2000,
    )


@pytest.fixture
def requester_user(desk, django_user_model):
    """The customer's requester as a user who can sign in: a customer's user, not staff."""
    user = django_user_model.objects.create_user("rita")
    person = desk["requester"]
    person.user = user
    person.save()
    return user
