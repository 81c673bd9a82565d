"""The validator on the built-in model and on models broken one way at a time."""

import json
from pathlib import Path

import pytest

from usm.model import load_model, reference_model
from usm.model.io.wif import model_from_wif, workflow_to_wif
from usm.model.loader import DATA
from usm.model.validator import validate


def broken_model(tmp_path: Path, processes=(), workflows=()):
    """The built-in model with text substitutions applied to its data files."""
    texts = {}
    for name, changes in (("processes.toml", processes), ("workflows.toml", workflows)):
        text = (DATA / name).read_text()
        for old, new in changes:
            assert old in text, f"{old!r} not in {name}"
            text = text.replace(old, new, 1)
        (tmp_path / name).write_text(text)
        texts[name] = tmp_path / name
    return load_model(texts["processes.toml"], texts["workflows.toml"])


def criteria_of(report):
    return {v.criterion for v in report.violations}


def messages(report, criterion):
    return [f"{v.where}: {v.message}" for v in report.violations if v.criterion == criterion]


def test_reference_model_is_clean_and_says_what_it_did_not_check():
    report = validate(reference_model())
    assert report.clean, report.violations
    assert (report.processes, report.workflows) == (5, 8)
    unchecked = {u.criterion for u in report.unchecked}
    assert 6 in unchecked and 10 in unchecked
    assert report.as_json()["violations"] == []


def test_duplicated_activity_breaks_criterion_9(tmp_path):
    deploy = "Build the change and write its test plan, its deployment plan and its fallback."
    model = broken_model(
        tmp_path,
        processes=[
            (
                'description = "Place the requested activities on the operations calendar, beside the '
                'recurring activities already planned there."',
                f'description = "{deploy}"',
            )
        ],
    )
    report = validate(model)
    assert criteria_of(report) == {9}
    assert any("CHM-4" in m and "OPS-3" in m for m in messages(report, 9))


def test_same_step_id_in_two_processes_breaks_criterion_9(tmp_path):
    model = broken_model(tmp_path, processes=[('id = "OPS-3"', 'id = "CHM-3"')])
    report = validate(model)
    assert 9 in criteria_of(report)
    assert any(m.startswith("CHM-3: occurs 2 times") for m in messages(report, 9))


def test_unknown_process_breaks_criterion_7(tmp_path):
    model = broken_model(
        tmp_path, workflows=[('processes = ["INC", "OPS"]', 'processes = ["INC", "REPAIR"]')]
    )
    report = validate(model)
    assert criteria_of(report) == {7}
    assert messages(report, 7) == [
        "WF4 Incident recovered by operations: enters the unknown process 'REPAIR'"
    ]


def test_fork_usm_does_not_allow_breaks_criterion_7(tmp_path):
    # Operate never forks: a service request that turns into a change is a new call, not a fork.
    model = broken_model(
        tmp_path, workflows=[('processes = ["OPS"]', 'processes = ["OPS", "CHM"]')]
    )
    report = validate(model)
    assert 7 in criteria_of(report)
    assert any("forks from OPS to CHM" in m for m in messages(report, 7))


@pytest.mark.parametrize(
    "text, criterion, word",
    [
        ("The change manager decides the change category", 1, "manager"),
        ("Route the diagnosis to the network team", 1, "team"),
        ("The analyst looks for a known solution", 1, "analyst"),
        ("Look the solution up in Jira", 4, "Jira"),
        ("Look the solution up in ServiceNow", 4, "ServiceNow"),
    ],
)
def test_step_naming_who_or_how_breaks_criteria_1_and_4(tmp_path, text, criterion, word):
    model = broken_model(
        tmp_path,
        processes=[
            (
                'description = "Look for a known solution in the knowledge base;',
                f'description = "{text}; look for a known solution in the knowledge base;',
            )
        ],
    )
    report = validate(model)
    assert criteria_of(report) == {criterion}
    assert any(m.startswith("INC-3:") and f"'{word}'" in m for m in messages(report, criterion))


def test_requester_and_customer_are_parties_not_roles():
    report = validate(reference_model())
    assert not messages(report, 1)
    assert any("requester" in s.description for s in reference_model().steps)


def test_process_not_named_by_a_verb_breaks_criterion_2(tmp_path):
    model = broken_model(tmp_path, processes=[('verb = "Recover"', 'verb = "Incidents"')])
    assert criteria_of(validate(model)) == {2}


def test_shared_trigger_breaks_criterion_3(tmp_path):
    model = broken_model(
        tmp_path, processes=[('trigger = "service_request"', 'trigger = "incident"')]
    )
    report = validate(model)
    assert 3 in criteria_of(report)
    assert any("INC, OPS" in m for m in messages(report, 3))


def test_undeclared_trigger_breaks_criterion_3(tmp_path):
    model = broken_model(tmp_path, processes=[('trigger = "risk"', 'trigger = "idea"')])
    assert 3 in criteria_of(validate(model))


def test_same_purpose_twice_breaks_criterion_5(tmp_path):
    model = broken_model(
        tmp_path,
        processes=[
            (
                'purpose = "Carry out the operational activities that deliver the agreed services day to day."',
                'purpose = "Restore a failing service to its agreed level as fast as the agreement requires."',
            )
        ],
    )
    report = validate(model)
    assert criteria_of(report) == {5}
    assert messages(report, 5) == ["OPS: has the same purpose as INC"]


def test_static_workflow_sharing_a_trigger_breaks_criterion_7(tmp_path):
    model = broken_model(tmp_path, workflows=[('dynamicity = "dynamic"', 'dynamicity = "static"')])
    assert any("must be dynamic" in m for m in messages(validate(model), 7))


def test_call_type_without_process_breaks_criterion_8(tmp_path):
    model = broken_model(
        tmp_path,
        processes=[
            (
                '[[call_type]]\ncode = "wish"',
                '[[call_type]]\ncode = "praise"\nname = "Praise"\n\n[[call_type]]\ncode = "wish"',
            )
        ],
    )
    assert messages(validate(model), 8) == ["praise: no process handles the call type 'Praise'"]


def _wif(tmp_path: Path, number: int, edit) -> Path:
    document = workflow_to_wif(reference_model(), reference_model().workflow(number))
    edit(document)
    target = tmp_path / f"{number}-edited.workflow-template.json"
    target.write_text(json.dumps(document))
    return target


def test_workflow_closed_by_operate_breaks_criterion_7(tmp_path):
    def drop_recover_review_and_close(document):
        document["steps"] = [s for s in document["steps"] if s["id"] not in ("INC-6", "INC-7")]

    model = model_from_wif([_wif(tmp_path, 4, drop_recover_review_and_close)])
    found = messages(validate(model), 7)
    assert any("ends at OPS-6, not at the evaluate-and-close step of INC" in m for m in found)


def test_two_accountables_break_criterion_10(tmp_path):
    def add_procedure(document):
        document["profiles"] = [
            {"id": "desk", "name": "Desk coordinator"},
            {"id": "ops", "name": "Operations coordinator"},
        ]
        for step in document["steps"]:
            for activity in step["activities"]:
                activity["responsibilities"] = {"desk": ["A"], "ops": ["R"]}
        document["steps"][2]["activities"][0]["responsibilities"] = {"desk": ["A"], "ops": ["A"]}

    model = model_from_wif([_wif(tmp_path, 5, add_procedure)])
    report = validate(model)
    assert messages(report, 10) == [
        "OPS-3 / 'Plan activities': has 2 Accountable profiles (desk, ops), needs exactly one"
    ]
    assert 10 not in {u.criterion for u in report.unchecked}


def test_no_accountable_breaks_criterion_10(tmp_path):
    def add_procedure(document):
        document["profiles"] = [{"id": "desk", "name": "Desk coordinator"}]
        for step in document["steps"]:
            for activity in step["activities"]:
                activity["responsibilities"] = {"desk": ["R"]}

    report = validate(model_from_wif([_wif(tmp_path, 5, add_procedure)]))
    assert len(messages(report, 10)) == 6
    assert all("has 0 Accountable profiles" in m for m in messages(report, 10))


def test_profile_name_in_step_text_breaks_criterion_1(tmp_path):
    def name_the_profile(document):
        document["profiles"] = [{"id": "ops", "name": "Night shift"}]
        document["steps"][3]["description"] += " The night shift does this."
        for step in document["steps"]:
            for activity in step["activities"]:
                activity["responsibilities"] = {"ops": ["A"]}

    report = validate(model_from_wif([_wif(tmp_path, 5, name_the_profile)]))
    assert any("'Night shift'" in m for m in messages(report, 1))


def test_shipped_framework_catalogues_are_all_realised():
    from usm.model.frameworks import load_frameworks

    report = validate(reference_model(), frameworks=load_frameworks())
    assert report.clean
    assert 8 not in {u.criterion for u in report.unchecked}


def test_practice_mapped_to_a_missing_step_breaks_criterion_8(tmp_path):
    from usm.model.frameworks import load_catalogue
    from usm.model.frameworks.catalogue import DATA as CATALOGUES

    text = (CATALOGUES / "fitsm.toml").read_text()
    first = text.index("steps = [")
    broken = text[:first] + 'steps = ["INC-3", "INC-99"]' + text[text.index("]", first) + 1 :]
    (tmp_path / "fitsm.toml").write_text(broken)
    fitsm = load_catalogue(tmp_path / "fitsm.toml")
    report = validate(reference_model(), frameworks={"fitsm": fitsm})
    assert criteria_of(report) == {8}
    assert any("INC-99, which the model lacks" in m for m in messages(report, 8))


def test_outcome_continuing_backwards_breaks_criterion_7(tmp_path):
    model = broken_model(tmp_path, processes=[('next = "CTM-8"', 'next = "CTM-2"')])
    assert messages(validate(model), 7) == [
        "CTM-5: outcome 'no_deal' continues at CTM-2, which is not a later step of CTM"
    ]
