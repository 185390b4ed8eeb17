"""`flask users ...` commands."""
import click
from flask.cli import AppGroup

from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.users import services
from app.users.passwords import password_problems

users_cli = AppGroup("users", help="Manage users.")


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--password", help="Password for a new account (prompted when missing).")
@click.option("--name", "full_name", default="Administrator", show_default=True)
def create_admin(email, password, full_name):
    """Grant admin to EMAIL, creating the account when it does not exist."""
    user = services.find_by_email(email)
    if user is None:
        password = password or click.prompt("Password", hide_input=True, confirmation_prompt=True)
        problems = password_problems(password, email)
        if problems:
            raise click.ClickException("; ".join(problems))
        with unit_of_work():
            user = services.create_user(email, password, full_name, ["admin"])
            user.email_confirmed_at = utcnow()
        click.echo(f"Created admin {user.email} (id {user.id}).")
    else:
        with unit_of_work():
            services.make_admin(email)
        click.echo(f"{user.email} is now an admin.")


def register(app):
    app.cli.add_command(users_cli)
