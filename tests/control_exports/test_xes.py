"""XES read back by pm4py: one trace per workflow holding every call's completed steps, and a
model discovered from it that is the templates' own paths."""

from collections import Counter
from io import StringIO
from itertools import pairwise

import pm4py
import pytest
from django.db.models import F

from tests.control_exports.conftest import MODEL, MONDAY
from usm.calls.models import Call, CallEvent
from usm.control.exports.activities import step_activity
from usm.control.exports.selection import Selection
from usm.control.exports.xes import write_xes

pytestmark = pytest.mark.django_db


def exported(provider, tmp_path, **options):
    path = tmp_path / "log.xes"
    with path.open("w", encoding="utf-8") as out:
        counts = write_xes(out, Selection(provider), **options)
    return counts, pm4py.read_xes(str(path))


def template_activities(number: int) -> list[str]:
    return [step_activity(p.step.id) for p in MODEL.path(MODEL.workflow(number))]


@pytest.fixture
def every_workflow_twice(walk):
    from datetime import timedelta

    roots = []
    for run in range(2):
        for number in range(1, 9):
            roots.append(walk(number, MONDAY + timedelta(days=run, hours=number)))
    return roots


def test_pm4py_reads_one_trace_per_workflow_with_every_step(
    provider, every_workflow_twice, tmp_path
):
    counts, log = exported(provider, tmp_path)
    steps = CallEvent.objects.filter(provider=provider, kind="step_completed")
    workflows = Call.objects.filter(provider=provider, root_id=F("pk"))
    assert (counts.traces, counts.events) == (workflows.count(), steps.count()) == (16, len(log))
    assert log["case:concept:name"].nunique() == 16
    assert set(log["case:concept:name"]) == set(workflows.values_list("number", flat=True))
    # The forked calls' steps sit in their workflow's trace, each naming its own call.
    calls_in_traces = log.groupby("case:concept:name")["usm:call"].nunique().to_dict()
    for root in workflows:
        assert calls_in_traces[root.number] == Call.objects.filter(root=root).count()
    first = log.iloc[0]
    assert first["lifecycle:transition"] == "complete"
    assert first["org:resource"] == "desk" and first["org:role"] == "Desk coordinator"
    assert first["case:usm:customer"] == "city" and first["case:usm:service"] == "mail"
    assert set(log["usm:process"]) == {"CTM", "CHM", "INC", "OPS", "IMP"}


def test_every_trace_walks_its_template_and_the_discovered_model_is_the_templates(
    provider, every_workflow_twice, tmp_path
):
    _, log = exported(provider, tmp_path)
    traces = {
        case: (int(rows["case:usm:workflow"].iloc[0]), list(rows["concept:name"]))
        for case, rows in log.groupby("case:concept:name", sort=False)
    }
    for workflow, activities in traces.values():
        assert activities == template_activities(workflow)
    assert Counter(w for w, _ in traces.values()) == {n: 2 for n in range(1, 9)}

    # The directly-follows graph of the whole log is exactly the templates' step pairs.
    expected = Counter()
    for number in range(1, 9):
        path = template_activities(number)
        expected.update({pair: 2 for pair in pairwise(path)})
    dfg, starts, _ = pm4py.discover_dfg(log)
    assert dict(dfg) == dict(expected)
    assert set(starts) == {template_activities(n)[0] for n in range(1, 9)}

    # Per workflow, the inductive miner finds one sequence: the template's path.
    for number in range(1, 9):
        cases = [case for case, (w, _) in traces.items() if w == number]
        tree = pm4py.discover_process_tree_inductive(log[log["case:concept:name"].isin(cases)])
        assert tree.operator is not None and str(tree.operator) == "->"
        assert [leaf.label for leaf in tree.children] == template_activities(number)

    # And the model of the whole log replays every trace.
    net, initial, final = pm4py.discover_petri_net_inductive(log)
    assert pm4py.fitness_token_based_replay(log, net, initial, final)["log_fitness"] == 1.0


def test_all_events_adds_every_logged_change(provider, walk, tmp_path):
    walk(4)
    counts, log = exported(provider, tmp_path, all_events=True)
    assert counts.events == len(log) == CallEvent.objects.filter(provider=provider).count()
    kinds = set(log["usm:kind"])
    assert {"registered", "step_completed", "forked", "resumed", "status_changed"} <= kinds
    assert "INC forked" in set(log["concept:name"])


def test_an_empty_log_is_a_valid_file(provider, tmp_path):
    counts, log = exported(provider, tmp_path)
    assert (counts.traces, counts.events) == (0, 0)
    assert len(log) == 0
    out = StringIO()
    write_xes(out, Selection(provider))
    assert out.getvalue().rstrip().endswith("</log>")
