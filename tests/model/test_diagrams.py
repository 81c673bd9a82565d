"""Diagrams of the model and its workflows: Mermaid text and laid-out SVG, checked by parsing them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import combinations, pairwise

import pytest

from usm.model import (
    CallType,
    Dynamicity,
    Process,
    ProcessModel,
    Step,
    StepKind,
    Workflow,
    WorkflowKind,
    reference_model,
)
from usm.model.io.diagrams import write_diagrams
from usm.model.io.mermaid import model_to_mermaid, workflow_to_mermaid
from usm.model.io.svg import crossings, model_to_svg, text_width, workflow_to_svg, wrap

SVG = "{http://www.w3.org/2000/svg}"
MODEL = reference_model()
WORKFLOWS = [pytest.param(w, id=f"WF{w.number}") for w in MODEL.workflows]
NASTY = 'Check <&> "quoted" #1 [x] {y} |z| `tick`'


# -- a tiny model whose texts and ids try to break both formats -----------------------------------
def _step(step_id: str, process: str, kind: StepKind, name: str, *fork_to: str) -> Step:
    return Step(id=step_id, process=process, kind=kind, name=name, fork_to=fork_to)


def tiny_model() -> ProcessModel:
    asking = Process(
        code="ASK",
        verb="Ask",
        name="Asking & <answering>",
        trigger="ask",
        steps=(
            _step("A-1", "ASK", StepKind.ACCEPT, NASTY),
            _step("A_1", "ASK", StepKind.CLASSIFY, "Same id once sanitised"),
            _step("A-2", "ASK", StepKind.FORK, 'Fork "now"', "END"),
            _step("A-3", "ASK", StepKind.EVALUATE, "Close\x00 it"),
        ),
    )
    ending = Process(
        code="END",
        verb="End",
        name="Ending",
        trigger="end",
        steps=(
            _step("end", "END", StepKind.ACCEPT, "subgraph end"),
            # Forks back up and into its own process: routes no reference process needs.
            _step(
                "E-2",
                "END",
                StepKind.FORK,
                "Averyveryverylongwordthatcannotfitononeline at all",
                "END",
                "ASK",
            ),
            _step("E-3", "END", StepKind.EVALUATE, "Done"),
        ),
    )
    workflow = Workflow(
        number=1,
        slug="tiny/../flow",
        name='Tiny <flow> & "more"',
        kind=WorkflowKind.REACTIVE,
        trigger="ask",
        processes=("ASK", "END"),
        dynamicity=Dynamicity.STATIC,
        description="A & B < C",
    )
    return ProcessModel(
        name="Tiny & <odd>",
        version="0",
        processes={"ASK": asking, "END": ending},
        workflows=[workflow],
        call_types={"ask": CallType("ask", 'Ask "please"'), "end": CallType("end", "End [now]")},
    )


# -- SVG helpers ----------------------------------------------------------------------------------
def parse_svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    return root


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def rect(element: ET.Element) -> tuple[float, float, float, float]:
    return tuple(float(element.get(k)) for k in ("x", "y", "width", "height"))


def step_groups(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "usm-step" in classes(g)]


def group_step_id(group: ET.Element) -> str:
    return group.find(f"{SVG}text").find(f"{SVG}tspan").text


def step_rects(root: ET.Element) -> list[tuple[float, float, float, float]]:
    return [rect(g.find(f"{SVG}rect")) for g in step_groups(root)]


def arrows(root: ET.Element, kind: str) -> list[ET.Element]:
    return [p for p in root.iter(f"{SVG}path") if {"usm-arrow", f"usm-{kind}"} <= classes(p)]


def points(path: ET.Element) -> list[tuple[float, float]]:
    return [
        (float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", path.get("d"))
    ]


def arrow_ends(path: ET.Element) -> tuple[str, str]:
    source, target = path.find(f"{SVG}title").text.split(":")[0].split(" → ")
    return source, target


def overlap(a, b) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def segment_enters(a, b, box) -> bool:
    """Whether an axis-parallel segment passes through the inside of a box (touching its border
    is how arrows start and end, so the box is shrunk a little)."""
    x, y, w, h = box
    x1, x2 = sorted((a[0], b[0]))
    y1, y2 = sorted((a[1], b[1]))
    return x1 < x + w - 0.5 and x2 > x + 0.5 and y1 < y + h - 0.5 and y2 > y + 0.5


def on_border(point, box) -> bool:
    x, y, w, h = box
    px, py = point
    inside_x, inside_y = x - 0.2 <= px <= x + w + 0.2, y - 0.2 <= py <= y + h + 0.2
    near_x = min(abs(px - x), abs(px - x - w)) < 0.2
    near_y = min(abs(py - y), abs(py - y - h)) < 0.2
    return (near_x and inside_y) or (near_y and inside_x)


def all_svgs():
    yield "model", model_to_svg(MODEL)
    for workflow in MODEL.workflows:
        yield f"WF{workflow.number}", workflow_to_svg(MODEL, workflow)
    tiny = tiny_model()
    yield "tiny model", model_to_svg(tiny)
    yield "tiny workflow", workflow_to_svg(tiny, tiny.workflows[0])


SVGS = [pytest.param(text, id=name) for name, text in all_svgs()]


# -- SVG: a valid, self-contained document ---------------------------------------------------------
@pytest.mark.parametrize("text", SVGS)
def test_svg_is_a_standalone_document_with_a_view_box(text):
    root = parse_svg(text)
    view_box = [float(v) for v in root.get("viewBox").split()]
    assert len(view_box) == 4 and view_box[:2] == [0, 0] and min(view_box[2:]) > 0
    assert (float(root.get("width")), float(root.get("height"))) == tuple(view_box[2:])
    assert root.get("version") == "1.1"
    assert not text.startswith("<?xml"), "an XML prolog cannot be inlined in HTML"
    tags = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert not tags & {"script", "style", "foreignObject", "image", "a"}
    assert all(tag.startswith(SVG) for tag in (e.tag for e in root.iter()))
    for element in root.iter():
        assert not any(a == "style" or a.startswith(("on", "data-")) for a in element.attrib)
    assert text.count("http") == 1, "only the SVG namespace may name a URL"
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("usm-") for i in ids), "ids must not clash with the page's own"
    for reference in re.findall(r"url\(#([^)]+)\)", text):
        assert reference in ids


@pytest.mark.parametrize("text", SVGS)
def test_svg_boxes_do_not_overlap_and_stay_inside(text):
    root = parse_svg(text)
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    boxes = [
        rect(r) for r in root.iter(f"{SVG}rect") if not classes(r) & {"usm-lane", "usm-background"}
    ]
    assert len(boxes) > 6
    for a, b in combinations(boxes, 2):
        assert not overlap(a, b), f"{a} overlaps {b}"
    for x, y, w, h in boxes:
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height


@pytest.mark.parametrize("text", SVGS)
def test_svg_labels_fit_inside_their_boxes(text):
    root = parse_svg(text)
    for group in step_groups(root):
        x, y, w, h = rect(group.find(f"{SVG}rect"))
        assert group.find(f"{SVG}text").get("text-anchor") == "middle"
        for span in group.iter(f"{SVG}tspan"):
            size = float(span.get("font-size"))
            assert abs(float(span.get("x")) - (x + w / 2)) < 0.2  # coordinates keep 1 decimal
            assert text_width(span.text or "", size, span.get("font-weight") == "bold") <= w - 8
            baseline = float(span.get("y"))
            assert y < baseline - size * 0.8 and baseline + size * 0.25 < y + h


@pytest.mark.parametrize("text", SVGS)
def test_svg_arrows_and_their_labels_keep_clear_of_other_boxes(text):
    root = parse_svg(text)
    boxes = [
        rect(r) for r in root.iter(f"{SVG}rect") if not classes(r) & {"usm-lane", "usm-background"}
    ]
    legend_top = next(points(p)[0][1] for p in root.iter(f"{SVG}path") if "usm-rule" in classes(p))
    for path in arrows(root, "arrow"):
        in_legend = "usm-legend" in classes(path)
        for a, b in pairwise(points(path)):
            assert a[0] == b[0] or a[1] == b[1], "arrows run horizontally or vertically"
            assert (min(a[1], b[1]) > legend_top) == in_legend, "diagram and legend stay apart"
            for box in boxes:
                assert not segment_enters(a, b, box), f"{path.get('d')} runs through {box}"
    for label in (t for t in root.iter(f"{SVG}text") if "usm-arrow-label" in classes(t)):
        span = label.find(f"{SVG}tspan")
        size = float(span.get("font-size"))
        extent = (
            float(span.get("x")),
            float(span.get("y")) - size,
            text_width(span.text, size),
            size * 1.25,
        )
        for box in boxes:
            assert not overlap(extent, box), f"label {span.text!r} overlaps {box}"
        for path in arrows(root, "arrow"):
            for a, b in pairwise(points(path)):
                assert not segment_enters(a, b, extent), f"label {span.text!r} is on an arrow"


def test_svg_text_is_escaped():
    tiny = tiny_model()
    for text in (model_to_svg(tiny), workflow_to_svg(tiny, tiny.workflows[0])):
        root = parse_svg(text)
        assert '"quoted"' not in text and "<&>" not in text
        names = {}
        for group in step_groups(root):
            spans = [s.text for s in group.iter(f"{SVG}tspan")]
            names[spans[0]] = " ".join(spans[1:])
        assert names["A-1"] == NASTY
        assert names["A-3"] == "Close it", "characters XML cannot hold are dropped"
        assert "".join(names["E-2"].split()) == "Averyveryverylongwordthatcannotfitononelineatall"
    assert parse_svg(workflow_to_svg(tiny, tiny.workflows[0])).find(f"{SVG}title").text == (
        'WF1 Tiny <flow> & "more"'
    )


# -- SVG: the workflow diagrams --------------------------------------------------------------------
@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_workflow_svg_draws_each_walked_step_once_in_path_order(workflow):
    root = parse_svg(workflow_to_svg(MODEL, workflow))
    groups = step_groups(root)
    path = MODEL.path(workflow)
    assert [group_step_id(g) for g in groups] == [p.step.id for p in path]
    for group in groups:
        assert len(group.findall(f"{SVG}rect")) == 1 and len(group.findall(f"{SVG}text")) == 1
    boxes = step_rects(root)
    assert all(a[0] + a[2] < b[0] for a, b in pairwise(boxes)), "left to right in path order"
    # Each depth of nesting has its own lane, deeper lanes lower down.
    lane_y = {}
    for path_step, box in zip(path, boxes, strict=True):
        assert lane_y.setdefault(path_step.depth, box[1]) == box[1]
    assert [lane_y[d] for d in sorted(lane_y)] == sorted(lane_y.values())
    assert len(set(lane_y.values())) == len(workflow.processes)


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_workflow_svg_arrows_follow_the_path(workflow):
    root = parse_svg(workflow_to_svg(MODEL, workflow))
    expected = {"next": [], "fork": [], "resume": []}
    for a, b in pairwise(MODEL.path(workflow)):
        move = "fork" if b.depth > a.depth else "resume" if b.depth < a.depth else "next"
        expected[move].append((a.step.id, b.step.id))
    boxes = dict(zip((group_step_id(g) for g in step_groups(root)), step_rects(root), strict=True))
    for move, pairs in expected.items():
        drawn = [p for p in arrows(root, move) if not classes(p) & {"usm-legend"}]
        assert [arrow_ends(p) for p in drawn] == pairs
        for path, (source, target) in zip(drawn, pairs, strict=True):
            assert on_border(points(path)[0], boxes[source])
            assert on_border(points(path)[-1], boxes[target])
    labels = [
        t.find(f"{SVG}tspan").text
        for t in root.iter(f"{SVG}text")
        if "usm-arrow-label" in classes(t)
    ]
    forks = [label for label in labels if label.startswith("fork: ")]
    assert len(forks) == len(expected["fork"]) and labels.count("resume") == len(expected["resume"])
    assert len(arrows(root, "start")) == 1 and len(arrows(root, "end")) == 1


def test_workflow_svg_of_a_listed_path_with_a_repeated_step():
    base = MODEL.workflow(5)
    again = Workflow(
        number=9,
        slug="repeat",
        name="Repeat planning",
        kind=base.kind,
        trigger=base.trigger,
        processes=base.processes,
        dynamicity=base.dynamicity,
        step_ids=("OPS-1", "OPS-2", "OPS-3", "OPS-4", "OPS-3", "OPS-4", "OPS-5", "OPS-6"),
    )
    root = parse_svg(workflow_to_svg(MODEL, again))
    assert [group_step_id(g) for g in step_groups(root)] == list(again.step_ids)
    mermaid = parse_mermaid(workflow_to_mermaid(MODEL, again))
    assert sorted(n.step_id for n in mermaid.nodes.values() if n.step_id) == [
        f"OPS-{i}" for i in range(1, 7)
    ]
    assert ("OPS-4", "-->", None, "OPS-3") in mermaid.step_edges()


def test_diagrams_of_a_workflow_that_walks_no_step_of_the_model():
    lost = Workflow(
        number=0,
        slug="lost",
        name="Lost",
        kind=WorkflowKind.PROACTIVE,
        trigger="risk",
        processes=("NOPE",),
        dynamicity=Dynamicity.STATIC,
    )
    root = parse_svg(workflow_to_svg(MODEL, lost))
    assert step_groups(root) == [] and not arrows(root, "next")
    assert root.find(f"{SVG}defs").find(f"{SVG}marker").get("id").startswith("usm-wf-lost-")
    chart = parse_mermaid(workflow_to_mermaid(MODEL, lost))
    assert (chart.nodes, chart.subgraphs, chart.edges) == ({}, {}, [])


# -- SVG: the process model ------------------------------------------------------------------------
def test_model_svg_draws_every_step_and_call_type_once():
    root = parse_svg(model_to_svg(MODEL))
    assert [group_step_id(g) for g in step_groups(root)] == [s.id for s in MODEL.steps]
    call_types = [g for g in root.iter(f"{SVG}g") if "usm-call-type" in classes(g)]
    assert [" ".join(s.text for s in g.iter(f"{SVG}tspan")) for g in call_types] == [
        MODEL.call_types[p.trigger].name for p in MODEL.processes.values()
    ]
    # Steps of one process share a row; the same position shares a column across processes.
    for process in MODEL.processes.values():
        boxes = [
            rect(g.find(f"{SVG}rect"))
            for g in step_groups(root)
            if group_step_id(g).startswith(process.code + "-")
        ]
        assert len({b[1] for b in boxes}) == 1
    assert (
        len(
            {
                rect(g.find(f"{SVG}rect"))[0]
                for g in step_groups(root)
                if group_step_id(g).endswith("-1")
            }
        )
        == 1
    )


def test_model_svg_forks_run_from_each_fork_step_to_the_accept_step_of_each_target():
    root = parse_svg(model_to_svg(MODEL))
    boxes = dict(zip((group_step_id(g) for g in step_groups(root)), step_rects(root), strict=True))
    expected = [
        (step.id, MODEL.processes[code].first(StepKind.ACCEPT).id)
        for step in MODEL.steps
        if step.kind is StepKind.FORK
        for code in step.fork_to
    ]
    forks = [p for p in arrows(root, "fork") if "usm-legend" not in classes(p)]
    assert len(forks) == len(expected) == 7
    ends = []
    for path in forks:
        first, last = points(path)[0], points(path)[-1]
        source = next(i for i, box in boxes.items() if on_border(first, box))
        target = next(i for i, box in boxes.items() if on_border(last, box))
        ends.append((source, target))
    assert sorted(ends) == sorted(expected)
    # Eight crossings when the tracks are taken in the order met; choosing the order leaves two.
    assert crossings([points(p) for p in forks]) <= 2
    # No two fork arrows share a stretch of line: that would hide where one of them goes.
    segments = [(n, a, b) for n, p in enumerate(forks) for a, b in pairwise(points(p))]
    for (n, a, b), (m, c, d) in combinations(segments, 2):
        if n == m:
            continue
        if a[0] == b[0] == c[0] == d[0]:
            assert max(min(a[1], b[1]), min(c[1], d[1])) >= min(max(a[1], b[1]), max(c[1], d[1]))
        if a[1] == b[1] == c[1] == d[1]:
            assert max(min(a[0], b[0]), min(c[0], d[0])) >= min(max(a[0], b[0]), max(c[0], d[0]))


def test_crossings_counts_crossing_and_shared_stretches_only():
    plus = [[(0, 5), (10, 5)], [(5, 0), (5, 10)]]
    assert crossings(plus) == 1
    assert crossings([[(0, 0), (10, 0)], [(5, 0), (15, 0)]]) == 1, "a shared stretch hides a turn"
    assert crossings([[(0, 0), (10, 0)], [(10, 0), (10, 10)]]) == 0, "meeting at an end is fine"
    assert crossings([[(0, 5), (10, 5), (10, 20)]]) == 0, "an arrow does not cross itself"


def test_wrap_keeps_every_word_and_every_line_fits():
    text = "Accept service request Averyveryverylongwordthatcannotfitononeline x"
    lines = wrap(text, 90, 12)
    assert all(text_width(line, 12) <= 90 for line in lines)
    assert "".join("".join(lines).split()) == "".join(text.split())
    assert wrap("", 90, 12) == [""]


# -- Mermaid helpers -------------------------------------------------------------------------------
SUBGRAPH = re.compile(r'subgraph ([A-Za-z]\w*)\["([^"]*)"\]$')
NODE = re.compile(
    r'([A-Za-z]\w*)(\(\(\(|\(\[|\[\[|\{\{|\[/|\[)"([^"]*)"(\)\)\)|\]\)|\]\]|\}\}|/\]|\])'
    r"(?::::(\w+))?$"
)
EDGE = re.compile(r'([A-Za-z]\w*) (-->|-\.->)(?:\|"([^"]*)"\|)? ([A-Za-z]\w*)$')


def decode(label: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label)


class MermaidNode:
    def __init__(self, label: str, parent: str | None):
        parts = label.split("<br/>")
        self.step_id = decode(parts[0]) if len(parts) == 2 else None
        self.text = decode(parts[-1])
        self.raw = label
        self.parent = parent


class Mermaid:
    def __init__(self):
        self.nodes: dict[str, MermaidNode] = {}
        self.subgraphs: dict[str, tuple[str, str | None]] = {}
        self.edges: list[tuple[str, str, str | None, str]] = []

    def step_edges(self) -> list[tuple[str, str, str | None, str]]:
        steps = {i: n.step_id for i, n in self.nodes.items() if n.step_id}
        return [
            (steps[a], arrow, text, steps[b])
            for a, arrow, text, b in self.edges
            if a in steps and b in steps
        ]

    def members(self, subgraph: str) -> list[str]:
        return [n.step_id for n in self.nodes.values() if n.parent == subgraph]


def parse_mermaid(text: str) -> Mermaid:
    """Reads back the subset of Mermaid our writer uses; any other line fails the test."""
    chart = Mermaid()
    open_subgraphs: list[str] = []
    lines = text.splitlines()
    assert lines[1] == "flowchart LR"
    for line in lines[2:]:
        line = line.strip()
        if not line or line.startswith(("%%", "classDef ", "direction ")):
            continue
        parent = open_subgraphs[-1] if open_subgraphs else None
        if line == "end":
            open_subgraphs.pop()
        elif match := SUBGRAPH.match(line):
            assert match[1] not in chart.subgraphs and match[1] not in chart.nodes
            chart.subgraphs[match[1]] = (decode(match[2]), parent)
            open_subgraphs.append(match[1])
        elif match := NODE.match(line):
            assert match[1] not in chart.nodes and match[1] not in chart.subgraphs
            chart.nodes[match[1]] = MermaidNode(match[3], parent)
        elif match := EDGE.match(line):
            assert match[1] in chart.nodes and match[4] in chart.nodes, "declare, then connect"
            label = decode(match[3]) if match[3] is not None else None
            chart.edges.append((match[1], match[2], label, match[4]))
        else:
            pytest.fail(f"unexpected Mermaid line: {line!r}")
    assert not open_subgraphs
    for node_id in [*chart.nodes, *chart.subgraphs]:
        assert node_id.lower() not in {"end", "subgraph", "graph", "flowchart", "style"}
    return chart


def call_type_name(code: str) -> str:
    return MODEL.call_types[code].name


# -- Mermaid: workflows ----------------------------------------------------------------------------
@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_workflow_mermaid_nests_one_subgraph_per_process_visit(workflow):
    chart = parse_mermaid(workflow_to_mermaid(MODEL, workflow))
    path = MODEL.path(workflow)
    assert len(chart.subgraphs) == len(workflow.processes)
    # Subgraphs in the order the processes are entered, each inside the one that forked into it.
    previous = None
    for subgraph, code in zip(chart.subgraphs, workflow.processes, strict=True):
        title, parent = chart.subgraphs[subgraph]
        assert title.startswith(f"{code} · ") and parent == previous
        assert chart.members(subgraph) == [p.step.id for p in path if p.step.process == code]
        previous = subgraph
    assert sorted(n.step_id for n in chart.nodes.values() if n.step_id) == sorted(
        p.step.id for p in path
    )


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_workflow_mermaid_edges_are_the_path_with_forks_and_resumes_labelled(workflow):
    chart = parse_mermaid(workflow_to_mermaid(MODEL, workflow))
    path = MODEL.path(workflow)
    expected = []
    for a, b in pairwise(path):
        if b.depth > a.depth:
            trigger = MODEL.processes[b.step.process].trigger
            expected.append((a.step.id, "-.->", f"fork: {call_type_name(trigger)}", b.step.id))
        elif b.depth < a.depth:
            expected.append((a.step.id, "-.->", "resume", b.step.id))
        else:
            expected.append((a.step.id, "-->", None, b.step.id))
    assert chart.step_edges() == expected
    start = next(n for n in chart.nodes.values() if n.text == call_type_name(workflow.trigger))
    assert start.step_id is None and start.parent is None
    first = next(i for i, n in chart.nodes.items() if n.step_id == path[0].step.id)
    last = next(i for i, n in chart.nodes.items() if n.step_id == path[-1].step.id)
    closed = next(i for i, n in chart.nodes.items() if n.text == "closed")
    assert (last, "-->", None, closed) in chart.edges
    assert any(a != b and b == first and chart.nodes[a] is start for a, _, _, b in chart.edges)


# -- Mermaid: the process model --------------------------------------------------------------------
def test_model_mermaid_has_each_process_with_its_steps_triggers_and_forks():
    chart = parse_mermaid(model_to_mermaid(MODEL))
    assert len(chart.subgraphs) == len(MODEL.processes) == 5
    for subgraph, process in zip(chart.subgraphs, MODEL.processes.values(), strict=True):
        title, parent = chart.subgraphs[subgraph]
        assert parent is None and title == f"{process.code} · {process.verb}: {process.name}"
        assert chart.members(subgraph) == [s.id for s in process.steps]
    expected = [
        (a.id, "-->", None, b.id) for p in MODEL.processes.values() for a, b in pairwise(p.steps)
    ]
    expected += [
        (
            step.id,
            "-.->",
            f"fork: {call_type_name(MODEL.processes[code].trigger)}",
            MODEL.processes[code].first(StepKind.ACCEPT).id,
        )
        for step in MODEL.steps
        if step.kind is StepKind.FORK
        for code in step.fork_to
    ]
    assert sorted(chart.step_edges(), key=str) == sorted(expected, key=str)
    for process in MODEL.processes.values():
        accept = process.first(StepKind.ACCEPT).id
        sources = [
            chart.nodes[a]
            for a, _, _, b in chart.edges
            if chart.nodes[b].step_id == accept and chart.nodes[a].step_id is None
        ]
        assert [s.text for s in sources] == [call_type_name(process.trigger)]


def test_mermaid_ids_are_safe_and_labels_escaped():
    tiny = tiny_model()
    for text in (model_to_mermaid(tiny), workflow_to_mermaid(tiny, tiny.workflows[0])):
        chart = parse_mermaid(text)
        steps = {n.step_id: n for n in chart.nodes.values() if n.step_id}
        assert set(steps) == {"A-1", "A_1", "A-2", "A-3", "end", "E-2", "E-3"}
        assert steps["A-1"].text == NASTY
        assert steps["A-2"].text == 'Fork "now"'
        for node in chart.nodes.values():
            assert not set(node.raw.replace("<br/>", "")) & set('"<>&[]{}|`')
        for title, _ in chart.subgraphs.values():
            assert "Asking & <answering>" in title or "Ending" in title
        assert not any(line.startswith("%%{") for line in text.splitlines())


# -- writing files ---------------------------------------------------------------------------------
def test_write_diagrams_writes_the_model_and_each_workflow(tmp_path):
    written = write_diagrams(MODEL, tmp_path / "out", "svg")
    names = [p.name for p in written]
    assert names[0] == "model.svg"
    assert names[1:] == [f"{w.number:02d}-{w.slug}.svg" for w in MODEL.workflows]
    for path in written:
        parse_svg(path.read_text(encoding="utf-8"))
    only = write_diagrams(MODEL, tmp_path / "mmd", "mmd", numbers=[3, 3])
    assert [p.name for p in only] == ["03-incident-recovered-with-a-change.mmd"]
    parse_mermaid(only[0].read_text(encoding="utf-8"))
    tiny = write_diagrams(tiny_model(), tmp_path / "tiny", "mmd")
    assert [p.name for p in tiny] == ["model.mmd", "01-tiny-flow.mmd"]
    assert all(p.parent == tmp_path / "tiny" for p in tiny)


@pytest.mark.parametrize(("fmt", "numbers"), [("png", None), ("svg", [9])])
def test_write_diagrams_refuses_what_it_cannot_write(tmp_path, fmt, numbers):
    with pytest.raises(ValueError):
        write_diagrams(MODEL, tmp_path, fmt, numbers)
    assert not list(tmp_path.iterdir())
