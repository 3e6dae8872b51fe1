"""CLI commands for lifecycle and governance: promote, rollback, golden, retire, retention,
history, audit, reproduce, tag, note, goal, gate, outbox. Registered on `cli.app`."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from modeltrail.bot.cli.common import actor_for, app, open_registry, parse_moment, print_json, say

if TYPE_CHECKING:
    from modeltrail.core.lifecycle.rules import GateDecision
    from modeltrail.core.registry.governance import MoveResult


def _moves_text(result: MoveResult) -> list[str]:
    return [
        f"  {m.version}: {m.from_stage} → {m.to_stage}" + (f" ({m.reason})" if m.reason else "")
        for m in result.plan.moves
    ]


def _findings_text(decision: GateDecision | None) -> list[str]:
    if decision is None:
        return []
    lines = []
    for f in decision.blocking:
        lines.append(f"  BLOCKS   {f.kind}: {f.message}")
    for f in decision.other_findings:
        lines.append(f"  {f.severity.upper():8} {f.kind}: {f.message}")
    return lines


# -- stage moves ------------------------------------------------------------------------------


@app.command()
@click.argument("model")
@click.argument("version")
@click.option(
    "--to",
    "to_stage",
    type=click.Choice(["production", "staging"]),
    default="production",
    show_default=True,
)
@click.option("--reason", help="Why (recorded in the audit trail and the channel post).")
@click.option("--force", is_flag=True, help="Override a blocking gate (needs --reason).")
@click.option("--actor", help="Who promotes (default: MODELTRAIL_ACTOR, git user, OS user).")
@click.option("--json", "as_json", is_flag=True)
def promote(
    model: str,
    version: str,
    to_stage: str,
    reason: str | None,
    force: bool,
    actor: str | None,
    as_json: bool,
) -> None:
    """Move a version to production (default) or staging, through the promotion gate.

    Promoting to production compares the candidate with the current production; a critical
    finding (a metric regression beyond tolerance, missing lineage, …) blocks it with exit
    code 1 unless --force --reason TEXT, which is recorded.
    """
    from modeltrail.core.registry.governance import PromotionBlocked

    registry = open_registry()
    try:
        version = registry.resolve_version(model, version)
        try:
            result = registry.promote(
                model, version, to=to_stage, actor=actor_for(actor), reason=reason, force=force
            )
        except PromotionBlocked as blocked:
            if as_json:
                print_json(_decision_json(model, blocked.decision, moved=False))
            else:
                against = blocked.decision.baseline
                head = f"promotion of {model} {version} to production blocked"
                head += f" (compared with production {against})" if against else ""
                err = ["error: " + head, *_findings_text(blocked.decision)]
                err.append(
                    "hint: fix the cause, or override: modeltrail promote "
                    f'{model} {version} --force --reason "why"'
                )
                sys.stderr.write("\n".join(err) + "\n")
            raise SystemExit(1) from None
    finally:
        registry.close()
    if as_json:
        print_json(
            {
                **_decision_json(model, result.decision, moved=True),
                "forced": result.forced,
                "moves": [m.__dict__ for m in result.plan.moves],
            }
        )
        return
    lines = [f"{model} {version} is now in {to_stage}"]
    if result.forced:
        lines[0] += " (gate overridden with --force; recorded)"
    lines += _moves_text(result) + _findings_text(result.decision)
    say("\n".join(lines))


def _decision_json(model: str, decision: GateDecision | None, *, moved: bool) -> dict[str, Any]:
    if decision is None:
        return {"model": model, "moved": moved}
    return {
        "model": model,
        "moved": moved,
        "candidate": decision.candidate,
        "baseline": decision.baseline,
        "allowed": decision.allowed,
        "blocking": [f.__dict__ for f in decision.blocking],
        "findings": [f.__dict__ for f in decision.other_findings],
    }


@app.command()
@click.argument("model")
@click.option("--reason", required=True, help="Why production is rolled back (required).")
@click.option("--actor")
def rollback(model: str, reason: str, actor: str | None) -> None:
    """Archive the current production and bring back the previous production version."""
    registry = open_registry()
    try:
        result = registry.rollback(model, actor=actor_for(actor), reason=reason)
    finally:
        registry.close()
    back = result.plan.moves[-1].version
    say("\n".join([f"{model} rolled back: {back} is in production again", *_moves_text(result)]))


@app.command()
@click.argument("model")
@click.argument("version")
@click.option("--reason", help="Why this is the baseline.")
@click.option("--actor")
def golden(model: str, version: str, reason: str | None, actor: str | None) -> None:
    """Mark the stable baseline version (one per model) that reports compare against."""
    registry = open_registry()
    try:
        version = registry.resolve_version(model, version)
        previous = registry.set_golden(model, version, actor=actor_for(actor), reason=reason)
    finally:
        registry.close()
    say(f"{model} {version} is the golden version" + (f" (was {previous})" if previous else ""))


@app.command()
@click.argument("model")
@click.argument("version")
@click.option("--reason", required=True, help='Why, e.g. "fairness issue on segment X".')
@click.option("--actor")
def retire(model: str, version: str, reason: str, actor: str | None) -> None:
    """Archive a version with a required reason."""
    registry = open_registry()
    try:
        version = registry.resolve_version(model, version)
        result = registry.retire(model, version, actor=actor_for(actor), reason=reason)
    finally:
        registry.close()
    say("\n".join([f"{model} {version} retired", *_moves_text(result), *result.plan.notes]))


@app.group()
def retention() -> None:
    """Archive versions far behind production."""


@retention.command("apply")
@click.argument("model")
@click.option(
    "--keep",
    default=3,
    show_default=True,
    type=click.IntRange(min=0),
    help="Versions behind production to keep.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan only.")
@click.option("--actor")
def retention_apply(model: str, keep: int, dry_run: bool, actor: str | None) -> None:
    """Archive every version more than KEEP iterations behind production (never the
    production, staging or golden version)."""
    registry = open_registry()
    try:
        if dry_run:
            plan = registry.plan_retention(model, keep)
            applied = False
        else:
            plan = registry.apply_retention(model, keep=keep, actor=actor_for(actor)).plan
            applied = True
    finally:
        registry.close()
    if plan.is_empty:
        say("\n".join([f"{model}: nothing to archive", *plan.notes]))
        return
    verb = "archived" if applied else "would archive"
    lines = [f"{model}: {verb} {len(plan.moves)} version{'s' if len(plan.moves) != 1 else ''}"]
    lines += [f"  {m.version} ({m.from_stage} → archived): {m.reason}" for m in plan.moves]
    say("\n".join(lines))


@app.command()
@click.argument("model")
@click.option(
    "--at", "at", metavar="DATETIME", help="What was in production then (UTC if no zone)."
)
@click.option(
    "--stage",
    type=click.Choice(["production", "staging", "archived"]),
    default="production",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True)
def history(model: str, at: str | None, stage: str, as_json: bool) -> None:
    """The stage timeline: which version was in production from when to when, who, why."""
    from modeltrail.core.lifecycle.rules import production_at, timeline
    from modeltrail.core.serialize import iso

    registry = open_registry()
    try:
        state = registry.model_state(model)
    finally:
        registry.close()
    if at is not None:
        moment = parse_moment(at)
        found = production_at(state, moment)
        if as_json:
            print_json({"model": model, "at": iso(moment), "production": found})
        elif found is None:
            say(f"{model} had no production version at {iso(moment)}")
        else:
            say(f"{model} {found} was in production at {iso(moment)}")
        return
    periods = timeline(state, stage)
    if as_json:
        print_json(
            [
                {
                    "version": p.version,
                    "stage": p.stage,
                    "since": iso(p.since),
                    "until": iso(p.until),
                    "moved_by": p.moved_by,
                    "reason": p.reason,
                    "left_by": p.left_by,
                    "left_reason": p.left_reason,
                }
                for p in periods
            ]
        )
        return
    if not periods:
        say(f"{model} has never had a {stage} version")
        return
    from modeltrail.bot.terminal import when

    lines = [f"{model}: {stage} timeline (newest first)"]
    for p in periods:
        until = "now" if p.until is None else when(p.until)
        lines.append(f"  {p.version}  {when(p.since)} → {until}")
        lines.append(f"      in by {p.moved_by}" + (f": {p.reason}" if p.reason else ""))
        if p.until is not None:
            lines.append(
                f"      out by {p.left_by}" + (f": {p.left_reason}" if p.left_reason else "")
            )
    if state.golden:
        lines.append(f"golden: {state.golden}")
    say("\n".join(lines))


# -- audit ------------------------------------------------------------------------------------


@app.group()
def audit() -> None:
    """The append-only, hash-chained audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 naming the first edited, deleted, inserted or reordered
    event."""
    registry = open_registry()
    try:
        result = registry.verify_audit()
    finally:
        registry.close()
    if result.ok:
        say(f"{result.events_checked} events verified")
        return
    sys.stderr.write(f"error: audit trail broken: {result.problem}\n")
    raise SystemExit(1)


@audit.command("log")
@click.argument("model", required=False)
@click.option(
    "--limit",
    "-n",
    default=50,
    show_default=True,
    type=click.IntRange(min=0),
    help="Events to show, newest first (0: all).",
)
@click.option("--json", "as_json", is_flag=True)
def audit_log(model: str | None, limit: int, as_json: bool) -> None:
    """Who did what, when and why, newest first."""
    from modeltrail.core.serialize import iso

    registry = open_registry()
    try:
        events = registry.audit_log(model, limit=limit or None)
    finally:
        registry.close()
    if as_json:
        print_json(
            [
                {
                    "seq": e.seq,
                    "at": iso(e.created_at),
                    "actor": e.actor,
                    "action": e.action,
                    "model": e.model,
                    "version": e.version,
                    "before": e.before,
                    "after": e.after,
                    "reason": e.reason,
                    "hash": e.hash,
                }
                for e in events
            ]
        )
        return
    from modeltrail.bot.terminal import when

    lines = []
    for e in events:
        target = " ".join(x for x in (e.model, e.version) if x)
        change = _change_text(e.before, e.after)
        lines.append(
            f"#{e.seq:<5} {when(e.created_at)}  {e.actor}  {e.action} {target}"
            + (f"  {change}" if change else "")
            + (f"  — {e.reason}" if e.reason else "")
        )
    say("\n".join(lines) if lines else "no audit events")


def _change_text(before: Any, after: Any) -> str:
    if isinstance(before, dict) and isinstance(after, dict) and "stage" in after:
        return f"{before.get('stage')} → {after['stage']}" + (
            " (forced)" if after.get("forced") else ""
        )
    if isinstance(after, dict) and "golden" in after:
        return f"golden {before.get('golden') if before else None} → {after['golden']}"
    return ""


# -- reproduce --------------------------------------------------------------------------------


@app.command()
@click.argument("model")
@click.argument("version")
@click.option(
    "--write",
    "write_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write requirements.txt, params.yaml and verify-data.sh here.",
)
def reproduce(model: str, version: str, write_dir: Path | None) -> None:
    """The exact recipe to rebuild a version: commit, packages, data digests, params."""
    from modeltrail.core.lifecycle.reproduce import build_recipe
    from modeltrail.templates.render import render

    registry = open_registry()
    try:
        version = registry.resolve_version(model, version)
        recipe = build_recipe(registry.load(model, version))
    finally:
        registry.close()
    written: list[str] = []
    if write_dir is not None:
        written = _write_recipe(recipe, write_dir)
    say(
        render(
            "reproduce.txt.j2", "text", recipe=recipe, written=written, directory=str(write_dir)
        ).rstrip()
    )


def _write_recipe(recipe: Any, directory: Path) -> list[str]:
    import yaml

    from modeltrail.core.errors import UsageError

    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "requirements.txt").write_text(
            "".join(f"{line}\n" for line in recipe.requirements), encoding="utf-8"
        )
        (directory / "params.yaml").write_text(
            yaml.safe_dump(recipe.params_tree, sort_keys=True, allow_unicode=True),
            encoding="utf-8",
        )
        script = directory / "verify-data.sh"
        script.write_text(recipe.verify_script, encoding="utf-8")
        script.chmod(0o755)
    except OSError as exc:
        raise UsageError(f"cannot write the recipe to {directory}: {exc.strerror or exc}") from None
    return ["requirements.txt", "params.yaml", "verify-data.sh"]


# -- tags, notes, goals, gates ------------------------------------------------------------------


@app.command()
@click.argument("model")
@click.argument("version")
@click.argument("pairs", nargs=-1, metavar="KEY=VALUE...")
@click.option("--remove", multiple=True, metavar="KEY", help="Remove a tag. Repeatable.")
@click.option("--actor")
def tag(
    model: str, version: str, pairs: tuple[str, ...], remove: tuple[str, ...], actor: str | None
) -> None:
    """Set or remove tags on a version (audited)."""
    from modeltrail.bot.inputs import split_pair
    from modeltrail.core.errors import UsageError

    if not pairs and not remove:
        raise UsageError("give KEY=VALUE pairs to set or --remove KEY")
    parsed = [split_pair(p, "tag") for p in pairs]
    registry = open_registry()
    try:
        version = registry.resolve_version(model, version)
        who = actor_for(actor)
        for key, value in parsed:
            registry.set_tag(model, version, key, value, actor=who)
        for key in remove:
            registry.remove_tag(model, version, key, actor=who)
    finally:
        registry.close()
    say(f"{model} {version}: {len(parsed)} tag(s) set, {len(remove)} removed")


@app.command()
@click.argument("model")
@click.argument("version")
@click.argument("text")
@click.option("--actor")
def note(model: str, version: str, text: str, actor: str | None) -> None:
    """Add a note to a version (audited; notes are never edited)."""
    registry = open_registry()
    try:
        version = registry.resolve_version(model, version)
        registry.add_note(model, version, text, actor=actor_for(actor))
    finally:
        registry.close()
    say(f"note added to {model} {version}")


@app.command()
@click.argument("model")
@click.argument("metric")
@click.option("--maximize", "goal", flag_value="maximize", help="Higher is better.")
@click.option("--minimize", "goal", flag_value="minimize", help="Lower is better.")
@click.option(
    "--tolerance",
    type=float,
    default=0.0,
    show_default=True,
    help="Absolute change that counts as noise.",
)
@click.option("--actor")
def goal(model: str, metric: str, goal: str | None, tolerance: float, actor: str | None) -> None:
    """Set a metric's goal and tolerance for a model (used by diffs and gates)."""
    from modeltrail.core.errors import UsageError

    if goal is None:
        raise UsageError("say --maximize or --minimize")
    registry = open_registry()
    try:
        spec = registry.set_metric_goal(model, metric, goal, tolerance, actor=actor_for(actor))
    finally:
        registry.close()
    say(f"{model}: {spec.name} is to be {spec.goal}d (tolerance {spec.tolerance:g})")


@app.command()
@click.argument("model")
@click.option("--block", multiple=True, metavar="KIND", help="A finding kind that always blocks.")
@click.option("--allow", multiple=True, metavar="KIND", help="A finding kind that never blocks.")
@click.option(
    "--severity",
    multiple=True,
    type=click.Choice(["critical", "warning", "info"]),
    help="Severities that block (default: critical).",
)
@click.option("--reset", is_flag=True, help="Back to the defaults.")
@click.option("--actor")
def gate(
    model: str,
    block: tuple[str, ...],
    allow: tuple[str, ...],
    severity: tuple[str, ...],
    reset: bool,
    actor: str | None,
) -> None:
    """Show or set which findings block a promotion to production for a model."""
    from modeltrail.core.lifecycle.rules import GateRules

    registry = open_registry()
    try:
        if reset or block or allow or severity:
            current = GateRules() if reset else registry.gate_rules(model)
            rules = GateRules(
                block_severities=severity or current.block_severities,
                block_kinds=tuple(dict.fromkeys(current.block_kinds + block)),
                allow_kinds=tuple(dict.fromkeys(current.allow_kinds + allow)),
            )
            registry.set_gate_rules(model, rules, actor=actor_for(actor))
        else:
            rules = registry.gate_rules(model)
    finally:
        registry.close()
    say(
        f"{model} gate: blocks severities {', '.join(rules.block_severities) or 'none'}"
        f"; always blocks {', '.join(rules.block_kinds) or '—'}"
        f"; never blocks {', '.join(rules.allow_kinds) or '—'}"
    )


# -- outbox -----------------------------------------------------------------------------------


@app.group()
def outbox() -> None:
    """Notifications waiting to be delivered (Slack posts, emails)."""


@outbox.command("list")
@click.option("--status", type=click.Choice(["pending", "claimed", "done", "dead"]))
@click.option("--limit", "-n", default=50, show_default=True, type=click.IntRange(min=1))
def outbox_list(status: str | None, limit: int) -> None:
    """Show outbox events, newest first, with their delivery state."""
    from modeltrail.core.lifecycle.outbox import Outbox

    registry = open_registry()
    try:
        box = Outbox(registry.engine)
        counts = box.counts()
        events = box.events(status=status, limit=limit)
    finally:
        registry.close()
    lines = ["counts: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty")]
    for e in events:
        lines.append(
            f"  #{e.id} {e.status:8} {e.topic} {e.model or ''} {e.version or ''}"
            f" attempts {e.attempts}" + (f" — {e.last_error}" if e.last_error else "")
        )
    say("\n".join(lines))


@outbox.command("retry")
def outbox_retry() -> None:
    """Give dead events (failed too many times) another round of attempts."""
    from modeltrail.core.lifecycle.outbox import Outbox

    registry = open_registry()
    try:
        count = Outbox(registry.engine).retry_dead(now=dt.datetime.now(dt.UTC))
    finally:
        registry.close()
    say(f"{count} event(s) queued again")
