"""Any sequence of desk actions, allowed or not, through the real services and database: USM's
invariants hold in what is stored."""

import contextlib

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from usm.calls import services
from usm.calls.models import Call, CallEvent
from usm.conflicts import StaleUpdate
from usm.engine.call_flow import FlowError
from usm.mir.models import MirChange
from usm.model import StepKind, reference_model

MODEL = reference_model()
CALL_TYPES = ["wish", "rfc", "incident", "service_request", "risk"]
REFUSED = (FlowError, ValidationError, StaleUpdate)
FORK_STEPS = [s.id for s in MODEL.steps if s.kind is StepKind.FORK]


def machine(provider, actor):
    class DeskActions(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            # Each example runs in a savepoint that teardown rolls back: examples start clean.
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.mir_items = 0

        def teardown(self):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

        def _some_call(self, data, at_fork=False):
            calls = Call.objects.order_by("pk")
            if at_fork:  # forks are only possible at a handful of steps; look for them on purpose
                calls = calls.filter(step__in=FORK_STEPS)
            calls = list(calls.values_list("pk", flat=True))
            return Call.objects.get(pk=data.draw(st.sampled_from(calls))) if calls else None

        @initialize()
        def one_call_of_each_type(self):
            for call_type in CALL_TYPES:
                services.register_call(provider, actor, call_type=call_type, summary="first")

        @rule(call_type=st.sampled_from(CALL_TYPES))
        def register(self, call_type):
            services.register_call(provider, actor, call_type=call_type, summary="random")

        @rule(data=st.data())
        def complete_the_current_step(self, data):
            """What a desk mostly does: the steps the call is at, with their outcomes."""
            call = self._some_call(data)
            for _ in range(data.draw(st.integers(1, 4))):
                if call is None or not call.step:
                    return
                step = MODEL.step(call.step)
                outcome = data.draw(st.sampled_from([None, *(o.code for o in step.outcomes)]))
                raising = step.kind is StepKind.EVALUATE and data.draw(st.booleans())
                try:
                    call = services.complete_step(
                        call, actor, step.id, outcome=outcome, raise_risks=["risk"] * raising
                    )
                except REFUSED:
                    return

        @rule(data=st.data())
        def complete_any_step(self, data):
            """And what it should not do: any step, any outcome, risks anywhere."""
            call = self._some_call(data)
            if call is None:
                return
            steps = [s.id for s in MODEL.processes[call.process].steps]
            step = data.draw(st.sampled_from(steps))
            outcome = data.draw(st.sampled_from([None, "no_deal", "cause_known"]))
            risks = data.draw(st.sampled_from([[], ["raised risk"]]))
            with contextlib.suppress(*REFUSED):
                services.complete_step(call, actor, step, outcome=outcome, raise_risks=risks)

        @rule(data=st.data(), process=st.sampled_from(["CTM", "CHM", "INC", "OPS", "IMP"]))
        def fork(self, data, process):
            call = self._some_call(data, at_fork=data.draw(st.booleans()))
            if call is not None:
                with contextlib.suppress(*REFUSED):
                    services.fork_call(call, actor, process)

        @rule(data=st.data())
        def change_the_mir(self, data):
            call = self._some_call(data)
            if call is None:
                return
            self.mir_items += 1
            record = {
                "action": "create",
                "identifier": f"item-{self.mir_items}",
                "name": "x",
                "type": "server",
            }
            with contextlib.suppress(*REFUSED):
                services.record_mir_changes(call, actor, [record])

        @rule(data=st.data(), action=st.sampled_from(["abort", "hold", "release", "repeat"]))
        def error_routes(self, data, action):
            call = self._some_call(data)
            if call is None:
                return
            try:
                if action == "abort":
                    services.abort_workflow(call, actor, "stopped")
                elif action == "hold":
                    services.hold_call(call, actor, "asked the requester")
                elif action == "release":
                    services.release_call(call, actor)
                else:
                    steps = [s.id for s in MODEL.processes[call.process].steps]
                    services.repeat_step(call, actor, data.draw(st.sampled_from(steps)), "fixed")
            except REFUSED:
                pass

        @invariant()
        def every_step_is_recorded_in_exactly_its_own_process(self):
            for event in CallEvent.objects.filter(kind="step_completed").select_related("call"):
                assert MODEL.step(event.step).process == event.process == event.call.process

        @invariant()
        def a_workflow_is_closed_by_the_process_that_accepted_it(self):
            closing = CallEvent.objects.filter(kind="status_changed", status="closed")
            for event in closing.select_related("call", "root"):
                step = MODEL.step(event.step)
                assert step.kind is StepKind.EVALUATE and step.process == event.call.process
                if event.call_id == event.root_id:
                    assert event.process == event.root.process

        @invariant()
        def the_mir_changes_only_through_change(self):
            for change in MirChange.objects.all():
                assert change.route == "change"
                assert Call.objects.get(number=change.reference).process == "CHM"

    return DeskActions


@pytest.mark.django_db
def test_random_desk_actions_keep_usms_invariants(provider, desk, staff):
    run_state_machine_as_test(
        machine(provider, staff),
        settings=settings(
            max_examples=40,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
