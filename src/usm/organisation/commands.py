"""`usm provider ...` and `usm procedure ...`: set up a provider and exchange procedures as USM-WIF.

Mounted without a name (`app.add_typer(organisation_app)`), so its groups sit at the top level.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from usm.console import FAILURE, database_command, emit_json, fail, find_provider

organisation_app = typer.Typer(no_args_is_help=True)
provider_app = typer.Typer(help="Service providers (tenants) and their first administrator.")
procedure_app = typer.Typer(
    help="Procedures: which profiles are R, A, C or I for each step of a workflow.",
    no_args_is_help=True,
)
organisation_app.add_typer(provider_app, name="provider")
organisation_app.add_typer(procedure_app, name="procedure")

PROVIDER = typer.Option(..., "--provider", "-p", help="The provider's slug")
JSON = typer.Option(False, "--json", help="Print JSON instead of text")


def _run(action):
    """Run `action` against the database with the shared CLI error handling."""
    with database_command():
        return action()


# -- providers ---------------------------------------------------------------------------------------
@provider_app.command("create")
def create_provider(
    name: str = typer.Argument(..., help="The provider's name"),
    slug: str = typer.Option(..., "--slug", help="Short name used in URLs and commands"),
    admin: str = typer.Option(..., "--admin", help="User name of the first administrator"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the administrator's password from standard input"
    ),
    as_json: bool = JSON,
) -> None:
    """Create a provider and its first administrator (who may then use the admin and the API)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    def create():
        from usm.organisation.services import bootstrap_provider

        return bootstrap_provider(name, slug, admin, password)

    provider = _run(create)
    if as_json:
        emit_json({"id": provider.pk, "name": provider.name, "slug": provider.slug, "admin": admin})
    else:
        typer.echo(f"provider '{provider.slug}' created; '{admin}' can log in as its administrator")


@provider_app.command("list")
def list_providers(as_json: bool = JSON) -> None:
    """List the providers of this installation."""

    def providers():
        from usm.organisation.models import Provider

        return list(Provider.objects.values("id", "name", "slug"))

    found = _run(providers)
    if as_json:
        emit_json(found)
        return
    for row in found:
        typer.echo(f"{row['slug']:20} {row['name']}")


# -- procedures --------------------------------------------------------------------------------------
@procedure_app.command("export")
def export_procedure(
    target: str = typer.Argument("-", metavar="[FILE|-]", help="File to write, - for stdout"),
    provider: str = PROVIDER,
    workflow: int = typer.Option(..., "--workflow", "-w", help="Workflow template number"),
    version: int = typer.Option(None, "--version", help="An earlier version (default: in force)"),
) -> None:
    """Write a procedure as a USM-WIF workflow document with its responsibilities."""

    def document():
        from usm.organisation.models import Procedure
        from usm.organisation.wif import procedure_to_wif

        chosen = Procedure.objects.filter(provider=find_provider(provider), workflow=workflow)
        chosen = (
            chosen.filter(version=version) if version is not None else chosen.filter(active=True)
        )
        procedure = chosen.first()
        if procedure is None:
            which = f"version {version}" if version is not None else "in force"
            fail(f"provider '{provider}' has no procedure for workflow {workflow} {which}")
        return procedure_to_wif(procedure)

    text = json.dumps(_run(document), indent=2, ensure_ascii=False) + "\n"
    if target == "-":
        sys.stdout.write(text)
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{target}: cannot write: {exc.strerror}", FAILURE)
    typer.echo(target)


@procedure_app.command("import")
def import_procedure(
    source: Path = typer.Argument(..., metavar="FILE", help="A USM-WIF workflow document"),
    provider: str = PROVIDER,
    create_profiles: bool = typer.Option(
        False, "--create-profiles", help="Create the profiles the provider does not have yet"
    ),
    as_json: bool = JSON,
) -> None:
    """Put a USM-WIF workflow's responsibilities in force as a new procedure version."""

    def load():
        from usm.organisation.wif import procedure_from_wif, read_procedure_file

        document = read_procedure_file(source)
        return procedure_from_wif(
            find_provider(provider), document, create_profiles=create_profiles
        )

    procedure = _run(load)
    rows = list(procedure.responsibilities.values_list("step", "profile__name", "role"))
    if as_json:
        emit_json(
            {
                "id": procedure.pk,
                "provider": provider,
                "workflow": procedure.workflow,
                "name": procedure.name,
                "version": procedure.version,
                "active": procedure.active,
                "responsibilities": [
                    {"step": step, "profile": profile, "role": role} for step, profile, role in rows
                ],
            }
        )
        return
    profiles = len({profile for _, profile, _ in rows})
    steps = len({step for step, _, _ in rows})
    typer.echo(
        f"{procedure} in force for '{provider}': {steps} steps, {profiles} profiles "
        f"({len(rows)} responsibilities)"
    )
