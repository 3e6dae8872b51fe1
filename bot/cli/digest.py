"""`modeltrail digest …`: preview, send now, who gets it, and the delivery ledger.
Registered on `cli.app` by importing this module (see the import line in cli.py)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from modeltrail.bot.cli.common import (
    actor_for,
    app,
    load_settings,
    open_registry,
    parse_moment,
    print_json,
    say,
)

# The period option shared by preview and send.
DAYS = click.option(
    "--days",
    type=click.IntRange(min=1),
    default=7,
    show_default=True,
    help="Period: the last N days, today (or --until's day) included.",
)


@app.group()
def digest() -> None:
    """The digest email: what happened per model in a period (`modeltrail serve` sends it on
    MODELTRAIL_DIGEST_SCHEDULE)."""


@digest.command()
@DAYS
@click.option("--model", "models", multiple=True, help="Only this model. Repeatable.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "text", "eml"]),
    default="text",
    show_default=True,
    help="html opens in a browser (charts embedded); eml is the whole email as sent.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.")
@click.option(
    "--until",
    metavar="DATE",
    help="End of the period (2026-11-22 means the end of that day; default: now).",
)
@click.option("--no-charts", is_flag=True, help="Leave the metric charts out (faster).")
def preview(
    days: int,
    models: tuple[str, ...],
    fmt: str,
    out: Path | None,
    until: str | None,
    no_charts: bool,
) -> None:
    """Render the digest without sending it."""
    from modeltrail.bot.digest_jobs import (
        email_for,
        manual_window,
        render_digest,
        summarizer_from_settings,
    )
    from modeltrail.bot.web.links import linker
    from modeltrail.core.digest.period import load_digest

    settings = load_settings()
    now = _until(until)
    registry = open_registry()
    try:
        window = manual_window(settings, days=days, now=now)
        data = load_digest(registry, window, models=list(models) or None, now=now)
        rendered = render_digest(
            data,
            summarize=summarizer_from_settings(settings, registry),
            charts=not no_charts and fmt != "text",  # the text digest has no images
            inline="data" if fmt == "html" else "cid",
            link=linker(settings, now),
        )
    finally:
        registry.close()
    if fmt == "eml":
        message = email_for(
            rendered,
            sender=settings.digest_from or "modeltrail@localhost",
            recipient=(settings.digest_to or ("you@example.com",))[0],
            now=now,
        ).message
        payload = message.as_bytes()
        if out is None:
            sys.stdout.write(payload.decode("utf-8", "replace"))
        else:
            out.write_bytes(payload)
            say(f"wrote {out} ({len(payload):,} bytes): {rendered.subject}")
        return
    text = rendered.html if fmt == "html" else rendered.text
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        say(f"wrote {out}: {rendered.subject}")


@digest.command()
@DAYS
@click.option(
    "--to",
    "to",
    metavar="ADDR,...",
    help="Recipients (default: MODELTRAIL_DIGEST_TO and the addresses set per model).",
)
@click.option("--model", "models", multiple=True, help="Only this model. Repeatable.")
@click.option(
    "--until",
    metavar="DATE",
    help="End of the period (2026-11-22 means the end of that day; default: now).",
)
@click.option("--json", "as_json", is_flag=True, help="Per-recipient results as JSON.")
def send(
    days: int, to: str | None, models: tuple[str, ...], until: str | None, as_json: bool
) -> None:
    """Send the digest now, over SMTP_HOST; exits 1 unless every recipient got it."""
    from modeltrail.bot.digest_jobs import (
        RenderedDigest,
        audiences,
        email_for,
        manual_window,
        render_digest,
        split_addresses,
        summarizer_from_settings,
    )
    from modeltrail.bot.mail import SmtpConfig, SmtpMailer
    from modeltrail.bot.web.links import linker
    from modeltrail.core.digest.period import load_digest
    from modeltrail.core.errors import UsageError

    settings = load_settings()
    mailer = SmtpMailer(SmtpConfig.from_settings(settings))
    registry = open_registry()
    try:
        explicit = split_addresses(to)
        who: dict[str, tuple[str, ...] | None]
        if explicit:
            who = dict.fromkeys(explicit)
        else:
            who = {r: m for r, m in audiences(registry, settings).items() if "@" in r}
        if not who:
            raise UsageError(
                "nobody to send the digest to",
                hint="--to ADDR,... or MODELTRAIL_DIGEST_TO, "
                "or `modeltrail digest recipients MODEL --to ADDR`",
            )
        now = _until(until)
        window = manual_window(settings, days=days, now=now)
        data = load_digest(registry, window, models=list(models) or None, now=now)
        summarize = summarizer_from_settings(settings, registry)
        pages: dict[tuple[str, ...] | None, RenderedDigest] = {}
        outgoing = []
        sender = settings.digest_from or "modeltrail@localhost"
        for address, subset in who.items():
            if subset not in pages:
                pages[subset] = render_digest(
                    data.only(subset), summarize=summarize, link=linker(settings, now)
                )
            page = pages[subset]
            outgoing.append(email_for(page, sender=sender, recipient=address, now=now))
    finally:
        registry.close()
    results = mailer.send(outgoing)
    if as_json:
        print_json(
            [{"recipient": r.recipient, "status": r.status, "detail": r.detail} for r in results]
        )
    else:
        for result in results:
            if result.ok:
                say(f"sent to {result.recipient}")
            else:
                word = "REJECTED" if result.status == "rejected" else "NOT SENT"
                say(f"{word} {result.recipient}: {result.detail}")
    if not all(r.ok for r in results):
        raise SystemExit(1)


def _until(text: str | None) -> dt.datetime:
    from modeltrail.core.registry.writer import utcnow

    return utcnow() if text is None else parse_moment(text)


@digest.command()
@click.argument("model")
@click.option("--to", "to", metavar="ADDR,...", help="Set the addresses that follow MODEL.")
@click.option("--clear", is_flag=True, help="Nobody follows MODEL any more.")
@click.option("--actor")
def recipients(model: str, to: str | None, clear: bool, actor: str | None) -> None:
    """Show or set who gets MODEL in their digest (a team's addresses), besides
    MODELTRAIL_DIGEST_TO, which gets every model."""
    from modeltrail.bot.digest_jobs import RECIPIENTS_SETTING, split_addresses

    registry = open_registry()
    try:
        if clear or to is not None:
            addresses = [] if clear else list(split_addresses(to))
            registry.set_model_setting(model, RECIPIENTS_SETTING, addresses, actor=actor_for(actor))
        current = registry.model_setting(model, RECIPIENTS_SETTING) or []
    finally:
        registry.close()
    everyone = load_settings().digest_to
    say(f"{model}: {', '.join(current) if current else 'no addresses of its own'}")
    if everyone:
        say(f"plus everyone in MODELTRAIL_DIGEST_TO: {', '.join(everyone)}")


@digest.command()
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def status(limit: int, as_json: bool) -> None:
    """The delivery ledger: each period's digest per recipient (sent, rejected, pending with
    its next attempt, failed)."""
    from modeltrail.core.digest.ledger import DigestLedger

    registry = open_registry()
    try:
        rows = DigestLedger(registry.engine).deliveries(limit=limit)
    finally:
        registry.close()
    if as_json:
        print_json(
            [
                {
                    "period": r.period_key,
                    "recipient": r.recipient,
                    "status": r.status,
                    "attempts": r.attempts,
                    "next_attempt_at": r.next_attempt_at.isoformat(),
                    "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                    "error": r.last_error,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        say("no digest deliveries yet")
        return
    for r in rows:
        extra = ""
        if r.status == "sent" and r.sent_at:
            extra = f" at {r.sent_at:%Y-%m-%d %H:%M} UTC"
        elif r.status == "pending":
            extra = f", attempt {r.attempts + 1} at {r.next_attempt_at:%Y-%m-%d %H:%M} UTC"
        if r.last_error and r.status != "sent":
            extra += f" ({r.last_error})"
        say(f"{r.period_key}  {r.recipient}  {r.status}{extra}")


@digest.command()
def retry() -> None:
    """Try again the deliveries that ran out of attempts."""
    from modeltrail.core.digest.ledger import DigestLedger
    from modeltrail.core.registry.writer import utcnow

    registry = open_registry()
    try:
        count = DigestLedger(registry.engine).retry_failed(now=utcnow())
    finally:
        registry.close()
    say(f"{count} deliver{'y' if count == 1 else 'ies'} queued again")
