"""`serve` when Slack's Web API does not answer, and messages too big for Slack.

The real service (waitress + Bolt + dispatcher) pointed at a port where nothing listens: it
starts, serves /healthz (saying `slack: unreachable`), keeps the reports in the outbox, and
once Slack answers (the fake started on that port) posts them. SQLite and PostgreSQL.
"""

from __future__ import annotations

import socket
import time

import httpx
from bot_fixtures import REPORTS, make_settings, seed
from slack_fake import FakeSlack

from modeltrail.bot.slack.dispatcher import SlackDispatcher
from modeltrail.bot.slack.link import SlackLink, retry_delays
from modeltrail.bot.web.server import build_service
from modeltrail.core.lifecycle.outbox import Outbox
from modeltrail.core.registry.writer import Registry


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Dead:
    """A FakeSlack stand-in whose URLs point at a port where nothing listens."""

    def __init__(self, port: int) -> None:
        self.api_url = f"http://127.0.0.1:{port}/api/"


def test_serve_starts_and_serves_when_slack_is_unreachable(registry: Registry) -> None:
    seed(registry, 0.90, 0.92)
    port = _free_port()
    settings = make_settings(_Dead(port))  # type: ignore[arg-type]
    service = build_service(settings, registry)
    service.slack_link.delay = retry_delays(0.05, 0.2)  # a test need not wait a minute
    service.start()
    try:
        health = f"http://127.0.0.1:{service.port}/healthz"
        body = httpx.get(health, timeout=5).json()
        deadline = time.monotonic() + 5
        while body.get("slack") != "unreachable" and time.monotonic() < deadline:
            time.sleep(0.05)
            body = httpx.get(health, timeout=5).json()
        assert body["status"] == "ok" and body["database"] == "ok"
        assert body["slack"] == "unreachable"

        registry.promote("fraud", "1.0.0", actor="ada", reason="first")
        box = Outbox(registry.engine)
        deadline = time.monotonic() + 5

        def promoted():
            return next(e for e in box.events() if e.topic == "version.promoted")

        while not promoted().last_error and time.monotonic() < deadline:
            time.sleep(0.05)
        event = promoted()
        assert event.status == "pending" and "unreachable" in (event.last_error or "")

        # Slack comes back on that port: the link says so, and the report is posted.
        fake = _start_fake_on(port)
        try:
            deadline = time.monotonic() + 10
            while httpx.get(health, timeout=5).json()["slack"] != "ok":
                assert time.monotonic() < deadline, "the link never came back"
                time.sleep(0.05)
            # The outbox retries on its own backoff (5 s, 10 s, …); make the event due now.
            from sqlalchemy import update

            from modeltrail.core.store import schema

            with registry.engine.begin() as conn:
                conn.execute(update(schema.outbox).values(next_attempt_at=registry._clock()))
            post = fake.wait_for(lambda: fake.posts(REPORTS), timeout=10)[0]
            assert "fraud 1.0.0 promoted" in post.text
            assert httpx.get(health, timeout=5).json()["slack"] == "ok"
        finally:
            fake.stop()
    finally:
        service.stop()


def _start_fake_on(port: int) -> FakeSlack:
    """A FakeSlack listening on a given port (the one `serve` was told about)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    fake = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            fake._handle(self)

    fake._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    fake._server.daemon_threads = True
    fake._thread = threading.Thread(
        target=fake._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    fake._thread.start()
    return fake


def test_the_link_backs_off_and_reports_slacks_own_errors(slack: FakeSlack) -> None:
    from slack_sdk import WebClient

    waits = retry_delays(1.0, 60.0)
    assert [waits(n) for n in (1, 2, 3, 7, 8, 50)] == [1.0, 2.0, 4.0, 60.0, 60.0, 60.0]
    link = SlackLink(WebClient(token="xoxb-t", base_url=slack.api_url))
    slack.fail_next(200, method="auth.test", error="invalid_auth")
    assert link.check() is False and link.status == "invalid_auth"
    assert link.check() is True and link.status == "ok"
    assert link.identity and link.identity["user_id"] == "UBOT"


def test_msg_blocks_too_long_makes_the_event_dead_at_once(slack: FakeSlack, registry) -> None:
    """Our messages stay under Slack's total size; should Slack still refuse one as too long,
    no retry can cure it: the event is dead at once (for `outbox list`), not retried 12 times."""
    seed(registry, 0.9, 0.92)
    registry.promote("fraud", "1.0.0", actor="ada")
    from slack_sdk import WebClient

    dispatcher = SlackDispatcher(
        registry, WebClient(token="xoxb-t", base_url=slack.api_url), make_settings(slack)
    )
    slack.fail_next(200, error="msg_blocks_too_long")
    while dispatcher.run_once():
        pass
    box = Outbox(registry.engine)
    (event,) = [e for e in box.events() if e.topic == "version.promoted"]
    assert event.status == "dead" and event.attempts == 1
    assert "msg_blocks_too_long" in (event.last_error or "")
    assert slack.posts(REPORTS) == []
