"""Stage moves: promote (through the gate), rollback, golden, retire, retention, and the stage
history they leave. Registered on `common.app`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from modeltrail.bot.cli.common import (
    actor_for,
    app,
    open_reader,
    open_registry,
    parse_moment,
    print_json,
    say,
    when,
)

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
@click.option(
    "--request",
    "as_request",
    is_flag=True,
    help="Ask for approval instead (models whose policy needs it: modeltrail policy).",
)
@click.option("--actor", help="Who promotes (default: MODELTRAIL_ACTOR, git user, OS user).")
@click.option("--json", "as_json", is_flag=True)
def promote(
    model: str,
    version: str,
    to_stage: str,
    reason: str | None,
    force: bool,
    as_request: bool,
    actor: str | None,
    as_json: bool,
) -> None:
    """Move a version to production (default) or staging, through the promotion gate.

    Promoting to production compares the candidate with the current production; a critical
    finding (a metric regression beyond tolerance, missing lineage, …) blocks it with exit
    code 1 unless --force --reason TEXT, which is recorded.
    """
    from modeltrail.core.errors import UsageError
    from modeltrail.core.registry.governance import PromotionBlocked

    if as_request and (force or to_stage != "production"):
        raise UsageError("--request is for production and cannot be forced")
    registry = open_registry()
    try:
        version = registry.resolve_version(model, version)
        if as_request:
            request = registry.request_promotion(
                model, version, requester=actor_for(actor), reason=reason
            )
            if as_json:
                print_json(
                    {
                        "request": request.id,
                        "model": model,
                        "version": version,
                        "needed": request.needed,
                        "expires_at": request.expires_at.isoformat(),
                    }
                )
            else:
                say(
                    f"request #{request.id}: {model} {version} to production, waiting for "
                    f"{request.needed} approval(s) until {request.expires_at:%Y-%m-%d %H:%M} UTC"
                    f"\n  approve: modeltrail approve {request.id} (or the button in Slack)"
                )
            return
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
    from modeltrail.core.vault.deploy import deploy_facts, deploy_lines

    registry = open_registry()
    try:
        result = registry.rollback(model, actor=actor_for(actor), reason=reason)
        back = result.plan.moves[-1].version
        facts = deploy_facts(registry.load(model, back))
    finally:
        registry.close()
    head = f"{model} rolled back: {back} is in production again"
    say("\n".join([head, *_moves_text(result), f"{back}'s artifacts:", *deploy_lines(facts)]))


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

    registry = open_reader()
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
