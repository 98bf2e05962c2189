"""Flask CLI commands for accounts: ``flask --app wsgi create-user`` and
``create-token``."""

from __future__ import annotations

import logging

import click
from flask import Flask
from flask.cli import with_appcontext

from dashboard.auth import AccountError, create_account
from models import ROLES, ApiToken, User, db

log = logging.getLogger(__name__)


def read_password() -> str:
    """Read the password from standard input, or prompt twice on a terminal."""
    stdin = click.get_text_stream("stdin")
    if stdin.isatty():
        return click.prompt(
            "Password", hide_input=True, confirmation_prompt="Repeat the password"
        )
    password = stdin.readline().rstrip("\r\n")
    if not password:
        raise click.ClickException(
            "No password on standard input. Pipe one line with the password, "
            "or run the command in a terminal to be prompted."
        )
    return password


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="analyst",
    show_default=True,
    help="Role of the new user: admin sees every user's data.",
)
@with_appcontext
def create_user_command(username: str, role: str) -> None:
    """Create a user. The password is read from standard input when it is not a
    terminal, for example: echo "$PASSWORD" | flask --app wsgi create-user ana."""
    password = read_password()
    try:
        user = create_account(username, password, role)
    except AccountError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created user {user.username!r} with role {user.role}.")


@click.command("create-token")
@click.argument("username")
@with_appcontext
def create_token_command(username: str) -> None:
    """Print a new API token for a user. Send it as "Authorization: Bearer TOKEN"."""
    user = User.find(username)
    if user is None:
        raise click.ClickException(
            f"The user {username!r} does not exist. Create it with create-user first."
        )
    token_row, token = ApiToken.issue(user)
    db.session.add(token_row)
    db.session.commit()
    log.info("issued API token %s to user %s from the CLI", token_row.id, user.id)
    click.echo(token)


@click.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@with_appcontext
def set_role_command(username: str, role: str) -> None:
    """Give an existing user another role (admin, analyst or viewer)."""
    user = User.find(username)
    if user is None:
        raise click.ClickException(
            f"The user {username!r} does not exist. Create it with create-user first."
        )
    previous = user.role
    user.role = role
    db.session.commit()
    log.info("user %s role changed from %s to %s from the CLI", user.id, previous, role)
    click.echo(f"User {user.username!r} is now {role} (was {previous}).")


@click.command("revoke-tokens")
@click.argument("username")
@with_appcontext
def revoke_tokens_command(username: str) -> None:
    """Delete every API token of a user and end their browser sessions."""
    user = User.find(username)
    if user is None:
        raise click.ClickException(f"The user {username!r} does not exist.")
    removed = db.session.execute(
        db.delete(ApiToken).where(ApiToken.user_id == user.id)
    ).rowcount
    user.end_sessions()
    db.session.commit()
    log.info("revoked %d API tokens of user %s from the CLI", removed, user.id)
    click.echo(
        f"Revoked {removed} API tokens of {user.username!r} and ended their sessions."
    )


def register_cli(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_token_command)
    app.cli.add_command(set_role_command)
    app.cli.add_command(revoke_tokens_command)
