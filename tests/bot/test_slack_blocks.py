"""Block Kit building within Slack's limits (pure), checked by the fake server's own rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_fake import block_text_size, limit_problems

from modeltrail.bot.slack import blocks, reports
from modeltrail.bot.slack.blocks import (
    Message,
    context,
    fields,
    header,
    paginate,
    section,
    split_text,
)


def _content(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() != "```"]


def _joined(pieces: list[str]) -> str:
    return "".join(p if p.endswith("\n") else p + "\n" for p in pieces)


def test_long_text_is_split_in_order_at_lines() -> None:
    text = "first line\n" + "y" * 7000 + "\nlast line"
    pieces = split_text(text, 3000)
    assert all(len(p) <= 3000 for p in pieces)
    assert "".join(pieces) == text
    assert pieces[0].startswith("first line") and pieces[-1].endswith("last line")


def test_a_code_fence_cut_in_two_is_closed_and_reopened() -> None:
    table = "```\n" + "".join(f"row {i:04d} " + "." * 60 + "\n" for i in range(100)) + "```\n"
    pieces = split_text("*Metrics*\n" + table + "after", 3000)
    assert len(pieces) > 2
    for piece in pieces:
        assert len(piece) <= 3000
        assert piece.count("```") % 2 == 0, piece[-40:]
    assert _content(_joined(pieces)) == _content("*Metrics*\n" + table + "after")


lines = st.lists(
    st.one_of(st.just("```"), st.text(alphabet="ab <>&*`", min_size=0, max_size=400)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(lines, st.integers(min_value=60, max_value=3000))
def test_split_text_keeps_every_line_in_order_within_the_limit(parts, limit) -> None:
    parts = [p[: limit - 8] for p in parts]
    text = "\n".join(parts) + "\n"
    pieces = split_text(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert _content(_joined(pieces)) == _content(text)


def test_sections_headers_fields_and_context_stay_within_limits() -> None:
    long = "\n".join(f"• line {i} " + "x" * 90 for i in range(400))
    built = [
        header("h" * 400),
        *section(long),
        fields([f"field {i}" for i in range(25)]),
        context([f"note {i}" for i in range(30)]),
    ]
    messages = paginate("fallback", built)
    for message in messages:
        assert limit_problems(message.payload()) == []
        assert blocks.validate(message.payload()) == []
        assert block_text_size(message.blocks) <= 12_000
    assert len(messages) == 5  # 40,000 characters of text: more than Slack takes at once
    assert len(built[0]["text"]["text"]) == 150 and built[0]["text"]["text"].endswith("…")


def test_more_than_fifty_blocks_continue_in_further_messages() -> None:
    many = [section(f"block {i}")[0] for i in range(120)]
    messages = paginate("the report", many)
    assert [len(m.blocks) for m in messages] == [50, 50, 20]
    assert messages[0].text == "the report"
    assert all(m.text == "the report (continued)" for m in messages[1:])
    assert all(limit_problems(m.payload()) == [] for m in messages)
    assert [b["text"]["text"] for m in messages for b in m.blocks] == [
        f"block {i}" for i in range(120)
    ]


def test_a_message_never_carries_more_text_than_slack_takes() -> None:
    # 20 sections of 2,000 characters: 20 blocks would fit, 40,000 characters would not.
    big = [section(f"s{i} " + "y" * 2000)[0] for i in range(20)]
    messages = paginate("big", big)
    assert [len(m.blocks) for m in messages] == [5, 5, 5, 5]
    assert all(block_text_size(m.blocks) <= 12_000 for m in messages)
    assert [b["text"]["text"][:3] for m in messages for b in m.blocks] == [
        f"s{i} "[:3] for i in range(20)
    ]


def test_a_report_longer_than_a_few_messages_is_cut_saying_how_much() -> None:
    huge = [section(f"s{i} " + "z" * 2500)[0] for i in range(60)]
    messages = paginate("huge", huge)
    assert len(messages) == blocks.MAX_MESSAGES
    last = messages[-1].blocks[-1]
    assert last["type"] == "context"
    shown = sum(len(m.blocks) for m in messages) - 1
    assert last["elements"][0]["text"] == f"_… and {60 - shown} more sections not shown_"
    assert all(limit_problems(m.payload()) == [] for m in messages)
    assert all(block_text_size(m.blocks) <= 12_000 for m in messages)


def test_our_validator_agrees_with_the_fake_on_broken_messages() -> None:
    broken = [
        {"text": "", "blocks": []},
        {"text": "t", "blocks": [section("x")[0]] * 51},
        {
            "text": "t",
            "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
        },
        {
            "text": "t",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}],
        },
        {
            "text": "t",
            "blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
        },
        {
            "text": "t",
            "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
        },
    ]
    for message in broken:
        assert limit_problems(message), message
        assert blocks.validate(message), message


def test_a_short_reply_has_a_fallback_and_one_section() -> None:
    message = reports.text_message("*fraud 1.0.1* is now in production.")
    assert message.payload() == {
        "text": "*fraud 1.0.1* is now in production.",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*fraud 1.0.1* is now in production."},
            }
        ],
    }


def test_move_report_escapes_every_field_it_is_given() -> None:
    evil = "<!here> <http://evil|x> & co"
    (message,) = reports.move_report(
        {
            "model": "fraud",
            "version": "1.0.1",
            "action": "promote",
            "to_stage": "production",
            "actor": evil,
            "reason": evil,
            "previous_production": "1.0.0",
        },
        None,
    )
    text = Message(message.text, message.blocks).payload()
    body = str(text)
    assert "<!here>" not in body and "<http://evil" not in body
    assert "&lt;!here&gt; &lt;http://evil|x&gt; &amp; co" in body
    assert limit_problems(message.payload()) == []


def test_a_registration_report_needs_no_reason_or_stage() -> None:
    (message,) = reports.move_report(
        {"model": "fraud", "version": "1.0.1", "action": "register", "actor": "ci"}, None
    )
    assert message.text == "fraud 1.0.1 registered"
    assert "*ci* registered 1.0.1" in message.blocks[1]["text"]["text"]
