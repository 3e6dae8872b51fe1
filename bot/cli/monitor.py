"""`modeltrail monitor …`: observations from production, and how each version is doing live.

modeltrail monitor log MODEL [--version V] --metric accuracy=0.87 [--at TIME]
modeltrail monitor data MODEL [--version V] FILE [--at TIME] [--prediction-column NAME]
modeltrail monitor status MODEL [--json]
"""

from __future__ import annotations

from typing import Any

import click

from modeltrail.bot.cli.common import actor_for, app, open_registry, parse_moment, print_json, say


@app.group()
def monitor() -> None:
    """Production monitoring: live metrics, data drift against the training profile, alerts."""


@monitor.command("log")
@click.argument("model")
@click.option("--version", metavar="X.Y.Z", help="Default: the version in production at --at.")
@click.option("--metric", "metrics", multiple=True, required=True, metavar="NAME=NUMBER",
              help="A live metric value. Repeatable.")  # fmt: skip
@click.option("--at", metavar="TIME", help="When it was observed (ISO time; default: now).")
@click.option("--actor")
@click.option("--json", "as_json", is_flag=True, help="The observation and its alerts as JSON.")
def log_metrics(
    model: str,
    version: str | None,
    metrics: tuple[str, ...],
    at: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Record live metric values and judge them against the version's offline metrics."""
    from modeltrail.bot.inputs import split_pair
    from modeltrail.core.errors import UsageError
    from modeltrail.core.monitoring.status import report_metrics

    values: dict[str, Any] = {}
    for item in metrics:
        name, text = split_pair(item, "--metric")
        try:
            values[name] = float(text)
        except ValueError:
            raise UsageError(f"--metric {item!r}: {text!r} is not a number") from None
    registry = open_registry()
    try:
        observation = report_metrics(
            registry,
            model,
            values,
            version=version,
            at=parse_moment(at) if at else None,
            actor=actor_for(actor),
        )
    finally:
        registry.close()
    if as_json:
        print_json(observation.to_dict())
        return
    lines = [f"{model} {observation.version}: live metrics recorded ({observation.status})"]
    for d in observation.decay:
        lines.append("  " + _decay_line(d.to_dict()))
    lines += _alert_lines(observation.alerts)
    say("\n".join(lines))


@monitor.command("data")
@click.argument("model")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--version", metavar="X.Y.Z", help="Default: the version in production at --at.")
@click.option("--at", metavar="TIME", help="When the batch was served (ISO time; default: now).")
@click.option("--prediction-column", default="prediction", show_default=True,
              help="The column holding the model's predictions, if the file has one.")  # fmt: skip
@click.option("--actor")
@click.option("--json", "as_json", is_flag=True, help="The drift table and alerts as JSON.")
def log_data(
    model: str,
    file: str,
    version: str | None,
    at: str | None,
    prediction_column: str,
    actor: str | None,
    as_json: bool,
) -> None:
    """Judge a batch of production inputs (CSV or Parquet) against the version's training
    profile: PSI per column, a KS test for numeric columns, prediction skew."""
    from modeltrail.core.monitoring.status import report_batch

    registry = open_registry()
    try:
        observation = report_batch(
            registry,
            model,
            file,
            version=version,
            at=parse_moment(at) if at else None,
            actor=actor_for(actor),
            prediction_column=prediction_column or None,
        )
    finally:
        registry.close()
    if as_json:
        print_json(observation.to_dict())
        return
    assert observation.drift is not None
    rows = f"{observation.rows:,} rows"
    if observation.sampled_rows is not None and observation.sampled_rows < (observation.rows or 0):
        rows += f", {observation.sampled_rows:,} sampled"
    lines = [f"{model} {observation.version}: batch of {rows} — {observation.status}"]
    lines += _drift_lines(observation.drift.to_dict())
    lines += _alert_lines(observation.alerts)
    say("\n".join(lines))


@monitor.command("status")
@click.argument("model")
@click.option("--version", "versions", multiple=True, metavar="X.Y.Z",
              help="Only these versions (default: production and every observed one).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
def status(model: str, versions: tuple[str, ...], as_json: bool) -> None:
    """Per version: live vs offline metrics, the latest drift table (worst first), alerts."""
    from modeltrail.core.monitoring.status import monitoring_status

    registry = open_registry()
    try:
        result = monitoring_status(registry, model, versions=list(versions) or None)
    finally:
        registry.close()
    if as_json:
        print_json(result.to_dict())
        return
    if not result.versions:
        say(f"{model}: nothing in production and nothing observed yet")
        return
    lines: list[str] = []
    for v in result.versions:
        data = v.to_dict()
        lines.append(f"{model} {v.version} ({v.stage}): {v.status}, {v.observations} observations")
        for d in data["decay"]:
            lines.append("  " + _decay_line(d))
        for c in data["active"]:
            lines.append(
                f"  ALERT {c['condition']} ({c['level']}, {c['magnitude']:.3g}) since {c['since']}"
            )
        if data["drift"]:
            lines.append(f"  drift (batch at {data['drift_observed_at']}):")
            lines += ["  " + line for line in _drift_lines(data["drift"])]
        lines.append("")
    say("\n".join(lines).rstrip())


def _decay_line(d: dict[str, Any]) -> str:
    if d["offline"] is None:
        return f"{d['metric']}: live {d['live']:.4g} (no offline value)"
    mark = "DECAY" if d["status"] == "decay" else "ok"
    return (
        f"{d['metric']}: live {d['live']:.4g} vs offline {d['offline']:.4g} "
        f"({d['delta']:+.4g}; {d['goal']}, tolerance {d['tolerance']:g}) {mark}"
    )


def _drift_lines(report: dict[str, Any]) -> list[str]:
    lines = [f"  {'column':<24} {'kind':<12} {'PSI':>8} {'KS p':>10}  status"]
    for c in report["columns"]:
        ks = "" if c["ks_pvalue"] is None else f"{c['ks_pvalue']:.2g}"
        name = c["column"] + (" (prediction)" if c["role"] == "prediction" else "")
        line = f"  {name:<24} {c['kind']:<12} {c['psi']:>8.3f} {ks:>10}  {c['status']}"
        if c["detail"] and c["status"] != "none":
            line += f"  {c['detail']}"
        lines.append(line)
    for key, label in (
        ("unknown_columns", "not in the profile"),
        ("missing_columns", "not in the batch"),
        ("unreadable_columns", "text in a numeric column"),
    ):
        if report.get(key):
            lines.append(f"  {label}: {', '.join(report[key])}")
    return lines


def _alert_lines(alerts: Any) -> list[str]:
    return [f"  alert ({a.reason}): {a.condition} {a.level} {a.magnitude:.3g}" for a in alerts]
