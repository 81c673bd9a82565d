"""Export files appear whole or not at all: each is written under a temporary name beside its
target and renamed into place once complete, so a failed or interrupted export never leaves a
truncated log that a mining tool would read as a short one. The text formats are made by
generators (so that they can be streamed as well); `write_all` writes one to a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO, TypeVar

Counts = TypeVar("Counts")


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


def write_all(out: TextIO, pieces: Generator[str, None, Counts]) -> Counts:
    """Write what a text generator yields to `out`; return what it returns in the end."""
    write = out.write
    while True:
        try:
            write(next(pieces))
        except StopIteration as done:
            return done.value
