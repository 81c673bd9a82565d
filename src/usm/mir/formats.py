"""The file formats of the MIR's import and export (no Django here: the command line picks one
before it sets Django up)."""

from __future__ import annotations

from pathlib import PurePath

FORMATS = ("csv", "json")


def format_of(name: str, content: bytes | str = b"") -> str:
    """`csv` or `json`, from the file name's suffix, else from the first character."""
    suffix = PurePath(name).suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    start = content.lstrip()[:1]
    return "json" if start in (b"[", b"{", "[", "{") else "csv"
