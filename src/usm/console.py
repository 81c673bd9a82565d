"""Output conventions every `usm` subcommand shares: JSON on request, one-line errors, exit codes.

Exit codes: 0 success, 1 the command ran and found a failure (e.g. violations), 2 bad input.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer

BAD_INPUT = 2
FAILURE = 1


def fail(message: str, code: int = BAD_INPUT) -> NoReturn:
    """Stop with a one-line message on stderr and no traceback."""
    typer.echo(f"usm: {message}", err=True)
    raise typer.Exit(code)


def emit_json(payload: Any) -> None:
    json.dump(payload, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
