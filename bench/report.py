"""Turning a run's JSON lines into the table printed at the end, the Markdown tables of
bench/README.md and the SVG plot of how far each target is met:

    python -m bench.report results.jsonl [--markdown] [--svg bench/figures.svg]
"""

from __future__ import annotations

import argparse
import json
import sys
from html import escape
from pathlib import Path


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def size_text(size: int | None) -> str:
    if size is None:
        return "-"
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def verdict(met: bool | None, skipped: str | None = None) -> str:
    if skipped is not None:
        return "skipped"
    return {True: "PASS", False: "FAIL", None: "n/a"}[met]


def value_text(line: dict) -> str:
    if line.get("skipped") is not None:
        return f"skipped: {line['skipped']}"
    return f"{number(line['value'])} {line['unit']}"


def rows(lines: list[dict]) -> list[list[str]]:
    """One row per figure and comparison: database, size, figure, value, against, ratio, target,
    verdict."""
    found = []
    for line in lines:
        value = value_text(line)
        comparisons = line["comparisons"] or [None]
        for c in comparisons:
            if c is None:
                found.append([line["database"], size_text(line["size"]), line["name"], value])
                found[-1] += ["", "", "", ""]
                continue
            against = c["baseline"]
            if c["baseline_value"] is not None and against != "target":
                against += f" ({number(c['baseline_value'])})"
            found.append(
                [
                    line["database"],
                    size_text(line["size"]),
                    line["name"],
                    value,
                    against,
                    number(c["ratio"]) + ("x" if c["ratio"] is not None else ""),
                    c["target"] or "",
                    verdict(c["met"], line.get("skipped")) if c["target"] else "",
                ]
            )
    return found


HEADER = ["database", "size", "measurement", "value", "against", "ratio", "target", "met"]


def table(lines: list[dict]) -> str:
    body = rows(lines)
    widths = [max(len(r[i]) for r in [HEADER, *body]) for i in range(len(HEADER))]
    text = [" | ".join(cell.ljust(w) for cell, w in zip(HEADER, widths, strict=True))]
    text.append("-+-".join("-" * w for w in widths))
    text += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(text)


def targets(lines: list[dict]) -> list[dict]:
    """Every target comparison of the run, with the figure it was judged on."""
    return [
        {
            **c,
            "name": line["name"],
            "database": line["database"],
            "size": line["size"],
            "value": line["value"],
            "unit": line["unit"],
            "skipped": line.get("skipped"),
        }
        for line in lines
        for c in line["comparisons"]
        if c["target"]
    ]


def markdown(lines: list[dict]) -> str:
    out = [
        "| target | database | size | measured | against | ratio | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in targets(lines):
        against = (
            t["baseline"]
            if t["baseline"] == "target"
            else (
                f"{t['baseline']} = {number(t['baseline_value'])}"
                if t["baseline_value"] is not None
                else f"{t['baseline']} (not measured)"
            )
        )
        measured = value_text(t).replace("|", "/")
        out.append(
            f"| {t['name']} {t['target']} | {t['database']} | {size_text(t['size'])} | "
            f"{measured} | {against} | "
            f"{number(t['ratio'])}{'x' if t['ratio'] is not None else ''} | "
            f"**{verdict(t['met'], t['skipped'])}** |"
        )
    out += [
        "",
        "| database | size | measurement | value | against | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows(lines):
        if r[6]:
            continue  # judged against a target: in the table above
        out.append("| " + " | ".join(cell.replace("|", "/") for cell in r[:6]) + " |")
    return "\n".join(out)


# -- the plot -------------------------------------------------------------------------------------
def svg(lines: list[dict]) -> str:
    """A horizontal bar per target comparison, on a log scale of how far the target is met
    (1 = just met): green bars reach the line, red ones fall short."""
    found = [t for t in targets(lines) if t["score"] is not None]
    label_width, plot_width, bar, gap, top = 430, 420, 18, 8, 56
    width_for_labels = 190
    low, high = -2.0, 2.0  # log10 of the score: 1/100 .. 100
    height = top + len(found) * (bar + gap) + 50
    width = label_width + plot_width + width_for_labels

    def x(score: float) -> float:
        import math

        position = (min(max(math.log10(max(score, 1e-9)), low), high) - low) / (high - low)
        return label_width + position * plot_width

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        '<text x="10" y="22" font-size="15" font-weight="bold">usm bench: how far each target '
        "is met (1 = target; log scale)</text>",
        f'<text x="10" y="40" fill="#555">{escape(_machine_text(lines))}</text>',
    ]
    for tick in (0.01, 0.1, 1, 10, 100):
        tx = x(tick)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top - 6}" x2="{tx:.1f}" y2="{height - 36}" '
            f'stroke="{"#333" if tick == 1 else "#ddd"}" stroke-width="{2 if tick == 1 else 1}"/>'
        )
        parts.append(f'<text x="{tx:.1f}" y="{height - 20}" text-anchor="middle">{tick:g}</text>')
    for index, t in enumerate(found):
        y = top + index * (bar + gap)
        label = f"{t['database']} {size_text(t['size'])} {t['name']} {t['target']}"
        colour = "#2e7d32" if t["met"] else "#c62828"
        start, end = x(1), x(t["score"])
        left, right = min(start, end), max(start, end)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar - 5}" text-anchor="end">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{left:.1f}" y="{y}" width="{max(right - left, 1):.1f}" height="{bar}" '
            f'fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{right + 4:.1f}" y="{y + bar - 5}">'
            f"{escape(number(t['value']))} {escape(t['unit'])}: {number(t['score'])}x "
            f"({verdict(t['met'])})</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _machine_text(lines: list[dict]) -> str:
    if not lines:
        return ""
    m = lines[0]["machine"]
    text = f"{m['cpus']} CPUs, {m['memory_mib'] // 1024} GiB, Python {m['python']}, SQLite {m['sqlite']}"
    if m.get("postgresql"):
        text += f", PostgreSQL {m['postgresql']}"
    if m.get("commit"):
        text += f", commit {m['commit']}"
        if m.get("src_files_changed"):
            text += f" + {m['src_files_changed']} changed files"
    return text


def load(path: Path) -> list[dict]:
    return [json.loads(raw) for raw in path.read_text().splitlines() if raw.startswith("{")]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("results", type=Path, help="JSON lines written by --json-out")
    parser.add_argument("--markdown", action="store_true", help="Markdown tables, not plain text")
    parser.add_argument("--svg", type=Path, help="write the plot to this file")
    args = parser.parse_args(argv)
    lines = load(args.results)
    print(markdown(lines) if args.markdown else table(lines))
    if args.svg:
        args.svg.write_text(svg(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
