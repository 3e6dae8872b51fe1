"""CLI commands for the running service: `serve`, and per-model notification settings."""

from __future__ import annotations

import logging

import click

from modeltrail.bot.cli.common import actor_for, app, load_settings, open_registry, say


@app.command()
@click.option("--host", help="Listen address (default: MODELTRAIL_HTTP_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (default: MODELTRAIL_HTTP_PORT or 3000).")
@click.option(
    "--workers",
    metavar="N|auto",
    help="HTTP worker processes (default: MODELTRAIL_HTTP_WORKERS or 1); auto: one per CPU.",
)
def serve(host: str | None, port: int | None, workers: str | None) -> None:
    """Run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP on /slack/events),
    /healthz, and the dispatcher that posts change reports."""
    from modeltrail.bot.logs import configure_logging
    from modeltrail.bot.web.server import serve_forever
    from modeltrail.core.config import parse_workers

    settings = load_settings().with_overrides(
        http_host=host, http_port=port, http_workers=parse_workers(workers, "--workers")
    )
    configure_logging(settings)
    # With JSON logs, what serve says on start goes to the log too: one stream, all parseable.
    tell = logging.getLogger("modeltrail.serve").info if settings.log_format == "json" else say
    registry = open_registry()
    try:
        serve_forever(settings, registry, tell)
    finally:
        registry.close()


@app.command()
@click.argument("model")
@click.option(
    "--channel",
    metavar="CHANNEL_ID",
    help="Slack channel for this model's reports "
    "(default: MODELTRAIL_SLACK_CHANNEL); also makes it the channel's default model.",
)
@click.option(
    "--on-register/--no-on-register",
    default=None,
    help="Also post when a version is registered (default: only promotions, "
    "rollbacks, retirements).",
)
@click.option("--actor")
def notify(model: str, channel: str | None, on_register: bool | None, actor: str | None) -> None:
    """Show or set where and when a model's reports are posted."""
    registry = open_registry()
    try:
        who = actor_for(actor) if channel is not None or on_register is not None else ""
        if channel is not None:
            registry.set_model_setting(model, "slack.channel", channel.lstrip("#"), actor=who)
        if on_register is not None:
            registry.set_model_setting(model, "slack.on_register", on_register, actor=who)
        current = registry.model_setting(model, "slack.channel")
        registers = bool(registry.model_setting(model, "slack.on_register"))
    finally:
        registry.close()
    where = current or "the default channel (MODELTRAIL_SLACK_CHANNEL)"
    when = (
        "registrations, promotions, rollbacks and retirements"
        if registers
        else ("promotions, rollbacks and retirements")
    )
    say(f"{model}: reports go to {where} on {when}")
