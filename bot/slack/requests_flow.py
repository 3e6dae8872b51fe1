"""Promotion requests in Slack, and the modals that ask for a missing reason.

`/model promote MODEL VERSION reason` on a model whose policy needs approval makes a request
(anyone may ask; a request changes nothing by itself); the dispatcher posts it to the model's
channel with the change report and Approve / Reject buttons (`request_report`). Approving
and rejecting are for the model's owners and the admins, never the requester. `/model
requests` lists what waits; `/model policy` shows or (owners) sets the policy.

A stage change given without a reason opens a modal instead (`reason_modal_for`); its
submission comes back to `apply_modal` with what the modal was opened for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modeltrail.bot.slack import reports, views
from modeltrail.bot.slack.blocks import Message, context, divider, header, paginate, section
from modeltrail.bot.slack.commands import SlashCommand
from modeltrail.bot.slack.talk import Asker, Reply, refusal
from modeltrail.core.errors import ModeltrailError, UsageError
from modeltrail.templates.render import slack as esc

if TYPE_CHECKING:
    from modeltrail.core.diff.engine import VersionDiff
    from modeltrail.core.lifecycle.approvals import PromotionRequest
    from modeltrail.core.registry.writer import Registry

SUBCOMMANDS = frozenset({"requests", "policy"})
# `handler` below is the handlers.CommandHandler that called: typed loosely so that this
# module never imports it back.


def needs_request(registry: Registry, command: SlashCommand) -> bool:
    if command.name != "promote" or command.model is None:
        return False
    try:
        return bool(registry.approval_policy(command.model).approvals)
    except ModeltrailError:
        return False


def run(handler: Any, command: SlashCommand, asker: Asker) -> list[Message] | Reply:
    registry = handler.registry
    if command.name == "requests":
        return [requests_message(registry, command.model)]
    model = command.model
    assert model is not None
    if command.name == "policy":
        if not command.args:
            return [
                reports.text_message(
                    f"*{esc(model)}*: {registry.approval_policy(model).describe()}"
                )
            ]
        if not handler.may_change(model, asker.user_id):
            return [refusal(handler.access, handler.settings, model, "change the approval policy")]
        from modeltrail.core.lifecycle.approvals import check_policy

        current = registry.approval_policy(model)
        wanted = check_policy(int(command.args[-1]), current.expiry.total_seconds() / 3600)
        registry.set_approval_policy(model, wanted, actor=asker.actor)
        return [reports.text_message(f"*{esc(model)}*: {wanted.describe()}")]
    # promote under a policy: a request
    version = registry.resolve_version(model, command.args[0])
    reason = " ".join(command.args[1:]).strip()
    if not reason:
        return Reply([], modal=_request_modal(registry, model, version, asker))
    return request(handler, model, version, reason, asker)


def request(handler: Any, model: str, version: str, reason: str, asker: Asker) -> list[Message]:
    made = handler.registry.request_promotion(model, version, requester=asker.actor, reason=reason)
    n = made.needed
    return [
        reports.text_message(
            f"Asked for *{esc(model)} {version}* to go to production (request #{made.id}): it "
            f"needs {n} approval{'s' if n != 1 else ''} from an owner other than you, until "
            f"{made.expires_at:%Y-%m-%d %H:%M} UTC. The request is posted to the channel."
        )
    ]


def requests_message(registry: Registry, model: str | None) -> Message:
    found = registry.promotion_requests(model)
    if not found:
        where = f" for *{esc(model)}*" if model else ""
        return reports.text_message(f"No promotion requests are waiting{where}.")
    lines = [f"*Promotion requests waiting{' for ' + esc(model) if model else ''}*"]
    for r in found[:20]:
        line = (
            f"• #{r.id} *{esc(r.model)} {r.version}* → production, asked by {esc(r.requester)}; "
            f"{len(r.approvals)}/{r.needed} approvals, expires {r.expires_at:%Y-%m-%d %H:%M} UTC"
        )
        lines.append(line + (f"\n  >{esc(r.reason)}" if r.reason else ""))
    if len(found) > 20:
        lines.append(f"_… and {len(found) - 20} more: `modeltrail requests`_")
    return reports.text_message("\n".join(lines))


def request_report(
    payload: Mapping[str, Any], diff: VersionDiff | None, *, summary: str | None = None
) -> list[Message]:
    """The channel post for a new request: who asks, why, the change, and the buttons."""
    model, version = str(payload["model"]), str(payload["version"])
    request_id = int(payload["request"])
    before = payload.get("previous_production")
    n = int(payload.get("needed") or 1)
    title = f"{model} {version}: promotion to production requested"
    text = f"*{esc(payload.get('requester'))}* asks to promote *{esc(version)}* to production"
    text += f", replacing {esc(before)}" if before else ""
    text += f" (request #{request_id}).\n"
    if payload.get("reason"):
        text += f">{esc(payload['reason'])}\n"
    expires = str(payload.get("expires_at") or "")[:16].replace("T", " ")
    text += f"Needs {n} approval{'s' if n != 1 else ''} by an owner other than the requester"
    text += f"; expires {esc(expires)} UTC." if expires else "."
    blocks = [
        header(title),
        *section(text),
        views.request_actions(request_id, model, before, version),
    ]
    if diff is not None:
        blocks.append(divider())
        blocks += reports.diff_blocks(diff, summary=summary)
    blocks.append(context([f"`modeltrail approve {request_id}` works too"]))
    return paginate(esc(title), blocks)


def decided_message(request: PromotionRequest, what: str) -> Message:
    """What a request's channel post becomes once decided (its buttons are gone)."""
    title = f"{request.model} {request.version}: request #{request.id} {what}"
    text = f"*{esc(title)}* by {esc(request.decided_by or '')}"
    if request.decision_reason:
        text += f"\n>{esc(request.decision_reason)}"
    if request.reason:
        text += f"\nAsked by {esc(request.requester)}: {esc(request.reason)}"
    return Message(esc(title), section(text))


# -- modals for a missing reason ----------------------------------------------------------------


def reason_modal_for(
    registry: Registry, command: SlashCommand, asker: Asker
) -> dict[str, Any] | None:
    """The modal to open when a stage change comes without a reason (None: it has one)."""
    model = command.model
    if model is None:
        return None
    if command.name == "rollback" and not command.args:
        return rollback_modal(registry, model, channel=asker.channel_id, respond=asker.response_url)
    if command.name in ("promote", "retire") and len(command.args) == 1:
        version = registry.resolve_version(model, command.args[0])
        meta = {"cmd": command.name, "m": model, "v": version, "u": asker.response_url}
        if command.name == "promote":
            before = registry.model_state(model).production
            text = f"Promote *{esc(model)} {version}* to production"
            text += f", replacing {before}." if before else "."
            return views.reason_modal(title="Promote", text=text, submit="Promote", metadata=meta)
        return views.reason_modal(
            title="Retire a version",
            text=f"Retire *{esc(model)} {version}* for good (it is archived and never "
            "promoted again by retention).",
            submit="Retire",
            metadata=meta,
        )
    return None


def rollback_modal(
    registry: Registry,
    model: str,
    *,
    channel: str | None = None,
    respond: str | None = None,
) -> dict[str, Any]:
    """The confirmation: which version leaves production and which returns."""
    from modeltrail.core.lifecycle.rules import plan_rollback

    state = registry.model_state(model)
    plan = plan_rollback(state, "(asked)")  # refuses when there is nothing to roll back to
    current, target = plan.moves[0].version, plan.moves[-1].version
    text = (
        f"Roll back *{esc(model)}*: *{current}* leaves production and *{target}* returns to "
        "production. The reason goes into the audit trail and the channel report."
    )
    meta = {"cmd": "rollback", "m": model, "p": current, "c": channel, "u": respond}
    return views.reason_modal(title="Roll back", text=text, submit="Roll back", metadata=meta)


def _request_modal(registry: Registry, model: str, version: str, asker: Asker) -> dict[str, Any]:
    policy = registry.approval_policy(model)
    text = (
        f"Ask for *{esc(model)} {version}* to go to production. {esc(policy.describe())}; "
        "the request is posted to the channel with the change."
    )
    meta = {"cmd": "request", "m": model, "v": version, "u": asker.response_url}
    return views.reason_modal(title="Ask for approval", text=text, submit="Ask", metadata=meta)


def approve_modal(
    request: PromotionRequest, *, channel: str | None, ts: str | None
) -> dict[str, Any]:
    text = (
        f"Approve request #{request.id}: *{esc(request.model)} {request.version}* to production, "
        f"asked by {esc(request.requester)}"
        + (f" ({esc(request.reason)})" if request.reason else "")
        + ". The promotion gate still applies."
    )
    meta = {"cmd": "approve", "r": request.id, "c": channel, "ts": ts}
    return views.reason_modal(
        title="Approve", text=text, submit="Approve", metadata=meta, optional=True
    )


def reject_modal(
    request: PromotionRequest, *, channel: str | None, ts: str | None
) -> dict[str, Any]:
    text = (
        f"Reject request #{request.id}: *{esc(request.model)} {request.version}* stays where it is."
    )
    meta = {"cmd": "reject", "r": request.id, "c": channel, "ts": ts}
    return views.reason_modal(title="Reject", text=text, submit="Reject", metadata=meta)


def apply_modal(
    handler: Any, meta: Mapping[str, Any], reason: str, asker: Asker
) -> tuple[list[Message], PromotionRequest | None]:
    """Do what the submitted modal was opened for; ModeltrailError when it cannot be done."""
    cmd, model = meta.get("cmd"), meta.get("m")
    registry = handler.registry
    if cmd in ("approve", "reject"):
        request_id = meta.get("r")
        if not isinstance(request_id, int):
            raise UsageError("this dialog is not one of ours")
        found = registry.promotion_request(request_id)
        if not handler.may_change(found.model, asker.user_id):
            return [
                refusal(handler.access, handler.settings, found.model, f"{cmd} promotions")
            ], None
        if cmd == "reject":
            done = registry.reject_request(request_id, actor=asker.actor, reason=reason or None)
            return [reports.text_message(f"Rejected request #{request_id}.")], done
        done, moved = registry.approve_request(
            request_id, approver=asker.actor, reason=reason or None
        )
        if moved is None:
            left = done.needed - len(done.approvals)
            return [
                reports.text_message(f"Approved; request #{request_id} needs {left} more.")
            ], done
        text = f"Approved: *{esc(done.model)} {done.version}* is now in production."
        return [reports.text_message(text + " The channel report follows.")], done
    if not isinstance(model, str) or cmd not in ("rollback", "promote", "retire", "request"):
        raise UsageError("this dialog is not one of ours")
    if not reason:
        raise UsageError("a reason is needed")
    if cmd == "request":
        return request(handler, model, str(meta.get("v")), reason, asker), None
    if not handler.may_change(model, asker.user_id):
        return [refusal(handler.access, handler.settings, model, f"{cmd} versions")], None
    if cmd == "rollback":
        expected = meta.get("p")
        return handler.rollback(model, reason, asker, expected=expected), None
    version = str(meta.get("v"))
    if cmd == "retire":
        return handler.retire(model, version, reason, asker), None
    return handler.promote(model, version, reason, asker), None
