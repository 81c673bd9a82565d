"""Writes the diagrams of a model to a folder: `model.<ext>` and one `NN-slug.<ext>` per workflow."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from usm.model.io.mermaid import model_to_mermaid, workflow_to_mermaid
from usm.model.io.svg import model_to_svg, workflow_to_svg
from usm.model.process_model import ProcessModel
from usm.model.workflow import Workflow

FORMATS: dict[str, tuple[Callable[[ProcessModel], str], Callable[..., str]]] = {
    "mmd": (model_to_mermaid, workflow_to_mermaid),
    "svg": (model_to_svg, workflow_to_svg),
}


def workflow_file_stem(workflow: Workflow) -> str:
    # Slugs of imported workflows come from someone else's file: keep them to one path segment.
    slug = re.sub(r"[^a-z0-9_-]+", "-", workflow.slug.lower()).strip("-") or "workflow"
    return f"{workflow.number:02d}-{slug}"


def write_diagrams(
    model: ProcessModel, out_dir: Path | str, fmt: str, numbers: Iterable[int] | None = None
) -> list[Path]:
    """Writes the model diagram and every workflow's, or, when `numbers` is given, only those
    workflows'. `fmt` is `mmd` (Mermaid) or `svg`. Returns the files written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown diagram format '{fmt}': expected one of {', '.join(FORMATS)}")
    draw_model, draw_workflow = FORMATS[fmt]
    wanted = None if numbers is None else list(dict.fromkeys(numbers))
    known = {w.number: w for w in model.workflows}
    missing = [n for n in wanted or [] if n not in known]
    if missing:
        have = ", ".join(str(n) for n in sorted(known)) or "none"
        raise ValueError(f"no workflow {missing[0]} in this model (it has: {have})")
    workflows = list(model.workflows) if wanted is None else [known[n] for n in wanted]
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if wanted is None:
        written.append(_write(folder / f"model.{fmt}", draw_model(model)))
    for workflow in workflows:
        text = draw_workflow(model, workflow)
        written.append(_write(folder / f"{workflow_file_stem(workflow)}.{fmt}", text))
    return written


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="\n")
    return path
