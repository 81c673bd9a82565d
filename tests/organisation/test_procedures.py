"""Procedures: the RACI rules, versions, the database's own guard and reorganising."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from usm.conflicts import StaleUpdate
from usm.organisation import queries, services
from usm.organisation.models import Procedure, Profile, StepResponsibility

from .conftest import full_raci, path_of

pytestmark = pytest.mark.django_db


def lean_raci(profile) -> dict:
    """One profile does and owns every step."""
    return {step: {profile.pk: "RA"} for step in path_of(5)}


def raci_errors(excinfo) -> list[str]:
    return excinfo.value.message_dict["raci"]


def test_a_complete_raci_is_put_in_force(procedure, coordinator, operator, provider):
    assert (procedure.version, procedure.active, procedure.workflow) == (1, True, 5)
    assert procedure.responsibilities.count() == 2 * len(path_of(5))
    for step in path_of(5):
        holders = queries.step_holders(provider.pk, [5], step)
        assert holders == (5, operator.pk, coordinator.pk, operator.team_id)


def test_a_step_without_accountable_is_refused_naming_the_step(provider, coordinator, operator):
    raci = full_raci(5, coordinator.pk, operator.pk)
    raci["OPS-3"] = {operator.pk: "R"}
    with pytest.raises(ValidationError) as excinfo:
        services.set_procedure(provider, 5, "Operations", raci)
    assert raci_errors(excinfo) == ["OPS-3 has no Accountable profile; it needs exactly one"]
    assert not Procedure.objects.exists()


def test_a_step_with_two_accountables_is_refused_naming_the_step(provider, coordinator, operator):
    raci = full_raci(5, coordinator.pk, operator.pk)
    raci["OPS-4"] = {coordinator.pk: "A", operator.pk: "RA"}
    with pytest.raises(ValidationError) as excinfo:
        services.set_procedure(provider, 5, "Operations", raci)
    assert raci_errors(excinfo) == [
        "OPS-4 has 2 Accountable profiles (Operations specialist, Workflow coordinator); "
        "it needs exactly one"
    ]
    assert not StepResponsibility.objects.exists()


def test_steps_left_out_have_no_accountable(provider, coordinator, operator):
    raci = {"OPS-1": {coordinator.pk: "A"}}
    with pytest.raises(ValidationError) as excinfo:
        services.set_procedure(provider, 5, "Operations", raci)
    missing = [m.split()[0] for m in raci_errors(excinfo)]
    assert missing == path_of(5)[1:]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"CHM-3": {"Workflow coordinator": "A"}}, "'CHM-3' is not a step of WF5 Operations"),
        ({"XYZ-1": {"Workflow coordinator": "A"}}, "'XYZ-1' is not a step of the process model"),
        (
            {"OPS-1": {"Workflow coordinator": "AX"}},
            "OPS-1: 'Workflow coordinator' has the unknown",
        ),
        ({"OPS-1": {"Workflow coordinator": ""}}, "OPS-1: 'Workflow coordinator' has no letter"),
        ({"OPS-1": {"Nobody": "A"}}, "OPS-1: names 'Nobody', which is not a profile of Acme"),
    ],
)
def test_only_steps_profiles_and_letters_it_knows(provider, coordinator, operator, change, message):
    raci = full_raci(5, coordinator.pk, operator.pk)
    raci.update(change)
    with pytest.raises(ValidationError) as excinfo:
        services.set_procedure(provider, 5, "Operations", raci)
    assert any(m.startswith(message) for m in raci_errors(excinfo)), raci_errors(excinfo)


def test_profiles_of_another_provider_are_unknown(provider, other_provider, coordinator, operator):
    foreign = services.create_profile(other_provider, "Their coordinator")
    raci = full_raci(5, coordinator.pk, operator.pk)
    raci["OPS-2"] = {foreign.pk: "A"}
    with pytest.raises(ValidationError) as excinfo:
        services.set_procedure(provider, 5, "Operations", raci)
    assert f"OPS-2: names '{foreign.pk}', which is not a profile of Acme Services" in raci_errors(
        excinfo
    )


def test_an_unknown_workflow_is_refused(provider, coordinator, operator):
    with pytest.raises(ValidationError) as excinfo:
        services.set_procedure(provider, 9, "Nine", {})
    assert "there is no workflow 9" in excinfo.value.message_dict["workflow"][0]


def test_the_database_refuses_a_second_accountable_without_the_service(procedure, operator):
    with pytest.raises(IntegrityError), transaction.atomic():
        StepResponsibility.objects.create(
            procedure=procedure, step="OPS-1", profile=operator, role="A"
        )
    assert procedure.responsibilities.filter(step="OPS-1", role="A").count() == 1


def test_the_database_keeps_one_procedure_in_force_per_workflow(procedure, provider):
    with pytest.raises(IntegrityError), transaction.atomic():
        Procedure.objects.create(provider=provider, workflow=5, name="Rogue", version=9)


def test_a_new_version_retires_the_one_before_and_keeps_it(procedure, provider, coordinator):
    second = services.set_procedure(provider, 5, "Operations, lean", lean_raci(coordinator))
    procedure.refresh_from_db()
    assert (second.version, second.active) == (2, True)
    assert (procedure.version, procedure.active) == (1, False)
    assert procedure.responsibilities.count() == 2 * len(path_of(5))
    assert second.responsibilities.count() == 2 * len(path_of(5))
    assert set(second.responsibilities.values_list("profile", flat=True)) == {coordinator.pk}
    assert list(Procedure.objects.filter(provider=provider, active=True)) == [second]
    assert queries.active_procedure(provider, 5) == second
    assert queries.step_holders(provider.pk, [5], "OPS-4").responsible_id == coordinator.pk


def test_an_edit_of_a_replaced_version_is_stale(procedure, provider, coordinator, operator):
    raci = full_raci(5, coordinator.pk, operator.pk)
    services.set_procedure(provider, 5, "Operations", raci, based_on=1)
    with pytest.raises(StaleUpdate) as excinfo:
        services.set_procedure(provider, 5, "Operations", raci, based_on=1)
    assert excinfo.value.current_version == 2
    assert Procedure.objects.filter(provider=provider, workflow=5).count() == 2


def test_restoring_an_old_version_makes_a_new_one(procedure, provider, coordinator):
    services.set_procedure(provider, 5, "Other", lean_raci(coordinator))
    restored = services.restore_procedure(procedure)
    assert (restored.version, restored.active, restored.name) == (3, True, "Operations")
    assert services.procedure_raci(restored) == services.procedure_raci(procedure)


def test_a_retired_procedure_assigns_nobody(procedure, provider):
    services.retire_procedure(procedure)
    assert queries.step_holders(provider.pk, [5], "OPS-1") is None


def test_reorganising_changes_who_not_the_procedure(procedure, provider, coordinator):
    alice = services.create_person(provider, "Alice")
    bob = services.create_person(provider, "Bob")
    services.assign_holders(coordinator, [alice])
    accountable = queries.step_holders(provider.pk, [5], "OPS-4").accountable_id
    assert list(queries.people_holding(Profile.objects.get(pk=accountable))) == [alice]

    before = services.procedure_raci(procedure)
    services.assign_holders(coordinator, [bob])

    procedure.refresh_from_db()
    assert (procedure.version, procedure.active) == (1, True)
    assert services.procedure_raci(procedure) == before
    # Still a valid procedure: every step keeps exactly one Accountable.
    services.resolve_raci(provider, 5, before)
    accountable = queries.step_holders(provider.pk, [5], "OPS-4").accountable_id
    assert list(queries.people_holding(Profile.objects.get(pk=accountable))) == [bob]


def test_people_holding_leaves_out_people_who_left(provider, coordinator):
    alice = services.create_person(provider, "Alice")
    gone = services.create_person(provider, "Gone")
    services.assign_holders(coordinator, [alice, gone])
    services.update_person(gone, active=False)
    assert list(queries.people_holding(coordinator)) == [alice]


def test_another_providers_procedure_assigns_nothing_here(procedure, other_provider):
    assert queries.step_holders(other_provider.pk, [5], "OPS-1") is None
