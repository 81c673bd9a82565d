"""Pointing Django at a bench database. A process configures its settings once, so every database
the harness measures gets processes of its own; this module is what they run first."""

from __future__ import annotations

import os
from pathlib import Path


def environment(database_url: str | None, data_dir: Path) -> dict[str, str]:
    """The environment a process (ours or `usm serve`) needs to use the bench database: the SQLite
    file in `data_dir` when `database_url` is None."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("USM_DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["USM_DATA_DIR"] = str(data_dir)
    env["DJANGO_SETTINGS_MODULE"] = "usm.settings"
    env["USM_DEBUG"] = ""
    if database_url:
        env["USM_DATABASE_URL"] = database_url
    return env


def setup(database_url: str | None, data_dir: Path) -> None:
    """Configure and start Django in this process for the bench database."""
    os.environ.update(environment(database_url, data_dir))
    if not database_url:
        os.environ.pop("USM_DATABASE_URL", None)
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
