"""Digest jobs: render a digest, preview it, send it now, and send it on a schedule.

- `render_digest` turns a `Digest` (core/digest/period.py) into a subject, a text and an HTML body
  and the chart images. The summary at the top is the `summarize` callable's (the LLM's) when
  it returns text, otherwise the automatic one from the templates, marked as such.
- `send_now` sends to the given addresses at once and reports per recipient.
- `DigestScheduler` is what `modeltrail serve` runs: each round it adds the current period's
  (period, recipient) rows to the ledger (core/digest/ledger.py; a no-op when they exist) and
  delivers the rows that are due. SMTP down: the rows go back with backoff. A recipient the
  server rejects: recorded and reported, the others are still sent. Several schedulers on one
  PostgreSQL registry, or a restarted one, never send a period twice to anyone.

Recipients: `MODELTRAIL_DIGEST_TO` gets every model; `modeltrail digest recipients MODEL --to`
adds addresses that get only the models they follow (a team's digest); with
`MODELTRAIL_DIGEST_SLACK=true` the channel `MODELTRAIL_SLACK_CHANNEL` is a recipient too
(`slack:CHANNEL` in the ledger).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from modeltrail.bot.mail import Mailer, MailResult, Outgoing, build_message
from modeltrail.bot.web.links import Linker, linker
from modeltrail.core.config import Settings
from modeltrail.core.digest.ledger import Delivery, DigestLedger
from modeltrail.core.digest.period import Digest, load_digest
from modeltrail.core.digest.schedule import (
    Schedule,
    Window,
    current_window,
    next_run,
    parse_schedule,
    trailing_window,
    zone,
)
from modeltrail.core.errors import ModeltrailError, UsageError
from modeltrail.core.registry.writer import Registry, utcnow
from modeltrail.templates.render import environment, render

log = logging.getLogger("modeltrail.digest")

Summarizer = Callable[[Digest], str | None]
SlackPost = Callable[[str, str], None]  # (channel, mrkdwn text); raises when not posted
RECIPIENTS_SETTING = "digest.to"
SLACK_PREFIX = "slack:"


@dataclass(frozen=True)
class RenderedDigest:
    digest: Digest
    subject: str
    text: str
    html: str
    images: tuple[Any, ...]  # charts.Chart
    summary: str
    summary_source: Literal["llm", "template"]


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery in a round: sent, rejected (for good), pending (retried
    later), failed (out of attempts) or lost (another process took it over)."""

    recipient: str
    period_key: str
    status: str
    detail: str = ""


# -- rendering ---------------------------------------------------------------------------------


def summary_of(
    digest: Digest, summarize: Summarizer | None
) -> tuple[str, Literal["llm", "template"]]:
    if summarize is not None:
        try:
            text = summarize(digest)
        except Exception:  # the LLM side must never cost us the digest
            log.exception("the digest summary failed; using the automatic one")
            text = None
        if text and text.strip():
            return " ".join(text.split()), "llm"
    automatic = render("digest_summary.txt.j2", "text", digest=digest)
    return " ".join(automatic.split()), "template"


def render_digest(
    digest: Digest,
    *,
    summarize: Summarizer | None = None,
    charts: bool = True,
    inline: Literal["cid", "data"] = "cid",
    link: Linker | None = None,
) -> RenderedDigest:
    """`inline="cid"` for email (images as related parts), `"data"` for a browser preview;
    `link` makes the link to each model's page (see bot/web/links.py)."""
    images = _charts(digest) if charts else []
    sources = {
        (c.model, c.metric): {
            "src": f"cid:{c.cid}"
            if inline == "cid"
            else "data:image/png;base64," + base64.b64encode(c.png).decode("ascii"),
            "alt": c.alt,
        }
        for c in images
    }
    summary, source = summary_of(digest, summarize)
    context = {
        "digest": digest,
        "summary": summary,
        "summary_source": source,
        "charts": sources,
        "at": _local_time(digest.window.timezone),
        "links": {m.model: link(m.model) for m in digest.models} if link else {},
    }
    subject = " ".join(render("digest_subject.txt.j2", "text", digest=digest).split())
    return RenderedDigest(
        digest=digest,
        subject=subject,
        text=render("digest.txt.j2", "text", **context),
        html=render("digest.html.j2", "html", **context),
        images=tuple(images),
        summary=summary,
        summary_source=source,
    )


def slack_text(rendered: RenderedDigest) -> str:
    return (
        environment("slack")
        .get_template("digest.slack.j2")
        .render(
            digest=rendered.digest,
            summary=rendered.summary,
            summary_source=rendered.summary_source,
        )
        .strip()
    )


def _charts(digest: Digest) -> list[Any]:
    from modeltrail.core.extras import require

    require("digest", "drawing the digest's metric charts")
    from modeltrail.bot.charts import draw  # matplotlib: only when a digest is drawn

    return [
        draw(model.model, trend)  # cached per trend
        for model in digest.active  # quiet models show no trends
        for trend in model.trends
        if len(trend.points) >= 2
    ]


def _local_time(timezone: str) -> Callable[[dt.datetime], str]:
    tz = zone(timezone)

    def at(moment: dt.datetime | None) -> str:
        if moment is None:
            return "—"
        local = moment.astimezone(tz)
        return f"{local:%a %b} {local.day}, {local:%H:%M}"

    return at


def email_for(
    rendered: RenderedDigest,
    *,
    sender: str,
    recipient: str,
    now: dt.datetime,
    message_id: str | None = None,
) -> Outgoing:
    message = build_message(
        subject=rendered.subject,
        sender=sender,
        recipient=recipient,
        text=rendered.text,
        html=rendered.html,
        images=[c.image() for c in rendered.images],
        message_id=message_id,
        date=now,
    )
    return Outgoing(recipient, message)


def ledger_message_id(period_key: str, recipient: str) -> str:
    """The same for every attempt at one delivery, so a client shows a retried send once."""
    digest = hashlib.sha256(f"{period_key}\0{recipient}".encode()).hexdigest()[:24]
    return f"<digest.{digest}@modeltrail>"


# -- who gets what -----------------------------------------------------------------------------


def audiences(registry: Registry, settings: Settings) -> dict[str, tuple[str, ...] | None]:
    """Recipient → the models they get (None: all). Addresses in MODELTRAIL_DIGEST_TO get all;
    addresses set per model get those models; the Slack channel, when enabled, gets all."""
    result: dict[str, tuple[str, ...] | None] = {}
    for address in settings.digest_to:
        result[address] = None
    following: dict[str, list[str]] = {}
    for model in registry.list_models():
        try:
            addresses = registry.model_setting(model.name, RECIPIENTS_SETTING) or []
        except ModeltrailError:
            continue
        for address in addresses:
            following.setdefault(address, []).append(model.name)
    for address, models in following.items():
        if address not in result:
            result[address] = tuple(sorted(models))
    if settings.digest_slack and settings.slack_channel:
        result[SLACK_PREFIX + settings.slack_channel] = None
    return result


def split_addresses(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    addresses = tuple(a.strip() for a in text.replace(";", ",").split(",") if a.strip())
    for address in addresses:
        if "@" not in address or any(c.isspace() for c in address):
            raise UsageError(f"{address!r} is not an email address")
    return addresses


# -- preview and send now -----------------------------------------------------------------------


def manual_window(settings: Settings, *, days: int, now: dt.datetime) -> Window:
    return trailing_window(now, days, zone(settings.timezone))


def send_now(
    registry: Registry,
    settings: Settings,
    mailer: Mailer,
    *,
    recipients: Sequence[str],
    days: int = 7,
    models: Sequence[str] | None = None,
    now: dt.datetime | None = None,
    summarize: Summarizer | None = None,
) -> list[MailResult]:
    """Send the last `days` days' digest to `recipients` right away (no ledger: a person
    asked for it and sees the result)."""
    now = now or utcnow()
    window = manual_window(settings, days=days, now=now)
    rendered = render_digest(
        load_digest(registry, window, models=models, now=now),
        summarize=summarize,
        link=linker(settings, now),
    )
    sender = settings.digest_from or "modeltrail@localhost"
    return mailer.send(
        [email_for(rendered, sender=sender, recipient=r, now=now) for r in recipients]
    )


# -- on a schedule ------------------------------------------------------------------------------


class DigestScheduler:
    def __init__(
        self,
        registry: Registry,
        settings: Settings,
        mailer: Mailer,
        *,
        schedule: Schedule | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        summarize: Summarizer | None = None,
        slack_post: SlackPost | None = None,
        ledger: DigestLedger | None = None,
    ) -> None:
        if schedule is None:
            if not settings.digest_schedule:
                raise UsageError("no digest schedule", hint="set MODELTRAIL_DIGEST_SCHEDULE")
            schedule = parse_schedule(settings.digest_schedule)
        self.registry = registry
        self.settings = settings
        self.mailer = mailer
        self.schedule = schedule
        self.tz = zone(settings.timezone)
        self.clock = clock
        self.summarize = summarize
        self.slack_post = slack_post
        self.ledger = ledger or DigestLedger(registry.engine)
        self._queued: tuple[str, frozenset[str]] | None = None  # what this process enqueued

    def current_window(self) -> Window:
        return current_window(self.schedule, self.clock(), self.tz)

    def next_run(self) -> dt.datetime:
        return next_run(self.schedule, self.clock(), self.tz)

    def run_once(self) -> list[Outcome]:
        """Queue the current period for every recipient (once), then deliver what is due."""
        now = self.clock()
        recipients = audiences(self.registry, self.settings)
        window = self.current_window()
        queued = (window.key, frozenset(recipients))
        if queued != self._queued:  # the insert is idempotent; this only saves the writes
            added = self.ledger.enqueue(window, recipients, now=now)
            if added:
                log.info("digest %s queued for %d recipient(s)", window.key, added)
            self._queued = queued
        return self.deliver_due(recipients)

    def deliver_due(
        self, recipients: Mapping[str, tuple[str, ...] | None] | None = None
    ) -> list[Outcome]:
        claimed = self.ledger.claim(now=self.clock())
        if not claimed:
            return []
        if recipients is None:
            recipients = audiences(self.registry, self.settings)
        by_period: dict[str, list[Delivery]] = {}
        for delivery in claimed:
            by_period.setdefault(delivery.period_key, []).append(delivery)
        outcomes: list[Outcome] = []
        for rows in by_period.values():
            outcomes.extend(self._deliver_period(rows, recipients))
        for outcome in outcomes:
            if outcome.status == "rejected":
                log.warning("digest to %s rejected: %s", outcome.recipient, outcome.detail)
            elif outcome.status in ("pending", "failed"):
                log.warning(
                    "digest to %s not sent (%s): %s",
                    outcome.recipient,
                    outcome.status,
                    outcome.detail,
                )
        return outcomes

    def _deliver_period(
        self, rows: list[Delivery], recipients: Mapping[str, tuple[str, ...] | None]
    ) -> list[Outcome]:
        window = rows[0].window
        now = self.clock()
        try:
            digest = load_digest(self.registry, window, now=now)
        except Exception as exc:  # keep the rows; a person can look at last_error
            log.exception("building the digest %s failed", window.key)
            return [self._defer(row, f"{type(exc).__name__}: {exc}") for row in rows]
        rendered: dict[Any, RenderedDigest] = {}
        emails: list[tuple[Delivery, Outgoing]] = []
        outcomes: list[Outcome] = []
        slack_rows: list[tuple[Delivery, RenderedDigest]] = []
        sender = self.settings.digest_from or "modeltrail@localhost"
        for row in rows:
            models = recipients.get(row.recipient)
            try:
                if models not in rendered:
                    rendered[models] = render_digest(
                        digest.only(models),
                        summarize=self.summarize,
                        link=linker(self.settings, now),
                    )
                page = rendered[models]
                if row.recipient.startswith(SLACK_PREFIX):
                    slack_rows.append((row, page))
                else:
                    message_id = ledger_message_id(row.period_key, row.recipient)
                    outgoing = email_for(
                        page, sender=sender, recipient=row.recipient, now=now, message_id=message_id
                    )
                    emails.append((row, outgoing))
            except Exception as exc:
                log.exception("rendering the digest for %s failed", row.recipient)
                outcomes.append(self._defer(row, f"{type(exc).__name__}: {exc}"))
        # Rendering (the LLM summary) may have outlasted the lease: send only the rows still
        # ours, so a scheduler that took them over meanwhile is the only one to send them.
        emails = [(row, o) for row, o in emails if self._still_held(row, outcomes)]
        slack_rows = [(row, p) for row, p in slack_rows if self._still_held(row, outcomes)]
        if emails:
            try:
                results = self.mailer.send([o for _, o in emails])
            except Exception as exc:
                log.exception("the mailer failed")
                results = [MailResult(o.recipient, "deferred", str(exc)) for _, o in emails]
            for (row, outgoing), result in zip(emails, results, strict=True):
                outcomes.append(self._settle(row, result, outgoing))
        for row, page in slack_rows:
            outcomes.append(self._post_slack(row, page))
        return outcomes

    def _still_held(self, row: Delivery, outcomes: list[Outcome]) -> bool:
        if self.ledger.renew(row, now=self.clock()):
            return True
        log.info("digest to %s was taken over by another scheduler; not sending it", row.recipient)
        outcomes.append(Outcome(row.recipient, row.period_key, "lost"))
        return False

    def _settle(self, row: Delivery, result: MailResult, outgoing: Outgoing) -> Outcome:
        if result.status == "sent":
            recorded = self.ledger.sent(
                row, now=self.clock(), message_id=outgoing.message.get("Message-ID")
            )
            return Outcome(row.recipient, row.period_key, "sent" if recorded else "lost")
        if result.status == "rejected":
            recorded = self.ledger.reject(row, result.detail)
            return Outcome(
                row.recipient, row.period_key, "rejected" if recorded else "lost", result.detail
            )
        return self._defer(row, result.detail)

    def _post_slack(self, row: Delivery, page: RenderedDigest) -> Outcome:
        channel = row.recipient[len(SLACK_PREFIX) :]
        if self.slack_post is None:
            return self._defer(row, "Slack is not configured (SLACK_BOT_TOKEN)")
        try:
            self.slack_post(channel, slack_text(page))
        except Exception as exc:
            return self._defer(row, f"Slack: {exc}")
        recorded = self.ledger.sent(row, now=self.clock(), message_id=None)
        return Outcome(row.recipient, row.period_key, "sent" if recorded else "lost")

    def _defer(self, row: Delivery, error: str) -> Outcome:
        status = self.ledger.defer(row, error, now=self.clock())
        return Outcome(row.recipient, row.period_key, status, error)

    def run_forever(self, stop: threading.Event, interval: float = 30.0) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("digest round failed")
            stop.wait(interval)


class _NoSmtp:
    def send(self, outgoing: Sequence[Outgoing]) -> list[MailResult]:
        return [MailResult(o.recipient, "deferred", "SMTP_HOST is not set") for o in outgoing]


def summarizer_from_settings(settings: Settings, registry: Registry) -> Summarizer | None:
    """The LLM's summary of the week, when an LLM is configured. None until the assistant
    offers a digest summary; the automatic one is used meanwhile."""
    try:
        from modeltrail.bot.assistant import summaries
    except ImportError:  # pragma: no cover
        return None
    factory = getattr(summaries, "digest_summarizer", None)
    return factory(settings, registry) if factory is not None else None


def slack_poster(settings: Settings) -> SlackPost | None:
    if not (settings.digest_slack and settings.slack_bot_token):
        return None
    from modeltrail.core.extras import require

    require("slack", "posting the digest to Slack (MODELTRAIL_DIGEST_SLACK)")
    from modeltrail.bot.slack.app import web_client

    client = web_client(settings)

    def post(channel: str, text: str) -> None:
        client.chat_postMessage(
            channel=channel, text=text, mrkdwn=True, unfurl_links=False, unfurl_media=False
        )

    return post


def scheduler_from_settings(settings: Settings, registry: Registry) -> DigestScheduler:
    """The scheduler `serve` runs; raises ConfigError on a bad schedule, timezone or SMTP."""
    from modeltrail.bot.mail import SmtpConfig, SmtpMailer
    from modeltrail.core.extras import require

    # Said at start-up rather than at the first scheduled send, days later.
    require("digest", "drawing the scheduled digest's charts (MODELTRAIL_DIGEST_SCHEDULE is set)")
    mailer: Mailer
    if settings.smtp_host or not settings.digest_slack:
        mailer = SmtpMailer(SmtpConfig.from_settings(settings))
    else:  # a Slack-only digest; addresses set per model wait until SMTP_HOST is set
        mailer = _NoSmtp()
    return DigestScheduler(
        registry,
        settings,
        mailer,
        summarize=summarizer_from_settings(settings, registry),
        slack_post=slack_poster(settings),
    )
