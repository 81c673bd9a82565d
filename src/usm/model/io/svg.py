"""The process model and its workflows as self-contained SVG 1.1, laid out here.

No JavaScript, no stylesheet, no font to fetch: every style is a presentation attribute, so the
same text is a valid file and can be inlined in a page without its rules leaking into the page.
Ids carry a per-diagram prefix for the same reason, and there is no XML prolog (HTML forbids one
inside a page).

Text is measured with the advance widths of DejaVu Sans, which is as wide as Verdana and wider
than Arial or Helvetica; boxes sized with it hold their labels in whichever of these the viewer
has.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise, permutations

from usm.model.io.visits import (
    Move,
    Transition,
    Visit,
    call_type_name,
    entry_step,
    fork_label,
    walk,
)
from usm.model.process import Process, Step, StepKind
from usm.model.process_model import ProcessModel
from usm.model.workflow import Workflow

SVG_NS = "http://www.w3.org/2000/svg"
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"

# Advance widths of ' ' .. '~' in hundredths of an em, read from DejaVu Sans and DejaVu Sans Bold.
REGULAR = (
    32, 40, 46, 84, 64, 95, 78, 27, 39, 39, 50, 84, 32, 36, 32, 34, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 34, 34, 84, 84, 84, 53, 100, 68, 69, 70, 77, 63, 58, 77, 75, 29, 29, 66, 56, 86, 75, 79,
    60, 79, 69, 63, 61, 73, 68, 99, 69, 61, 69, 39, 34, 39, 84, 50, 50, 61, 63, 55, 63, 62, 35, 63,
    63, 28, 28, 58, 28, 97, 63, 61, 63, 63, 41, 52, 39, 63, 59, 82, 59, 59, 52, 64, 34, 64, 84,
)  # fmt: skip
BOLD = (
    35, 46, 52, 84, 70, 100, 87, 31, 46, 46, 52, 84, 38, 42, 38, 37, 70, 70, 70, 70, 70, 70, 70, 70,
    70, 70, 40, 40, 84, 84, 84, 58, 100, 77, 76, 73, 83, 68, 68, 82, 84, 37, 37, 77, 64, 100, 84, 85,
    73, 85, 77, 72, 68, 81, 77, 110, 77, 72, 73, 46, 37, 46, 84, 50, 50, 67, 72, 59, 72, 68, 44, 72,
    71, 34, 34, 67, 34, 104, 71, 69, 72, 72, 49, 60, 48, 71, 65, 92, 65, 65, 58, 71, 37, 71, 84,
)  # fmt: skip
# Measuring errs on the wide side: other fonts, hinting and kerning must not push text out.
SAFETY = 1.05

MARGIN = 16
PAD = 8
GAP = 26
LANE_PAD = 12
LANE_GAP = 10
ID_SIZE = 10
NAME_SIZE = 12
NAME_WIDTH = 100
MIN_BOX = 76
LABEL_SIZE = 10
MARKER_R = 7
TEXT = "#1a1a1a"
MUTED = "#555555"
DEPTH_FILLS = ("#f3f5f7", "#e8edf2", "#dde4ec", "#d2dbe6", "#c7d2e0")
DEPTH_BARS = ("#8da2b8", "#6f87a1", "#56708c", "#405a77", "#2d4662")


@dataclass(frozen=True)
class Look:
    fill: str
    stroke: str
    legend: str
    stroke_width: float = 1.2
    rx: float = 4


KINDS = {
    StepKind.ACCEPT: Look("#d4ebf8", "#0072b2", "accept (a call arrives)", rx=14),
    StepKind.CLASSIFY: Look("#faf6c8", "#8a7d00", "classify"),
    StepKind.CORE: Look("#ffffff", "#555555", "core step"),
    StepKind.FORK: Look("#fbe3b3", "#d55e00", "fork into another process", stroke_width=2.6),
    StepKind.REVIEW: Look("#c9ece0", "#009e73", "review delivery"),
    StepKind.EVALUATE: Look("#f2d7e6", "#cc79a7", "evaluate & close", stroke_width=2, rx=0),
}
CALL_TYPE = Look("#ffffff", "#333333", "call type that starts the process", stroke_width=1.4)


@dataclass(frozen=True)
class Stroke:
    colour: str
    width: float
    dash: str | None
    legend: str


# A legend entry: what to draw ("box", "arrow", "start" or "end"), in which look, and its text.
LegendEntry = tuple[str, Look | Move | None, str]

ARROWS = {
    Move.NEXT: Stroke("#4d4d4d", 1.4, None, "next step"),
    Move.FORK: Stroke("#d55e00", 1.8, "7 4", "fork: a new call in another process"),
    Move.RESUME: Stroke("#0072b2", 1.8, "2 3", "resume: the caller goes on"),
}


# -- text --------------------------------------------------------------------------------------
def char_width(char: str, bold: bool = False) -> float:
    code = ord(char)
    if 32 <= code <= 126:
        return (BOLD if bold else REGULAR)[code - 32] / 100
    if unicodedata.combining(char):
        return 0.0
    return 1.0 if unicodedata.east_asian_width(char) in ("W", "F") else 0.85


def text_width(text: str, size: float, bold: bool = False) -> float:
    return sum(char_width(c, bold) for c in text) * size * SAFETY


def wrap(text: str, width: float, size: float, bold: bool = False) -> list[str]:
    """Greedy word wrap; a word wider than a line is cut where it must be."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        while text_width(word, size, bold) > width:
            if line:
                lines.append(line)
                line = ""
            cut = 1
            while cut < len(word) and text_width(word[: cut + 1], size, bold) <= width:
                cut += 1
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{line} {word}" if line else word
        if text_width(candidate, size, bold) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines or [""]


XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def escape(text: str) -> str:
    text = XML_INVALID.sub("", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _n(value: float) -> str:
    return f"{round(value, 1):g}"


# -- drawing -----------------------------------------------------------------------------------
@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Line:
    text: str
    size: float
    bold: bool = False
    fill: str = TEXT

    @property
    def width(self) -> float:
        return text_width(self.text, self.size, self.bold)

    @property
    def height(self) -> float:
        return self.size * 1.3


def _lines_height(lines: list[Line]) -> float:
    return sum(line.height for line in lines)


class Canvas:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.parts: list[str] = []

    def id(self, name: str) -> str:
        return f"{self.prefix}-{re.sub(r'[^A-Za-z0-9_-]', '-', name)}"

    def rect(self, box: Rect, look: Look, css_class: str, rx: float | None = None) -> str:
        radius = look.rx if rx is None else rx
        return (
            f'<rect class="{css_class}" x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" '
            f'height="{_n(box.h)}" rx="{_n(radius)}" fill="{look.fill}" stroke="{look.stroke}" '
            f'stroke-width="{_n(look.stroke_width)}"/>'
        )

    def text(
        self,
        x: float,
        top: float,
        lines: list[Line],
        anchor: str = "start",
        css_class: str | None = None,
    ) -> str:
        """Lines stacked from `top`; each baseline sits at its line's ascent."""
        spans, y = [], top
        for line in lines:
            weight = ' font-weight="bold"' if line.bold else ""
            baseline = y + line.size * 1.02
            spans.append(
                f'<tspan x="{_n(x)}" y="{_n(baseline)}" font-size="{_n(line.size)}"'
                f'{weight} fill="{line.fill}">{escape(line.text)}</tspan>'
            )
            y += line.height
        css = f' class="{css_class}"' if css_class else ""
        return f'<text{css} text-anchor="{anchor}">{"".join(spans)}</text>'

    def arrow(
        self,
        points: list[tuple[float, float]],
        move: Move,
        title: str,
        css_class: str | None = None,
    ) -> str:
        stroke = ARROWS[move]
        d = " ".join(f"{'M' if i == 0 else 'L'}{_n(x)},{_n(y)}" for i, (x, y) in enumerate(points))
        dash = f' stroke-dasharray="{stroke.dash}"' if stroke.dash else ""
        return (
            f'<path class="usm-arrow usm-{css_class or move.value}" d="{d}" fill="none" '
            f'stroke="{stroke.colour}" stroke-width="{_n(stroke.width)}"{dash} '
            f'marker-end="url(#{self.id("arrow-" + move.value)})">'
            f"<title>{escape(title)}</title></path>"
        )

    def add(self, *elements: str) -> None:
        self.parts.extend(elements)

    def render(self, width: float, height: float, title: str, description: str) -> str:
        markers = "".join(
            f'<marker id="{self.id("arrow-" + move.value)}" viewBox="0 0 10 10" refX="10" '
            f'refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" '
            f'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{stroke.colour}"/></marker>'
            for move, stroke in ARROWS.items()
        )
        body = "\n".join(self.parts)
        return (
            f'<svg xmlns="{SVG_NS}" version="1.1" width="{_n(width)}" height="{_n(height)}" '
            f'viewBox="0 0 {_n(width)} {_n(height)}">\n'
            f"<title>{escape(title)}</title>\n<desc>{escape(description)}</desc>\n"
            f"<defs>{markers}</defs>\n"
            f'<rect class="usm-background" x="0" y="0" width="{_n(width)}" '
            f'height="{_n(height)}" fill="#ffffff"/>\n'
            f'<g font-family="{FONT}">\n{body}\n</g>\n</svg>\n'
        )


@dataclass
class StepLabel:
    step: Step
    lines: list[Line]
    width: float
    height: float


def measure_step(step: Step) -> StepLabel:
    lines = [Line(step.id, ID_SIZE, bold=True, fill=MUTED)]
    lines += [Line(text, NAME_SIZE) for text in wrap(step.name, NAME_WIDTH, NAME_SIZE)]
    width = max(MIN_BOX, max(line.width for line in lines) + 2 * PAD)
    return StepLabel(step, lines, width, _lines_height(lines) + 2 * PAD)


def draw_step(canvas: Canvas, label: StepLabel, box: Rect, name: str) -> str:
    step = label.step
    look = KINDS[step.kind]
    top = box.cy - _lines_height(label.lines) / 2
    title = f"{step.id} {step.name}" + (f": {step.description}" if step.description else "")
    return (
        f'<g id="{canvas.id(name)}" class="usm-step usm-{step.kind.value}">'
        f"<title>{escape(title)}</title>"
        + canvas.rect(box, look, "usm-step-box", rx=min(look.rx, box.h / 2))
        + canvas.text(box.cx, top, label.lines, anchor="middle")
        + "</g>"
    )


def draw_title(canvas: Canvas, title: str, subtitle: str) -> tuple[float, float]:
    """Draws the heading; gives its width and where the diagram below it starts."""
    lines = [Line(title, 16, bold=True), Line(subtitle, 12, fill=MUTED)]
    canvas.add(canvas.text(MARGIN, MARGIN, lines))
    return max(line.width for line in lines), MARGIN + _lines_height(lines) + 12


def draw_legend(canvas: Canvas, entries: list[LegendEntry], top: float, width: float) -> float:
    """Legend entries flow left to right and wrap at `width`; gives the legend's bottom."""
    x, y, row = MARGIN, top + 10, 24
    canvas.add(
        f'<path class="usm-rule" d="M{_n(MARGIN)},{_n(top)} L{_n(MARGIN + width)},{_n(top)}" '
        f'stroke="#cccccc" stroke-width="1"/>'
    )
    for kind, look, text in entries:
        label = Line(text, 11)
        entry_width = 34 + label.width + 20
        if x > MARGIN and x + entry_width > MARGIN + width:
            x, y = MARGIN, y + row
        swatch = Rect(x, y + 2, 28, 16)
        if kind == "box":
            canvas.add(canvas.rect(swatch, look, "usm-legend", rx=min(look.rx, 8)))
        elif kind == "arrow":
            canvas.add(
                canvas.arrow(
                    [(x, swatch.cy), (swatch.right, swatch.cy)], look, text, css_class="legend"
                )
            )
        else:
            canvas.add(_marker(swatch.cx, swatch.cy, closed=kind == "end"))
        canvas.add(canvas.text(x + 34, y + 3, [label]))
        x += entry_width
    return y + row


def _marker(cx: float, cy: float, *, closed: bool) -> str:
    outer = (
        f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{MARKER_R}" fill="#ffffff" stroke="{TEXT}" '
        f'stroke-width="1.6"/>'
    )
    if not closed:
        return outer
    return outer + f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{MARKER_R - 3}" fill="{TEXT}"/>'


def kind_legend() -> list[LegendEntry]:
    return [("box", look, look.legend) for look in KINDS.values()]


# -- lanes -------------------------------------------------------------------------------------
@dataclass
class Lane:
    lines: list[Line]
    depth: int = 0
    box: Rect = field(default_factory=lambda: Rect(0, 0, 0, 0))

    @property
    def indent(self) -> float:
        return self.depth * 7

    @property
    def width(self) -> float:
        return self.indent + max(line.width for line in self.lines) + 2 * PAD + 4


def process_lines(process: Process, extra: str = "") -> list[Line]:
    lines = [Line(f"{process.code} · {process.verb}", 13, bold=True)]
    lines += [Line(text, 11) for text in wrap(process.name, 150, 11)]
    if extra:
        lines += [Line(text, 10, fill=MUTED) for text in wrap(extra, 150, 10)]
    return lines


def draw_lane(canvas: Canvas, lane: Lane, header_width: float) -> None:
    depth = min(lane.depth, len(DEPTH_FILLS) - 1)
    look = Look(DEPTH_FILLS[depth], "#c4ccd6", "", stroke_width=1, rx=6)
    canvas.add(canvas.rect(lane.box, look, "usm-lane"))
    # One bar per level of nesting, like indentation guides: a lane of depth 2 has three.
    for level in range(lane.depth + 1):
        x = lane.box.x + 5 + level * 7
        colour = DEPTH_BARS[min(level, len(DEPTH_BARS) - 1)]
        canvas.add(
            f'<path class="usm-depth" d="M{_n(x)},{_n(lane.box.y + 6)} '
            f'L{_n(x)},{_n(lane.box.bottom - 6)}" stroke="{colour}" stroke-width="3"/>'
        )
    top = lane.box.cy - _lines_height(lane.lines) / 2
    canvas.add(canvas.text(lane.box.x + lane.indent + PAD + 4, top, lane.lines))
    canvas.add(
        f'<path class="usm-lane-rule" d="M{_n(lane.box.x + header_width)},{_n(lane.box.y)} '
        f'L{_n(lane.box.x + header_width)},{_n(lane.box.bottom)}" stroke="#c4ccd6" '
        f'stroke-width="1"/>'
    )


# -- workflow ----------------------------------------------------------------------------------
def _prefix(text: str) -> str:
    return "usm-" + re.sub(r"[^A-Za-z0-9_-]", "-", text)


def _visit_lane(model: ProcessModel, visit: Visit) -> Lane:
    process = model.processes[visit.process]
    if visit.forked_by is None:
        relation = "accepts the call"
    else:
        relation = f"depth {visit.depth} · forked by {visit.forked_by.id}"
    return Lane(process_lines(process, relation), visit.depth)


def workflow_to_svg(model: ProcessModel, workflow: Workflow) -> str:
    path = walk(model, workflow)
    canvas = Canvas(_prefix(f"wf{workflow.number}" if workflow.number else f"wf-{workflow.slug}"))
    trigger = call_type_name(model, workflow.trigger)
    subtitle = " · ".join(
        [
            workflow.kind.value,
            workflow.dynamicity.value,
            f"trigger: {trigger}",
            " → ".join(workflow.processes),
        ]
    )
    title_width, top = draw_title(canvas, workflow.label, subtitle)
    labels = [measure_step(stop.step) for stop in path.stops]
    lanes = [_visit_lane(model, visit) for visit in path.visits]
    box_h = max((label.height for label in labels), default=0)
    lane_h = max([box_h] + [_lines_height(lane.lines) for lane in lanes]) + 2 * LANE_PAD
    header_w = max((lane.width for lane in lanes), default=0)

    # Columns: one per walked step, in path order. A gap widens where an arrow label must fit
    # beside the elbow of a fork or resume arrow.
    start_label = Line(trigger, LABEL_SIZE, fill=MUTED)
    start_cx = MARGIN + header_w + LANE_PAD + MARKER_R
    x = start_cx + MARKER_R + max(GAP, start_label.width + 12)
    lefts: list[float] = []
    for index, label in enumerate(labels):
        if index:
            transition = path.transitions[index - 1]
            gap = GAP
            if transition.move is Move.FORK:
                needed = (
                    text_width(fork_label(model, transition.target.step.process), LABEL_SIZE) + 14
                )
                gap = max(GAP, needed - labels[index - 1].width / 2)
            elif transition.move is Move.RESUME:
                gap = max(GAP, text_width("resume", LABEL_SIZE) + 14 - label.width / 2)
            x += gap
        lefts.append(x)
        x += label.width
    end_label = Line("closed", LABEL_SIZE, fill=MUTED)
    end_cx = x + max(GAP, end_label.width + 12) + MARKER_R
    right = (end_cx + MARKER_R + LANE_PAD) if labels else MARGIN + header_w + 200

    width = max(right + MARGIN, title_width + 2 * MARGIN, 560)
    for index, lane in enumerate(lanes):
        lane.box = Rect(MARGIN, top + index * (lane_h + LANE_GAP), right - MARGIN, lane_h)
        draw_lane(canvas, lane, header_w)
    boxes = [
        Rect(lefts[i], lanes[stop.visit].box.cy - box_h / 2, labels[i].width, box_h)
        for i, stop in enumerate(path.stops)
    ]
    for stop, label, box in zip(path.stops, labels, boxes, strict=True):
        canvas.add(draw_step(canvas, label, box, f"step-{stop.index + 1}"))
    for transition in path.transitions:
        _draw_transition(canvas, model, transition, boxes)
    if path.stops:
        first, last = boxes[0], boxes[-1]
        canvas.add(_marker(start_cx, first.cy, closed=False))
        _arrow_label(canvas, start_cx + MARKER_R + 5, first.cy, start_label)
        start = [(start_cx + MARKER_R, first.cy), (first.x, first.cy)]
        canvas.add(canvas.arrow(start, Move.NEXT, f"a {trigger} call arrives", css_class="start"))
        canvas.add(_marker(end_cx, last.cy, closed=True))
        _arrow_label(canvas, last.right + 5, last.cy, end_label)
        end = [(last.right, last.cy), (end_cx - MARKER_R, last.cy)]
        canvas.add(canvas.arrow(end, Move.NEXT, "the call is closed", css_class="end"))
    else:
        canvas.add(canvas.text(MARGIN, top, [Line("No step of this model is walked.", 12)]))
    lanes_bottom = top + len(lanes) * (lane_h + LANE_GAP) + (0 if lanes else 30)
    legend = kind_legend() + [("arrow", move, ARROWS[move].legend) for move in Move]
    legend += [("start", None, "call arrives"), ("end", None, "call closed")]
    bottom = draw_legend(canvas, legend, lanes_bottom + 4, width - 2 * MARGIN)
    return canvas.render(width, bottom + MARGIN, workflow.label, workflow.description or subtitle)


def _draw_transition(
    canvas: Canvas, model: ProcessModel, transition: Transition, boxes: list[Rect]
) -> None:
    source, target = boxes[transition.source.index], boxes[transition.target.index]
    title = f"{transition.source.step.id} → {transition.target.step.id}: {transition.move.value}"
    if transition.move is Move.NEXT:
        canvas.add(
            canvas.arrow([(source.right, source.cy), (target.x, target.cy)], Move.NEXT, title)
        )
        return
    if transition.move is Move.RESUME:
        # Leave sideways in the finished call's lane, rise into the caller's step from below.
        entry_y = target.bottom if target.cy < source.cy else target.y
        points = [(source.right, source.cy), (target.cx, source.cy), (target.cx, entry_y)]
        text, text_x, line_y = "resume", source.right + 6, source.cy
    else:
        # Drop from the forking step into the new call's lane, then enter its first step.
        exit_y = source.bottom if target.cy > source.cy else source.y
        points = [(source.cx, exit_y), (source.cx, target.cy), (target.x, target.cy)]
        text = fork_label(model, transition.target.step.process)
        text_x, line_y = source.cx + 6, target.cy
    canvas.add(canvas.arrow(points, transition.move, title))
    _arrow_label(
        canvas, text_x, line_y, Line(text, LABEL_SIZE, fill=ARROWS[transition.move].colour)
    )


def _arrow_label(canvas: Canvas, x: float, line_y: float, line: Line) -> None:
    """A label sitting just above a horizontal stretch of arrow at `line_y`."""
    canvas.add(canvas.text(x, line_y - 5 - line.height, [line], css_class="usm-arrow-label"))


# -- process model -----------------------------------------------------------------------------
GUTTER_MIN = 14
GUTTER_PAD = 8
TRACK = 8
CHANNEL = 10
# Above this many arrows in one gutter, trying every order of tracks costs too much.
MAX_PERMUTED = 6

Point = tuple[float, float]


@dataclass(eq=False)
class Fork:
    """A fork arrow of the model: from a fork step to the entry step of one target process.

    It runs in the gutters between lanes (gutter g lies above lane g): out of the fork step into
    the gutter beside it, along that gutter, and, when the target lane is not across the same
    gutter, through a channel right of all steps to the gutter beside the target lane.
    """

    source: Step
    source_lane: int
    target: Step
    target_lane: int
    process: Process
    exit_x: float = 0
    entry_x: float = 0
    channel: int | None = None

    @property
    def leaves_downwards(self) -> bool:
        return self.target_lane >= self.source_lane

    @property
    def enters_from_above(self) -> bool:
        return self.target_lane > self.source_lane

    @property
    def exit_gutter(self) -> int:
        return self.source_lane + 1 if self.leaves_downwards else self.source_lane

    @property
    def entry_gutter(self) -> int:
        return self.target_lane if self.enters_from_above else self.target_lane + 1

    @property
    def gutters(self) -> list[int]:
        return list(dict.fromkeys((self.exit_gutter, self.entry_gutter)))


class Router:
    """Places the fork arrows: an x for each end on its box, a track in each gutter and a channel,
    choosing the orders that make the fewest crossings."""

    def __init__(self, forks: list[Fork], lane_count: int):
        self.forks = forks
        through = [f for f in forks if f.exit_gutter != f.entry_gutter]
        # Short channel runs nearest the steps, long ones outside them, like nested brackets.
        for number, fork in enumerate(
            sorted(through, key=lambda f: abs(f.entry_gutter - f.exit_gutter))
        ):
            fork.channel = number
        self.channels = len(through)
        self.tracks: list[list[Fork]] = [[] for _ in range(lane_count + 1)]
        for fork in forks:
            for gutter in fork.gutters:
                self.tracks[gutter].append(fork)

    def gutter_height(self, gutter: int) -> float:
        return max(GUTTER_MIN, 2 * GUTTER_PAD + (len(self.tracks[gutter]) - 1) * TRACK)

    def place(
        self, box: Callable[[int, Step], Rect], gutter_tops: list[float], channel_left: float
    ) -> None:
        self.box, self.gutter_tops, self.channel_left = box, gutter_tops, channel_left
        self._spread()
        for _ in range(2):
            for gutter, users in enumerate(self.tracks):
                if 1 < len(users) <= MAX_PERMUTED:
                    self.tracks[gutter] = list(min(permutations(users), key=self._cost(gutter)))

    def channel_x(self, fork: Fork) -> float:
        return self.channel_left + (fork.channel or 0) * CHANNEL

    def _spread(self) -> None:
        """Every arrow end gets its own x on its box. Ends meeting one gutter in one column are
        spread as one group: the exits under a box and the entries over the box below it would
        otherwise line up and read as one line. Each group is ordered by where its arrows run
        along the gutter, so that they do not cross beside the boxes."""
        ends: dict[tuple[int, float], list[tuple[Fork, bool]]] = defaultdict(list)
        for fork in self.forks:
            ends[fork.exit_gutter, self._source(fork).x].append((fork, True))
            ends[fork.entry_gutter, self._target(fork).x].append((fork, False))

        def runs_to(end: tuple[Fork, bool]) -> float:
            fork, leaving = end
            if fork.channel is not None:
                return self.channel_x(fork)
            return (self._target(fork) if leaving else self._source(fork)).cx

        for group in ends.values():
            boxes = [self._source(f) if leaving else self._target(f) for f, leaving in group]
            left, width = boxes[0].x, min(box.w for box in boxes)
            for slot, (fork, leaving) in enumerate(sorted(group, key=runs_to)):
                x = left + width * (slot + 1) / (len(group) + 1)
                if leaving:
                    fork.exit_x = x
                else:
                    fork.entry_x = x

    def _source(self, fork: Fork) -> Rect:
        return self.box(fork.source_lane, fork.source)

    def _target(self, fork: Fork) -> Rect:
        return self.box(fork.target_lane, fork.target)

    def _track_y(self, fork: Fork, gutter: int) -> float:
        return self.gutter_tops[gutter] + GUTTER_PAD + self.tracks[gutter].index(fork) * TRACK

    def points(self, fork: Fork) -> list[Point]:
        source, target = self._source(fork), self._target(fork)
        out_y = self._track_y(fork, fork.exit_gutter)
        in_y = self._track_y(fork, fork.entry_gutter)
        points = [
            (fork.exit_x, source.bottom if fork.leaves_downwards else source.y),
            (fork.exit_x, out_y),
        ]
        if fork.channel is not None:
            points += [(self.channel_x(fork), out_y), (self.channel_x(fork), in_y)]
        entry_y = target.y if fork.enters_from_above else target.bottom
        return [*points, (fork.entry_x, in_y), (fork.entry_x, entry_y)]

    def _cost(self, gutter: int) -> Callable[[tuple[Fork, ...]], int]:
        def cost(order: tuple[Fork, ...]) -> int:
            self.tracks[gutter] = list(order)
            return crossings([self.points(f) for f in self.forks])

        return cost


def crossings(paths: list[list[Point]]) -> int:
    """How often segments of different orthogonal paths cross or run on top of each other."""
    segments = [
        (number, a, b) for number, path in enumerate(paths) for a, b in pairwise(path) if a != b
    ]
    count = 0
    for i, (first, a, b) in enumerate(segments):
        for second, c, d in segments[i + 1 :]:
            if first != second and _meet(a, b, c, d):
                count += 1
    return count


def _meet(a: Point, b: Point, c: Point, d: Point) -> bool:
    (ax1, ax2), (ay1, ay2) = sorted((a[0], b[0])), sorted((a[1], b[1]))
    (cx1, cx2), (cy1, cy2) = sorted((c[0], d[0])), sorted((c[1], d[1]))
    horizontal_ab, horizontal_cd = ay1 == ay2, cy1 == cy2
    if horizontal_ab != horizontal_cd:
        return (
            (cx1 < ax1 < cx2 and ay1 < cy1 < ay2)
            if horizontal_cd
            else (ax1 < cx1 < ax2 and cy1 < ay1 < cy2)
        )
    if horizontal_ab:
        return ay1 == cy1 and max(ax1, cx1) < min(ax2, cx2)
    return ax1 == cx1 and max(ay1, cy1) < min(ay2, cy2)


def model_to_svg(model: ProcessModel) -> str:
    processes = list(model.processes.values())
    canvas = Canvas(_prefix("model"))
    subtitle = (
        f"version {model.version} · {len(processes)} processes, each started by one call type"
        f" · {len(model.workflows)} workflows chain them through forks"
    )
    title_width, top = draw_title(canvas, model.name, subtitle)
    labels = [[measure_step(step) for step in process.steps] for process in processes]
    lanes = [Lane(process_lines(process)) for process in processes]
    pills = [
        [Line(t, 11) for t in wrap(call_type_name(model, p.trigger), 110, 11)] for p in processes
    ]
    pill_w = max((max(line.width for line in lines) + 2 * PAD for lines in pills), default=0)
    pill_h = max((_lines_height(lines) + 2 * 6 for lines in pills), default=0)
    box_h = max((label.height for row in labels for label in row), default=0)
    lane_h = max([box_h, pill_h] + [_lines_height(lane.lines) for lane in lanes]) + 2 * LANE_PAD
    header_w = max((lane.width for lane in lanes), default=0)

    # Steps of the same position share a column, so the skeleton lines up across processes.
    columns = max((len(row) for row in labels), default=0)
    column_w = [max(row[k].width for row in labels if k < len(row)) for k in range(columns)]
    pill_x = MARGIN + header_w + LANE_PAD
    lefts = [pill_x + pill_w + 34 + sum(column_w[:k]) + GAP * k for k in range(columns)]
    columns_right = lefts[-1] + column_w[-1] if columns else pill_x + pill_w

    router = Router(_model_forks(model, processes), len(processes))
    channel_left = columns_right + LANE_PAD + 4
    right = (
        channel_left + router.channels * CHANNEL + 8
        if router.channels
        else (columns_right + LANE_PAD)
    )
    gutter_tops: list[float] = []
    lane_tops: list[float] = []
    y = top
    for index in range(len(processes) + 1):
        gutter_tops.append(y)
        if router.tracks[index] or 0 < index < len(processes):
            y += router.gutter_height(index)
        if index < len(processes):
            lane_tops.append(y)
            y += lane_h
    lanes_bottom = y
    width = max(right + MARGIN, title_width + 2 * MARGIN, 560)

    boxes: dict[tuple[int, str], Rect] = {}
    for index, (process, lane) in enumerate(zip(processes, lanes, strict=True)):
        lane.box = Rect(MARGIN, lane_tops[index], right - MARGIN, lane_h)
        draw_lane(canvas, lane, header_w)
        pill = Rect(pill_x, lane.box.cy - pill_h / 2, pill_w, pill_h)
        canvas.add(
            f'<g class="usm-call-type"><title>{escape(process.trigger)}</title>'
            + canvas.rect(pill, CALL_TYPE, "usm-call-type-box", rx=pill_h / 2)
            + canvas.text(
                pill.cx, pill.cy - _lines_height(pills[index]) / 2, pills[index], anchor="middle"
            )
            + "</g>"
        )
        for position, (step, label) in enumerate(zip(process.steps, labels[index], strict=True)):
            box = Rect(lefts[position], lane.box.cy - box_h / 2, column_w[position], box_h)
            boxes[index, step.id] = box
            canvas.add(draw_step(canvas, label, box, f"{process.code}-{position + 1}"))
        for a, b in pairwise(process.steps):
            canvas.add(
                canvas.arrow(
                    [
                        (boxes[index, a.id].right, boxes[index, a.id].cy),
                        (boxes[index, b.id].x, boxes[index, b.id].cy),
                    ],
                    Move.NEXT,
                    f"{a.id} → {b.id}",
                )
            )
        entry = entry_step(process)
        if entry is not None:
            target = boxes[index, entry.id]
            canvas.add(
                canvas.arrow(
                    [(pill.right, pill.cy), (target.x, pill.cy)],
                    Move.NEXT,
                    f"a {call_type_name(model, process.trigger)} starts {process.code}",
                    css_class="trigger",
                )
            )

    router.place(lambda lane, step: boxes[lane, step.id], gutter_tops, channel_left)
    for fork in router.forks:
        call_type = call_type_name(model, fork.process.trigger)
        canvas.add(
            canvas.arrow(
                router.points(fork),
                Move.FORK,
                f"{fork.source.id} forks a {call_type} into {fork.process.code}",
            )
        )

    legend = [
        *kind_legend(),
        ("box", CALL_TYPE, CALL_TYPE.legend),
        ("arrow", Move.NEXT, ARROWS[Move.NEXT].legend),
        ("arrow", Move.FORK, ARROWS[Move.FORK].legend),
    ]
    bottom = draw_legend(canvas, legend, lanes_bottom + 4, width - 2 * MARGIN)
    return canvas.render(width, bottom + MARGIN, f"{model.name} {model.version}", subtitle)


def _model_forks(model: ProcessModel, processes: list[Process]) -> list[Fork]:
    lane_of = {process.code: index for index, process in enumerate(processes)}
    forks = []
    for index, process in enumerate(processes):
        for step in process.steps:
            if step.kind is not StepKind.FORK:
                continue
            for code in step.fork_to:
                target = model.processes.get(code)
                entry = entry_step(target) if target else None
                if target is not None and entry is not None:
                    forks.append(Fork(step, index, entry, lane_of[code], target))
    return forks
