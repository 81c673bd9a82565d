"""Procedures as USM-WIF workflow documents: the export passes criterion 10, the import reads it
back, and what the import refuses."""

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from usm.model.io.wif import model_from_wif
from usm.model.validator import validate
from usm.organisation import services
from usm.organisation.models import Procedure, Profile
from usm.organisation.wif import procedure_from_wif, procedure_to_wif

from .conftest import full_raci, path_of

pytestmark = pytest.mark.django_db
USM = shutil.which("usm", path=str(Path(sys.executable).parent))


def by_names(procedure) -> dict:
    return {
        step: {profile.name: letters for profile, letters in assignments.items()}
        for step, assignments in services.procedure_raci(procedure).items()
    }


def criterion_10(report) -> list:
    return [v for v in report.violations if v.criterion == 10]


def write(tmp_path, document, name="procedure.workflow.json") -> Path:
    target = tmp_path / name
    target.write_text(json.dumps(document), encoding="utf-8")
    return target


def test_the_export_is_a_workflow_with_the_procedures_profiles(procedure, coordinator, operator):
    document = procedure_to_wif(procedure)
    assert document["type"] == "workflow" and document["name"] == "Operations"
    assert [s["id"] for s in document["steps"]] == path_of(5)
    assert {p["name"] for p in document["profiles"]} == {coordinator.name, operator.name}
    for step in document["steps"]:
        assert [a["responsibilities"] for a in step["activities"]] == [
            {str(coordinator.pk): ["A"], str(operator.pk): ["R"]}
        ]


def test_the_export_satisfies_criterion_10(procedure, tmp_path):
    report = validate(model_from_wif([write(tmp_path, procedure_to_wif(procedure))]))
    assert criterion_10(report) == []
    # Checked, not skipped: the file supplies a procedure.
    assert 10 not in {u.criterion for u in report.unchecked}


def test_criterion_10_would_catch_a_broken_export(procedure, operator, tmp_path):
    document = procedure_to_wif(procedure)
    document["steps"][2]["activities"][0]["responsibilities"][str(operator.pk)] = ["A"]
    report = validate(model_from_wif([write(tmp_path, document)]))
    assert [v.where for v in criterion_10(report)] == ["OPS-3 / 'Plan activities'"]


def test_usm_model_validate_reports_criterion_10_clean_on_the_export(procedure, tmp_path):
    exported = write(tmp_path, procedure_to_wif(procedure))
    result = subprocess.run(
        [USM, "model", "validate", "--json", str(exported)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert report["workflows"] == 1
    assert [v for v in report["violations"] if v["criterion"] == 10] == []
    assert 10 not in {u["criterion"] for u in report["unchecked"]}


def test_an_export_read_back_is_the_same_procedure(procedure, provider):
    again = procedure_from_wif(provider, procedure_to_wif(procedure))
    assert (again.version, again.active, again.name) == (2, True, "Operations")
    assert by_names(again) == by_names(procedure)


def test_another_provider_reads_it_by_profile_names(procedure, other_provider):
    document = procedure_to_wif(procedure)
    services.create_profile(other_provider, "workflow COORDINATOR")
    with pytest.raises(ValidationError) as excinfo:
        procedure_from_wif(other_provider, document)
    message = excinfo.value.message_dict["profiles"][0]
    assert "has no profile 'Operations specialist'" in message
    assert "Workflow coordinator" not in message

    imported = procedure_from_wif(other_provider, document, create_profiles=True)
    assert imported.provider == other_provider and imported.version == 1
    assert {p.name for p in Profile.objects.filter(provider=other_provider)} == {
        "workflow COORDINATOR",
        "Operations specialist",
    }
    assert by_names(imported)["OPS-4"] == {"workflow COORDINATOR": ("A",)} | {
        "Operations specialist": ("R",)
    }


def test_a_profile_renamed_since_the_export_is_found_by_its_id(procedure, provider, coordinator):
    document = procedure_to_wif(procedure)
    services.update_profile(coordinator, name="Process coordinator")
    again = procedure_from_wif(provider, document)
    assert by_names(again)["OPS-1"]["Process coordinator"] == ("A",)


def test_ids_from_another_installation_are_not_trusted(procedure, provider, coordinator):
    document = procedure_to_wif(procedure)
    document["source-system-instance"] = "elsewhere"
    services.update_profile(coordinator, name="Process coordinator")
    with pytest.raises(ValidationError) as excinfo:
        procedure_from_wif(provider, document)
    assert "'Workflow coordinator'" in excinfo.value.message_dict["profiles"][0]


def test_steps_of_other_tools_are_matched_by_process_and_name(procedure, provider):
    document = procedure_to_wif(procedure)
    for index, step in enumerate(document["steps"]):
        step["id"] = f"6b1c-{index}"
        step["sort-index"] = str(index)
    del document["x-usm-number"]
    again = procedure_from_wif(provider, document)
    assert again.workflow == 5 and by_names(again) == by_names(procedure)


def test_a_template_is_not_a_procedure(procedure, provider):
    document = procedure_to_wif(procedure)
    document["type"] = "workflow-template"
    with pytest.raises(ValidationError) as excinfo:
        procedure_from_wif(provider, document)
    assert list(excinfo.value.message_dict) == ["type"]


def test_an_import_with_two_accountables_names_the_step(procedure, provider, operator):
    document = copy.deepcopy(procedure_to_wif(procedure))
    document["steps"][3]["activities"][0]["responsibilities"][str(operator.pk)] = ["R", "A"]
    with pytest.raises(ValidationError) as excinfo:
        procedure_from_wif(provider, document)
    assert excinfo.value.message_dict["raci"] == [
        "OPS-4 has 2 Accountable profiles (Operations specialist, Workflow coordinator); "
        "it needs exactly one"
    ]
    assert Procedure.objects.filter(provider=provider).count() == 1


def test_a_workflow_it_cannot_place_is_refused(provider, coordinator, operator):
    raci = full_raci(5, coordinator.pk, operator.pk)
    procedure = services.set_procedure(provider, 5, "Operations", raci)
    document = procedure_to_wif(procedure)
    del document["x-usm-number"]
    document["slug"] = "something-else"
    document["name"] = "Something else"
    with pytest.raises(ValidationError) as excinfo:
        procedure_from_wif(provider, document)
    assert "cannot tell which of USM's workflows" in excinfo.value.message_dict["workflow"][0]
