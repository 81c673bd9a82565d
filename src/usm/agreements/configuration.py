"""A provider's configuration as the call engine reads it on every registration and every step:
its active agreements with their norms and service hours, its priority and risk matrices, and who
holds each step in the procedures in force. Read from the database once and then kept in memory
for as long as it is unchanged.

Unchanged is decided by the database, not guessed: a trigger on every table read here replaces
the one row of `ConfigurationStamp` with a random value on any insert, update or delete, whoever
writes (the services, the admin, a bulk load, raw SQL). Each use reads that value by primary key
(a step reads it in the same statement as its call) and finds the configuration kept for it, or
reads the rows again. The stamp is read before the
rows, so a configuration is never kept under a stamp newer than what it holds.

What this hands out is shared between requests and threads: read it, never change it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection

from usm.agreements.choices import AgreementStatus
from usm.agreements.models import Agreement, ConfigurationStamp, MatrixCell, Norm

_lock = threading.Lock()
_pinned: ContextVar[dict[int, ProviderConfiguration] | None] = ContextVar(
    "usm_configuration_pinned", default=None
)
# (database alias, database name) -> (stamp, {provider id: ProviderConfiguration})
_kept: dict[tuple[str, str], tuple[int | None, dict[int, ProviderConfiguration]]] = {}


class ProviderConfiguration:
    """One provider's configuration at one stamp. Each part is read on first use."""

    def __init__(self, provider_id: int):
        self.provider_id = provider_id
        self._parts: dict[str, Any] = {}

    def _part(self, name: str, read: Callable[[], Any]) -> Any:
        if name not in self._parts:
            self._parts[name] = read()
        return self._parts[name]

    # -- agreements ------------------------------------------------------------------------------
    def agreements(self) -> list[Agreement]:
        """The active agreements, latest first (by start, then registration), each with its
        calendar and the ids of the services it covers (`service_ids`)."""
        return self._part("agreements", self._read_agreements)

    def _read_agreements(self) -> list[Agreement]:
        found = list(
            Agreement.objects.filter(provider_id=self.provider_id, status=AgreementStatus.ACTIVE)
            .select_related("calendar")
            .order_by("-valid_from", "-pk")
        )
        covered: dict[int, set[int]] = {agreement.pk: set() for agreement in found}
        links = Agreement.services.through.objects.filter(agreement_id__in=covered)
        for agreement_id, service_id in links.values_list("agreement_id", "service_id"):
            covered[agreement_id].add(service_id)
        for agreement in found:
            agreement.service_ids = frozenset(covered[agreement.pk])
        return found

    def norm(self, agreement_id: int, call_type: str, priority: int) -> Norm | None:
        norms = self._part("norms", self._read_norms)
        return norms.get((agreement_id, call_type, priority))

    def _read_norms(self) -> dict[tuple[int, str, int], Norm]:
        rows = Norm.objects.filter(agreement__provider_id=self.provider_id).order_by("pk")
        norms: dict[tuple[int, str, int], Norm] = {}
        for norm in rows:
            norms.setdefault((norm.agreement_id, norm.call_type, norm.priority), norm)
        return norms

    def service_hours(self, calendar_id: int, build: Callable[[], Any]) -> Any:
        """The calendar's service hours, built by `build` the first time (a calendar that cannot
        be built raises each time and is not kept)."""
        hours = self._part("hours", dict)
        if calendar_id not in hours:
            hours[calendar_id] = build()
        return hours[calendar_id]

    # -- matrices --------------------------------------------------------------------------------
    def matrix_cells(self, kind: str) -> dict[tuple[int, int], int]:
        """The cells the provider set for one matrix kind (empty when it set none)."""
        cells = self._part("matrices", self._read_matrices)
        return cells.get(kind, {})

    def _read_matrices(self) -> dict[str, dict[tuple[int, int], int]]:
        cells: dict[str, dict[tuple[int, int], int]] = {}
        rows = MatrixCell.objects.filter(provider_id=self.provider_id)
        for kind, row, column, result in rows.values_list("matrix", "row", "column", "result"):
            cells.setdefault(kind, {})[row, column] = result
        return cells

    # -- procedures ------------------------------------------------------------------------------
    def step_roles(self, read: Callable[[int], dict]) -> dict:
        """Who holds each step of each workflow in the procedures in force, as `read` (the
        organisation's query) gathers it for the provider."""
        return self._part("step_roles", lambda: read(self.provider_id))


# The stamp as an SQL expression: a caller that reads a row anyway (the engine's locked read of
# the call) reads the stamp in the same statement and hands it to `of`.
STAMP_SQL = f"(SELECT value FROM {ConfigurationStamp._meta.db_table} WHERE id = 1)"
# `of` without a stamp in hand reads it.
UNREAD = object()


def _stamp() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {STAMP_SQL}")
        row = cursor.fetchone()
    return row[0] if row else None


@contextmanager
def pinned() -> Iterator[None]:
    """Within the block, each provider's configuration is looked up once: for a service that asks
    several questions of it (a registration: the agreement, its norm, its hours, the priority,
    who takes the call) and writes none of it."""
    token = _pinned.set({})
    try:
        yield
    finally:
        _pinned.reset(token)


def of(provider_id: int, stamp=UNREAD) -> ProviderConfiguration:
    """The provider's configuration as stored now. `stamp` is the configuration stamp when the
    caller has just read it (`STAMP_SQL`), in the same transaction."""
    pins = _pinned.get()
    if pins is not None:
        if provider_id not in pins:
            pins[provider_id] = _current(provider_id, stamp)
        return pins[provider_id]
    return _current(provider_id, stamp)


def _current(provider_id: int, stamp) -> ProviderConfiguration:
    if stamp is UNREAD:
        stamp = _stamp()
    database = (connection.alias, str(connection.settings_dict["NAME"]))
    with _lock:
        kept_stamp, providers = _kept.get(database, (None, None))
        if providers is None or kept_stamp != stamp:
            providers = {}
            _kept[database] = (stamp, providers)
        configuration = providers.get(provider_id)
        if configuration is None:
            configuration = providers[provider_id] = ProviderConfiguration(provider_id)
    return configuration
