"""The process model and its workflows as Mermaid flowcharts (text; any Mermaid renderer draws them).

Labels are quoted and their special characters written as Mermaid entity codes (`#34;` for a
quote): Mermaid renders labels as HTML, so a raw `<` or `&` would be read as markup, and a raw
quote or bracket would end the label. Node ids are a prefix plus the step id reduced to letters,
digits and underscores, so a step id such as `end` or `A-1` cannot break the chart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise

from usm.model.io.visits import (
    Move,
    Stop,
    Visit,
    Walk,
    call_type_name,
    entry_step,
    fork_label,
    walk,
)
from usm.model.process import Process, Step, StepKind
from usm.model.process_model import ProcessModel
from usm.model.workflow import Workflow

# Characters that end or restructure a quoted Mermaid label, or start an entity (`#`).
SPECIAL = {c: f"#{ord(c)};" for c in '#"<>&[]{}|`'}
INDENT = "    "

# Node shape by step kind: (opening, closing) around the quoted label.
SHAPES = {
    StepKind.ACCEPT: ("([", "])"),
    StepKind.FORK: ("{{", "}}"),
    StepKind.EVALUATE: ("[[", "]]"),
}
RECTANGLE = ("[", "]")
CLASS_DEFS = {
    StepKind.ACCEPT: "fill:#d4ebf8,stroke:#0072b2",
    StepKind.CLASSIFY: "fill:#faf6c8,stroke:#8a7d00",
    StepKind.CORE: "fill:#ffffff,stroke:#555555",
    StepKind.FORK: "fill:#fbe3b3,stroke:#d55e00,stroke-width:2px",
    StepKind.REVIEW: "fill:#c9ece0,stroke:#009e73",
    StepKind.EVALUATE: "fill:#f2d7e6,stroke:#cc79a7",
}


def label(text: str) -> str:
    """`text` as the inside of a quoted Mermaid label: one line, nothing Mermaid would parse."""
    return "".join(SPECIAL.get(c, c) for c in " ".join(text.split()))


def comment(text: str) -> str:
    return "%% " + " ".join(text.split())


class _Ids:
    """Hands out Mermaid-safe ids (letters, digits, underscore; never a keyword), unique in one
    chart even when two hints sanitise to the same text."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, prefix: str, hint: str) -> str:
        base = prefix + "_" + re.sub(r"\W", "_", hint, flags=re.ASCII)
        candidate, counter = base, 1
        while candidate in self.taken:
            counter += 1
            candidate = f"{base}_{counter}"
        self.taken.add(candidate)
        return candidate


def _node(node_id: str, step: Step) -> str:
    opening, closing = SHAPES.get(step.kind, RECTANGLE)
    text = f"{label(step.id)}<br/>{label(step.name)}"
    return f'{node_id}{opening}"{text}"{closing}:::{_class(step.kind)}'


def _class(kind: StepKind) -> str:
    return f"kind_{kind.value}"


def _edge(source: str, target: str, *, dashed: bool = False, text: str = "") -> str:
    arrow = "-.->" if dashed else "-->"
    return f'{source} {arrow}|"{label(text)}"| {target}' if text else f"{source} {arrow} {target}"


def _class_defs() -> list[str]:
    return [f"classDef {_class(kind)} {style}" for kind, style in CLASS_DEFS.items()]


def _process_title(process: Process) -> str:
    return f"{process.code} · {process.verb}: {process.name}"


def model_to_mermaid(model: ProcessModel) -> str:
    ids = _Ids()
    nodes = {
        (p.code, s.id): ids.take("step", s.id) for p in model.processes.values() for s in p.steps
    }
    lines = [
        comment(f"{model.name} {model.version}: processes, their steps and forks"),
        "flowchart LR",
    ]
    edges: list[str] = []
    for process in model.processes.values():
        lines.append(
            f"{INDENT}subgraph {ids.take('process', process.code)}"
            f'["{label(_process_title(process))}"]'
        )
        lines.append(f"{INDENT * 2}direction LR")
        lines += [f"{INDENT * 2}{_node(nodes[process.code, s.id], s)}" for s in process.steps]
        lines.append(f"{INDENT}end")
        edges += [
            _edge(nodes[process.code, a.id], nodes[process.code, b.id])
            for a, b in pairwise(process.steps)
        ]
    triggers: dict[str, str] = {}
    for process in model.processes.values():
        entry = entry_step(process)
        if entry is None:
            continue
        if process.trigger not in triggers:
            triggers[process.trigger] = ids.take("call_type", process.trigger)
            name = label(call_type_name(model, process.trigger))
            lines.append(f'{INDENT}{triggers[process.trigger]}[/"{name}"/]')
        edges.append(_edge(triggers[process.trigger], nodes[process.code, entry.id]))
    for process in model.processes.values():
        for step in process.steps:
            if step.kind is not StepKind.FORK:
                continue
            for code in step.fork_to:
                target = model.processes.get(code)
                entry = entry_step(target) if target else None
                if entry is None:
                    continue
                source, target_node = nodes[process.code, step.id], nodes[code, entry.id]
                edges.append(_edge(source, target_node, dashed=True, text=fork_label(model, code)))
    return "\n".join(lines + [INDENT + e for e in edges + _class_defs()]) + "\n"


def workflow_to_mermaid(model: ProcessModel, workflow: Workflow) -> str:
    path = walk(model, workflow)
    ids = _Ids()
    visit_ids = {v.index: ids.take(f"call{v.index + 1}", v.process) for v in path.visits}
    # One node per step per visit: a step walked twice in one call is drawn once, with a loop.
    nodes: dict[tuple[int, str], str] = {}
    for stop in path.stops:
        key = (stop.visit, stop.step.id)
        if key not in nodes:
            nodes[key] = ids.take(f"v{stop.visit + 1}", stop.step.id)

    def node_of(stop: Stop) -> str:
        return nodes[stop.visit, stop.step.id]

    lines = [
        comment(
            f"{workflow.label} ({workflow.kind.value}, {workflow.dynamicity.value}): "
            + " → ".join(workflow.processes)
        ),
        "flowchart LR",
    ]
    for visit in path.children(None):
        lines += _visit_subgraph(model, path, visit, visit_ids, node_of, 1)
    edges: list[str] = []
    if path.stops:
        start, closed = ids.take("call", "arrives"), ids.take("call", "closed")
        lines.append(f'{INDENT}{start}(["{label(call_type_name(model, workflow.trigger))}"])')
        lines.append(f'{INDENT}{closed}((("closed")))')
        edges.append(_edge(start, node_of(path.stops[0])))
    for transition in path.transitions:
        source, target = node_of(transition.source), node_of(transition.target)
        if transition.move is Move.FORK:
            text = fork_label(model, transition.target.step.process)
            edges.append(_edge(source, target, dashed=True, text=text))
        elif transition.move is Move.RESUME:
            edges.append(_edge(source, target, dashed=True, text="resume"))
        else:
            edges.append(_edge(source, target))
    if path.stops:
        edges.append(_edge(node_of(path.stops[-1]), closed))
    unique_edges = list(dict.fromkeys(edges))
    return "\n".join(lines + [INDENT + e for e in unique_edges + _class_defs()]) + "\n"


def _visit_subgraph(
    model: ProcessModel,
    path: Walk,
    visit: Visit,
    visit_ids: dict[int, str],
    node_of: Callable[[Stop], str],
    level: int,
) -> list[str]:
    pad = INDENT * level
    process = model.processes[visit.process]
    title = _process_title(process)
    if visit.forked_by is not None:
        title += f" (forked by {visit.forked_by.id})"
    lines = [f'{pad}subgraph {visit_ids[visit.index]}["{label(title)}"]']
    declared: set[str] = set()
    for stop in path.stops_of(visit.index):
        node = node_of(stop)
        if node not in declared:
            declared.add(node)
            lines.append(f"{pad}{INDENT}{_node(node, stop.step)}")
    for child in path.children(visit.index):
        lines += _visit_subgraph(model, path, child, visit_ids, node_of, level + 1)
    lines.append(f"{pad}end")
    return lines
