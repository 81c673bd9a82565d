"""The door of the MIR. Writes are allowed only inside `opened(route)`, which the MIR services
enter for Change's "Update MIR" step and for the logged administrator import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_route: ContextVar[str | None] = ContextVar("mir_route", default=None)


class MirClosed(PermissionError):
    """A write to the MIR outside Change's Update MIR step or the administrator import."""


@contextmanager
def opened(route: str) -> Iterator[None]:
    token = _route.set(route)
    try:
        yield
    finally:
        _route.reset(token)


def current_route() -> str | None:
    return _route.get()


def ensure_writable(instance: object) -> None:
    if _route.get() is None:
        raise MirClosed(
            f"the MIR changes only through Change's Update MIR step or an administrator import; "
            f"refused a direct write to {type(instance).__name__} {instance}"
        )
