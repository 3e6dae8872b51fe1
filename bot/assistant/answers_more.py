"""Answers to the questions beyond one version: a stage at a moment, what happened in a period
or what a person did, dirty-tree versions, a package, a param's story, the rollback options, a
metric's value, the params of a diff. Each is one read-only registry tool (the same one an
LLM calls) rendered by `templates/answers_more.j2`; `answers` dispatches to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modeltrail.core.questions.intent import Intent
from modeltrail.templates.render import environment

# The answer context (`answers.AnswerContext`): typed loosely here so this module does not
# import `answers`, which dispatches to it.
AnswerContext = Any


@dataclass(frozen=True)
class Cited:
    """A version an answer relies on."""

    model: str
    version: str


Cites = list[Cited]


def say(macro: str, **values: Any) -> str:
    module = environment("text").get_template("answers_more.j2").module
    text = str(getattr(module, macro)(**values))
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _cite(model: str, *versions: str | None) -> Cites:
    return [Cited(model, v) for v in versions if v]


def resolve_at(ctx: AnswerContext, model: str, ref: str, intent: Intent) -> str:
    """A version reference, read at the question's moment when it names one: "production on
    Dec 1" is the version that was in production then, from the stage history."""
    if intent.when is not None and ref in ("production", "staging"):
        found = ctx.tools.stage_at(model, intent.when.point.isoformat(), stage=ref)
        if found["version"] is None:
            from modeltrail.core.errors import LifecycleError

            raise LifecycleError(f"{model} had no version in {ref} at {intent.when.label}")
        return str(found["version"])
    return ctx.tools.resolve(model, ref)


def stage_at(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    assert intent.model is not None and intent.when is not None
    stage = intent.stage if intent.stage in ("production", "staging") else "production"
    label = intent.when.label if intent.when.moment else f"the end of {intent.when.label}"
    if not intent.when.moment and intent.when.end > _now(ctx):
        label = f"now ({intent.when.label})"
    data = ctx.tools.stage_at(intent.model, intent.when.point.isoformat(), stage=stage)
    return say("stage_at", data=data, label=label), _cite(intent.model, data["version"])


def activity(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    when = intent.when
    label = when.label if when is not None else "all time"
    data = ctx.tools.activity(
        model=intent.model,
        since=when.start.isoformat() if when else None,
        until=when.end.isoformat() if when and not when.moment else None,
        person=intent.person,
        action=intent.action or "any",
    )
    cited = [Cited(e["model"], e["version"]) for e in data["events"] if e["model"] and e["version"]]
    return say("activity", data=data, label=label), cited


def dirty(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    data = ctx.tools.dirty_versions(intent.model)
    return say("dirty", data=data), [Cited(m["model"], m["version"]) for m in data["matches"]]


def package(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    assert intent.model is not None and intent.package is not None
    ref = intent.refs[0] if intent.refs else "production"
    version = resolve_at(ctx, intent.model, ref, intent)
    data = ctx.tools.package_history(intent.model, intent.package, version)
    label = intent.when.label if intent.when is not None else None
    cited = _cite(intent.model, data["version"], *(c["version"] for c in data["changes"]))
    return say("package", data=data, label=label), cited


def param(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    assert intent.model is not None and intent.param is not None
    version = resolve_at(ctx, intent.model, intent.refs[0], intent) if intent.refs else None
    data = ctx.tools.param_history(intent.model, intent.param, version)
    cited = _cite(intent.model, *(c["version"] for c in data["changes"]))
    if "asked" in data:
        cited.insert(0, *_cite(intent.model, data["asked"]["version"]))
    return say("param", data=data), cited


def rollback(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    assert intent.model is not None
    data = ctx.tools.recovery_options(intent.model)
    versions = [(data[k] or {}).get("version") for k in ("production", "rollback_target", "golden")]
    return say("rollback", data=data), _cite(intent.model, *versions)


def metric(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    assert intent.model is not None and intent.metric is not None
    ref = intent.refs[0] if intent.refs else "production"
    version = resolve_at(ctx, intent.model, ref, intent)
    data = ctx.tools.metric_value(intent.model, intent.metric, version)
    written = next((w for w, name in intent.written if name == intent.metric and w != name), None)
    label = intent.when.label if intent.when is not None else None
    cited = _cite(intent.model, data["version"])
    return say("metric", data=data, written=written, label=label), cited


def params_diff(diff: Any) -> str:
    from modeltrail.core.registry.tools import diff_to_dict

    return say("params_diff", d=diff_to_dict(diff))


def _now(ctx: AnswerContext) -> Any:
    return ctx.now()


def _answers_j2(macro: str, **values: Any) -> str:
    module = environment("text").get_template("answers.j2").module
    text = str(getattr(module, macro)(**values))
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _period(data: dict[str, Any]) -> str:
    since, until = data.get("since"), data.get("until")
    if since and until:
        return f"{since[:16].replace('T', ' ')} to {until[:16].replace('T', ' ')} UTC"
    if since:
        return f"since {since[:16].replace('T', ' ')} UTC"
    return "all time"


# The answer text of each tool's result, as the parser's answers render it: an LLM calling a
# tool gets the same sentence a parsed question would, beside the data.
TOOL_TEXT: dict[str, Any] = {
    "list_models": lambda d: _answers_j2("models", data=d),
    "list_versions": lambda d: _answers_j2("latest", data=d, limit=None),
    "get_version": lambda d: _answers_j2("show", data=d),
    "get_stages": lambda d: _answers_j2("stage", data=d, stage="production"),
    "stage_history": lambda d: _answers_j2("history", data=d),
    "version_history": lambda d: _answers_j2("who", data=d, action="any"),
    "best_version": lambda d: _answers_j2("best", data=d),
    "versions_using_data": lambda d: _answers_j2("used", data=d, what="data"),
    "versions_at_commit": lambda d: _answers_j2("used", data=d, what="commit"),
    "metric_regressions": lambda d: _answers_j2("regression", data=d),
    "monitoring_status": lambda d: _answers_j2("monitoring", data=d),
    "stage_at": lambda d: say("stage_at", data=d, label=d["at"][:16].replace("T", " ") + " UTC"),
    "activity": lambda d: say("activity", data=d, label=_period(d)),
    "dirty_versions": lambda d: say("dirty", data=d),
    "package_history": lambda d: say("package", data=d),
    "param_history": lambda d: say("param", data=d),
    "recovery_options": lambda d: say("rollback", data=d),
    "metric_value": lambda d: say("metric", data=d),
}


def tool_text(name: str, result: dict[str, Any]) -> str | None:
    """The answer text for a tool's result (None for an error or a tool without one)."""
    render = TOOL_TEXT.get(name)
    if render is None or "error" in result:
        return None
    return str(render(result))
