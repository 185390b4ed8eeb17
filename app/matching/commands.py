"""`flask matching ...`: train a model, evaluate fixed vs learned weights offline."""
import json

import click
from flask.cli import AppGroup

from app.common.errors import DomainError
from app.common.transactions import unit_of_work
from app.matching import services

matching_cli = AppGroup("matching", help="Learned matching: train and evaluate.")


@matching_cli.command("train")
def train():
    """Fit a model on the match log and store it as a new version."""
    try:
        with unit_of_work():
            model = services.train_model()
            version, weights, metrics = model.version, model.weights, model.metrics
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Model version {version} trained on {metrics['impressions']} impressions "
               f"({metrics['positives']} booked).")
    click.echo("weights: " + ", ".join(f"{name} {value:.3f}" for name, value in weights.items()))
    click.echo("held-out: " + json.dumps(metrics["held_out"]))


@matching_cli.command("evaluate")
@click.option("--train-share", default=0.8, show_default=True, help="Earliest share of requests to fit on.")
@click.option("--resamples", default=500, show_default=True, help="Bootstrap resamples.")
@click.option("--seed", default=0, show_default=True)
@click.option("--all-requests", is_flag=True, help=(
    "Judge on every held-out request (gains propensity-weighted), not only those shown in a random order."))
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
def evaluate(train_share, resamples, seed, all_requests, as_json):
    """Fixed weights vs a model fitted on the earlier requests, on the later ones, with bootstrap 95% CIs."""
    try:
        with unit_of_work():
            result = services.evaluate_models(train_share, resamples, seed, randomised=not all_requests)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(format_evaluation(result))


def _cell(entry):
    if entry["value"] is None:
        return "n/a".ljust(26)
    low, high = entry["low"], entry["high"]
    interval = f"[{low:+.4f}, {high:+.4f}]" if low is not None else ""
    return f"{entry['value']:+.4f} {interval}".ljust(26)


def format_evaluation(result):
    which = "shown in a random order" if result["randomised"] else "all"
    lines = [f"held-out requests: {result['requests']['test']} ({which}; fitted on {result['requests']['train']})",
             f"{'metric':12} {'fixed (95% CI)':26} {'learned (95% CI)':26} {'learned - fixed (95% CI)':26}"]
    for metric, entry in result["metrics"].items():
        lines.append(f"{metric:12} {_cell(entry['fixed'])} {_cell(entry['learned'])} {_cell(entry['difference'])}")
    lines.append("examination propensity by rank (gains divided by it): " + ", ".join(
        f"{rank}: {value:.2f}" for rank, value in result["propensities"].items()))
    lines.append("learned weights: " + ", ".join(f"{name} {value:.3f}"
                                                for name, value in result["weights"]["learned"].items()))
    return "\n".join(lines)


def register(app):
    app.cli.add_command(matching_cli)
