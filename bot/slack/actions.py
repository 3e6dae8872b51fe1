"""What the buttons and modals do: listeners registered on the Bolt app by `register`.

Clicks are acked at once and handled in lazy listeners (Bolt verified the signature and the
timestamp before any of this runs): Full diff and Changelog answer ephemerally; Roll back,
Approve and Reject check who clicked (owners and admins; a polite no otherwise) and open a
modal. A modal's submission is handled inside its ack, because that is where Slack takes
field errors ("production changed meanwhile", "already approved"); the follow-up messages go
out on a small bounded pool, so the ack never waits for them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from modeltrail.bot.slack import reports, requests_flow, views
from modeltrail.bot.slack.blocks import Message, cut
from modeltrail.bot.slack.handlers import CommandHandler, refusal
from modeltrail.bot.slack.people import People
from modeltrail.bot.slack.talk import Asker
from modeltrail.core.errors import ModeltrailError
from modeltrail.templates.render import slack as esc

log = logging.getLogger("modeltrail.slack.actions")

FOLLOW_UP_WORKERS = 2


def register(
    app: App,
    handler: CommandHandler,
    people: People,
    client: WebClient,
    *,
    once: Callable[[Callable[..., None]], Callable[..., None]],
) -> None:
    """`once` wraps a lazy listener so that a replayed click runs nothing (app.py)."""
    registry = handler.registry
    pool = ThreadPoolExecutor(max_workers=FOLLOW_UP_WORKERS, thread_name_prefix="slack-follow")

    def ack_click(ack: Callable[..., None]) -> None:
        ack()

    def asker_of(body: dict[str, Any]) -> Asker:
        user = body.get("user") or {}
        user_id = str(user.get("id", ""))
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        return Asker(
            user_id,
            people.name(user_id) or user.get("username") or user.get("name"),
            channel,
            body.get("response_url"),
        )

    def clicked(body: dict[str, Any]) -> dict[str, Any]:
        actions = body.get("actions") or [{}]
        return views.read_value(actions[0].get("value"))

    def say(respond: Callable[..., Any], messages: list[Message]) -> None:
        for message in messages:
            respond(**message.payload(), response_type="ephemeral", replace_original=False)

    def guarded(work: Callable[[dict[str, Any], Any], None]) -> Callable[..., None]:
        """A click's lazy work: our errors become a short ephemeral line, bugs a sorry."""

        def run(body: dict[str, Any], respond: Callable[..., Any]) -> None:
            try:
                work(body, respond)
            except ModeltrailError as exc:
                text = exc.message + (f"\n{exc.hint}" if exc.hint else "")
                say(respond, [reports.text_message(esc(text))])
            except Exception:
                log.exception("a button click failed")
                say(respond, [reports.text_message("Sorry, that failed on my side; see the log.")])

        return run

    def full_diff(body: dict[str, Any], respond: Callable[..., Any]) -> None:
        from modeltrail.core.registry.compare import compare

        data = clicked(body)
        model, old, new = data.get("m"), data.get("a"), data.get("b")
        if not all(isinstance(x, str) for x in (model, old, new)):
            return say(respond, [_not_ours()])
        say(respond, reports.diff_message(compare(registry, str(model), str(old), str(new))))

    def show_changelog(body: dict[str, Any], respond: Callable[..., Any]) -> None:
        from modeltrail.core.registry.compare import changelog

        model = clicked(body).get("m")
        if not isinstance(model, str):
            return say(respond, [_not_ours()])
        say(respond, reports.changelog_message(model, changelog(registry, model)))

    def roll_back(body: dict[str, Any], respond: Callable[..., Any]) -> None:
        data, asker = clicked(body), asker_of(body)
        model = data.get("m")
        if not isinstance(model, str):
            return say(respond, [_not_ours()])
        if not handler.may_change(model, asker.user_id):
            return say(respond, [refusal(handler, model, "roll back versions")])
        current = registry.model_state(model).production
        if current != data.get("p"):
            return say(
                respond,
                [
                    reports.text_message(
                        f"*{esc(model)}*'s production is {current or 'empty'} now, "
                        f"not {esc(str(data.get('p')))}: this report is out of date."
                    )
                ],
            )
        view = requests_flow.rollback_modal(
            registry, model, channel=asker.channel_id, respond=asker.response_url
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    def decide(kind: str) -> Callable[[dict[str, Any], Any], None]:
        def work(body: dict[str, Any], respond: Callable[..., Any]) -> None:
            from modeltrail.core.lifecycle.approvals import (
                check_approval,
                check_rejection,
                check_still_wanted,
            )
            from modeltrail.core.registry.base import utcnow

            data, asker = clicked(body), asker_of(body)
            request_id = data.get("r")
            if not isinstance(request_id, int):
                return say(respond, [_not_ours()])
            request = registry.promotion_request(request_id)
            if not handler.may_change(request.model, asker.user_id):
                return say(respond, [refusal(handler, request.model, f"{kind} promotions")])
            if kind == "approve":
                check_approval(request, asker.actor, utcnow())  # expired, decided, your own
                check_still_wanted(request, registry.model_state(request.model))
            else:
                check_rejection(request, utcnow())
            ts = (body.get("container") or {}).get("message_ts")
            make = requests_flow.approve_modal if kind == "approve" else requests_flow.reject_modal
            view = make(request, channel=asker.channel_id, ts=ts)
            client.views_open(trigger_id=body["trigger_id"], view=view)

        return work

    for action_id, work in (
        (views.DIFF, full_diff),
        (views.CHANGELOG, show_changelog),
        (views.ROLLBACK, roll_back),
        (views.APPROVE, decide("approve")),
        (views.REJECT, decide("reject")),
    ):
        app.action(action_id)(ack=ack_click, lazy=[once(guarded(work))])

    def submitted(ack: Callable[..., None], body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = views.read_value(view.get("private_metadata"))
        user = body.get("user") or {}
        user_id = str(user.get("id", ""))
        asker = Asker(user_id, people.name(user_id) or user.get("username"), meta.get("c"))
        try:
            messages, request = requests_flow.apply_modal(
                handler, meta, views.submitted_reason(view), asker
            )
        except ModeltrailError as exc:
            text = exc.message + (f" ({exc.hint})" if exc.hint else "")
            ack(response_action="errors", errors={views.REASON_BLOCK: cut(text, 300)})
            return
        except Exception:
            log.exception("a dialog's submission failed")
            ack(response_action="errors", errors={views.REASON_BLOCK: "Sorry, that failed."})
            return
        ack()
        pool.submit(_follow_up, client, meta, user_id, messages, request)

    app.view(views.REASON_MODAL)(submitted)


def _follow_up(
    client: WebClient,
    meta: dict[str, Any],
    user_id: str,
    messages: list[Message],
    request: Any,
) -> None:
    """After a modal: tell the person (where the command or click came from) what was done,
    and turn a decided request's channel post into its outcome."""
    try:
        url = meta.get("u")
        channel = meta.get("c")
        for message in messages:
            if isinstance(url, str) and url:
                from slack_sdk.webhook import WebhookClient

                WebhookClient(url).send(
                    **message.payload(), response_type="ephemeral", replace_original=False
                )
            elif isinstance(channel, str) and channel:
                client.chat_postEphemeral(channel=channel, user=user_id, **message.payload())
        ts = meta.get("ts")
        if request is not None and isinstance(channel, str) and isinstance(ts, str):
            state = "approved" if request.status == "approved" else request.status
            if state in ("approved", "rejected"):
                done = requests_flow.decided_message(request, state)
                client.chat_update(channel=channel, ts=ts, **done.payload())
    except Exception:  # the change is made; only the telling failed
        log.exception("telling about a dialog's outcome failed")


def _not_ours() -> Message:
    return reports.text_message("That button is not one of mine (or it is out of date).")
