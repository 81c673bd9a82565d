from usm.model import Dynamicity, StepKind, WorkflowKind, reference_model

USM_STEPS = {"CTM": 8, "CHM": 9, "INC": 7, "OPS": 6, "IMP": 7}
CHAINS = {
    1: ("CTM", "CHM", "OPS"),
    2: ("CHM", "OPS"),
    3: ("INC", "CHM", "OPS"),
    4: ("INC", "OPS"),
    5: ("OPS",),
    6: ("IMP", "CTM", "CHM", "OPS"),
    7: ("IMP", "CHM", "OPS"),
    8: ("IMP", "OPS"),
}


def test_five_processes_each_triggered_by_its_own_call_type():
    model = reference_model()
    assert {code: len(p.steps) for code, p in model.processes.items()} == USM_STEPS
    assert {p.code: p.trigger for p in model.processes.values()} == {
        "CTM": "wish",
        "CHM": "rfc",
        "INC": "incident",
        "OPS": "service_request",
        "IMP": "risk",
    }
    assert [p.verb for p in model.processes.values()] == [
        "Agree",
        "Change",
        "Recover",
        "Operate",
        "Improve",
    ]


def test_every_process_follows_the_skeleton():
    for process in reference_model().processes.values():
        kinds = [s.kind for s in process.steps]
        assert kinds[:2] == [StepKind.ACCEPT, StepKind.CLASSIFY], process.code
        assert kinds[-1] is StepKind.EVALUATE
        assert kinds.count(StepKind.REVIEW) == 1
        assert [s.id for s in process.steps] == [
            f"{process.code}-{n}" for n in range(1, len(process.steps) + 1)
        ]


def test_allowed_forks_are_usms():
    model = reference_model()
    assert {c: p.fork_targets for c, p in model.processes.items()} == {
        "CTM": ("CHM",),
        "CHM": ("OPS",),
        "INC": ("CHM", "OPS"),
        "OPS": (),
        "IMP": ("CTM", "CHM", "OPS"),
    }


def test_only_change_updates_the_mir():
    updating = [s.id for s in reference_model().steps if s.updates_mir]
    assert updating == ["CHM-8"]


def test_eight_workflows_with_their_chains():
    model = reference_model()
    assert {w.number: w.processes for w in model.workflows} == CHAINS
    assert {w.number for w in model.workflows if w.kind is WorkflowKind.PROACTIVE} == {6, 7, 8}
    assert {w.number for w in model.workflows if w.dynamicity is Dynamicity.DYNAMIC} == {
        3,
        4,
        6,
        7,
        8,
    }


def test_workflow_path_nests_and_resumes_the_caller():
    model = reference_model()
    path = model.path(model.workflow(6))
    ids = [p.step.id for p in path]
    assert ids[:5] == ["IMP-1", "IMP-2", "IMP-3", "IMP-4", "IMP-5"]
    assert ids[5] == "CTM-1" and path[5].depth == 1
    assert ids.index("CHM-1") == ids.index("CTM-6") + 1
    assert ids.index("OPS-1") == ids.index("CHM-6") + 1
    assert max(p.depth for p in path) == 3
    assert ids[-4:] == ["CTM-7", "CTM-8", "IMP-6", "IMP-7"]
    assert len(ids) == len(set(ids)) == 8 + 9 + 6 + 7


def test_templates_reference_steps_not_copies():
    model = reference_model()
    for workflow in model.workflows:
        for path_step in model.path(workflow):
            assert path_step.step is model.processes[path_step.step.process].step(path_step.step.id)


def test_outcomes_route_no_deal_to_evaluation_and_mark_known_errors():
    model = reference_model()
    no_deal = model.processes["CTM"].step("CTM-5").outcome("no_deal")
    assert no_deal.next == "CTM-8"
    assert model.processes["IMP"].step("IMP-3").outcome("cause_known").marks == "known_error"
    assert model.processes["INC"].step("INC-3").outcome("cause_known") is None
