"""The BPMN export checked by independent readers: the BPMN 2.0 schema and the SpiffWorkflow engine."""

from __future__ import annotations

import re
from dataclasses import replace
from importlib import resources
from itertools import pairwise

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from usm.model import Dynamicity, PathStep, StepKind, Workflow, reference_model
from usm.model.io.bpmn import FORK_VARIABLE, model_to_bpmn_files, workflow_to_bpmn

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
FLOW_NODE_TAGS = ("startEvent", "userTask", "exclusiveGateway", "endEvent")

MODEL = reference_model()
WORKFLOWS = pytest.mark.parametrize("workflow", MODEL.workflows, ids=lambda w: f"WF{w.number}")


def task_id(walked: PathStep) -> str:
    return "Step_" + walked.step.id.replace("-", "_")


def document(workflow: Workflow) -> etree._Element:
    return etree.fromstring(workflow_to_bpmn(MODEL, workflow).encode("utf-8"))


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def flow_nodes(root: etree._Element) -> list[etree._Element]:
    process = root.find("bpmn:process", NS)
    return [child for child in process if local(child) in FLOW_NODE_TAGS]


def bounds(shape: etree._Element) -> tuple[float, float, float, float]:
    box = shape.find("dc:Bounds", NS)
    return tuple(float(box.get(key)) for key in ("x", "y", "width", "height"))


def shapes(root: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        found.setdefault(shape.get("bpmnElement"), []).append(shape)
    return found


def run(workflow: Workflow, choices: dict[str, str]) -> tuple[BpmnWorkflow, list]:
    """Run the exported template in SpiffWorkflow, completing each ready user task in turn and
    recording `choices` (task id -> process code) as the fork decision where a task is named."""
    parser = BpmnParser()
    parser.add_bpmn_str(workflow_to_bpmn(MODEL, workflow).encode("utf-8"))
    [process_id] = parser.get_process_ids()
    engine = BpmnWorkflow(parser.get_spec(process_id))
    engine.do_engine_steps()
    completed = []
    for _ in range(200):
        if engine.is_completed():
            break
        ready = engine.get_tasks(state=TaskState.READY, manual=True)
        assert len(ready) == 1, f"expected one ready task, got {[t.task_spec.name for t in ready]}"
        task = ready[0]
        if task.task_spec.name in choices:
            task.data[FORK_VARIABLE] = choices[task.task_spec.name]
        task.run()
        completed.append(task)
        engine.do_engine_steps()
    assert engine.is_completed()
    return engine, completed


def completed_end_events(engine: BpmnWorkflow) -> list[str]:
    return [
        task.task_spec.bpmn_name
        for task in engine.get_tasks(state=TaskState.COMPLETED)
        if type(task.task_spec).__name__ == "EndEvent"
    ]


def dynamic_fork(workflow: Workflow) -> tuple[int, PathStep] | None:
    path = MODEL.path(workflow)
    for position, walked in enumerate(path[:-1]):
        step = walked.step
        if step.kind is StepKind.FORK and len(step.fork_to) > 1:
            return position, walked
    return None


def test_the_reference_model_has_the_eight_workflows():
    # Guards the parametrised tests below against passing on an empty model.
    assert [w.number for w in MODEL.workflows] == list(range(1, 9))


@pytest.fixture(scope="module")
def bpmn_schema() -> etree.XMLSchema:
    xsd = resources.files("SpiffWorkflow.bpmn.parser").joinpath("schema", "BPMN20.xsd")
    with resources.as_file(xsd) as path:
        return etree.XMLSchema(etree.parse(str(path)))


@WORKFLOWS
def test_document_is_valid_against_the_bpmn_schema(workflow, bpmn_schema):
    text = workflow_to_bpmn(MODEL, workflow)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = etree.fromstring(text.encode("utf-8"))
    bpmn_schema.assertValid(root)
    ids = [element.get("id") for element in root.iter() if element.get("id") is not None]
    assert len(ids) == len(set(ids))
    assert all(NCNAME.match(identifier) for identifier in ids)


def test_the_schema_check_rejects_a_broken_document(bpmn_schema):
    root = document(MODEL.workflow(1))
    task = root.find(".//bpmn:userTask", NS)
    etree.SubElement(task, f"{{{NS['bpmn']}}}bogus")
    assert not bpmn_schema.validate(root)


@WORKFLOWS
def test_spiffworkflow_walks_the_model_path(workflow):
    path = MODEL.path(workflow)
    choices = {
        task_id(walked): path[position + 1].step.process
        for position, walked in enumerate(path[:-1])
        if walked.step.kind is StepKind.FORK
    }
    engine, completed = run(workflow, choices)
    assert [task.task_spec.name for task in completed] == [task_id(w) for w in path]
    assert [task.task_spec.bpmn_name for task in completed] == [w.step.name for w in path]
    for task, walked in zip(completed, path, strict=True):
        assert walked.step.id in task.task_spec.documentation
        assert task.task_spec.lane.split()[0] == walked.step.process
    assert completed_end_events(engine) == ["Call closed"]


@pytest.mark.parametrize(
    "workflow",
    [w for w in MODEL.workflows if w.dynamicity is Dynamicity.DYNAMIC],
    ids=lambda w: f"WF{w.number}",
)
def test_a_different_fork_choice_leaves_for_the_template_that_applies(workflow):
    position, fork = dynamic_fork(workflow)
    path = MODEL.path(workflow)
    chosen = path[position + 1].step.process
    alternatives = [target for target in fork.step.fork_to if target != chosen]
    assert alternatives
    for target in alternatives:
        engine, completed = run(workflow, {task_id(fork): target})
        assert [task.task_spec.name for task in completed] == [
            task_id(w) for w in path[: position + 1]
        ]
        [sibling] = [
            w
            for w in MODEL.workflows
            if w.trigger == workflow.trigger and w.processes[:2] == (workflow.start, target)
        ]
        assert completed_end_events(engine) == [f"Continue as {sibling.label}"]


@WORKFLOWS
def test_every_step_is_one_task_in_the_lane_of_its_process(workflow):
    root = document(workflow)
    path = MODEL.path(workflow)
    tasks = root.findall("bpmn:process/bpmn:userTask", NS)
    assert [task.get("id") for task in tasks] == [task_id(w) for w in path]
    assert [task.get("name") for task in tasks] == [w.step.name for w in path]
    for task, walked in zip(tasks, path, strict=True):
        assert walked.step.id in task.findtext("bpmn:documentation", namespaces=NS)

    lanes = root.findall("bpmn:process/bpmn:laneSet/bpmn:lane", NS)
    assert [lane.get("name").split()[0] for lane in lanes] == list(workflow.processes)
    lane_of: dict[str, list[str]] = {}
    for lane in lanes:
        for reference in lane.iterfind("bpmn:flowNodeRef", NS):
            lane_of.setdefault(reference.text, []).append(lane.get("name").split()[0])
    for node in flow_nodes(root):
        assert len(lane_of.get(node.get("id"), [])) == 1, node.get("id")
    for walked in path:
        assert lane_of[task_id(walked)] == [walked.step.process]

    participant = root.find("bpmn:collaboration/bpmn:participant", NS)
    assert participant.get("processRef") == root.find("bpmn:process", NS).get("id")
    assert participant.get("name") == workflow.label


@WORKFLOWS
def test_the_fork_gateway_appears_only_where_the_workflow_is_dynamic(workflow):
    root = document(workflow)
    gateways = root.findall("bpmn:process/bpmn:exclusiveGateway", NS)
    if workflow.dynamicity is Dynamicity.STATIC:
        assert gateways == []
        return
    [gateway] = gateways
    position, fork = dynamic_fork(workflow)
    flows = {flow.get("id"): flow for flow in root.iterfind("bpmn:process/bpmn:sequenceFlow", NS)}
    [incoming] = [f for f in flows.values() if f.get("targetRef") == gateway.get("id")]
    assert incoming.get("sourceRef") == task_id(fork)
    default = flows[gateway.get("default")]
    assert default.get("targetRef") == task_id(MODEL.path(workflow)[position + 1])
    assert default.find("bpmn:conditionExpression", NS) is None
    others = [
        f for f in flows.values() if f.get("sourceRef") == gateway.get("id") and f is not default
    ]
    assert len(others) == len(fork.step.fork_to) - 1
    for flow in others:
        assert FORK_VARIABLE in flow.findtext("bpmn:conditionExpression", namespaces=NS)


@WORKFLOWS
def test_every_element_has_its_diagram_shape_or_edge(workflow):
    root = document(workflow)
    found = shapes(root)
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == root.find("bpmn:collaboration", NS).get("id")
    expected = [root.find("bpmn:collaboration/bpmn:participant", NS).get("id")]
    expected += [lane.get("id") for lane in root.iterfind(".//bpmn:lane", NS)]
    expected += [node.get("id") for node in flow_nodes(root)]
    assert sorted(found) == sorted(expected)
    assert all(len(found[element]) == 1 for element in expected)

    edges: dict[str, list[etree._Element]] = {}
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        edges.setdefault(edge.get("bpmnElement"), []).append(edge)
    flows = root.findall("bpmn:process/bpmn:sequenceFlow", NS)
    assert sorted(edges) == sorted(flow.get("id") for flow in flows)
    for flow in flows:
        [edge] = edges[flow.get("id")]
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", NS)]
        assert len(points) >= 2
        # The edge starts on its source's border and ends on its target's.
        for point, end in ((points[0], "sourceRef"), (points[-1], "targetRef")):
            x, y, width, height = bounds(found[flow.get(end)][0])
            assert x <= point[0] <= x + width and y <= point[1] <= y + height
            assert point[0] in (x, x + width) or point[1] in (y, y + height)
        # Orthogonal routing: every segment is horizontal or vertical.
        for (x1, y1), (x2, y2) in pairwise(points):
            assert x1 == x2 or y1 == y2


@WORKFLOWS
def test_layout_stacks_lanes_and_reads_left_to_right(workflow):
    root = document(workflow)
    found = shapes(root)
    pool = bounds(found[root.find(".//bpmn:participant", NS).get("id")][0])
    lanes = root.findall(".//bpmn:lane", NS)
    boxes = [bounds(found[lane.get("id")][0]) for lane in lanes]
    assert boxes[0][1] == pool[1]
    assert boxes[-1][1] + boxes[-1][3] == pool[1] + pool[3]
    for above, below in pairwise(boxes):
        assert below[1] == above[1] + above[3]
        assert (below[0], below[2]) == (above[0], above[2])
    assert pool[0] < boxes[0][0] and boxes[0][0] + boxes[0][2] == pool[0] + pool[2]

    lane_box = {}
    for lane, box in zip(lanes, boxes, strict=True):
        for reference in lane.iterfind("bpmn:flowNodeRef", NS):
            lane_box[reference.text] = box
    for node in flow_nodes(root):
        x, y, width, height = bounds(found[node.get("id")][0])
        lx, ly, lwidth, lheight = lane_box[node.get("id")]
        assert lx < x and x + width < lx + lwidth and ly < y and y + height < ly + lheight

    xs = [bounds(found[task_id(w)][0])[0] for w in MODEL.path(workflow)]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)


def test_files_are_written_per_workflow(tmp_path):
    written = model_to_bpmn_files(MODEL, tmp_path / "bpmn")
    assert [path.name for path in written] == [
        f"{w.number:02d}-{w.slug}.bpmn" for w in MODEL.workflows
    ]
    assert written[0].name == "01-changes-to-agreements.bpmn"
    for path, workflow in zip(written, MODEL.workflows, strict=True):
        assert path.read_text(encoding="utf-8") == workflow_to_bpmn(MODEL, workflow)


def test_files_can_be_limited_to_some_workflows(tmp_path):
    written = model_to_bpmn_files(MODEL, tmp_path, numbers=[7, 3])
    assert [path.name for path in written] == [
        "07-risk-needing-a-change.bpmn",
        "03-incident-recovered-with-a-change.bpmn",
    ]
    assert sorted(tmp_path.iterdir()) == sorted(written)


def test_an_unknown_workflow_number_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no workflow numbered 9"):
        model_to_bpmn_files(MODEL, tmp_path, numbers=[1, 9])
    assert list(tmp_path.iterdir()) == []


def test_a_workflow_through_unknown_processes_still_exports_a_valid_document(bpmn_schema):
    stray = replace(MODEL.workflow(5), slug="stray", processes=("XYZ",))
    root = etree.fromstring(workflow_to_bpmn(MODEL, stray).encode("utf-8"))
    bpmn_schema.assertValid(root)
    assert [local(node) for node in flow_nodes(root)] == ["startEvent", "endEvent"]
    assert [lane.get("name") for lane in root.iterfind(".//bpmn:lane", NS)] == ["XYZ"]


def test_a_step_walked_twice_gets_two_distinct_ids(bpmn_schema):
    # An imported template may list a step twice; the validator reports it, the export must
    # still be a well-formed document.
    repeated = replace(MODEL.workflow(5), step_ids=("OPS-1", "OPS-2", "OPS-2", "OPS-3"))
    root = etree.fromstring(workflow_to_bpmn(MODEL, repeated).encode("utf-8"))
    bpmn_schema.assertValid(root)
    tasks = root.findall("bpmn:process/bpmn:userTask", NS)
    assert [task.get("id") for task in tasks] == [
        "Step_OPS_1",
        "Step_OPS_2",
        "Step_OPS_2_2",
        "Step_OPS_3",
    ]
