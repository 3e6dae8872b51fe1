"""Item 5: a captured, validly signed slash command replayed within Slack's 5-minute window
gets 200 and does nothing, on every replica (the signature is recorded in the database).
The real service (waitress + Bolt) against the fake Slack."""

from __future__ import annotations

import datetime as dt
import time

from bot_fixtures import ADMIN, seed
from slack_fake import command_body, signed_headers

from modeltrail.core.registry.writer import Registry


def test_item5_replayed_rollbacks_and_promotions_run_once(serve, registry: Registry, slack) -> None:
    seed(registry, 0.80, 0.81, 0.82)
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.promote("fraud", "1.0.1", actor="ada")
    first, second = serve(), serve()  # two replicas on one database
    body = command_body(
        "rollback fraud broke the dashboard",
        response_url=slack.response_url("rb"),
        user=ADMIN,
    )
    headers = signed_headers(body, "application/x-www-form-urlencoded")
    answers = []
    for bot in (first, second, first, second):  # the original, then three replays
        answers.append(bot.http.post(bot.url, content=body.encode(), headers=headers))
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    slack.wait_for(lambda: slack.responses("rb"))
    state = registry.model_state("fraud")
    rollbacks = [c for c in state.changes if c.action == "rollback" and c.to_stage == "production"]
    print(f"1 rollback sent, 3 replays: {len(rollbacks)} rollback(s) executed")
    assert len(rollbacks) == 1
    assert state.production == "1.0.0"

    # A promote replayed later must not undo the rollback either.
    promote = command_body("promote fraud 1.0.2", response_url=slack.response_url("p"), user=ADMIN)
    sent = signed_headers(promote, "application/x-www-form-urlencoded")
    for bot in (first, second, second):
        assert bot.http.post(bot.url, content=promote.encode(), headers=sent).status_code == 200

    # The promote is answered (a reply, or the reason dialog Slack buttons open), once.
    def handled() -> list:
        return slack.responses("p") + [c for c in slack.calls if c.method == "views.open"]

    slack.wait_for(handled)
    time.sleep(0.5)
    assert len(handled()) == 1, handled()
    promotions = [c for c in registry.model_state("fraud").changes if c.version == "1.0.2"]
    assert len(promotions) <= 1
    # Signatures are remembered for the window only; the ledger prunes older ones.
    assert registry.forget_events_before("slack-sig:", dt.datetime.now(dt.UTC)) >= 2
