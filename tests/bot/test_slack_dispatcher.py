"""The outbox dispatcher: channel reports after promotions (from the CLI too), rollbacks,
retirements and, when asked, registrations; Slack's limits on huge reports; escaping; and
delivery when Slack is rate-limited, failing or unreachable — never lost, never twice.

The real slack_sdk WebClient talks to the fake Slack Web API on loopback. Time is an injected
clock passed to `run_once()`, except where the running service's own dispatcher is measured.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from bot_fixtures import ENV, REPORTS, draft, make_settings, seed
from slack_fake import FakeSlack, block_text_size
from support import commit_file

from modeltrail.bot.cli.main import main
from modeltrail.bot.slack.app import web_client
from modeltrail.bot.slack.blocks import MAX_MESSAGES
from modeltrail.bot.slack.dispatcher import SlackDispatcher
from modeltrail.core.capture.environment import environment_from_parts
from modeltrail.core.lifecycle.outbox import Outbox
from modeltrail.core.records import DataSnapshot, VersionDraft
from modeltrail.core.registry.writer import Registry, utcnow


class Clock:
    def __init__(self) -> None:
        self.now = utcnow() + dt.timedelta(minutes=1)  # every event enqueued so far is due

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def dispatcher_for(
    registry: Registry, slack: FakeSlack, clock: Clock, **settings
) -> SlackDispatcher:
    config = make_settings(slack, **settings)
    return SlackDispatcher(registry, web_client(config), config, clock=clock)


def drain(dispatcher: SlackDispatcher) -> int:
    handled = 0
    while n := dispatcher.run_once():
        handled += n
    return handled


def promoted(registry: Registry, slack: FakeSlack, clock: Clock, **settings) -> SlackDispatcher:
    """1.0.0 registered (its event handled, nothing posted), then promoted: one report due."""
    seed(registry, 0.90)
    dispatcher = dispatcher_for(registry, slack, clock, **settings)
    drain(dispatcher)
    registry.promote("fraud", "1.0.0", actor="ada")
    return dispatcher


def outbox_event(registry: Registry, topic: str):
    (event,) = [e for e in Outbox(registry.engine).events() if e.topic == topic]
    return event


# -- what gets posted -----------------------------------------------------------------------------


def test_report_after_a_cli_promotion_within_two_seconds(
    serve, registry: Registry, db_url: str, capsys
) -> None:
    registry.register(draft(0.90), actor="trainer")
    newer_env = environment_from_parts(
        python_version="3.11.9",
        platform="Linux-6.1-x86_64",
        packages={"numpy": "3.0.0", "scikit-learn": "1.5.2", "polars": "1.2.0"},
    )
    registry.register(
        draft(
            0.93,
            lr=0.02,
            train=b"x,y\n1,0\n2,1\n3,1\n",
            commit="beef" * 10,
            env=newer_env,
            dirty=True,
            description="retrained on March data",
        ),
        actor="trainer",
    )
    bot = serve()  # before the promotion: a first start does not post the registry's past
    registry.promote("fraud", "1.0.0", actor="ada", reason="first")
    bot.slack.wait_for(lambda: bot.slack.posts(REPORTS))  # the report of 1.0.0

    code = main(
        [
            "--db",
            db_url,
            "promote",
            "fraud",
            "1.0.1",
            "--actor",
            "bob",
            "--reason",
            "better auc on the holdout",
        ]
    )
    assert code == 0, capsys.readouterr().err
    post = bot.slack.wait_for(
        lambda: [p for p in bot.slack.posts(REPORTS) if "1.0.1 promoted" in p.text], timeout=15.0
    )[0]  # within 2 s on an idle machine: bench/bench_slack.py measures it
    assert post.data["channel"] == REPORTS and not post.data.get("thread_ts")
    assert post.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "fraud 1.0.1 promoted to production", "emoji": True},
    }
    text = post.all_text
    assert "*bob* promoted 1.0.1 to production, replacing 1.0.0" in text
    assert ">better auc on the holdout" in text
    assert "*1.0.1 vs 1.0.0:*" in text  # the headline
    assert "```" in text and "auc" in text and "improved" in text  # the metric table
    assert "dirty_code" in text and "major_dependency_change" in text  # findings
    assert "*Params*" in text and "optimizer.lr" in text
    assert "*Data*" in text and "train" in text
    assert "*Code*" in text and "`beefbee`" in text
    assert "*Environment*" in text and "numpy" in text and "polars" in text
    assert post.text.startswith("fraud 1.0.1 promoted to production")  # the plain fallback
    time.sleep(0.6)  # one more dispatcher round: still posted once
    assert len([p for p in bot.slack.posts() if "1.0.1 promoted" in p.text]) == 1


def test_rollback_and_retirement_are_posted(registry: Registry, slack, clock) -> None:
    seed(registry, 0.90, 0.92)
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.promote("fraud", "1.0.1", actor="ada")
    registry.rollback("fraud", actor="bob", reason="latency doubled")
    registry.retire("fraud", "1.0.1", actor="bob", reason="superseded for good")
    dispatcher = dispatcher_for(registry, slack, clock)
    drain(dispatcher)
    texts = [p.text for p in slack.posts(REPORTS)]
    assert len(texts) == 4
    assert texts[0].startswith("fraud 1.0.0 promoted to production")
    assert texts[1].startswith("fraud 1.0.1 promoted to production")
    assert texts[2].startswith("fraud rolled back to 1.0.0")
    assert texts[3].startswith("fraud 1.0.1 retired")
    rollback, retire = slack.posts(REPORTS)[2:]
    assert "*bob* rolled back production 1.0.1 → *1.0.0*" in rollback.all_text
    assert "latency doubled" in rollback.all_text and "auc" in rollback.all_text
    assert "*bob* retired 1.0.1" in retire.all_text and "superseded for good" in retire.all_text
    assert Outbox(registry.engine).counts().get("pending", 0) == 0


def test_registrations_are_posted_only_when_the_model_asks(
    registry: Registry, slack, clock
) -> None:
    seed(registry, 0.90)
    dispatcher = dispatcher_for(registry, slack, clock)
    drain(dispatcher)
    assert slack.posts() == []
    registry.set_model_setting("fraud", "slack.on_register", True, actor="ada")
    registry.set_model_setting("fraud", "slack.channel", "C123", actor="ada")
    seed(registry, 0.91)
    clock.advance(60)
    drain(dispatcher)
    (post,) = slack.posts()
    assert post.data["channel"] == "C123"
    assert post.text.startswith("fraud 1.0.1 registered")
    assert "*trainer* registered 1.0.1" in post.all_text and "auc" in post.all_text


def test_without_any_channel_nothing_is_posted_and_nothing_retried(
    registry: Registry, slack, clock
) -> None:
    seed(registry, 0.90)
    registry.promote("fraud", "1.0.0", actor="ada")
    dispatcher = dispatcher_for(registry, slack, clock, slack_channel=None)
    drain(dispatcher)
    assert slack.posts() == []
    assert outbox_event(registry, "version.promoted").status == "done"


def test_a_huge_report_stays_within_limits_and_continues_in_the_thread(
    registry: Registry, slack, clock
) -> None:
    def big(auc_shift: float, tag: str, description: str) -> VersionDraft:
        return VersionDraft(
            model="huge",
            params={f"layer{i // 100}.unit{i % 100}": f"{tag}{i}" for i in range(5000)},
            metric_points={
                f"metric_{i:03d}": [(0, 0.5 + auc_shift + i / 1000, 1.79e9)] for i in range(200)
            },
            data=tuple(
                DataSnapshot(
                    f"shard-{i:04d}-" + "x" * 40,
                    f"data/{i}.bin",
                    "file",
                    f"{tag}{i:060d}"[-64:].rjust(64, "0"),
                    10 + i,
                    1,
                )
                for i in range(2500)
            ),
            code=draft().code,
            environment=ENV,
            description=description,
        )

    registry.register(big(0.0, "a", "long " * 3000), actor="trainer")
    registry.register(big(0.01, "b", "<!channel> " + "longer " * 3000), actor="trainer")
    registry.promote("huge", "1.0.0", actor="ada")
    registry.promote("huge", "1.0.1", actor="ada", reason="wide " * 1000)
    slack.reset()
    clock.advance(1)
    dispatcher = dispatcher_for(registry, slack, clock)
    outbox = Outbox(registry.engine)
    for event in outbox.claim(now=clock(), limit=10):
        if event.version == "1.0.1":
            dispatcher.deliver(event)
    posts = slack.posts(REPORTS)
    assert slack.violations() == []
    assert len(posts) > 1
    first, *rest = posts
    assert not first.data.get("thread_ts")
    assert all(p.data["thread_ts"] == first.ts for p in rest)
    assert all(len(p.blocks) <= 50 for p in posts)
    assert first.text.startswith("huge 1.0.1 promoted to production")
    assert all(p.text.strip() for p in rest)
    everything = "\n".join(p.all_text for p in posts)
    assert "shard-0000" in everything
    # 2,500 data files do not fit in the few messages a report may take: the rest is cut,
    # and the last message says how much (never a message Slack refuses as too long).
    assert len(posts) == MAX_MESSAGES
    assert re.search(r"… and \d+ more sections not shown", posts[-1].all_text)
    assert all(block_text_size(p.blocks) <= 12_000 for p in posts)
    assert "<!channel>" not in everything


def test_untrusted_text_is_escaped_in_reports(
    registry: Registry, slack, clock, git_repo: Path
) -> None:
    evil = "<!channel> see <http://evil.example|click here> & more"
    first = commit_file(git_repo, "train.py", "a = 1\n", "plain start")
    second = commit_file(git_repo, "train.py", "a = 2\n", evil)
    registry.register(draft(0.90, repo=str(git_repo), commit=first), actor="trainer")
    registry.register(draft(0.92, repo=str(git_repo), commit=second, description=evil), actor=evil)
    registry.add_note("fraud", "1.0.1", evil, actor="ada")
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.promote("fraud", "1.0.1", actor=evil, reason=evil)
    dispatcher = dispatcher_for(registry, slack, clock)
    drain(dispatcher)
    report = next(p for p in slack.posts(REPORTS) if "1.0.1 promoted" in p.text)
    body = report.all_text
    assert "<!channel>" not in body and "<http://evil" not in body
    assert "&lt;!channel&gt; see &lt;http://evil.example|click here&gt; &amp; more" in body
    assert body.count("&lt;!channel&gt;") >= 3  # actor, reason, commit subject


# -- delivery: rate limits, errors, outages, replicas --------------------------------------------


def test_a_429_waits_for_retry_after_then_posts_once(registry: Registry, slack, clock) -> None:
    dispatcher = promoted(registry, slack, clock)
    slack.fail_next(429, retry_after=30)
    assert dispatcher.run_once() == 1
    event = outbox_event(registry, "version.promoted")
    assert event.status == "pending" and "429" in (event.last_error or "")
    assert event.attempts == 1
    assert slack.posts() == [] and len(slack.posts(delivered=False)) == 1

    clock.advance(29)
    assert dispatcher.run_once() == 0  # Retry-After not over yet
    clock.advance(1)
    assert dispatcher.run_once() == 1
    assert len(slack.posts()) == 1
    assert outbox_event(registry, "version.promoted").status == "done"
    clock.advance(3600)
    assert dispatcher.run_once() == 0 and len(slack.posts()) == 1


def test_a_500_is_retried_with_backoff(registry: Registry, slack, clock) -> None:
    dispatcher = promoted(registry, slack, clock)
    slack.fail_next(500, times=2)
    assert dispatcher.run_once() == 1
    assert "500" in (outbox_event(registry, "version.promoted").last_error or "")
    clock.advance(4)
    assert dispatcher.run_once() == 0  # 5 s after the first failure
    clock.advance(1)
    assert dispatcher.run_once() == 1  # fails again: now 10 s
    clock.advance(9)
    assert dispatcher.run_once() == 0
    clock.advance(1)
    assert dispatcher.run_once() == 1
    assert len(slack.posts()) == 1 and len(slack.posts(delivered=False)) == 3
    assert outbox_event(registry, "version.promoted").status == "done"


def test_a_permanent_slack_error_is_dead_at_once_and_can_be_retried(
    registry: Registry, slack, clock
) -> None:
    """A wrong channel will not fix itself: no 12 rounds of backoff, but a dead event that
    `modeltrail outbox retry` brings back once the channel is fixed."""
    from modeltrail.core.lifecycle.outbox import Outbox

    dispatcher = promoted(registry, slack, clock)
    slack.fail_next(200, error="channel_not_found")
    assert dispatcher.run_once() == 1
    event = outbox_event(registry, "version.promoted")
    assert event.status == "dead" and "channel_not_found" in (event.last_error or "")
    clock.advance(3600)
    assert dispatcher.run_once() == 0
    assert Outbox(registry.engine).retry_dead(now=clock()) == 1
    assert dispatcher.run_once() == 1
    assert len(slack.posts()) == 1
    assert outbox_event(registry, "version.promoted").status == "done"


def test_slack_unreachable_keeps_the_report_for_later(registry: Registry, slack, clock) -> None:
    seed(registry, 0.90)
    drain(dispatcher_for(registry, slack, clock))
    registry.promote("fraud", "1.0.0", actor="ada")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = dispatcher_for(registry, slack, clock, slack_api_url=f"http://127.0.0.1:{closed}/api/")
    down.client.retry_handlers = []  # no in-client retry: the outbox retries
    assert down.run_once() == 1
    event = outbox_event(registry, "version.promoted")
    assert event.status == "pending" and "unreachable" in (event.last_error or "")

    up = dispatcher_for(registry, slack, clock)
    assert up.run_once() == 0
    clock.advance(5)
    assert up.run_once() == 1
    assert len(slack.posts()) == 1


def test_two_dispatchers_post_each_report_exactly_once(
    db_url: str, registry: Registry, slack, clock
) -> None:
    aucs = [0.80 + i / 1000 for i in range(31)]
    versions = seed(registry, *aucs)
    for version in versions[1:]:
        registry.promote("fraud", version, actor="ada")
    replicas = [Registry.open(db_url), Registry.open(db_url)]
    dispatchers = [dispatcher_for(r, slack, clock) for r in replicas]
    errors: list[BaseException] = []

    def work(dispatcher: SlackDispatcher) -> None:
        try:
            while dispatcher.run_once(limit=2):
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for replica in replicas:
        replica.close()
    assert errors == []
    headers = Counter(p.blocks[0]["text"]["text"] for p in slack.posts(REPORTS))
    assert len(headers) == 30
    assert set(headers.values()) == {1}
    assert Outbox(registry.engine).counts() == {"done": 61}  # 31 registrations, 30 promotions
