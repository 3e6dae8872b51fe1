"""Block Kit messages within Slack's limits, built with slack_sdk's block classes.

Limits (https://api.slack.com/reference/block-kit): at most 50 blocks a message, section text
3,000 characters, header text 150, 10 fields, 10 context elements, and about 12,000
characters of text in all the blocks of one message (beyond it Slack answers
`msg_blocks_too_long`). Anything longer is cut with an ellipsis or continued in the next
message (posted as a thread reply); past a few messages the rest is left out with
"… and N more". Prose comes
from templates/slack.j2; this module only arranges it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from modeltrail.templates.render import environment

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FIELDS = 10
MAX_CONTEXT = 10
MAX_TEXT = 4000  # the `text` fallback Slack shows in notifications
# Slack refuses a message whose blocks hold more than ~12,000 characters of text; stay under
# it with room for the markup Slack counts and we do not.
MAX_TOTAL = 11_000
MAX_MESSAGES = 5  # a report continued further than this is cut, not posted as a flood


@dataclass
class Message:
    """One chat.postMessage / respond() payload: fallback text plus blocks."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header(text: str) -> dict[str, Any]:
    return HeaderBlock(text=PlainTextObject(text=cut(text, MAX_HEADER), emoji=True)).to_dict()


def section(mrkdwn: str) -> list[dict[str, Any]]:
    """One or more section blocks: text longer than 3,000 characters is split at lines."""
    return [
        SectionBlock(text=MarkdownTextObject(text=chunk)).to_dict()
        for chunk in split_text(mrkdwn.strip(), MAX_SECTION)
        if chunk.strip()
    ]


def fields(items: Sequence[str]) -> dict[str, Any]:
    return SectionBlock(
        fields=[MarkdownTextObject(text=cut(i, 2000)) for i in items[:MAX_FIELDS]]
    ).to_dict()


def context(items: Sequence[str]) -> dict[str, Any]:
    return ContextBlock(
        elements=[MarkdownTextObject(text=cut(i, MAX_SECTION)) for i in items[:MAX_CONTEXT]]
    ).to_dict()


def divider() -> dict[str, Any]:
    return DividerBlock().to_dict()


def split_text(text: str, limit: int) -> list[str]:
    """Split at line breaks so each piece fits, in order; a line longer than a piece is cut.
    A code fence cut in two is closed at the end of one piece and reopened in the next."""
    if len(text) <= limit:
        return [text]
    room = limit - 8  # a piece may start with "```\n" and end with "```"
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        while len(line) > room:
            lines.append(line[:room])
            line = line[room:]
        lines.append(line)
    pieces: list[str] = []
    current = ""
    fence_open = False  # after the lines in `current`
    for line in lines:
        toggles = line.strip().startswith("```")
        open_after = fence_open != toggles
        if current and len(current) + len(line) + (3 if open_after else 0) > limit:
            pieces.append(current + ("```" if fence_open else ""))
            current = "```\n" if fence_open else ""
        current += line
        fence_open = open_after
    if current:
        pieces.append(current)
    return pieces


def paginate(
    text: str, blocks: Iterable[dict[str, Any]], *, max_messages: int = MAX_MESSAGES
) -> list[Message]:
    """Split blocks into messages of at most 50 blocks and MAX_TOTAL characters; the first
    carries `text`, the rest say they continue it (they are posted as thread replies). Past
    `max_messages` messages the rest is cut, and the last message says how much."""
    groups: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for block in blocks:
        length = text_size(block)
        if current and (len(current) >= MAX_BLOCKS or size + length > MAX_TOTAL):
            groups.append(current)
            current, size = [], 0
        current.append(block)
        size += length
    if current or not groups:
        groups.append(current)
    if len(groups) > max_messages:
        left = sum(len(g) for g in groups[max_messages:])
        groups = groups[:max_messages]
        last = groups[-1]
        while last and (len(last) >= MAX_BLOCKS or sum(map(text_size, last)) + 200 > MAX_TOTAL):
            last.pop()
            left += 1
        last.append(context([f"_… and {left} more sections not shown_"]))
    fallback = cut(text, MAX_TEXT)
    return [
        Message(fallback if i == 0 else cut(f"{fallback} (continued)", MAX_TEXT), group)
        for i, group in enumerate(groups)
    ]


def text_size(value: Any) -> int:
    """Characters of text in a block (or a list of them), counted as Slack counts them."""
    if isinstance(value, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else text_size(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return sum(text_size(v) for v in value)
    return 0


def validate(message: Mapping[str, Any]) -> list[str]:
    """What breaks Slack's limits in a payload (empty when it is fine). Used by the fake
    Slack server in tests and as a last check before posting."""
    problems = []
    blocks = message.get("blocks") or []
    if not message.get("text"):
        problems.append("no text fallback")
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks > {MAX_BLOCKS}")
    if text_size(blocks) > MAX_TOTAL:
        problems.append(f"{text_size(blocks)} characters of text in blocks > {MAX_TOTAL}")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "header" and len(block["text"]["text"]) > MAX_HEADER:
            problems.append(f"block {i}: header longer than {MAX_HEADER}")
        if kind == "section":
            if "text" in block and len(block["text"]["text"]) > MAX_SECTION:
                problems.append(f"block {i}: section text longer than {MAX_SECTION}")
            if len(block.get("fields", [])) > MAX_FIELDS:
                problems.append(f"block {i}: more than {MAX_FIELDS} fields")
        if kind == "context" and len(block.get("elements", [])) > MAX_CONTEXT:
            problems.append(f"block {i}: more than {MAX_CONTEXT} context elements")
    return problems


def fragments() -> Any:
    """The macros of templates/slack.j2."""
    return environment("slack").get_template("slack.j2").module
