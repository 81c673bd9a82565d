"""USM-WIF: our export read back, and real files written by another USM tool."""

import json
import random
from pathlib import Path

import pytest

from usm.model import ModelError, StepKind, reference_model
from usm.model.io.wif import model_from_wif, wif_file_name, workflow_to_wif, write_wif_files
from usm.model.validator import validate


def test_export_writes_one_template_per_workflow(tmp_path):
    written = write_wif_files(reference_model(), tmp_path)
    assert [p.name for p in written] == [wif_file_name(w) for w in reference_model().workflows]
    document = json.loads(written[5].read_text())
    assert document["usm-wif-version"] == "1.0.0"
    assert document["type"] == "workflow-template"
    assert document["process"] == "improve" and document["dynamicity"] == "dynamic"
    assert document["slug"] == "risk-needing-a-new-agreement"
    processes = [s["process"] for s in document["steps"]]
    # One file spans every process of the workflow, each step naming its own process.
    assert processes[0] == "improve" and "agree" in processes and "operate" in processes
    assert [s["sort-index"] for s in document["steps"]] == list(range(1, len(processes) + 1))


def test_round_trip_gives_back_the_same_model(tmp_path):
    reference = reference_model()
    model = model_from_wif(write_wif_files(reference, tmp_path))
    assert model.processes == reference.processes
    for workflow in reference.workflows:
        imported = model.workflow(workflow.number)
        assert [p.step for p in model.path(imported)] == [p.step for p in reference.path(workflow)]
        assert [p.depth for p in model.path(imported)] == [
            p.depth for p in reference.path(workflow)
        ]
        for field in ("slug", "name", "kind", "trigger", "processes", "dynamicity", "description"):
            assert getattr(imported, field) == getattr(workflow, field), field
    assert validate(model).clean


def test_reading_ignores_unknown_members_and_member_order(tmp_path):
    reference = reference_model()
    document = workflow_to_wif(reference, reference.workflow(3))
    document["x-other-tool"] = {"nested": [1, {"deep": True}]}
    rng = random.Random(7)
    for step in document["steps"]:
        step["x-colour"] = "#fff"
        step["sort-index"] = str(step["sort-index"])  # the proposal's own examples do this
    rng.shuffle(document["steps"])
    shuffled = {key: document[key] for key in rng.sample(list(document), len(document))}
    target = tmp_path / "3.workflow-template.json"
    target.write_text(json.dumps(shuffled))
    model = model_from_wif([target])
    assert [p.step.id for p in model.path(model.workflow(3))] == [
        p.step.id for p in reference.path(reference.workflow(3))
    ]


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"name": "x"}', "'slug' is missing"),
        ('{"slug": "x", "name": "x", "type": "recipe"}', "'type' is 'recipe'"),
        ('{"slug": "x", "name": "x", "steps": {}}', "'steps' must be an array"),
        (
            '{"slug": "x", "name": "x", "steps": [{"sort-index": "first", "process": "agree"}]}',
            "'sort-index' is 'first'",
        ),
    ],
)
def test_unreadable_files_are_model_errors(tmp_path, content, message):
    target = tmp_path / "bad.json"
    target.write_text(content)
    with pytest.raises(ModelError, match=message):
        model_from_wif([target])


def test_step_in_an_unknown_process_is_a_criterion_7_violation(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text(
        json.dumps(
            {
                "slug": "plan",
                "name": "Plan",
                "steps": [
                    {
                        "id": "p1",
                        "sort-index": 1,
                        "name": "Plan it",
                        "process": "plan",
                        "activities": [],
                    }
                ],
            }
        )
    )
    report = validate(model_from_wif([target]))
    assert any(
        v.criterion == 7 and "unknown process 'plan'" in v.message for v in report.violations
    )


class TestUsmtoolsTemplates:
    """The eight workflow templates of the usmtools project, as another tool exported them."""

    @pytest.fixture
    def files(self, shared_fixtures) -> list[Path]:
        found = sorted((shared_fixtures / "usmtools-wif").glob("*.workflow-template.json"))
        assert len(found) == 8
        return found

    def test_they_are_read_in_sort_index_order(self, files):
        model = model_from_wif(files)
        assert [w.number for w in model.workflows] == list(range(1, 9))
        assert {c: len(p.steps) for c, p in model.processes.items()} == {
            "CTM": 8,
            "CHM": 9,
            "INC": 7,
            "OPS": 6,
            "IMP": 7,
        }
        change = model.processes["CHM"]
        assert [s.name for s in change.steps][:3] == ["Accept RFC", "Classify", "Plan & agree"]
        assert change.steps[5].kind is StepKind.FORK and change.steps[5].name == "Deploy"
        assert change.steps[-1].kind is StepKind.EVALUATE

    def test_steps_shared_by_two_templates_are_one_step(self, files):
        model = model_from_wif(files)
        three, four = model.workflow(3), model.workflow(4)
        assert three.step_ids == four.step_ids
        assert len(model.processes["INC"].steps) == 7

    def test_validation_names_what_the_tool_got_wrong_and_nothing_else(self, files):
        report = validate(model_from_wif(files))
        assert {v.criterion for v in report.violations} == {1, 9}
        words = {v.message.split("'")[1] for v in report.violations if v.criterion == 1}
        assert {"coordinators", "operators", "team", "manager"} <= words
        drift = [v for v in report.violations if v.criterion == 9]
        assert drift and all("written differently" in v.message for v in drift)
        partial = [u.reason for u in report.unchecked if u.criterion == 7]
        assert len(partial) == 7  # every template but Operate forks into processes not in its file


def test_one_workflow_validates_without_judging_the_whole_model(tmp_path):
    written = write_wif_files(reference_model(), tmp_path, numbers=[5])
    model = model_from_wif(written)
    assert model.partial
    report = validate(model)
    assert report.clean
    assert any("only part of a model (OPS)" in u.reason for u in report.unchecked)
