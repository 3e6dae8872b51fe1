"""Block Kit for interaction: the buttons on reports and requests, and the modals that ask for
a reason (a rollback's confirmation names the version that would return to production).

Buttons carry what their handler needs as a small JSON value (Slack caps it at 2,000
characters); modals carry theirs in `private_metadata` (3,000). Built with slack_sdk's
classes, so their limits are checked where they are made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
)
from slack_sdk.models.views import View

from modeltrail.bot.slack.blocks import cut, section

# action_id → what the button does (actions.py registers one listener per ID)
DIFF = "modeltrail.diff"
CHANGELOG = "modeltrail.changelog"
ROLLBACK = "modeltrail.rollback"
APPROVE = "modeltrail.approve"
REJECT = "modeltrail.reject"
REASON_MODAL = "modeltrail.reason"  # the callback_id of every reason modal
REASON_BLOCK = "reason"
REASON_INPUT = "reason"


def value(**fields: Any) -> str:
    return json.dumps(fields, separators=(",", ":"))


def read_value(text: str | None) -> dict[str, Any]:
    """A button's value or a modal's metadata; {} when it is not ours (forged, truncated)."""
    try:
        data = json.loads(text or "")
    except (ValueError, RecursionError):  # a forged value nested beyond the parser's depth
        return {}
    return data if isinstance(data, dict) else {}


def _button(text: str, action_id: str, data: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=text, emoji=True), action_id=action_id, value=data, style=style
    )


def report_actions(
    model: str,
    *,
    old: str | None,
    new: str | None,
    production: str | None,
) -> dict[str, Any]:
    """Full diff / Roll back / Changelog under a promotion, rollback or alert report."""
    elements = []
    if old and new and old != new:
        elements.append(_button("Full diff", DIFF, value(m=model, a=old, b=new)))
    if production:
        elements.append(_button("Roll back", ROLLBACK, value(m=model, p=production), "danger"))
    elements.append(_button("Changelog", CHANGELOG, value(m=model)))
    return ActionsBlock(block_id="modeltrail.report", elements=elements).to_dict()


def request_actions(request_id: int, model: str, old: str | None, new: str) -> dict[str, Any]:
    """Approve / Reject (and the diff) under a promotion request."""
    elements = [
        _button("Approve", APPROVE, value(r=request_id), "primary"),
        ButtonElement(
            text=PlainTextObject(text="Reject"),
            action_id=REJECT,
            value=value(r=request_id),
            confirm=ConfirmObject(
                title="Reject this request?",
                text=f"{model} {new} will stay where it is.",
                confirm="Reject",
                deny="Keep it open",
            ),
        ),
    ]
    if old and old != new:
        elements.append(_button("Full diff", DIFF, value(m=model, a=old, b=new)))
    return ActionsBlock(block_id=f"modeltrail.request.{request_id}", elements=elements).to_dict()


def reason_modal(
    *,
    title: str,
    text: str,
    submit: str,
    metadata: Mapping[str, Any],
    label: str = "Reason",
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    """A modal with `text` (mrkdwn, escaped by the caller) and one reason field."""
    blocks: list[Any] = list(section(text))
    blocks.append(
        InputBlock(
            block_id=REASON_BLOCK,
            label=PlainTextObject(text=label),
            element=PlainTextInputElement(action_id=REASON_INPUT, multiline=True, max_length=2000),
            optional=optional,
            hint=PlainTextObject(text=hint) if hint else None,
        ).to_dict()
    )
    return View(
        type="modal",
        callback_id=REASON_MODAL,
        title=PlainTextObject(text=cut(title, 24)),
        submit=PlainTextObject(text=cut(submit, 24)),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps(dict(metadata), separators=(",", ":")),
        blocks=blocks,
    ).to_dict()


def submitted_reason(view: Mapping[str, Any]) -> str:
    """The text typed in a reason modal ("" when left empty)."""
    state = (view.get("state") or {}).get("values") or {}
    typed = (state.get(REASON_BLOCK) or {}).get(REASON_INPUT) or {}
    return str(typed.get("value") or "").strip()


def home_view(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return View(type="home", blocks=blocks[:100]).to_dict()
