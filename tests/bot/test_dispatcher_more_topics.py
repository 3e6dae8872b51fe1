"""More dispatcher topics through the real WebClient to the fake Slack: monitoring alerts and
new golden versions."""

from __future__ import annotations

from bot_fixtures import REPORTS, make_settings, seed
from slack_fake import FakeSlack

from modeltrail.bot.slack.app import web_client
from modeltrail.bot.slack.dispatcher import SlackDispatcher
from modeltrail.core.monitoring.observe import report_metrics
from modeltrail.core.registry.writer import Registry


def drain(dispatcher: SlackDispatcher) -> None:
    while dispatcher.run_once():
        pass


def test_a_decay_alert_is_posted_once_with_the_rollback_command(
    registry: Registry, slack: FakeSlack
) -> None:
    seed(registry, 0.90, 0.91)
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.promote("fraud", "1.0.1", actor="ada")
    config = make_settings(slack)
    dispatcher = SlackDispatcher(registry, web_client(config), config)
    drain(dispatcher)
    before = len(slack.posts(REPORTS))

    report_metrics(registry, "fraud", {"auc": 0.60})  # far below 0.91 offline
    report_metrics(registry, "fraud", {"auc": 0.60})  # the same condition: no second alert
    drain(dispatcher)

    alerts = slack.posts(REPORTS)[before:]
    assert len(alerts) == 1
    text = " ".join(str(b) for b in alerts[0].blocks) + alerts[0].text
    assert "1.0.1" in text and "auc" in text
    assert "modeltrail rollback fraud" in text


def test_a_new_golden_version_is_announced(registry: Registry, slack: FakeSlack) -> None:
    seed(registry, 0.90, 0.91)
    config = make_settings(slack)
    dispatcher = SlackDispatcher(registry, web_client(config), config)
    drain(dispatcher)
    registry.set_golden("fraud", "1.0.0", actor="ada", reason="<!channel> stable baseline")
    registry.set_golden("fraud", "1.0.1", actor="bob", reason="better baseline")
    drain(dispatcher)
    posts = [p for p in slack.posts(REPORTS) if "golden" in p.text]
    assert [p.text for p in posts] == [
        "fraud 1.0.0 is the golden version",
        "fraud 1.0.1 is the golden version — fraud 1.0.1 vs 1.0.0: "
        + posts[1].text.split("vs 1.0.0: ", 1)[1],
    ]
    assert "<!channel>" not in str(posts[0].blocks)  # escaped
