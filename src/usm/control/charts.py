"""Small bar charts drawn on the server as inline SVG: no script in the page, and they print.

Every text that goes into the SVG is escaped here; callers mark the result safe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape

ROW, GAP, LABEL, VALUE = 22, 6, 170, 70
# The chart carries its own colours, so it looks the same in a page, a saved report and on paper.
STYLE = (
    "<style>"
    ".chart-label,.chart-value{font:12px system-ui,sans-serif;fill:#1d2330}"
    ".chart-bar.accent{fill:#1f5fa8}.chart-bar.ok{fill:#1e7a46}"
    ".chart-bar.bad{fill:#b3261e}.chart-bar.muted{fill:#9aa3b1}"
    "</style>"
)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    tone: str = "accent"  # a CSS class: accent, ok, bad, muted


def percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def count(value: float) -> str:
    return f"{value:g}"


def hours(value: float) -> str:
    return f"{value / 3600:.1f} h"


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    scale: float | None = None,
    shown: Callable[[float], str] = count,
    width: int = 520,
) -> str:
    """Horizontal bars, one per row, labelled on the left with the value on the right. `scale`
    is the value of a full-length bar (the largest value when left out). A bar without a value
    is drawn as a dash: nothing to measure is not the same as zero."""
    top = max((b.value for b in bars if b.value is not None), default=0)
    scale = scale or top or 1
    span = width - LABEL - VALUE
    height = len(bars) * (ROW + GAP) + GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>{escape(title)}</title>",
        STYLE,
    ]
    for index, bar in enumerate(bars):
        y = GAP + index * (ROW + GAP)
        middle = y + ROW / 2 + 4
        parts.append(
            f'<text class="chart-label" x="{LABEL - 8}" y="{middle:.0f}" text-anchor="end">'
            f"{escape(bar.label)}</text>"
        )
        if bar.value is None:
            parts.append(f'<text class="chart-value" x="{LABEL}" y="{middle:.0f}">–</text>')
            continue
        length = max(0.0, min(1.0, bar.value / scale)) * span
        parts.append(
            f'<rect class="chart-bar {escape(bar.tone)}" x="{LABEL}" y="{y}" '
            f'width="{length:.1f}" height="{ROW}" rx="3"/>'
        )
        parts.append(
            f'<text class="chart-value" x="{LABEL + length + 6:.1f}" y="{middle:.0f}">'
            f"{escape(shown(bar.value))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def rate_tone(rate: float | None, good: float = 0.95, fair: float = 0.8) -> str:
    if rate is None:
        return "muted"
    return "ok" if rate >= good else "accent" if rate >= fair else "bad"
