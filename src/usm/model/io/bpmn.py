"""BPMN 2.0 export of the workflow templates.

One template becomes one executable process inside a single pool, with one lane per USM process in
the order the workflow enters them. Every walked step is a user task; where a dynamic workflow's
fork decides which template applies, an exclusive gateway shows that choice. The diagram
interchange (BPMN-DI) is written too, so the file opens laid out in standard modelers.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from usm import __version__
from usm.model.process import Step, StepKind
from usm.model.process_model import ProcessModel
from usm.model.workflow import Dynamicity, PathStep, Workflow

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TARGET_NAMESPACE = "urn:usm:workflow-templates"

# The process variable an engine reads at a dynamic fork: the code of the process handed over to.
FORK_VARIABLE = "fork_to"

# Layout, in diagram pixels. Each flow node gets its own column, so the left-to-right order of the
# diagram is the order the workflow walks.
ORIGIN_X, ORIGIN_Y = 160, 80
POOL_HEADER = 30
LANE_HEADER = 30
MARGIN = 40
COLUMN = 150
LANE_HEIGHT = 160
# Vertical distance between the fork alternatives stacked above a lane's main row.
SLOT = 80
SIZES = {
    "userTask": (100, 80),
    "startEvent": (36, 36),
    "endEvent": (36, 36),
    "exclusiveGateway": (50, 50),
}
LABEL_WIDTH, LABEL_HEIGHT = 100, 27


@dataclass
class _Node:
    id: str
    tag: str
    name: str
    lane: str
    column: int
    documentation: str
    # 0 is the lane's main row; k > 0 the k-th slot above it, taken by fork alternatives.
    slot: int = 0
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)
    default: str | None = None
    # Alternatives sit on a row of their own; their labels go right so they never collide.
    label_right: bool = False


@dataclass
class _Flow:
    id: str
    source: _Node
    target: _Node
    name: str = ""
    condition: str | None = None


class _Ids:
    """Hands out XML ids (NCNames) that are unique within one document, even for a path that
    walks a step twice: the validator reports that, the export must still be well-formed."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def make(self, kind: str, *parts: str) -> str:
        base = "_".join([kind, *map(_ncname, parts)])
        candidate, count = base, 1
        while candidate in self.taken:
            count += 1
            candidate = f"{base}_{count}"
        self.taken.add(candidate)
        return candidate


@dataclass
class _Template:
    """The flow graph of one workflow template, before it is written as XML."""

    workflow: Workflow
    lanes: list[str]
    nodes: list[_Node] = field(default_factory=list)
    flows: list[_Flow] = field(default_factory=list)

    def add(self, node: _Node) -> _Node:
        self.nodes.append(node)
        return node

    def connect(
        self, source: _Node, target: _Node, name: str = "", condition: str | None = None
    ) -> None:
        flow = _Flow(f"Flow_{len(self.flows) + 1:02d}", source, target, name, condition)
        self.flows.append(flow)
        source.outgoing.append(flow.id)
        target.incoming.append(flow.id)
        # The template's own path is the gateway's default: taken whenever the fork chose none of
        # the alternatives, and marked as the default in modelers.
        if source.tag == "exclusiveGateway" and condition is None:
            source.default = flow.id


def workflow_to_bpmn(model: ProcessModel, workflow: Workflow) -> str:
    """The workflow template as a BPMN 2.0 document (XML text with a UTF-8 declaration)."""
    template = _template(model, workflow)
    for prefix, uri in (("bpmn", BPMN), ("bpmndi", BPMNDI), ("dc", DC), ("di", DI), ("xsi", XSI)):
        # Registered on every call: the xsi:type values below name the `bpmn` prefix, so it must
        # be ours at serialisation time whatever other code registered meanwhile.
        ET.register_namespace(prefix, uri)
    definitions = ET.Element(
        _q(BPMN, "definitions"),
        {
            "id": f"Definitions_{_ncname(workflow.slug)}",
            "targetNamespace": TARGET_NAMESPACE,
            "exporter": "usm",
            "exporterVersion": __version__,
        },
    )
    process_id = f"Process_{_ncname(workflow.slug)}"
    collaboration = ET.SubElement(
        definitions, _q(BPMN, "collaboration"), id=f"Collaboration_{_ncname(workflow.slug)}"
    )
    ET.SubElement(
        collaboration,
        _q(BPMN, "participant"),
        id=_participant_id(workflow),
        name=workflow.label,
        processRef=process_id,
    )
    _write_process(definitions, model, template, process_id)
    _write_diagram(definitions, template, collaboration)
    ET.indent(definitions, space="  ")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + ET.tostring(definitions, encoding="unicode")
        + "\n"
    )


def model_to_bpmn_files(
    model: ProcessModel, out_dir: Path | str, numbers: Iterable[int] | None = None
) -> list[Path]:
    """Write `NN-slug.bpmn` for each workflow (or only those numbered), returning the paths."""
    if numbers is None:
        chosen = list(model.workflows)
    else:
        numbers = list(numbers)
        known = {workflow.number: workflow for workflow in model.workflows}
        missing = [number for number in numbers if number not in known]
        if missing:
            listed = ", ".join(str(number) for number in sorted(known))
            raise ValueError(f"no workflow numbered {missing[0]}; the model has {listed}")
        chosen = [known[number] for number in numbers]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for workflow in chosen:
        target = out / bpmn_file_name(workflow)
        target.write_bytes(workflow_to_bpmn(model, workflow).encode("utf-8"))
        written.append(target)
    return written


def bpmn_file_name(workflow: Workflow) -> str:
    # Slugs of imported templates come from outside; keep them from naming another directory.
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", workflow.slug).strip(".-") or "workflow"
    return f"{workflow.number:02d}-{slug}.bpmn"


# -- the flow graph -----------------------------------------------------------------------------
def _template(model: ProcessModel, workflow: Workflow) -> _Template:
    path = model.path(workflow)
    accepting = path[0].step.process if path else workflow.start
    lanes = list(dict.fromkeys([accepting, *(walked.step.process for walked in path)]))
    template = _Template(workflow, lanes)
    ids = _Ids()
    call_type = model.call_types.get(workflow.trigger)
    trigger = call_type.name if call_type else workflow.trigger
    previous = template.add(
        _Node(
            ids.make("Start", accepting),
            "startEvent",
            f"{trigger} received",
            accepting,
            column=0,
            documentation=f"A call of type {workflow.trigger} arrives; {accepting} accepts it.",
        )
    )
    column = 0
    calling: list[str] = []
    # The flow leaving a fork gateway along the template's own path is named after its target.
    exit_name = ""
    for position, walked in enumerate(path):
        step = walked.step
        calling = [*calling[: walked.depth], step.process]
        column += 1
        task = template.add(
            _Node(
                ids.make("Step", step.id),
                "userTask",
                step.name,
                step.process,
                column,
                _step_documentation(model, step),
            )
        )
        template.connect(previous, task, exit_name)
        previous, exit_name = task, ""
        following = path[position + 1] if position + 1 < len(path) else None
        if following is not None and _fork_decided(workflow, walked, following):
            column += 1
            previous = _fork_choice(model, template, ids, task, step, following, calling, column)
            exit_name = following.step.process
    column += 1
    end = template.add(
        _Node(
            ids.make("End", accepting),
            "endEvent",
            "Call closed",
            accepting,
            column,
            f"{accepting} closes the call: a workflow is closed by the process that accepted it.",
        )
    )
    template.connect(previous, end)
    return template


def _fork_decided(workflow: Workflow, walked: PathStep, following: PathStep) -> bool:
    """Whether this step is where a dynamic workflow learns which template it is: a fork that
    could hand over to more than one process, and that this template does hand over at."""
    step = walked.step
    return (
        workflow.dynamicity is Dynamicity.DYNAMIC
        and step.kind is StepKind.FORK
        and len(step.fork_to) > 1
        and following.depth == walked.depth + 1
        and following.step.process in step.fork_to
    )


def _fork_choice(
    model: ProcessModel,
    template: _Template,
    ids: _Ids,
    fork: _Node,
    step: Step,
    following: PathStep,
    calling: list[str],
    column: int,
) -> _Node:
    chosen = following.step.process
    others = [target for target in step.fork_to if target != chosen]
    gateway = template.add(
        _Node(
            ids.make("Fork", step.id),
            "exclusiveGateway",
            "Fork to which process?",
            step.process,
            column,
            (
                f"At {step.id} the call is handed over to one of {', '.join(step.fork_to)}; "
                "the choice decides which workflow applies. "
                f"This template ({template.workflow.label}) continues with {chosen}. "
                "An engine reads the choice from the variable "
                f"{FORK_VARIABLE} (a process code); any value other than "
                f"{', '.join(others)} follows this template."
            ),
        )
    )
    template.connect(fork, gateway)
    for slot, target in enumerate(others):
        sibling = _sibling(model, template.workflow, calling, target)
        name = f"Continue as {sibling.label}" if sibling else f"Handed over to {target}"
        applies = (
            f"workflow {sibling.label} applies instead of this template"
            if sibling
            else "no workflow template of this model covers that hand-over"
        )
        alternative = template.add(
            _Node(
                ids.make("End", step.id, target),
                "endEvent",
                name,
                step.process,
                column + 1,
                f"At {step.id} the call is handed over to {_process_title(model, target)}: "
                f"{applies}.",
                slot=slot,
                label_right=True,
            )
        )
        # repr() keeps the expression valid Python whatever an imported process code contains.
        template.connect(gateway, alternative, target, f"{FORK_VARIABLE} == {target!r}")
    return gateway


def _sibling(
    model: ProcessModel, workflow: Workflow, calling: list[str], target: str
) -> Workflow | None:
    entered = (*calling, target)
    for candidate in model.workflows:
        if candidate is not workflow and candidate.processes[: len(entered)] == entered:
            return candidate
    return None


def _process_title(model: ProcessModel, code: str) -> str:
    process = model.processes.get(code)
    return f"{code} ({process.name})" if process else code


def _step_documentation(model: ProcessModel, step: Step) -> str:
    lines = [
        f"USM step {step.id}: {step.kind.value} step of {_process_title(model, step.process)}."
    ]
    if step.description:
        lines.append(step.description)
    if step.fork_to:
        lines.append(f"Forks to {', '.join(step.fork_to)}.")
    return "\n".join(lines)


# -- XML ----------------------------------------------------------------------------------------
def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def _ncname(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _participant_id(workflow: Workflow) -> str:
    return f"Participant_{_ncname(workflow.slug)}"


def _lane_id(code: str) -> str:
    return f"Lane_{_ncname(code)}"


def _documentation(parent: ET.Element, text: str) -> None:
    if text:
        ET.SubElement(parent, _q(BPMN, "documentation")).text = text


def _write_process(
    definitions: ET.Element, model: ProcessModel, template: _Template, process_id: str
) -> None:
    workflow = template.workflow
    process = ET.SubElement(
        definitions,
        _q(BPMN, "process"),
        id=process_id,
        name=workflow.label,
        isExecutable="true",
    )
    summary = (
        f"{workflow.kind.value.capitalize()}, {workflow.dynamicity.value} workflow template "
        f"triggered by a call of type {workflow.trigger}; from {model.name} {model.version}."
    )
    _documentation(process, "\n".join(filter(None, [workflow.description, summary])))
    lane_set = ET.SubElement(process, _q(BPMN, "laneSet"), id=f"LaneSet_{_ncname(workflow.slug)}")
    for code in template.lanes:
        process_model = model.processes.get(code)
        lane = ET.SubElement(
            lane_set,
            _q(BPMN, "lane"),
            id=_lane_id(code),
            name=f"{code} {process_model.name}" if process_model else code,
        )
        for node in template.nodes:
            if node.lane == code:
                ET.SubElement(lane, _q(BPMN, "flowNodeRef")).text = node.id
    for node in template.nodes:
        attributes = {"id": node.id, "name": node.name}
        if node.default:
            attributes["default"] = node.default
        element = ET.SubElement(process, _q(BPMN, node.tag), attributes)
        _documentation(element, node.documentation)
        for flow_id in node.incoming:
            ET.SubElement(element, _q(BPMN, "incoming")).text = flow_id
        for flow_id in node.outgoing:
            ET.SubElement(element, _q(BPMN, "outgoing")).text = flow_id
    for flow in template.flows:
        attributes = {"id": flow.id, "sourceRef": flow.source.id, "targetRef": flow.target.id}
        if flow.name:
            attributes["name"] = flow.name
        element = ET.SubElement(process, _q(BPMN, "sequenceFlow"), attributes)
        if flow.condition:
            # SpiffWorkflow, the engine the export is tested against, evaluates Python.
            expression = ET.SubElement(
                element,
                _q(BPMN, "conditionExpression"),
                {_q(XSI, "type"): "bpmn:tFormalExpression", "language": "python"},
            )
            expression.text = flow.condition


# -- diagram interchange ------------------------------------------------------------------------
Box = tuple[int, int, int, int]


class _Layout:
    """Positions in the diagram: lanes stacked top to bottom in the order the workflow enters the
    processes, one column per flow node from left to right in walk order."""

    def __init__(self, template: _Template):
        slots = dict.fromkeys(template.lanes, 0)
        for node in template.nodes:
            slots[node.lane] = max(slots[node.lane], node.slot)
        last_column = max(node.column for node in template.nodes)
        widest = max(width for width, _ in SIZES.values())
        width = self.center_x(last_column) + widest // 2 + MARGIN - ORIGIN_X
        self.lanes: dict[str, Box] = {}
        self.rows: dict[str, int] = {}
        top = ORIGIN_Y
        for code in template.lanes:
            height = LANE_HEIGHT + slots[code] * SLOT
            self.lanes[code] = (ORIGIN_X + POOL_HEADER, top, width - POOL_HEADER, height)
            self.rows[code] = top + slots[code] * SLOT + LANE_HEIGHT // 2
            top += height
        self.pool: Box = (ORIGIN_X, ORIGIN_Y, width, top - ORIGIN_Y)

    @staticmethod
    def center_x(column: int) -> int:
        widest = max(width for width, _ in SIZES.values())
        return ORIGIN_X + POOL_HEADER + LANE_HEADER + MARGIN + column * COLUMN + widest // 2

    def bounds(self, node: _Node) -> Box:
        width, height = SIZES[node.tag]
        center_y = self.rows[node.lane] - node.slot * SLOT
        return (self.center_x(node.column) - width // 2, center_y - height // 2, width, height)

    def label(self, node: _Node) -> Box | None:
        x, y, width, height = self.bounds(node)
        if node.tag == "userTask":
            return None
        if node.label_right:
            return (x + width + 8, y + height // 2 - 20, 180, 40)
        if node.tag == "exclusiveGateway":
            # Above and left: the gateway's other three sides carry outgoing flows.
            return (x + width // 2 - 98, y - 35, 90, 30)
        return (x + width // 2 - LABEL_WIDTH // 2, y + height + 5, LABEL_WIDTH, LABEL_HEIGHT)

    def waypoints(self, flow: _Flow) -> list[tuple[int, int]]:
        sx, sy, sw, sh = self.bounds(flow.source)
        tx, ty, _, th = self.bounds(flow.target)
        source_y, target_y = sy + sh // 2, ty + th // 2
        if source_y == target_y:
            return [(sx + sw, source_y), (tx, target_y)]
        if flow.source.tag == "exclusiveGateway":
            center_x = sx + sw // 2
            leave = sy + sh if target_y > source_y else sy
            return [(center_x, leave), (center_x, target_y), (tx, target_y)]
        bend = (sx + sw + tx) // 2
        return [(sx + sw, source_y), (bend, source_y), (bend, target_y), (tx, target_y)]

    def flow_label(self, flow: _Flow) -> Box:
        x, y = self.waypoints(flow)[-2]
        return (x + 5, y - 22, 90, 18)


def _write_diagram(definitions: ET.Element, template: _Template, collaboration: ET.Element) -> None:
    layout = _Layout(template)
    slug = _ncname(template.workflow.slug)
    diagram = ET.SubElement(definitions, _q(BPMNDI, "BPMNDiagram"), id=f"Diagram_{slug}")
    plane = ET.SubElement(
        diagram,
        _q(BPMNDI, "BPMNPlane"),
        id=f"Plane_{slug}",
        bpmnElement=collaboration.get("id", ""),
    )
    _shape(plane, _participant_id(template.workflow), layout.pool, horizontal=True)
    for code in template.lanes:
        _shape(plane, _lane_id(code), layout.lanes[code], horizontal=True)
    for node in template.nodes:
        _shape(plane, node.id, layout.bounds(node), label=layout.label(node))
    for flow in template.flows:
        edge = ET.SubElement(plane, _q(BPMNDI, "BPMNEdge"), id=f"{flow.id}_di", bpmnElement=flow.id)
        for x, y in layout.waypoints(flow):
            ET.SubElement(edge, _q(DI, "waypoint"), x=str(x), y=str(y))
        if flow.name:
            _bounds(ET.SubElement(edge, _q(BPMNDI, "BPMNLabel")), layout.flow_label(flow))


def _shape(
    plane: ET.Element,
    element_id: str,
    box: Box,
    *,
    horizontal: bool = False,
    label: Box | None = None,
) -> None:
    attributes = {"id": f"{element_id}_di", "bpmnElement": element_id}
    if horizontal:
        attributes["isHorizontal"] = "true"
    shape = ET.SubElement(plane, _q(BPMNDI, "BPMNShape"), attributes)
    _bounds(shape, box)
    if label is not None:
        _bounds(ET.SubElement(shape, _q(BPMNDI, "BPMNLabel")), label)


def _bounds(parent: ET.Element, box: Box) -> None:
    x, y, width, height = box
    ET.SubElement(
        parent,
        _q(DC, "Bounds"),
        x=str(x),
        y=str(y),
        width=str(width),
        height=str(height),
    )
