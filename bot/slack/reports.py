"""Slack messages for each thing the bot says: change reports, versions, history, help."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modeltrail.bot.slack.blocks import (
    Message,
    context,
    divider,
    fragments,
    header,
    paginate,
    section,
)
from modeltrail.core.diff.engine import VersionDiff
from modeltrail.core.lifecycle.rules import Period
from modeltrail.core.records import VersionRecord
from modeltrail.core.registry.compare import ChangelogEntry
from modeltrail.templates.render import slack as esc


def diff_blocks(diff: VersionDiff, *, summary: str | None = None) -> list[dict[str, Any]]:
    """The body of a change report: headline, findings, metrics, then what changed."""
    f = fragments()
    blocks: list[dict[str, Any]] = []
    if summary:
        blocks += section(f">{esc(summary)}")
    blocks += section(str(f.headline(diff)))
    if diff.findings:
        blocks += section(str(f.findings_text(diff.findings)))
    if diff.metrics:
        blocks += section(str(f.metrics_text(diff)))
    for text in (
        f.params_text(diff),
        f.data_text(diff),
        f.code_text(diff),
        f.environment_text(diff),
    ):
        if str(text).strip():
            blocks += section(str(text))
    blocks.append(
        context(
            [
                f"suggested bump: *{diff.suggested_bump.level}* "
                f"({esc(diff.suggested_bump.reason)})",
                f"`modeltrail diff {esc(diff.model)} {diff.old_version} {diff.new_version}`",
            ]
        )
    )
    return blocks


def diff_message(diff: VersionDiff, *, summary: str | None = None) -> list[Message]:
    title = f"{diff.model} {diff.new_version} vs {diff.old_version}"
    blocks = [header(title), *diff_blocks(diff, summary=summary)]
    return paginate(_plain_headline(diff), blocks)


_MOVE_DEFAULTS: dict[str, Any] = {
    "action": None,
    "actor": "someone",
    "reason": None,
    "forced": False,
    "overridden": [],
    "previous_production": None,
    "previous": None,
    "deploy": None,
    "from_stage": None,
    "to_stage": None,
}


def move_report(
    event: Mapping[str, Any],
    diff: VersionDiff | None,
    *,
    golden_diff: VersionDiff | None = None,
    summary: str | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> list[Message]:
    """The channel post after a promotion, rollback or retirement: who, why, what changed;
    `links` (label, URL) to the pages with the whole story go at the end."""
    f = fragments()
    # Not every topic carries every field (a registration has no reason or stage), and the
    # templates are strict about missing names.
    event = {**_MOVE_DEFAULTS, **event}
    title = str(f.move_title(event)).strip()
    blocks = [header(title), *section(str(f.move_text(event)))]
    from modeltrail.bot.slack.views import report_actions

    version = str(event.get("version"))
    if event["action"] in ("promote", "rollback") and event.get("to_stage") in (None, "production"):
        blocks.append(
            report_actions(
                str(event.get("model")),
                old=event.get("previous_production"),
                new=version,
                production=version,
            )
        )
    elif event["action"] == "register" and diff is not None:
        # A new version (its regressions against the parent shown below): the whole diff
        # and the changelog, no rollback (production did not move).
        blocks.append(
            report_actions(
                str(event.get("model")), old=diff.old_version, new=version, production=None
            )
        )
    if diff is not None:
        blocks.append(divider())
        blocks += diff_blocks(diff, summary=summary)
    if golden_diff is not None and golden_diff.findings_of("metric_regression"):
        blocks.append(divider())
        blocks += section(
            f"*Against the golden version {golden_diff.old_version}:* "
            + str(f.findings_text(golden_diff.findings_of("metric_regression"), limit=5))
        )
    if links:
        blocks.append(context([f"<{url}|{esc(label)}>" for label, url in links]))
    fallback = esc(title)
    if diff is not None:
        fallback += " — " + _plain_headline(diff)
    return paginate(fallback, blocks)


def version_message(record: VersionRecord) -> list[Message]:
    f = fragments()
    title = f"{record.model} {record.version}"
    return paginate(esc(title), [header(title), *section(str(f.version_text(record)))])


def history_message(model: str, periods: Sequence[Period], golden: str | None) -> list[Message]:
    f = fragments()
    title = f"{model}: production history"
    blocks = [header(title), *section(str(f.history_text(model, periods, golden)))]
    return paginate(esc(title), blocks)


def production_message(model: str, record: VersionRecord | None, golden: str | None) -> Message:
    if record is None:
        text = f"*{esc(model)}* has no version in production."
        if golden:
            text += f" Golden: *{golden}*."
        return Message(text.replace("*", ""), section(text))
    f = fragments()
    text = str(f.version_text(record))
    if golden and golden != record.version:
        text += f"\nGolden (baseline): *{golden}*"
    return Message(esc(f"{model} {record.version} is in production"), section(text))


def changelog_message(
    model: str, entries: Sequence[ChangelogEntry], limit: int = 5
) -> list[Message]:
    f = fragments()
    blocks = [header(f"{model}: latest changes")]
    for entry in entries[:limit]:
        record = entry.record
        line = f"*{record.version}* {record.created_at:%Y-%m-%d} by {esc(record.actor)}"
        if record.description:
            line += f": {esc(record.description)}"
        if entry.diff is not None:
            line += "\n" + str(f.headline(entry.diff))
            if entry.diff.findings:
                line += "\n" + str(f.findings_text(entry.diff.findings, limit=3))
        blocks += section(line)
    if len(entries) > limit:
        blocks.append(
            context([f"{len(entries) - limit} older versions: `modeltrail changelog {esc(model)}`"])
        )
    return paginate(esc(f"{model}: latest changes"), blocks)


def findings_message(title: str, findings: Sequence[Any], hint: str | None = None) -> Message:
    f = fragments()
    text = f"*{esc(title)}*\n" + str(f.findings_text(findings))
    if hint:
        text += f"\n{hint}"
    return Message(esc(title), section(text))


def text_message(text: str) -> Message:
    """A short reply; `text` is mrkdwn the caller already escaped."""
    return Message(text, section(text))


def _plain_headline(diff: VersionDiff) -> str:
    from modeltrail.templates.render import render

    return esc(render("headline.txt.j2", "text", diff=diff).strip())


_CONDITION_WORDS = {"drift": "data drift", "skew": "prediction skew", "decay": "metric decay"}


def monitoring_alert(event: Mapping[str, Any], *, command: str = "/model") -> list[Message]:
    """The channel post when production drifts or decays: which version, which columns or
    metrics, how far, since when, and what to do (roll back, with the exact command)."""
    import shlex

    model, version = str(event.get("model")), str(event.get("version"))
    alerts = list(event.get("alerts") or [])
    kinds = sorted({_CONDITION_WORDS.get(a.get("kind"), str(a.get("kind"))) for a in alerts})
    title = f"{model} {version}: {' and '.join(kinds) or 'monitoring alert'} in production"
    lines = []
    for alert in alerts:
        detail = alert.get("detail") or {}
        subject = esc(alert.get("subject"))
        since = esc(str(alert.get("since") or "")[:16].replace("T", " "))
        again = " (worse)" if alert.get("reason") == "worse" else ""
        if alert.get("kind") == "decay":
            line = (
                f"• *{subject}*: live {detail.get('live', 0):.4g} vs offline "
                f"{detail.get('offline', 0):.4g} ({detail.get('delta', 0):+.4g}; "
                f"tolerance {detail.get('tolerance', 0):g}){again}, since {since} UTC"
            )
        else:
            line = f"• *{subject}*: PSI {alert.get('magnitude', 0):.2f}"
            if detail.get("ks_pvalue") is not None:
                line += f", KS p={detail['ks_pvalue']:.2g}"
            if detail.get("detail"):
                line += f" — {esc(detail['detail'])}"
            line += f"{again}, since {since} UTC"
        lines.append(line)
    blocks = [header(title), *section("\n".join(lines) or "(no detail)")]
    target = event.get("rollback_target")
    golden = event.get("golden")
    production = event.get("production")
    m = shlex.quote(model)
    reason = f"{' and '.join(kinds) or 'monitoring alert'} in {version}"
    actions = []
    if production == version and target:
        actions.append(
            f"Roll back to the previous production version *{esc(target)}*: "
            f"`modeltrail rollback {esc(m)} --reason {esc(shlex.quote(reason))}` "
            f"or `{esc(command)} rollback {esc(model)} {esc(reason)}` (admins)"
        )
    if golden and golden not in (version, target):
        actions.append(
            f"Or bring back the golden version *{esc(golden)}*: "
            f"`modeltrail promote {esc(m)} {esc(golden)} --reason {esc(shlex.quote(reason))}`"
        )
    if not actions:
        actions.append(f"Investigate: `modeltrail monitor status {esc(m)}`")
    blocks += section("*Suggested action*\n" + "\n".join(actions))
    from modeltrail.bot.slack.views import report_actions

    blocks.append(
        report_actions(
            model,
            old=None,
            new=None,
            production=version if production == version and target else None,
        )
    )
    blocks.append(context([f"`modeltrail monitor status {esc(m)}` for the whole drift table"]))
    return paginate(esc(title), blocks)
