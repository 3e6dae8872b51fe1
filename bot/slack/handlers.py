"""What each `/model` subcommand does, given a parsed command and who asked.

Handlers return messages; the Bolt listener sends them with `respond()`. Errors that are the
user's (unknown model, bad version, a refused move) become a short message with the usage,
never a stack trace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from modeltrail.bot.slack import reports
from modeltrail.bot.slack.blocks import Message
from modeltrail.bot.slack.commands import SlashCommand, parse_command, usage_text
from modeltrail.bot.slack.talk import Asker, Reply
from modeltrail.bot.slack.talk import refusal as talk_refusal
from modeltrail.core.config import Settings
from modeltrail.core.errors import ModeltrailError
from modeltrail.core.registry.writer import Registry
from modeltrail.templates.render import slack as esc

if TYPE_CHECKING:
    from modeltrail.bot.slack.people import Access


Answerer = Callable[[str, Asker], list[Message]]


def channel_models(registry: Registry, settings: Settings) -> dict[str, str]:
    """channel ID → the model whose reports go there (a channel's default model)."""
    mapping: dict[str, str] = {}
    for summary in registry.list_models():
        channel = registry.model_setting(summary.name, "slack.channel")
        if channel:
            mapping.setdefault(str(channel), summary.name)
    return mapping


class CommandHandler:
    def __init__(
        self,
        registry: Registry,
        settings: Settings,
        *,
        answer: Answerer | None = None,
        access: Access | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.answer = answer
        self.access = access

    def handle(self, text: str, asker: Asker) -> Reply:
        command_name = self.settings.slack_command
        try:
            known = [m.name for m in self.registry.list_models()]
            default = channel_models(self.registry, self.settings).get(asker.channel_id or "")
            command = parse_command(
                text, known_models=known, channel_model=default, command=command_name
            )
        except ModeltrailError as exc:
            return Reply([_error(exc)])
        try:
            done = self._run(command, asker)
            return done if isinstance(done, Reply) else Reply(done, public=command.public)
        except ModeltrailError as exc:
            message = _error(exc)
            if command.name != "help":
                message = _error(exc, usage=usage_text(command_name, command.name))
            return Reply([message])

    def may_change(self, model: str | None, user_id: str) -> bool:
        if self.access is not None:
            return self.access.may_change(model, user_id)
        return user_id in self.settings.slack_admins

    def _run(self, command: SlashCommand, asker: Asker) -> list[Message] | Reply:
        from modeltrail.bot.slack import requests_flow

        if command.name in requests_flow.SUBCOMMANDS or requests_flow.needs_request(
            self.registry, command
        ):
            return requests_flow.run(self, command, asker)
        if command.mutating and not self.may_change(command.model, asker.user_id):
            return [self._refusal(command)]
        modal = requests_flow.reason_modal_for(self.registry, command, asker)
        if modal is not None:
            return Reply([], modal=modal)
        registry = self.registry
        model = command.model
        name = command.name
        if name == "help":
            return [_help(self.settings.slack_command)]
        if name == "ask":
            if self.answer is None:
                return [reports.text_message("Questions are not available in this installation.")]
            return self.answer(" ".join(command.args), asker)
        assert model is not None
        if name == "show":
            version = registry.resolve_version(model, command.args[0] if command.args else "latest")
            return reports.version_message(registry.load(model, version))
        if name == "diff":
            from modeltrail.core.registry.compare import compare, resolve_pair

            first, second = _refs(registry, model, command.args)
            old, new = resolve_pair(registry, model, first, second)
            return reports.diff_message(compare(registry, model, old, new))
        if name == "history":
            from modeltrail.core.lifecycle.rules import timeline

            state = registry.model_state(model)
            return reports.history_message(model, timeline(state), state.golden)
        if name == "production":
            state = registry.model_state(model)
            record = registry.load(model, state.production) if state.production else None
            return [reports.production_message(model, record, state.golden)]
        if name == "changelog":
            from modeltrail.core.registry.compare import changelog

            return reports.changelog_message(model, changelog(registry, model))
        if name == "promote":
            version = registry.resolve_version(model, command.args[0])
            return self.promote(model, version, " ".join(command.args[1:]) or None, asker)
        if name == "rollback":
            return self.rollback(model, " ".join(command.args), asker)
        if name == "golden":
            version = registry.resolve_version(model, command.args[0])
            reason = " ".join(command.args[1:]) or None
            previous = registry.set_golden(model, version, actor=asker.actor, reason=reason)
            was = f" (was {previous})" if previous else ""
            return [reports.text_message(f"*{esc(model)} {version}* is the golden version{was}.")]
        if name == "retire":
            version = registry.resolve_version(model, command.args[0])
            return self.retire(model, version, " ".join(command.args[1:]), asker)
        raise AssertionError(f"unhandled command {name}")

    # The stage changes, with the reason given in the command or typed in a modal.

    def rollback(
        self, model: str, reason: str, asker: Asker, *, expected: str | None = None
    ) -> list[Message]:
        """`expected`: the production the person saw when clicking (a report's button); if
        it changed meanwhile, nothing is done."""
        if expected is not None:
            current = self.registry.model_state(model).production
            if current != expected:
                from modeltrail.core.lifecycle.rules import LifecycleError

                raise LifecycleError(
                    f"{model}'s production is {current or 'empty'} now, not {expected}: "
                    "nothing was rolled back"
                )
        result = self.registry.rollback(model, actor=asker.actor, reason=reason)
        back = result.plan.moves[-1].version
        return [
            reports.text_message(
                f"Rolled back *{esc(model)}*: *{back}* is in production again. "
                "The channel report follows."
            )
        ]

    def retire(self, model: str, version: str, reason: str, asker: Asker) -> list[Message]:
        self.registry.retire(model, version, actor=asker.actor, reason=reason)
        return [
            reports.text_message(
                f"*{esc(model)} {version}* is retired. The channel report follows."
            )
        ]

    def promote(self, model: str, version: str, reason: str | None, asker: Asker) -> list[Message]:
        from modeltrail.core.registry.governance import PromotionBlocked

        try:
            result = self.registry.promote(model, version, actor=asker.actor, reason=reason)
        except PromotionBlocked as blocked:
            against = blocked.decision.baseline
            title = f"Promotion of {model} {version} blocked"
            title += f" (compared with production {against})" if against else ""
            return [
                reports.findings_message(
                    title,
                    blocked.decision.blocking,
                    hint="Fix the cause, or override from the CLI: "
                    f'`modeltrail promote {esc(model)} {version} --force --reason "…"` '
                    "(the override is audited).",
                )
            ]
        replaced = result.plan.moves[0].version if len(result.plan.moves) > 1 else None
        text = f"*{esc(model)} {version}* is now in production"
        text += f", replacing {replaced}." if replaced else "."
        return [reports.text_message(text + " The channel report follows.")]

    def _refusal(self, command: SlashCommand) -> Message:
        return refusal(self, command.model, f"{command.name} versions")


def refusal(handler: CommandHandler, model: str | None, what: str) -> Message:
    return talk_refusal(handler.access, handler.settings, model, what)


def _refs(registry: Registry, model: str, args: Sequence[str]) -> tuple[str | None, str | None]:
    resolved = [registry.resolve_version(model, a) for a in args]
    first = resolved[0] if resolved else None
    second = resolved[1] if len(resolved) > 1 else None
    return first, second


def _help(command: str) -> Message:
    return reports.text_message(
        "*modeltrail* answers about model versions.\n"
        + usage_text(command)
        + "\nAdd `public` to share the answer with the channel."
    )


def _error(exc: ModeltrailError, usage: str | None = None) -> Message:
    text = esc(exc.message)
    if exc.hint:
        text += "\n" + esc(exc.hint)
    elif usage:
        text += "\n" + usage
    return reports.text_message(text)
