"""What one step costs the database, counted in statements: a fixed budget per step, whatever the
size of the register or the workflow, so that a regression shows here before it shows in
`usm bench`."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from usm.calls import services

pytestmark = pytest.mark.django_db


def register(provider, staff, desk):
    return services.register_call(
        provider,
        staff,
        call_type="incident",
        summary="Printer jammed",
        customer=desk["customer"],
        requester=desk["requester"],
        service=desk["service"],
        impact=2,
        urgency=2,
    )


def statements_of(action):
    """What `action` returns, and the statements it sent but the savepoint around it (the
    service's transaction, inside the test's)."""
    with CaptureQueriesContext(connection) as queries:
        result = action()
    sent = [q["sql"][:120] for q in queries.captured_queries]
    return result, [sql for sql in sent if "SAVEPOINT" not in sql]


# Writing the call and logging what it did: one statement on PostgreSQL, which runs an UPDATE
# and an INSERT as one, two elsewhere.
WRITE = 1 if connection.vendor == "postgresql" else 2


def test_a_step_costs_a_small_fixed_number_of_statements(desk, staff, provider):
    call = register(provider, staff, desk)
    for step in ("INC-1", "INC-2", "INC-3", "INC-4"):
        call, statements = statements_of(
            lambda call=call, step=step: services.complete_step(call, staff, step)
        )
        # Lock and read the call (and the configuration stamp with it), write it, log the step.
        assert len(statements) <= 1 + WRITE, "\n".join(statements)


def test_a_fork_and_the_steps_around_it_cost_a_fixed_number_of_statements(desk, staff, provider):
    # The provider's first service request starts its numbers; the fork's is an ordinary one.
    services.register_call(provider, staff, call_type="service_request", summary="New mouse")
    call = register(provider, staff, desk)
    for step in ("INC-1", "INC-2", "INC-3", "INC-4"):
        call = services.complete_step(call, staff, step)
    child, statements = statements_of(lambda: services.fork_call(call, staff, "OPS"))
    # The caller's locked read (its parties, the stamp, whether it has MIR items and whether it
    # forked before with it) and write; the new call's authorisation check, number, insert and
    # first event; the link between them. The number the fork fixes goes with the caller's write.
    assert len(statements) <= 1 + WRITE + 4 + 1, "\n".join(statements)
    call.refresh_from_db()
    assert call.workflow == child.workflow == 4
    for step in ("OPS-1", "OPS-2", "OPS-3", "OPS-4"):
        child = services.complete_step(child, staff, step)
    child, statements = statements_of(lambda: services.complete_step(child, staff, "OPS-5"))
    # Delivered: the caller resumes in the same transaction, read and written as a step is.
    assert len(statements) <= 2 * (1 + WRITE), "\n".join(statements)
    child, statements = statements_of(lambda: services.complete_step(child, staff, "OPS-6"))
    # Evaluate & close asks for the calls still open under it in the same read.
    assert len(statements) <= 1 + WRITE, "\n".join(statements)
    assert child.status == "closed"


def test_a_registration_costs_a_small_fixed_number_of_statements(desk, staff, provider):
    register(provider, staff, desk)  # the first reads the configuration; later ones find it kept
    call, statements = statements_of(lambda: register(provider, staff, desk))
    # The requester's authorisation (and the configuration stamp with it), the number, the call
    # (inserted whole, deadlines and assignee included), then its root and its first event.
    assert len(statements) <= 3 + WRITE, "\n".join(statements)
    assert call.resolution_due is not None and call.assignee_team_id == desk["team"].pk


def test_a_step_follows_a_procedure_changed_behind_the_services(desk, staff, provider):
    from usm.organisation.models import Profile, StepResponsibility, Team

    call = register(provider, staff, desk)
    call = services.complete_step(call, staff, "INC-1")  # the configuration is now kept
    network = Team.objects.create(provider=provider, name="Network")
    first = Profile.objects.create(provider=provider, name="A network engineer", team=network)
    # No signal, no service: only the database's trigger knows.
    StepResponsibility.objects.filter(step="INC-3", role="R").update(profile=first)
    call = services.complete_step(call, staff, "INC-2")
    assert (call.responsible_profile_id, call.assignee_team_id) == (first.pk, network.pk)
