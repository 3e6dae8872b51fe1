"""What people set on versions and models besides their stage: tags and notes on a version,
metric goals and the promotion gate's rules on a model. All audited. Registered on
`common.app`."""

from __future__ import annotations

import click

from modeltrail.bot.cli.common import actor_for, app, open_registry, say


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
