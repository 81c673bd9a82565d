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


def test_a_step_costs_a_small_fixed_number_of_statements(desk, staff, provider):
    call = register(provider, staff, desk)
    for step in ("INC-1", "INC-2", "INC-3", "INC-4"):
        with CaptureQueriesContext(connection) as queries:
            call = services.complete_step(call, staff, step)
        # Lock and read the call (and the configuration stamp with it), write the call, log the
        # step; the rest are the transaction's savepoint statements.
        statements = [q["sql"][:120] for q in queries.captured_queries]
        assert len(statements) <= 5, "\n".join(statements)


def test_a_registration_costs_a_small_fixed_number_of_statements(desk, staff, provider):
    register(provider, staff, desk)  # the first reads the configuration; later ones find it kept
    with CaptureQueriesContext(connection) as queries:
        call = register(provider, staff, desk)
    # The configuration stamp, the requester's authorisation, the number, the call (inserted
    # whole, deadlines and assignee included), its root, its first event; the rest are the
    # transaction's savepoint statements.
    statements = [q["sql"][:120] for q in queries.captured_queries]
    assert len(statements) <= 10, "\n".join(statements)
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
