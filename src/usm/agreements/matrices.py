"""The priority matrix (impact x urgency -> priority) and the risk matrix (effect x likelihood ->
risk level): their defaults and the rules every matrix a provider sets must follow.

Level 1 is always the most severe: impact 1 is the widest impact, urgency 1 the most urgent,
priority 1 the first to be handled. A provider that has not set a matrix classifies with the
default; `services.install_default_matrices` writes the defaults as rows so they can be edited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NoReturn

from django.core.exceptions import ValidationError

from usm.agreements.choices import MatrixKind

# The call register accepts classification levels 1-9; a larger matrix could not be used.
MAX_LEVELS = 9

Cells = dict[tuple[int, int], int]


@dataclass(frozen=True)
class Axes:
    """What the rows, the columns and the results of a matrix measure."""

    row: str
    column: str
    result: str


AXES = {
    MatrixKind.PRIORITY: Axes(row="impact", column="urgency", result="priority"),
    MatrixKind.RISK: Axes(row="effect", column="likelihood", result="risk level"),
}

# Rows are impact 1-3, columns urgency 1-3. Each step down in impact or urgency lowers the priority
# by one: the table USM.md gives as the default.
DEFAULT_PRIORITY = (
    (1, 2, 3),
    (2, 3, 4),
    (3, 4, 5),
)

# Rows are effect 1-5 (1 = disastrous), columns likelihood 1-5 (1 = almost certain); levels are
# 1 critical, 2 high, 3 medium, 4 low. It is the usual heat map: symmetric, and a less severe
# effect or a less likely event never raises the level.
DEFAULT_RISK = (
    (1, 1, 1, 2, 3),
    (1, 1, 2, 2, 3),
    (1, 2, 2, 3, 4),
    (2, 2, 3, 3, 4),
    (3, 3, 4, 4, 4),
)

DEFAULTS = {MatrixKind.PRIORITY: DEFAULT_PRIORITY, MatrixKind.RISK: DEFAULT_RISK}


def default_cells(kind: MatrixKind | str) -> Cells:
    grid = DEFAULTS[MatrixKind(kind)]
    return {
        (row, column): result
        for row, results in enumerate(grid, start=1)
        for column, result in enumerate(results, start=1)
    }


def matrix_kind(kind: object) -> MatrixKind:
    try:
        return MatrixKind(kind)
    except ValueError:
        choices = ", ".join(MatrixKind.values)
        raise ValidationError({"matrix": f"'{kind}' is not a matrix; choose {choices}"}) from None


def size(cells: Cells) -> tuple[int, int]:
    """The number of rows and columns of a complete matrix."""
    return max(row for row, _ in cells), max(column for _, column in cells)


def grid(cells: Cells) -> list[list[int]]:
    rows, columns = size(cells)
    return [[cells[row, column] for column in range(1, columns + 1)] for row in range(1, rows + 1)]


def checked_cells(
    kind: MatrixKind, cells: Mapping[tuple[int, int], int] | Iterable[object]
) -> Cells:
    """`cells` as {(row, column): result} once they form a usable matrix, else a ValidationError
    on `cells` that says what is wrong.

    A usable matrix has every row x column cell exactly once, rows and columns numbered from 1
    without gaps, results from 1 to their highest without a level left out (a level no cell
    gives would be a priority no call can get), and never a more severe result for a less severe
    row or column (that is a typing error, not a policy).
    """
    axes = AXES[kind]
    triples = cells.items() if isinstance(cells, Mapping) else cells
    found: Cells = {}
    for entry in triples:
        row, column, result = _triple(entry)
        if (row, column) in found:
            _refuse(f"{axes.row} {row} x {axes.column} {column} is given twice")
        found[row, column] = result
    if not found:
        _refuse("a matrix needs at least one cell")
    rows, columns = size(found)
    for what, count in ((axes.row, rows), (axes.column, columns)):
        if count > MAX_LEVELS:
            _refuse(f"at most {MAX_LEVELS} {what} levels")
    missing = [
        f"{axes.row} {row} x {axes.column} {column}"
        for row in range(1, rows + 1)
        for column in range(1, columns + 1)
        if (row, column) not in found
    ]
    if missing:
        _refuse(
            f"every {axes.row} x {axes.column} cell needs a {axes.result}; missing {_list(missing)}"
        )
    levels = sorted(set(found.values()))
    skipped = [level for level in range(1, levels[-1] + 1) if level not in levels]
    if skipped:
        _refuse(
            f"{axes.result} levels run from 1 without gaps; no cell gives "
            f"{_list([str(level) for level in skipped])}"
        )
    for (row, column), result in sorted(found.items()):
        for neighbour, what in (((row + 1, column), axes.row), ((row, column + 1), axes.column)):
            if neighbour in found and found[neighbour] < result:
                _refuse(
                    f"{axes.row} {neighbour[0]} x {axes.column} {neighbour[1]} gives a more severe "
                    f"{axes.result} ({found[neighbour]}) than {axes.row} {row} x {axes.column} "
                    f"{column} ({result}), although its {what} is less severe"
                )
    return found


def _triple(entry: object) -> tuple[int, int, int]:
    if isinstance(entry, Mapping):
        entry = (entry.get("row"), entry.get("column"), entry.get("result"))
    elif isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], tuple | list):
        entry = (*entry[0], entry[1])
    if not isinstance(entry, tuple | list) or len(entry) != 3:
        _refuse(f"{entry!r} is not a cell (row, column, result)")
    for value in entry:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            _refuse(f"{entry!r}: rows, columns and results are whole numbers from 1")
    return tuple(entry)


def _list(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown if len(names) <= 5 else f"{shown} and {len(names) - 5} more"


def _refuse(message: str) -> NoReturn:
    raise ValidationError({"cells": message})
