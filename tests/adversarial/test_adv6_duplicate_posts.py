"""Item 6: duplicate Slack posts. Two `serve` dispatchers while slow summaries run past the
lease, a dispatcher whose claim runs out between claiming and posting, and posts Slack
accepted but answered after the client's timeout: every event is posted exactly once. The
real WebClient against the fake Slack; the clock is injected, and the slow steps move it on
by more than the lease."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from typing import Any

from bot_fixtures import REPORTS, make_settings, seed
from slack_fake import FakeSlack
from slack_sdk import WebClient

from modeltrail.bot.slack.dispatcher import SlackDispatcher
from modeltrail.core.lifecycle.outbox import Outbox
from modeltrail.core.registry.writer import Registry, utcnow


class Clock:
    def __init__(self) -> None:
        self.now = utcnow() + dt.timedelta(minutes=1)
        self.lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += dt.timedelta(seconds=seconds)


class FastClock(Clock):
    """Time as both replicas live it, run `speed` times faster: a step that takes 180 s
    takes 180 s for everyone, and a post of a few milliseconds takes a second or two, well
    inside the lease (a clock that jumps three minutes while the other replica is inside its
    post models a replica frozen mid-post, which the claim-lost test below covers)."""

    def __init__(self, speed: float) -> None:
        super().__init__()
        self.speed = speed
        self.started = time.monotonic()

    def __call__(self) -> dt.datetime:
        elapsed = (time.monotonic() - self.started) * self.speed
        return super().__call__() + dt.timedelta(seconds=elapsed)

    def wait(self, seconds: float) -> None:
        time.sleep(seconds / self.speed)


def _client(slack: FakeSlack, timeout: float = 10) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.api_url, timeout=timeout)


def test_item6_slow_summaries_with_two_dispatchers_post_each_event_once(
    registry: Registry, db_url: str, slack: FakeSlack
) -> None:
    versions = seed(registry, *[0.80 + i / 1000 for i in range(13)])
    for version in versions[1:]:
        registry.promote("fraud", version, actor="ada")  # 12 promotions, each with a diff
    clock = FastClock(speed=300)
    settings = make_settings(slack)

    def slow_summary(_diff: Any) -> str:
        clock.wait(180)  # longer than the 2-minute lease
        return "summary"

    replicas = [Registry.open(db_url), Registry.open(db_url)]
    dispatchers = [
        SlackDispatcher(r, _client(slack), settings, clock=clock, summarize=slow_summary)
        for r in replicas
    ]
    errors: list[BaseException] = []

    def work(dispatcher: SlackDispatcher) -> None:
        try:
            while dispatcher.run_once(limit=3):
                pass
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(d,)) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for r in replicas:
        r.close()
    assert errors == []
    promotions = [p for p in slack.posts(REPORTS) if "promoted to production" in p.text]
    per_event = Counter(p.text.split(" promoted")[0] for p in promotions)
    print(f"12 promotions, 2 dispatchers, slow summaries: {len(promotions)} posts")
    assert len(per_event) == 12 and set(per_event.values()) == {1}, per_event
    assert Outbox(registry.engine).counts() == {"done": 25}  # 13 registrations + 12 moves


def test_item6_a_post_answered_after_the_timeout_is_not_repeated(
    registry: Registry, slack: FakeSlack
) -> None:
    versions = seed(registry, 0.80, 0.81, 0.82, 0.83)
    for version in versions[1:]:
        registry.promote("fraud", version, actor="ada")  # 3 events to post
    slack.answer_late(1.5, times=3)  # accepted, but answered after the client gave up
    clock = Clock()
    dispatcher = SlackDispatcher(
        registry, _client(slack, timeout=0.5), make_settings(slack), clock=clock
    )
    rounds = 0
    while Outbox(registry.engine).counts().get("done", 0) < 7 and rounds < 10:
        dispatcher.run_once()
        clock.advance(60)  # past the backoff
        rounds += 1
    posts = [p for p in slack.posts(REPORTS) if "promoted to production" in p.text]
    per_event = Counter(p.text.split(" promoted")[0] for p in posts)
    print(f"3 events answered late: {len(posts)} posts, {dict(per_event)}")
    assert len(per_event) == 3 and set(per_event.values()) == {1}, per_event
    assert Outbox(registry.engine).counts() == {"done": 7}
    # The retries looked the posts up instead of posting again.
    assert len([c for c in slack.calls if c.method == "conversations.history"]) >= 3


def test_item6_a_claim_lost_between_claiming_and_posting_posts_nothing(
    registry: Registry, db_url: str, slack: FakeSlack
) -> None:
    """Dispatcher B claims a retried event and looks its earlier post up; Slack answers the
    lookup slowly, and meanwhile B's lease runs out and dispatcher A takes the event over and
    posts it. When B's lookup returns, its claim is gone: it must not post as well."""
    versions = seed(registry, 0.80, 0.81)
    registry.promote("fraud", versions[1], actor="ada")
    clock = Clock()
    settings = make_settings(slack)
    slack.fail_next(500)  # the first attempt fails: the next one is a retry, with a lookup
    first = SlackDispatcher(registry, _client(slack), settings, clock=clock)
    first.run_once()
    assert Outbox(registry.engine).counts() == {"done": 2, "pending": 1}
    clock.advance(60)  # past the backoff
    slack.answer_late(1.0, method="conversations.history")

    replicas = [Registry.open(db_url), Registry.open(db_url)]
    a, b = (SlackDispatcher(r, _client(slack), settings, clock=clock) for r in replicas)
    errors: list[BaseException] = []

    def run_b() -> None:
        try:
            b.run_once()
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=run_b)
    thread.start()
    slack.wait_for(lambda: slack.calls_of("conversations.history"))  # B holds it, waiting
    clock.advance(180)  # B's lease runs out while Slack is slow
    assert a.run_once() == 1  # A takes the event over and posts it
    thread.join(timeout=30)
    for r in replicas:
        r.close()
    assert errors == [] and not thread.is_alive()
    posts = [p for p in slack.posts(REPORTS) if "promoted to production" in p.text]
    print(f"claim lost during a slow lookup: {len(posts)} post(s)")
    assert len(posts) == 1, slack.summary()
    assert Outbox(registry.engine).counts() == {"done": 3}
