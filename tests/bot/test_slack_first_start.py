"""Turning the bot on for a registry with a past: the first `serve` posts only what happens
from then on (and says so in the log); `modeltrail outbox replay --since` posts the rest; a
later restart posts what happened while it was down. SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import time

from bot_fixtures import REPORTS, seed

from modeltrail.bot.cli.main import main
from modeltrail.core.lifecycle.outbox import Outbox
from modeltrail.core.registry.writer import Registry


def _titles(slack) -> list[str]:
    return [p.text.split(" — ")[0] for p in slack.posts(REPORTS)]


def test_the_first_start_posts_only_new_events(serve, registry: Registry, db_url, caplog) -> None:
    seed(registry, 0.90, 0.92, 0.93)
    registry.promote("fraud", "1.0.0", actor="ada", reason="long ago")
    caplog.set_level(logging.INFO, logger="modeltrail.slack.dispatcher")
    bot = serve()
    deadline = time.monotonic() + 5
    while "first start" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "first start on this registry: 4 earlier event(s) not posted" in caplog.text
    registry.promote("fraud", "1.0.1", actor="ada", reason="now")
    bot.slack.wait_for(lambda: "fraud 1.0.1 promoted to production" in _titles(bot.slack))
    time.sleep(0.3)
    assert _titles(bot.slack) == ["fraud 1.0.1 promoted to production"]
    assert Outbox(registry.engine).counts().get("skipped") == 4  # 3 registrations, 1 move

    assert main(["--db", db_url, "outbox", "replay", "--since", "2000-01-01"]) == 0
    # Replayed: the skipped 1.0.0 and, once more, the 1.0.1 already posted.
    bot.slack.wait_for(lambda: len(_titles(bot.slack)) == 3)
    assert sorted(_titles(bot.slack)) == [
        "fraud 1.0.0 promoted to production",
        "fraud 1.0.1 promoted to production",
        "fraud 1.0.1 promoted to production",
    ]
    bot.service.stop()

    # Down for a while: what happened meanwhile is posted at the next start, not skipped.
    before = len(bot.slack.posts(REPORTS))
    registry.promote("fraud", "1.0.2", actor="ada", reason="while down")
    again = serve()
    again.slack.wait_for(lambda: len(again.slack.posts(REPORTS)) > before)
    assert "fraud 1.0.2 promoted to production" in _titles(again.slack)


def test_replay_needs_a_moment(db_url, capsys) -> None:
    assert main(["--db", db_url, "outbox", "replay"]) == 2
    assert main(["--db", db_url, "outbox", "replay", "--since", "yesterday"]) == 2
    assert "is not a date or time" in capsys.readouterr().err
