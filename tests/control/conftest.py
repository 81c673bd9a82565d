"""Calls for process-control tests, walked through the call services on a simulated clock so that
every expected figure can be worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.calls import conftest as calls_fixtures
from usm.model import StepKind, reference_model

# The organisation the call tests start from: a customer, an SA with norms, a procedure per
# workflow.
desk = calls_fixtures.desk

MODEL = reference_model()
# Monday 4 March 2024, 08:00 in Amsterdam: the desk's service hours (08-17, Mon-Fri) have just
# begun, so business time and elapsed time run together until 16:00 UTC.
MONDAY = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)


def register(desk, actor, call_type: str, at: datetime, *, impact=1, urgency=1, **extra):
    from usm.calls import services

    return services.register_call(
        desk["customer"].provider,
        actor,
        call_type=call_type,
        summary=f"{call_type} at {at:%H:%M}",
        requester=desk["requester"],
        customer=desk["customer"],
        service=desk["service"],
        impact=impact,
        urgency=urgency,
        at=at,
        **extra,
    )


def run_workflow(
    desk,
    actor,
    number: int,
    start: datetime,
    every: timedelta,
    *,
    repeat: tuple[str, str] | None = None,
    stop_before: str | None = None,
    **levels,
):
    """Register the workflow's call at `start` and walk its template, one action every `every`.
    `repeat=(at, back_to)`: on reaching step `at` the first time, go back to `back_to` and walk
    on from there. `stop_before`: leave the workflow open at that step. Returns the accepting
    call as stored."""
    from usm.calls import services

    workflow = MODEL.workflow(number)
    path = MODEL.path(workflow)
    root = register(desk, actor, workflow.trigger, start, **levels)
    at = start
    by_depth = {0: root}
    repeated = False
    index = 0
    while index < len(path):
        step, depth = path[index].step, path[index].depth
        if step.id == stop_before:
            break
        at += every
        call = by_depth[depth]
        if repeat and step.id == repeat[0] and not repeated:
            repeated = True
            services.repeat_step(call, actor, repeat[1], "corrected", at=at)
            index = next(i for i, p in enumerate(path) if p.step.id == repeat[1])
            continue
        if step.kind is StepKind.FORK:
            by_depth[depth + 1] = services.fork_call(
                call, actor, path[index + 1].step.process, at=at
            )
        else:
            services.complete_step(call, actor, step.id, at=at)
        index += 1
    root.refresh_from_db()
    return root


@pytest.fixture
def walk(desk, staff):
    """`walk(number, start, every, ...)`: one workflow run by the desk (see `run_workflow`)."""

    def walk(number, start=MONDAY, every=timedelta(minutes=10), **options):
        return run_workflow(desk, staff, number, start, every, **options)

    return walk


@pytest.fixture
def desk_client(desk, staff):
    """Django's test client, logged in as the desk's staff member."""
    from django.test import Client

    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def requester_user(desk, django_user_model):
    """The City Council's requester, able to log in: a customer's user, not staff."""
    # No password: the tests log in with force_login or a token, and hashing one costs time.
    user = django_user_model.objects.create_user("rita")
    person = desk["requester"]
    person.user = user
    person.save()
    return user


def unreadable(monkeypatch, broken):
    """Make the replay of `broken`'s workflow fail (with every batch it is in) until undone;
    returns the undoing."""
    from usm.control import conformance

    replay = conformance.replay

    def failing(model, batch):
        if any(root_id == broken.pk for root_id, _ in batch):
            raise ValueError("an unreadable log")
        return replay(model, batch)

    monkeypatch.setattr(conformance, "replay", failing)
    return lambda: monkeypatch.setattr(conformance, "replay", replay)
