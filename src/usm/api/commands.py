"""`usm token ...`: API tokens for scripts. The plain token is shown once, at creation."""

from __future__ import annotations

from datetime import timedelta

import typer

from usm.console import database_command, emit_json, fail

token_app = typer.Typer(help="API tokens for scripts and integrations.", no_args_is_help=True)


@token_app.command("create")
def create(
    username: str = typer.Option(..., "--user", "-u", help="The login the token acts as"),
    name: str = typer.Option(..., "--name", "-n", help="What the token is for"),
    days: int = typer.Option(None, "--days", min=1, help="Expire after this many days"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Issue a token; send it as `Authorization: Bearer <token>`."""
    with database_command():
        from django.contrib.auth import get_user_model
        from django.utils import timezone

        from usm.api.tokens import issue_token

        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            fail(f"there is no user '{username}'")
        expires = timezone.now() + timedelta(days=days) if days else None
        token, plain = issue_token(user, name, expires)
        if as_json:
            emit_json(
                {
                    "id": token.pk,
                    "user": username,
                    "name": name,
                    "token": plain,
                    "expires_at": expires,
                }
            )
        else:
            typer.echo(plain)
            typer.echo(f"usm: token '{name}' for {username}; it is not shown again", err=True)
