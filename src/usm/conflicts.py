"""Errors every service may raise that the API and CLI turn into clear answers."""

from __future__ import annotations

from typing import Any


class StaleUpdate(Exception):
    """An update named a version that is no longer current (the API answers 409)."""

    def __init__(self, what: str, current_version: int, current: dict[str, Any] | None = None):
        super().__init__(f"{what} was changed by someone else (now version {current_version})")
        self.current_version = current_version
        self.current = current or {}
