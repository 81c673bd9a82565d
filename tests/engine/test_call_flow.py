"""The call state machine, walked through every workflow and attacked with random actions."""

from dataclasses import dataclass, field, replace

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from usm.engine.call_flow import (
    CallState,
    CallStatus,
    EventKind,
    FlowError,
    abort,
    complete,
    fork,
    hold,
    release,
    repeat,
    resume,
    start,
    workflows_for,
)
from usm.model import StepKind, reference_model

MODEL = reference_model()


@dataclass
class Run:
    """A workflow in memory: calls by number, who forked whom, every event in order."""

    calls: dict[int, CallState] = field(default_factory=dict)
    parent: dict[int, int] = field(default_factory=dict)
    events: list[tuple[int, object]] = field(default_factory=list)

    def open(self, process: str, parent: int | None = None) -> int:
        number = len(self.calls) + 1
        self.calls[number] = start(MODEL, process, accepting=parent is None)
        if parent is not None:
            self.parent[number] = parent
        return number

    def apply(self, number: int, result) -> None:
        state, events = result
        self.calls[number] = state
        self.events += [(number, e) for e in events]
        if state.status is CallStatus.PROCESS_FULFILLED and number in self.parent:
            caller = self.parent[number]
            if self.calls[caller].status is CallStatus.WAITING:
                self.apply(caller, resume(MODEL, self.calls[caller]))

    def chain(self, number: int) -> tuple[str, ...]:
        processes = [self.calls[number].process]
        while number in self.parent:
            number = self.parent[number]
            processes.insert(0, self.calls[number].process)
        return tuple(processes)


def walk(workflow_number: int) -> Run:
    """Drive the calls of a workflow through its template's path, step by step."""
    workflow = MODEL.workflow(workflow_number)
    path = MODEL.path(workflow)
    run = Run()
    by_depth = {0: run.open(workflow.start)}
    for index, path_step in enumerate(path):
        step = path_step.step
        number = by_depth[path_step.depth]
        if step.kind is StepKind.FORK:
            target = path[index + 1].step.process
            run.apply(number, fork(MODEL, run.calls[number], step.id, target))
            by_depth[path_step.depth + 1] = run.open(target, parent=number)
        else:
            run.apply(number, complete(MODEL, run.calls[number], step.id))
    return run


@pytest.mark.parametrize("number", range(1, 9))
def test_every_workflow_walks_its_template_once(number):
    run = walk(number)
    completed = [(n, e.step) for n, e in run.events if e.kind is EventKind.STEP_COMPLETED]
    expected = [p.step.id for p in MODEL.path(MODEL.workflow(number))]
    assert [step for _, step in completed] == expected
    for call_number, step_id in completed:
        assert MODEL.step(step_id).process == run.calls[call_number].process
    assert all(state.status is CallStatus.CLOSED for state in run.calls.values())
    deepest = max(run.calls, key=lambda n: len(run.chain(n)))
    assert workflows_for(MODEL, run.chain(deepest)) == [number]


def test_statuses_follow_usm():
    run = walk(3)
    root_statuses = [e.status for n, e in run.events if n == 1 and e.status]
    assert root_statuses == [
        CallStatus.IN_PROGRESS,
        CallStatus.WAITING,
        CallStatus.IN_PROGRESS,
        CallStatus.WORKFLOW_FULFILLED,
        CallStatus.CLOSED,
    ]
    change = [e.status for n, e in run.events if n == 2 and e.status]
    assert CallStatus.PROCESS_FULFILLED in change and CallStatus.WORKFLOW_FULFILLED not in change


def test_the_path_decides_a_dynamic_workflow_at_the_fork():
    assert workflows_for(MODEL, ("INC",)) == [3, 4]
    assert workflows_for(MODEL, ("INC", "OPS")) == [4]
    assert workflows_for(MODEL, ("IMP",)) == [6, 7, 8]
    assert workflows_for(MODEL, ("IMP", "CTM")) == [6]
    assert workflows_for(MODEL, ("OPS",)) == [5]
    assert workflows_for(MODEL, ("OPS", "CHM")) == []


def at(process: str, step_id: str) -> CallState:
    state = start(MODEL, process)
    while state.step != step_id:
        state, _ = complete(MODEL, state, state.step)
    return state


@pytest.mark.parametrize(
    "action, code",
    [
        (lambda s: complete(MODEL, s, "INC-3"), "not_current"),
        (lambda s: complete(MODEL, at("INC", "INC-5"), "INC-5"), "fork_step"),
        (lambda s: fork(MODEL, at("INC", "INC-5"), "INC-5", "CTM"), "fork_target"),
        (lambda s: fork(MODEL, s, "INC-1", "OPS"), "not_a_fork"),
        (lambda s: complete(MODEL, s, "INC-1", outcome="no_deal"), "unknown_outcome"),
        (lambda s: resume(MODEL, s), "not_waiting"),
        (lambda s: repeat(MODEL, s, "INC-1", "typo"), "not_earlier"),
        (lambda s: release(s), "not_on_hold"),
        (lambda s: abort(s, "  "), "reason_required"),
    ],
)
def test_what_usm_does_not_allow_is_refused(action, code):
    with pytest.raises(FlowError) as refused:
        action(start(MODEL, "INC"))
    assert refused.value.code == code


def test_no_deal_skips_realisation_and_goes_to_evaluation():
    state, _ = complete(MODEL, at("CTM", "CTM-5"), "CTM-5", outcome="no_deal")
    assert state.step == "CTM-8" and state.status is CallStatus.WORKFLOW_FULFILLED
    state, _ = complete(MODEL, state, "CTM-8")
    assert state.status is CallStatus.CLOSED


def test_no_deal_in_a_forked_negotiation_still_hands_back():
    forked = replace(at("CTM", "CTM-5"), accepting=False)
    state, events = complete(MODEL, forked, "CTM-5", outcome="no_deal")
    assert state.status is CallStatus.PROCESS_FULFILLED
    assert events[-1].kind is EventKind.STATUS_CHANGED


def test_known_cause_marks_the_risk_a_known_error():
    state, events = complete(MODEL, at("IMP", "IMP-3"), "IMP-3", outcome="cause_known")
    assert "known_error" in state.marks and events[0].outcome == "cause_known"


def test_repeat_after_correction_counts_attempts():
    state = at("CHM", "CHM-5")
    state, events = repeat(MODEL, state, "CHM-4", "build failed its tests")
    assert state.step == "CHM-4" and events[0].detail == "build failed its tests"
    state, events = complete(MODEL, state, "CHM-4")
    assert events[0].attempt == 2


def test_after_review_only_later_steps_can_be_redone():
    state = at("OPS", "OPS-6")
    assert state.status is CallStatus.WORKFLOW_FULFILLED
    with pytest.raises(FlowError, match="delivery was reviewed"):
        repeat(MODEL, state, "OPS-4", "wrong server")


def test_hold_pauses_work_and_release_restores_the_status():
    state, _ = hold(at("INC", "INC-3"), "asked the requester for a screenshot")
    with pytest.raises(FlowError) as refused:
        complete(MODEL, state, "INC-3")
    assert refused.value.code == "on_hold"
    state, _ = release(state)
    assert state.status is CallStatus.IN_PROGRESS and state.step == "INC-3"


class RandomActions(RuleBasedStateMachine):
    """Any sequence of actions, allowed or not: USM's invariants hold after each."""

    def __init__(self):
        super().__init__()
        self.run = Run()
        self.run.open("INC")

    @rule(data=st.data(), root=st.sampled_from(["CTM", "CHM", "INC", "OPS", "IMP"]))
    @precondition(lambda self: len(self.run.calls) < 12)
    def open_a_workflow(self, data, root):
        self.run.open(root)

    @rule(data=st.data())
    def act(self, data):
        number = data.draw(st.sampled_from(sorted(self.run.calls)))
        state = self.run.calls[number]
        steps = MODEL.processes[state.process].steps
        choice = data.draw(
            st.sampled_from(["complete", "fork", "repeat", "hold", "release", "abort"])
        )
        step_id = data.draw(st.sampled_from([state.step or "none", *(s.id for s in steps)]))
        try:
            if choice == "complete":
                outcome = data.draw(st.sampled_from([None, "no_deal", "cause_known", "bogus"]))
                self.run.apply(number, complete(MODEL, state, step_id, outcome))
            elif choice == "fork":
                target = data.draw(st.sampled_from(["CTM", "CHM", "INC", "OPS", "IMP"]))
                self.run.apply(number, fork(MODEL, state, step_id, target))
                self.run.open(target, parent=number)
            elif choice == "repeat":
                self.run.apply(number, repeat(MODEL, state, step_id, "corrected"))
            elif choice == "hold":
                self.run.apply(number, hold(state, "asked"))
            elif choice == "release":
                self.run.apply(number, release(state))
            else:
                self.run.apply(number, abort(state, "stopped"))
        except FlowError:
            assert self.run.calls[number] == state  # a refused action changes nothing

    @invariant()
    def every_step_is_recorded_in_its_own_process(self):
        for number, event in self.run.events:
            if event.kind is EventKind.STEP_COMPLETED:
                assert MODEL.step(event.step).process == self.run.calls[number].process

    @invariant()
    def a_call_closes_only_at_its_own_evaluate_step(self):
        for number, event in self.run.events:
            if event.kind is EventKind.STATUS_CHANGED and event.status is CallStatus.CLOSED:
                step = MODEL.step(event.step)
                assert step.kind is StepKind.EVALUATE
                assert step.process == self.run.calls[number].process

    @invariant()
    def only_change_reaches_the_mir_step(self):
        for _, event in self.run.events:
            if event.kind is EventKind.STEP_COMPLETED and MODEL.step(event.step).updates_mir:
                assert event.step.startswith("CHM-")

    @invariant()
    def forks_follow_the_model(self):
        for number, event in self.run.events:
            if event.kind is EventKind.FORKED:
                assert event.outcome in MODEL.step(event.step).fork_to
                assert self.run.calls[number].process == MODEL.step(event.step).process


RandomActions.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_random_actions_keep_usms_invariants = RandomActions.TestCase
