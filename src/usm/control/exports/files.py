"""Export files appear whole or not at all: each is written under a temporary name beside its
target and renamed into place once complete, so a failed or interrupted export never leaves a
truncated log that a mining tool would read as a short one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """A new, empty temporary file beside `path`, renamed over `path` when the block ends
    without an error and removed otherwise."""
    target = Path(path)
    descriptor, name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".partial", dir=target.parent
    )
    os.close(descriptor)
    partial = Path(name)
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
