"""The outbox dispatcher: posts change reports to the model's channel.

It claims `version.promoted`, `version.rolled_back`, `version.retired`, `monitoring.alert`
(drift or decay in production; and, when a model asks for it, `version.registered`) events
from the outbox, builds the report and posts it. Slack down or rate-limited (429 with
Retry-After, 5xx, network errors): the event goes back to the outbox with backoff and is
retried; nothing is lost. Claims are exclusive (see core/outbox) and held one event at a
time, only while posting, and renewed right before each Slack call: a dispatcher paused past
the lease (a slow step, a stalled process) whose event another `serve` took over meanwhile
finds its claim gone and posts nothing. A retry first looks the post up by its event key, so
a post Slack accepted late is not repeated.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from modeltrail.bot.anchor import TOPIC as ANCHOR_TOPIC
from modeltrail.bot.anchor import anchor_message
from modeltrail.bot.slack import reports
from modeltrail.bot.slack.blocks import Message, section, validate
from modeltrail.core.config import Settings
from modeltrail.core.diff.engine import VersionDiff
from modeltrail.core.errors import ModeltrailError
from modeltrail.core.lifecycle.outbox import Outbox, OutboxEvent
from modeltrail.core.registry.writer import Registry, utcnow

log = logging.getLogger("modeltrail.slack.dispatcher")

TOPICS = (
    "version.promoted",
    "version.rolled_back",
    "version.retired",
    "version.registered",
    "version.golden",
    "monitoring.alert",
    ANCHOR_TOPIC,
    "promotion.requested",
)
EVENT_TYPE = "modeltrail_report"  # Slack message metadata type carrying the event key
Summarizer = Callable[[Any], str | None]
FIRST_START = "slack:first-start"  # processed_events key: when a dispatcher first ran here


# Slack errors that no retry will cure: the event goes dead at once (see `outbox list`).
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "not_authed",
        "missing_scope",
        "invalid_blocks",
        "msg_too_long",
        "msg_blocks_too_long",
    }
)


class ClaimLost(Exception):
    """The event's claim ran out and another dispatcher took it over: it posts, not us."""


class Undeliverable(Exception):
    """Delivery failed; `retry_after` comes from Slack when it says, `permanent` when no
    retry can succeed."""

    def __init__(
        self, message: str, retry_after: float | None = None, *, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


@dataclass(frozen=True)
class Prepared:
    """A report ready to post."""

    channel: str
    messages: list[Message]


class SlackDispatcher:
    def __init__(
        self,
        registry: Registry,
        client: WebClient,
        settings: Settings,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        summarize: Summarizer | None = None,
        link: Any = None,  # slack.link.SlackLink: told whether posts reach Slack
    ) -> None:
        self.registry = registry
        self.link = link
        self.client = client
        self.settings = settings
        self.clock = clock
        self.summarize = summarize
        self.outbox = Outbox(registry.engine)

    def run_once(self, limit: int = 10) -> int:
        """Deliver up to `limit` events that are due now; returns how many were handled.

        One event at a time: its report (diffs, the LLM summary: the slow part) is built
        before it is claimed, and the claim is held only while posting, so a slow summary
        never lets the lease run out and a second `serve` post the same event.
        """
        handled = 0
        for _ in range(limit * 3):  # a claim lost to another replica does not count
            if handled >= limit:
                break
            event = self.outbox.peek(now=self.clock(), topics=TOPICS)
            if event is None:
                break
            try:
                prepared: Prepared | Exception | None = self.prepare(event)
            except Exception as exc:  # a bug must not stop the dispatcher; keep the event
                prepared = exc
            claimed = self.outbox.claim_event(event, now=self.clock())
            if claimed is None:
                continue
            handled += 1
            self._settle(claimed, prepared)
        return handled

    def _settle(self, event: OutboxEvent, prepared: Prepared | Exception | None) -> None:
        if isinstance(prepared, Exception):
            log.error(
                "building the report for event %s failed",
                event.id,
                exc_info=(type(prepared), prepared, prepared.__traceback__),
            )
            self.outbox.fail(event, f"{type(prepared).__name__}: {prepared}", now=self.clock())
            return
        if prepared is not None:
            try:
                self.post(prepared.channel, prepared.messages, event=event)
            except ClaimLost:
                log.info("event %s was taken over by another dispatcher; not posting it", event.id)
                return
            except Undeliverable as exc:
                status = self.outbox.fail(
                    event,
                    str(exc),
                    now=self.clock(),
                    retry_after=exc.retry_after,
                    permanent=exc.permanent,
                )
                log.warning("slack post for event %s failed (%s): %s", event.id, status, exc)
                return
            except Exception as exc:
                log.exception("posting the report for event %s failed", event.id)
                self.outbox.fail(event, f"{type(exc).__name__}: {exc}", now=self.clock())
                return
        self.outbox.complete(event, now=self.clock())

    def first_start(self) -> int:
        """The first time a dispatcher runs on this registry, set its past aside: only events
        newer than now are posted (`modeltrail outbox replay --since` posts older ones)."""
        if not self.registry.record_event_once(FIRST_START):
            return 0
        now = self.clock()
        skipped = self.outbox.skip_before(now, topics=TOPICS, now=now)
        log.info(
            "first start on this registry: %d earlier event(s) not posted; "
            "`modeltrail outbox replay --since DATE` posts them",
            skipped,
        )
        return skipped

    def run_forever(self, stop: threading.Event, interval: float = 0.5) -> None:
        try:
            self.first_start()
        except Exception:
            log.exception("setting the registry's past aside failed; posting it")
        while not stop.is_set():
            try:
                handled = self.run_once()
            except Exception:
                log.exception("outbox dispatch round failed")
                handled = 0
            if not handled:
                stop.wait(interval)

    # -- one event ---------------------------------------------------------------------------

    def deliver(self, event: OutboxEvent) -> None:
        """Build and post one (claimed) event's report."""
        prepared = self.prepare(event)
        if prepared is not None:
            self.post(prepared.channel, prepared.messages, event=event)

    def prepare(self, event: OutboxEvent) -> Prepared | None:
        """Where and what to post for `event`; None when nothing is to be posted."""
        if event.topic == ANCHOR_TOPIC:
            channel = str(event.payload.get("channel") or "")
            text = anchor_message(dict(event.payload))
            return Prepared(channel, [Message(text, section(text))]) if channel else None
        model = event.model or event.payload.get("model")
        if model is None:
            return None
        if event.topic == "version.registered" and not self._setting(model, "slack.on_register"):
            return None
        channel = self._setting(model, "slack.channel") or self.settings.slack_channel
        if not channel:
            log.info(
                "no Slack channel for %s (MODELTRAIL_SLACK_CHANNEL); event %s skipped",
                model,
                event.id,
            )
            return None
        return Prepared(str(channel), self.build(event, model))

    def build(self, event: OutboxEvent, model: str) -> list[Message]:
        payload = dict(event.payload)
        payload.setdefault("model", model)
        version = event.version or payload.get("version")
        if event.topic == "version.registered":
            payload["action"] = "register"
            diff = self._diff_with_parent(model, version)
            return reports.move_report(
                payload, diff, summary=self._summary(diff), links=self._links(model, version, diff)
            )
        if event.topic == "version.retired":
            return reports.move_report(payload, None, links=self._links(model, version, None))
        if event.topic == "version.golden":
            payload["action"] = "golden"
            previous = payload.get("previous")
            diff = self._compare(model, previous, version, git=False) if previous else None
            return reports.move_report(payload, diff, links=self._links(model, version, diff))
        if event.topic == "promotion.requested":
            from modeltrail.bot.slack.requests_flow import request_report

            before = payload.get("previous_production")
            diff = self._compare(model, before, version) if before and version else None
            return request_report(payload, diff, summary=self._summary(diff))
        if event.topic == "monitoring.alert":
            return reports.monitoring_alert(payload, command=self.settings.slack_command)
        # promoted / rolled back: compare with the version that was in production before
        before = payload.get("previous_production")
        diff = None
        if before and version and before != version:
            diff = self._compare(model, before, version)
        golden = payload.get("golden")
        golden_diff = None
        if golden and version and golden not in (version, before):
            golden_diff = self._compare(model, golden, version, git=False)
        return reports.move_report(
            payload,
            diff,
            golden_diff=golden_diff,
            summary=self._summary(diff),
            links=self._links(model, version, diff),
        )

    def _links(
        self, model: str, version: str | None, diff: VersionDiff | None
    ) -> list[tuple[str, str]]:
        """Links to the pages, when MODELTRAIL_PUBLIC_URL says where they are."""
        from modeltrail.bot.web.links import linker

        link = linker(self.settings, self.clock())
        if link is None:
            return []
        found = []
        if diff is not None:
            found.append(
                ("See the whole diff", link(model, "diff", diff.old_version, diff.new_version))
            )
        if version:
            found.append((f"{model} {version}", link(model, version)))
        found.append((f"All versions of {model}", link(model)))
        return found

    def post(
        self, channel: str, messages: list[Message], *, event: OutboxEvent | None = None
    ) -> None:
        """Post the report: the first message, then the rest in its thread.

        The first message carries the event's key as message metadata. A retried event
        (Slack may have accepted the earlier attempt and answered after the client gave up)
        looks for that key in the channel's history first, and posts nothing if it is there.
        """
        first, *rest = messages
        key = event.idempotency_key if event is not None else None
        if event is not None and key and event.attempts > 1:
            self._hold(event)
            found = self._posted(channel, key, since=event.created_at)
            if found:
                log.info("event %s was posted already (ts %s); not posting again", event.id, found)
                return
        metadata = {"event_type": EVENT_TYPE, "event_payload": {"key": key}} if key else None
        self._hold(event)  # the lookup may have been slow: still ours?
        response = self._post(channel, first, thread_ts=None, metadata=metadata)
        thread = response.get("ts")
        for message in rest:
            try:
                self._post(channel, message, thread_ts=thread)
            except Undeliverable as exc:
                # The report itself is posted; retrying the event would post it twice.
                log.warning("a continuation of the report in %s failed: %s", channel, exc)

    def _hold(self, event: OutboxEvent | None) -> None:
        """Renew the claim on `event` now (a fresh lease for the Slack call that follows);
        ClaimLost when another dispatcher took it over since we claimed it."""
        if event is None or event.claim_token is None:
            return
        if not self.outbox.renew(event, now=self.clock()):
            raise ClaimLost(event.id)

    def _posted(self, channel: str, key: str, *, since: dt.datetime) -> str | None:
        """The ts of the message carrying `key` in `channel` since `since`, if any."""
        try:
            response = self.client.conversations_history(
                channel=channel,
                oldest=f"{since.timestamp() - 60:.6f}",
                limit=200,
                include_all_metadata=True,
            )
        except SlackApiError as exc:
            # Without channels:history the lookup is impossible; posting may then repeat.
            log.warning(
                "cannot look up earlier posts in %s (%s); posting again",
                channel,
                exc.response.get("error") if hasattr(exc.response, "get") else exc,
            )
            return None
        except OSError as exc:
            raise Undeliverable(f"Slack unreachable: {exc}") from None
        for message in response.get("messages") or []:
            meta = message.get("metadata") or {}
            if (
                meta.get("event_type") == EVENT_TYPE
                and (meta.get("event_payload") or {}).get("key") == key
            ):
                return str(message.get("ts"))
        return None

    def _post(
        self,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None,
        metadata: dict[str, Any] | None = None,
    ) -> Any:
        problems = validate(message.payload())
        if problems:
            raise ModeltrailError(f"refusing to post an invalid message: {'; '.join(problems)}")
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                metadata=metadata,
                unfurl_links=False,
                unfurl_media=False,
                **message.payload(),
            )
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if hasattr(exc.response, "get") else None
            retry_after = None
            if status == 429:
                header = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                    "retry-after"
                )
                retry_after = float(header) if header else 30.0
            raise Undeliverable(
                f"Slack answered {status} ({error})",
                retry_after,
                permanent=status < 500 and status != 429 and error in PERMANENT_ERRORS,
            ) from None
        except OSError as exc:  # connection refused, timeouts, DNS
            if self.link is not None:
                self.link.unreachable(str(exc))
            raise Undeliverable(f"Slack unreachable: {exc}") from None
        if self.link is not None:
            self.link.reached()
        return response

    def _setting(self, model: str, key: str) -> Any:
        try:
            return self.registry.model_setting(model, key)
        except ModeltrailError:
            return None

    def _compare(self, model: str, old: str, new: str, *, git: bool = True) -> Any:
        from modeltrail.core.registry.compare import compare

        try:
            return compare(self.registry, model, old, new, git=git)
        except ModeltrailError as exc:
            log.warning("cannot diff %s %s..%s for the report: %s", model, old, new, exc)
            return None

    def _diff_with_parent(self, model: str, version: str | None) -> Any:
        if version is None:
            return None
        record = self.registry.load(model, version)
        return self._compare(model, record.parent, version) if record.parent else None

    def _summary(self, diff: Any) -> str | None:
        if diff is None or self.summarize is None:
            return None
        try:
            return self.summarize(diff)
        except Exception:
            log.exception("summarizing the diff failed; posting without a summary")
            return None
