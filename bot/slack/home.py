"""The App Home tab: the models a person follows (those they own; everyone sees every model
when they own none), each with its production, staging and golden versions and the last
changes of the past week, built from the same data as the digest (`load_digest`).

Published with `views.publish` when the person opens the tab (`app_home_opened`), in a lazy
listener: the event is acked at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from modeltrail.bot.slack import views
from modeltrail.bot.slack.blocks import context, divider, header, section
from modeltrail.core.config import Settings
from modeltrail.core.registry.writer import Registry
from modeltrail.templates.render import slack as esc

log = logging.getLogger("modeltrail.slack.home")

MAX_MODELS = 15
DAYS = 7


def followed(registry: Registry, user_id: str) -> list[str]:
    names = [m.name for m in registry.list_models()]
    owned = [n for n in names if user_id in registry.owners(n).users]
    return (owned or names)[:MAX_MODELS]


def home_blocks(
    registry: Registry, settings: Settings, user_id: str, *, now: dt.datetime
) -> list[dict[str, Any]]:
    from modeltrail.core.digest.period import load_digest
    from modeltrail.core.digest.schedule import trailing_window, zone

    models = followed(registry, user_id)
    blocks: list[dict[str, Any]] = [header("modeltrail: your models")]
    if not models:
        return [*blocks, *section("No models in the registry yet.")]
    window = trailing_window(now, DAYS, zone(settings.timezone))
    digest = load_digest(registry, window, models=models, now=now)
    for model in digest.models:
        state = registry.model_state(model.model)
        staging = ", ".join(sorted(state.in_stage("staging"))) or "—"
        lines = [
            f"*{esc(model.model)}*  production *{model.production or '—'}* · staging "
            f"{staging} · golden {model.golden or '—'}"
        ]
        changes = _changes(model)
        lines += changes[:5] or [f"_no changes in the last {DAYS} days_"]
        if len(changes) > 5:
            lines.append(f"_… and {len(changes) - 5} more_")
        blocks += section("\n".join(lines))
        blocks.append(divider())
    blocks.append(
        context([f"{esc(settings.slack_command)} help · the last {DAYS} days, as in the digest"])
    )
    return blocks


def _changes(model: Any) -> list[str]:
    """The period's changes, newest first, one line each."""
    found: list[tuple[dt.datetime, str]] = []
    for p in model.promotions:
        found.append((p.at, f"• {p.version} promoted to {p.to_stage} by {esc(p.actor)}"))
    for r in model.rollbacks:
        found.append((r.at, f"• rolled back {r.from_version} → {r.to_version} by {esc(r.actor)}"))
    for r in model.retirements:
        found.append((r.at, f"• {r.version} {r.kind} by {esc(r.actor)}"))
    for g in model.golden_changes:
        found.append((g.at, f"• {g.version} marked golden by {esc(g.actor)}"))
    for v in model.new_versions:
        found.append((v.created_at, f"• {v.version} registered by {esc(v.actor)}"))
    return [text for _, text in sorted(found, key=lambda item: item[0], reverse=True)]


def register(
    app: App,
    registry: Registry,
    settings: Settings,
    client: WebClient,
    *,
    once: Callable[[Callable[..., None]], Callable[..., None]],
) -> None:
    def ack_event(ack: Callable[..., None]) -> None:
        ack()

    def publish(event: dict[str, Any]) -> None:
        if event.get("tab") not in (None, "home"):
            return
        user_id = str(event.get("user", ""))
        try:
            blocks = home_blocks(registry, settings, user_id, now=dt.datetime.now(dt.UTC))
            client.views_publish(user_id=user_id, view=views.home_view(blocks))
        except Exception:
            log.exception("publishing the App Home tab failed")

    app.event("app_home_opened")(ack=ack_event, lazy=[once(publish)])
