"""Answers to questions in plain words: `answer(question, context) -> Answer`.

One entry for every way a question arrives — `modeltrail ask`, `/model ask`, a mention in a
channel, a direct message. The deterministic parser (`core/questions/parser.py`) reads the common
questions and the read-only registry tools (`core/registry/tools.py`) answer them through
`templates/answers.j2`. Only a question the parser does not understand goes to the optional
LLM fallback, which is expected to use the same tools.

The assistant never changes the registry: a request to promote, roll back, retire or mark a
version golden is answered with the exact command to run.
"""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from modeltrail.bot.assistant import answers_more as more
from modeltrail.bot.assistant.answers_more import Cited
from modeltrail.core.errors import ModeltrailError
from modeltrail.core.questions.intent import Intent
from modeltrail.core.questions.names import Known
from modeltrail.core.questions.parser import parse, unknown_words
from modeltrail.core.registry.tool_specs import TOOL_NAMES
from modeltrail.core.registry.tools import RegistryTools
from modeltrail.core.versioning import SemVer
from modeltrail.templates.render import environment

if TYPE_CHECKING:
    from modeltrail.bot.slack.blocks import Message
    from modeltrail.bot.slack.handlers import Answerer
    from modeltrail.core.config import Settings
    from modeltrail.core.registry.writer import Registry

Source = Literal["parser", "llm", "none"]
NEEDS_MODEL = frozenset(
    {"stage", "latest", "history", "show", "diff", "who", "why", "best", "regression", "change"}
    | {"monitoring", "package", "param", "rollback", "metric"}
)


@dataclass(frozen=True)
class Answer:
    """What the assistant says. `text` is markdown-ish plain text (see templates/answers.j2);
    `ok` is False when the question could not be answered (not understood, which model?,
    an unknown version)."""

    text: str
    source: Source
    intent: Intent | None = None
    versions: tuple[Cited, ...] = ()
    ok: bool = True
    tools: tuple[str, ...] = ()  # the registry tools the answer used, in order

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "source": self.source,
            "ok": self.ok,
            "intent": self.intent.to_dict() if self.intent is not None else None,
            "versions": [{"model": c.model, "version": c.version} for c in self.versions],
            "tools": list(self.tools),
        }


# Kinds whose tools need the full Registry (SQLAlchemy queries, monitoring, the promotion gate).
NEEDS_FULL = frozenset({"best", "used_data", "used_commit", "regression", "monitoring", "change"})

LLMFallback = Callable[[str, "AnswerContext"], "Answer | None"]


@dataclass(frozen=True)
class AnswerContext:
    """What an answer may use: the registry (read only), the model a channel or `--model`
    defaults to, and an LLM fallback for questions the parser does not understand."""

    registry: Registry  # or the stdlib SqliteReader, with `full` to open the Registry
    default_model: str | None = None
    llm: LLMFallback | None = None
    slack_command: str = "/model"
    cli: bool = False  # says `--model M` when asking which model
    timezone: str | None = None  # MODELTRAIL_TIMEZONE: how "yesterday" and "at 7:02" are read
    clock: Callable[[], dt.datetime] | None = None  # injected in tests; default: the system's
    used: list[str] = field(default_factory=list, compare=False)  # tools called, per answer
    # When `registry` is the stdlib reader (a fast start): opens the full Registry for the
    # questions whose tools need it (NEEDS_FULL); the caller closes what it opened.
    full: Callable[[], Registry] | None = None

    @cached_property
    def tools(self) -> RegistryTools:
        """The read-only tools over `registry` (what an LLM fallback should call); every tool
        call is noted in `used`."""
        return _Recording(self.registry, self.used)

    def now(self) -> dt.datetime:
        return self.clock() if self.clock is not None else dt.datetime.now(dt.UTC)


def answer(question: str, context: AnswerContext) -> Answer:
    """Answer `question` from the registry; never changes it."""
    context.used.clear()
    said = _answer(question, context)
    return replace(said, tools=tuple(dict.fromkeys(context.used)))


def _answer(question: str, context: AnswerContext) -> Answer:
    tools = context.tools
    models = tools.model_names()
    known = Known(
        models=models,
        metrics=tools.metric_names(),
        people=tools.people(),
        params=tools.param_keys(),
        packages=tools.package_names(),
        now=context.now(),
        timezone=context.timezone,
    )
    intent = parse(question, known=known)
    if intent is None:
        return _not_understood(question, context, unknown_words(question, known))
    if intent.unread or intent.choices:
        if context.llm is not None:
            said = context.llm(question, context)
            if said is not None:
                return said
        return Answer(_ask_back(question, intent, known, context), "parser", intent, ok=False)
    if intent.kind in NEEDS_FULL and context.full is not None:
        context = replace(context, registry=context.full(), full=None)
    if intent.kind in NEEDS_MODEL and intent.model is None:
        model = context.default_model
        if model is None and len(models) == 1:
            model = models[0]
        if model is None:
            if not models:
                return Answer(_say("no_models"), "parser", intent, ok=False)
            text = _say(
                "ask_model",
                models=models,
                question=question.strip().rstrip("?!. "),
                cli=context.cli,
            )
            return Answer(text, "parser", intent, ok=False)
        intent = intent.with_model(model)
    try:
        text, cited = _ANSWERS[intent.kind](intent, context)
    except ModeltrailError as exc:
        if context.llm is not None and intent.kind != "change":
            # the question names something the registry does not hold (a metric, a version):
            # the LLM may read it differently, with the same tools
            said = context.llm(question, context)
            if said is not None:
                return said
        return Answer(_say("error", message=exc.message, hint=exc.hint), "parser", intent, ok=False)
    return Answer(text, "parser", intent, _unique(cited))


def _not_understood(question: str, context: AnswerContext, unknown: tuple[str, ...] = ()) -> Answer:
    if context.llm is not None:
        said = context.llm(question, context)
        if said is not None:
            return said
    text = _say("not_understood", llm=context.llm is not None, unknown=list(unknown[:5]))
    return Answer(text, "none", ok=False)


def _ask_back(question: str, intent: Intent, known: Known, context: AnswerContext) -> str:
    """What could not be read, what the answer would have been without it, and the names the
    registry does know, so the next try can succeed."""
    if intent.choices and not intent.unread:
        written = intent.metric or intent.param or ""
        return more.say("choices", written=written, names=list(intent.choices), question=question)
    reading = None
    bare = replace(intent, unread=(), choices=())
    if bare.kind in NEEDS_MODEL and bare.model is None:
        bare = bare.with_model(
            context.default_model or (models[0] if len(models := known.models) == 1 else None)
        )
    if bare.model is not None or bare.kind not in NEEDS_MODEL:
        try:
            first = _ANSWERS[bare.kind](bare, context)[0].splitlines()[0]
            reading = first.rstrip(".:")
        except ModeltrailError:
            reading = None
    hints = []
    if known.people and any(_looks_like_name(w) for w in intent.unread):
        hints.append("People in the registry: " + ", ".join(known.people[:12]) + ".")
    if len(known.models) > 1:
        hints.append("Models: " + ", ".join(known.models[:12]) + ".")
    if intent.kind in ("metric", "best", "regression") and known.metrics:
        hints.append("Metrics: " + ", ".join(known.metrics[:15]) + ".")
    if any(any(c.isdigit() for c in w) for w in intent.unread):
        hints.append(
            "Times I read: “at 7:02”, “on Dec 1”, “yesterday”, “last week”, “since Monday”, "
            "“in November”, “2 days ago”; versions look like 2.1.5."
        )
    return more.say(
        "unread",
        question=question,
        words=list(intent.unread),
        reading=reading,
        hints=hints,
        llm=context.llm is not None,
    )


def _looks_like_name(word: str) -> bool:
    return word.isalpha() and len(word) <= 12


# -- one function per intent kind: (text, cited versions) -----------------------------------------

Cites = list[Cited]


def _models(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    data = ctx.tools.list_models()
    cited = [Cited(m["name"], m["production_version"]) for m in data["models"]]
    return _say("models", data=data), [c for c in cited if c.version]


def _stage(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    model = _model(intent)
    if intent.when is not None and intent.stage != "golden" and not intent.refs:
        return more.stage_at(intent, ctx)
    data = ctx.tools.get_stages(model)
    asked = None
    if intent.refs:
        version = ctx.tools.resolve(model, intent.refs[0])
        history = ctx.tools.version_history(model, version)
        asked = {"version": version, "stage": history["stage"], "golden": history["golden"]}
    stage = intent.stage or "production"
    cited = []
    if stage == "staging":
        cited += data["staging"]
    if data["production"]:
        cited.append(data["production"]["version"])
    if stage == "golden" and data["golden"]:
        cited.append(data["golden"]["version"])
    if asked:
        cited.append(asked["version"])
    text = _say("stage", data=data, stage=stage, asked=asked)
    return text, [Cited(model, v) for v in cited]


def _latest(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    model = _model(intent)
    data = ctx.tools.list_versions(model, limit=min(intent.limit or 5, 100))
    cited = [Cited(model, v["version"]) for v in data["versions"]]
    return _say("latest", data=data, limit=intent.limit), cited


def _history(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    model = _model(intent)
    data = ctx.tools.stage_history(model, stage=intent.stage or "production")
    return _say("history", data=data), [Cited(model, p["version"]) for p in data["periods"]]


def _show(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    model = _model(intent)
    data = ctx.tools.get_version(model, intent.refs[0] if intent.refs else "latest")
    return _say("show", data=data), [Cited(model, data["version"])]


def _diff(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    model = _model(intent)
    refs = [more.resolve_at(ctx, model, r, intent) for r in intent.refs]
    if intent.since and refs:
        refs.append(ctx.tools.resolve(model, "latest"))
    if len(refs) == 2:
        old, new = sorted(refs, key=SemVer.parse)
        if old == new:
            return _say("same_version", model=model, version=old), [Cited(model, old)]
        diff = ctx.tools.diff(model, old, new)
    else:
        diff = ctx.tools.diff(model, None, refs[0] if refs else None)
    cited = [Cited(model, diff.old_version), Cited(model, diff.new_version)]
    if intent.focus == "params":
        return more.params_diff(diff), cited
    return _say("diff", d=diff), cited


def _who(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    model = _model(intent)
    action = intent.action or "any"
    ref = intent.refs[0] if intent.refs else ("production" if action == "promote" else "latest")
    data = ctx.tools.version_history(model, ref)
    return _say("who", data=data, action=action), [Cited(model, data["version"])]


def _why(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    model = _model(intent)
    if intent.refs:
        ref = intent.refs[0]
    else:
        trail = ctx.tools.audit_trail(model, limit=200)["events"]
        archived = [e for e in trail if e.get("to_stage") == "archived"]
        if intent.action == "rollback":
            archived = [e for e in archived if e["action"] == "rollback"]
        if not archived:
            return _say("nothing_archived", model=model, rollback=intent.action == "rollback"), []
        ref = archived[0]["version"]
    data = ctx.tools.version_history(model, ref)
    return _say("why", data=data), [Cited(model, data["version"])]


def _best(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    model = _model(intent)
    assert intent.metric is not None
    data = ctx.tools.best_version(model, intent.metric, order=intent.order or "best")
    cited = [Cited(model, data["best"]["version"])] if data["best"] else []
    return _say("best", data=data), cited


def _used_data(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    assert intent.digest is not None
    data = ctx.tools.versions_using_data(intent.digest, model=intent.model)
    return _say("used", data=data, what="data"), _match_cites(data["matches"])


def _used_commit(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    assert intent.commit is not None
    data = ctx.tools.versions_at_commit(intent.commit, model=intent.model)
    return _say("used", data=data, what="commit"), _match_cites(data["matches"])


def _regression(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    model = _model(intent)
    data = ctx.tools.metric_regressions(model, intent.metric)
    cited = [Cited(model, r["version"]) for r in data["regressions"]]
    return _say("regression", data=data), cited


def _monitoring(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    model = _model(intent)
    ref = intent.refs[0] if intent.refs else "production"
    if ref == "production" and ctx.tools.get_stages(model)["production"] is None:
        return _say("error", message=f"{model} has no version in production"), []
    data = ctx.tools.monitoring_status(model, ref)
    return _say("monitoring", data=data), [Cited(model, data["version"])]


def _help(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    return _say("help", command=ctx.slack_command), []


def _change(intent: Intent, ctx: AnswerContext) -> tuple[str, Cites]:
    """The command that would make the change; nothing is changed here."""
    model = _model(intent)
    command = ctx.slack_command
    action = intent.action or "promote"
    reason_cli = shlex.quote(intent.reason) if intent.reason else '"WHY"'
    reason_slack = intent.reason or "REASON"
    m = shlex.quote(model)
    notes: list[str] = []
    if action == "rollback":
        stages = ctx.tools.get_stages(model)
        if stages["production"] is None:
            return _say("error", message=f"{model} has no production version to roll back"), []
        current, target = stages["production"]["version"], stages["rollback_target"]
        if target is None:
            message = f"{model} has no earlier production version to roll back to"
            hint = f"promote a version instead: modeltrail promote {m} VERSION"
            return _say("error", message=message, hint=hint), [Cited(model, current)]
        summary = (
            f"A rollback of {model} archives {current} and brings back {target}, "
            "the version in production before it."
        )
        change = {
            "summary": summary,
            "cli": f"modeltrail rollback {m} --reason {reason_cli}",
            "slack": f"{command} rollback {model} {reason_slack}",
            "notes": notes,
        }
        if intent.refs:
            wanted = ctx.tools.resolve(model, intent.refs[0])
            if wanted != target:
                notes.append(
                    f"To bring back {wanted} instead, promote it: "
                    f"`modeltrail promote {m} {wanted} --reason {reason_cli}`"
                )
        return _say("change", c=change), [Cited(model, current), Cited(model, target)]

    if not intent.refs:
        verb = {"stage": "stage", "golden": "mark as golden", "retire": "retire"}.get(
            action, "promote"
        )
        message = f"which version of {model} should I tell you how to {verb}?"
        hint = "name it, e.g. 2.1.5, latest or staging"
        return _say("error", message=message, hint=hint), []
    version = ctx.tools.resolve(model, intent.refs[0])
    history = ctx.tools.version_history(model, version)  # checks that it exists
    stage, golden = history["stage"], history["golden"]
    cited = [Cited(model, version)]
    if action == "promote":
        if stage == "production":
            return _say("error", message=f"{model} {version} is already in production"), cited
        summary = f"Promoting {model} {version} moves it to production"
        stages = ctx.tools.get_stages(model)
        if stages["production"]:
            summary += f" and archives {stages['production']['version']}"
            cited.append(Cited(model, stages["production"]["version"]))
        summary += "; the promotion gate compares it with production first."
        blocking = _gate(ctx, model, version, stages["production"])
        if blocking:
            notes.append("The gate would block it now: " + "; ".join(blocking) + ".")
            notes.append(
                'Fix the cause, or override with `--force --reason "…"` (the override is audited).'
            )
        change = {
            "summary": summary,
            "cli": f"modeltrail promote {m} {version} --reason {reason_cli}",
            "slack": f"{command} promote {model} {version} {reason_slack}",
            "notes": notes,
        }
    elif action == "stage":
        if stage == "staging":
            return _say("error", message=f"{model} {version} is already in staging"), cited
        change = {
            "summary": f"Staging {model} {version} moves it to staging.",
            "cli": f"modeltrail promote {m} {version} --to staging --reason {reason_cli}",
            "slack": None,
            "notes": notes,
        }
    elif action == "golden":
        if golden:
            return _say("error", message=f"{model} {version} is already the golden version"), cited
        change = {
            "summary": f"Marking {model} {version} golden makes it the baseline reports compare "
            "against.",
            "cli": f"modeltrail golden {m} {version}"
            + (f" --reason {reason_cli}" if intent.reason else ""),
            "slack": f"{command} golden {model} {version}",
            "notes": notes,
        }
    else:  # retire
        if stage == "archived":
            return _say("error", message=f"{model} {version} is already archived"), cited
        if stage == "production":
            notes.append(f"{version} is in production: retiring it leaves {model} with none.")
        change = {
            "summary": f"Retiring {model} {version} archives it with your reason.",
            "cli": f"modeltrail retire {m} {version} --reason {reason_cli}",
            "slack": None,
            "notes": notes,
        }
    return _say("change", c=change), cited


def _gate(
    ctx: AnswerContext, model: str, version: str, production: Mapping[str, Any] | None
) -> list[str]:
    """What would block the promotion now (the registry's own judgement; reads only)."""
    baseline = production["version"] if production else None
    decision = ctx.registry.judge(model, version, baseline=baseline)
    return [f"{f.kind}: {f.message}" for f in decision.blocking[:3]]


_ANSWERS: dict[str, Callable[[Intent, AnswerContext], tuple[str, Cites]]] = {
    "models": _models,
    "stage": _stage,
    "latest": _latest,
    "history": _history,
    "show": _show,
    "diff": _diff,
    "who": _who,
    "why": _why,
    "best": _best,
    "used_data": _used_data,
    "used_commit": _used_commit,
    "regression": _regression,
    "change": _change,
    "help": _help,
    "monitoring": _monitoring,
    "activity": more.activity,
    "dirty": more.dirty,
    "package": more.package,
    "param": more.param,
    "rollback": more.rollback,
    "metric": more.metric,
}


class _Recording(RegistryTools):
    """The registry tools, noting the name of every tool called (for `Answer.tools`)."""

    def __init__(self, registry: Registry, used: list[str]) -> None:
        super().__init__(registry)
        self._used = used

    def __getattribute__(self, name: str) -> Any:
        if name in TOOL_NAMES:
            object.__getattribute__(self, "_used").append(name)
        return object.__getattribute__(self, name)


# -- helpers ----------------------------------------------------------------------------------


def _model(intent: Intent) -> str:
    assert intent.model is not None, "answer() fills in the model first"
    return intent.model


def _match_cites(matches: Iterable[Mapping[str, Any]]) -> Cites:
    return [Cited(m["model"], m["version"]) for m in matches]


def _unique(cited: Iterable[Cited]) -> tuple[Cited, ...]:
    return tuple(dict.fromkeys(c for c in cited if c.version))


def _say(macro: str, **values: Any) -> str:
    module = environment("text").get_template("answers.j2").module
    text = str(getattr(module, macro)(**values))
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return "\n".join(lines)


# -- Slack ------------------------------------------------------------------------------------


def slack_messages(said: Answer) -> list[Message]:
    """The answer as Slack messages: the whole text escaped (registry text included), so
    nothing in it can ping a channel or forge a link."""
    from modeltrail.bot.slack.blocks import paginate, section
    from modeltrail.templates.render import slack as esc

    text = esc(said.text)
    return paginate(text, section(text))


def slack_answerer(
    registry: Registry, settings: Settings, *, llm: LLMFallback | None = None
) -> Answerer:
    """The `answer` callable of `build_app`: the channel's default model (the model whose
    reports go there), then `answer()`, then Slack messages."""
    from modeltrail.bot.slack.handlers import Asker, channel_models

    def answer_in_slack(question: str, asker: Asker) -> list[Message]:
        default = channel_models(registry, settings).get(asker.channel_id or "")
        context = AnswerContext(
            registry, default, llm, settings.slack_command, timezone=settings.timezone
        )
        return slack_messages(answer(question, context))

    return answer_in_slack
