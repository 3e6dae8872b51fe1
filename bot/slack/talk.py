"""The plain values a Slack conversation turn is made of: who asked (`Asker`), what the bot
answers (`Reply`), and the polite refusal naming who may do what was asked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modeltrail.bot.slack import reports
from modeltrail.bot.slack.blocks import Message
from modeltrail.core.config import Settings
from modeltrail.templates.render import slack as esc


@dataclass(frozen=True)
class Asker:
    user_id: str
    user_name: str | None  # the real name when Slack told us (people.py), else the handle
    channel_id: str | None
    response_url: str | None = None  # where a modal opened for this command answers

    @property
    def actor(self) -> str:
        """How the audit trail names a Slack user."""
        if self.user_name:
            return f"slack:{self.user_id} ({self.user_name})"
        return f"slack:{self.user_id}"


@dataclass(frozen=True)
class Reply:
    messages: list[Message]
    public: bool = False
    modal: dict[str, Any] | None = None  # a view to open instead (a reason is missing)


def refusal(access: Any, settings: Settings, model: str | None, what: str) -> Message:
    """The polite no, naming who may: the model's owners, then the registry admins.
    `access` is a people.Access (None: the admins alone decide)."""
    if access is not None:
        who = access.who(model)
        owners = not access.owners(model).empty
    else:
        admins = settings.slack_admins
        who = ", ".join(f"<@{esc(a)}>" for a in admins) if admins else "nobody yet"
        owners = False
    people = (
        f"the owners of {esc(model)} and the registry admins" if owners else "the registry admins"
    )
    return reports.text_message(
        f"Sorry, only {people} can {what}: {who}. "
        "Ask one of them, or run the command from the CLI if you have access."
    )
