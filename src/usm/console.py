"""Output conventions every `usm` subcommand shares: JSON on request, one-line errors, exit codes.

Exit codes: 0 success, 1 the command ran and found a failure (e.g. violations), 2 bad input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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


def setup_django() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usm.settings")
    import django

    django.setup()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def one_line(error) -> str:
    """A Django ValidationError as one line: `field: message; field: message`."""
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {message}" if field not in ("__all__", "file") else message
            for field, messages in error.message_dict.items()
            for message in messages
        )
    if hasattr(error, "messages"):
        return "; ".join(error.messages)
    return _first_line(error)


@contextmanager
def database_command() -> Iterator[None]:
    """Run a command body against the database: Django is set up first; what the user can fix
    becomes one line and exit 2, a database that cannot be used one line and exit 1."""
    setup_django()
    from django.core.exceptions import ObjectDoesNotExist, ValidationError
    from django.db import DatabaseError, IntegrityError

    from usm.conflicts import StaleUpdate
    from usm.engine.call_flow import FlowError

    try:
        yield
    except (ValidationError, StaleUpdate, FlowError, ObjectDoesNotExist) as exc:
        fail(one_line(exc))
    except IntegrityError as exc:
        fail(f"conflicts with what was just stored ({_first_line(exc)}); try again", FAILURE)
    except DatabaseError as exc:
        fail(
            f"the database cannot be used ({_first_line(exc)}); has 'usm migrate' been run?",
            FAILURE,
        )


def find_provider(slug: str):
    """The provider a command names with --provider; an unknown slug is the user's mistake."""
    from usm.organisation.models import Provider

    provider = Provider.objects.filter(slug=slug).first()
    if provider is None:
        known = ", ".join(Provider.objects.values_list("slug", flat=True)) or "none yet"
        fail(f"there is no provider '{slug}' (known: {known})")
    return provider


def find_provider_or_only(slug: str | None):
    """The provider named with --provider, or the installation's only one when none is named
    (most installations serve one provider, and the option would only be noise)."""
    from usm.organisation.models import Provider

    if slug:
        return find_provider(slug)
    providers = list(Provider.objects.order_by("slug")[:2])
    if len(providers) == 1:
        return providers[0]
    known = ", ".join(Provider.objects.values_list("slug", flat=True)) or "none yet"
    fail(f"name the provider with --provider (known: {known})")
