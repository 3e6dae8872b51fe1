"""The Bolt app: the slash command, mentions and direct messages, wired to the registry.

Listeners are thin: ack at once (Slack's limit is 3 s), do the work in a lazy listener that
Bolt runs on a worker thread, answer with `respond()` (ephemeral unless the user said
`public`) or in the thread. Event retries from Slack (`X-Slack-Retry-Num`) never cause a
second answer: each event ID is recorded once in the registry database. Nor does a replayed
request (the same signed bytes sent again within Slack's 5-minute window): each signature is
recorded once too, and a replay is answered 200 with nothing done.

Those records are written by the lazy listener, before its work (`_EventLedger.once`), not
before the ack: a write per request in the ack's path was most of its latency under load
(p99 ~200 ms for 20 requests at once, ~90 ms without it). A modal's submission is the
exception: its work runs inside the ack, so it is checked there.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient

from modeltrail.bot.slack import actions, home
from modeltrail.bot.slack.blocks import Message
from modeltrail.bot.slack.handlers import Answerer, Asker, CommandHandler
from modeltrail.bot.slack.link import SlackLink
from modeltrail.bot.slack.people import Access, People
from modeltrail.core.config import Settings
from modeltrail.core.errors import ConfigError
from modeltrail.core.registry.writer import Registry, utcnow

log = logging.getLogger("modeltrail.slack")

# Threads for the slow work after the ack (diffs, reports, the LLM). Few on purpose: the work
# is mostly CPU under one GIL, and every extra busy thread takes GIL time from the acks.
LAZY_WORKERS = 4


def web_client(settings: Settings) -> WebClient:
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set", hint="see README: Connect to Slack")
    base = (
        settings.slack_api_url
        if settings.slack_api_url.endswith("/")
        else settings.slack_api_url + "/"
    )
    return WebClient(token=settings.slack_bot_token, base_url=base, timeout=10)


def build_app(
    settings: Settings,
    registry: Registry,
    *,
    client: WebClient | None = None,
    answer: Answerer | None = None,
    link: SlackLink | None = None,
) -> App:
    """The Bolt app for HTTP or Socket Mode. `answer` handles free-text questions (the
    assistant); without it the bot explains the slash command instead. `link` knows the
    bot's identity once Slack has answered; building the app never calls Slack."""
    if not settings.slack_signing_secret and not settings.slack_app_token:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set (needed to verify requests from Slack)",
            hint="see README: Connect to Slack",
        )
    client = client or web_client(settings)
    link = link or SlackLink(client)

    def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> Any:
        # Instead of Bolt's auth.test at start (fatal when Slack is unreachable) and on the
        # first request (in the ack's path): the identity SlackLink learnt in the background.
        from slack_bolt.authorization import AuthorizeResult

        identity = link.identity or {}
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or identity.get("team_id"),
            bot_user_id=identity.get("user_id"),
            bot_id=identity.get("bot_id"),
            bot_token=client.token,
            user_id=user_id,
        )

    app = App(
        client=client,
        authorize=authorize,
        signing_secret=settings.slack_signing_secret or "socket-mode",
        request_verification_enabled=bool(settings.slack_signing_secret),
        # Ack in the request thread and hand the work to the lazy listeners: with False, Bolt
        # queues the ack on the same executor as the lazy work and polls for it every 10 ms,
        # so under load acks wait behind diffs (p99 ~250 ms for 20 concurrent commands).
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(
            max_workers=LAZY_WORKERS, thread_name_prefix="slack-lazy"
        ),
        logger=_bolt_logger(),
    )
    people = People(client)
    handler = CommandHandler(
        registry, settings, answer=answer, access=Access(registry, settings, people)
    )
    seen = _EventLedger(registry)

    @app.middleware
    def note_deliveries(
        req: BoltRequest, body: dict[str, Any], next: Callable[[], BoltResponse]
    ) -> Any:
        # Bolt has checked the signature and that its timestamp is within 5 minutes; the
        # same signature again is the same request replayed (by an attacker who captured
        # it, or a proxy), and must not run a second rollback. Socket Mode has no signature.
        # An event ID again is Slack retrying an event we took.
        signature = req.headers.get("x-slack-signature")
        keys = [f"slack-sig:{signature[0]}"] if signature else []
        if body.get("event_id"):
            keys.append(f"slack:{body['event_id']}")
        if body.get("type") == "view_submission":  # its work runs inside the ack
            if not seen.first(keys):
                return BoltResponse(status=200, body="")
        else:
            req.context[_DELIVERY] = keys  # checked by the lazy listener (`seen.once`)
        return next()

    def ack_command(ack: Callable[..., None]) -> None:
        ack()

    def run_command(body: dict[str, Any], respond: Callable[..., Any]) -> None:
        user_id = body.get("user_id", "")
        asker = Asker(
            user_id=user_id,
            user_name=people.name(user_id) or body.get("user_name"),
            channel_id=body.get("channel_id"),
            response_url=body.get("response_url"),
        )
        try:
            reply = handler.handle(body.get("text", ""), asker)
            if reply.modal is not None:
                client.views_open(trigger_id=body.get("trigger_id", ""), view=reply.modal)
                return
        except Exception:  # never silence: the user hears something, the log has the trace
            log.exception("slash command failed")
            reply_messages = [_sorry()]
            respond(**reply_messages[0].payload(), response_type="ephemeral")
            return
        kind = "in_channel" if reply.public else "ephemeral"
        for message in reply.messages:
            respond(**message.payload(), response_type=kind, replace_original=False)

    app.command(settings.slack_command)(ack=ack_command, lazy=[seen.once(run_command)])

    def ack_event(ack: Callable[..., None]) -> None:
        ack()

    def answer_mention(event: dict[str, Any], client: WebClient) -> None:
        text = _without_mentions(event.get("text", ""))
        asker = Asker(event.get("user", ""), None, event.get("channel"))
        messages = _answer(text, asker, answer, settings)
        thread = event.get("thread_ts") or event.get("ts")
        for message in messages:
            client.chat_postMessage(channel=event["channel"], thread_ts=thread, **message.payload())

    def answer_direct(event: dict[str, Any], client: WebClient) -> None:
        if event.get("bot_id") or event.get("subtype") or event.get("channel_type") != "im":
            return
        asker = Asker(event.get("user", ""), None, event.get("channel"))
        for message in _answer(event.get("text", ""), asker, answer, settings):
            client.chat_postMessage(channel=event["channel"], **message.payload())

    app.event("app_mention")(ack=ack_event, lazy=[seen.once(answer_mention)])
    app.event("message")(ack=ack_event, lazy=[seen.once(answer_direct)])
    actions.register(app, handler, people, client, once=seen.once)
    home.register(app, registry, settings, client, once=seen.once)
    return app


def _bolt_logger() -> logging.Logger:
    """Bolt's own logger: it logs whole request bodies at INFO (a bad signature, an unhandled
    request), and those hold user text and response_urls, which act as credentials."""
    bolt = logging.getLogger("modeltrail.slack.bolt")
    if not any(isinstance(f, _NoBodies) for f in bolt.filters):
        bolt.addFilter(_NoBodies())
    return bolt


class _NoBodies(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING and "body" not in str(record.msg).lower()


def _answer(text: str, asker: Asker, answer: Answerer | None, settings: Settings) -> list[Message]:
    from modeltrail.bot.slack import reports
    from modeltrail.bot.slack.commands import usage_text

    if answer is not None and text.strip():
        try:
            return answer(text, asker)
        except Exception:
            log.exception("answering a question failed")
            return [_sorry()]
    return [
        reports.text_message(
            "I answer questions about model versions through the slash command:\n"
            + usage_text(settings.slack_command)
        )
    ]


def _sorry() -> Message:
    from modeltrail.bot.slack import reports

    return reports.text_message(
        "Sorry, something went wrong on my side while answering; the error is in the bot's log."
    )


def _without_mentions(text: str) -> str:
    import re

    return re.sub(r"<@[A-Z0-9]+>", "", text).strip()


class _EventLedger:
    """Event IDs and request signatures already taken, in the registry database so that
    replicas share them."""

    # Bolt refuses requests signed more than 5 minutes ago, so a signature need only be
    # remembered a little longer than that.
    SIGNATURE_WINDOW = dt.timedelta(minutes=10)

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._pruned = 0.0

    def first(self, keys: list[str]) -> bool:
        """Record each key; False (and a warning) when one was recorded before."""
        if any(k.startswith("slack-sig:") for k in keys) and time.monotonic() - self._pruned > 60:
            self._pruned = time.monotonic()
            self.registry.forget_events_before("slack-sig:", utcnow() - self.SIGNATURE_WINDOW)
        for key in keys:
            if not self.registry.record_event_once(key):
                log.warning("a repeated Slack delivery was ignored (%s)", key.split(":")[0])
                return False
        return True

    def once(self, work: Callable[..., None]) -> Callable[..., None]:
        """`work` as a lazy listener that runs for the first delivery of a request only.

        Bolt passes a listener the arguments its parameters name, read with getfullargspec
        (so a wrapper cannot borrow `work`'s signature): this one names every argument our
        listeners use and hands `work` those it asks for."""
        wanted = list(inspect.signature(work).parameters)

        def run(
            context: BoltContext,
            body: dict[str, Any],
            event: dict[str, Any] | None,
            respond: Any,
            client: WebClient,
        ) -> None:
            if not self.first(list(context.get(_DELIVERY) or [])):
                return
            given = {"body": body, "event": event, "respond": respond, "client": client}
            work(**{name: given[name] for name in wanted})

        return run


_DELIVERY = "modeltrail_delivery_keys"  # context key: the ledger keys of this request
