"""`flask analytics ...` commands."""
import click
from flask.cli import AppGroup

from app.analytics import services
from app.common.errors import DomainError
from app.common.transactions import unit_of_work

analytics_cli = AppGroup("analytics", help="Analytics rollups.")


@analytics_cli.command("backfill")
@click.option("--from", "first", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="First UTC day to rebuild (YYYY-MM-DD).")
@click.option("--to", "last", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Last UTC day to rebuild (default: yesterday).")
def backfill(first, last):
    """Rebuild the daily rollups from --from to --to (default yesterday); a day rebuilt replaces its rows."""
    try:
        with unit_of_work():
            days = services.backfill(first.date(), last.date() if last else None)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Rolled up {days} day(s).")


def register(app):
    app.cli.add_command(analytics_cli)
