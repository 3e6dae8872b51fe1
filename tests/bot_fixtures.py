"""Fixtures and helpers of the Slack bot tests (and of the adversarial ones that reuse them):
the fake Slack Web API, the running service, signed requests to it, and registries seeded
with complete versions (so promotions pass the gate).

A plain module on the tests' path, not a conftest: every folder's conftest is imported under
the one name `conftest`, so `from conftest import …` in two folders clashed whenever both were
collected in one run. The folders' conftest files re-export the fixtures from here."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from slack_fake import (
    SIGNING_SECRET,
    Call,
    FakeSlack,
    command_body,
    event_body,
    signed_headers,
)

from modeltrail.bot.web.server import Service, build_service
from modeltrail.core.capture.environment import environment_from_parts
from modeltrail.core.config import Settings
from modeltrail.core.records import CodeState, DataSnapshot, VersionDraft
from modeltrail.core.registry.writer import Registry

ADMIN = "U123"
REPORTS = "CREPORTS"
COMMIT = "c0ffee" * 6 + "abcd"
ENV = environment_from_parts(
    python_version="3.11.9",
    platform="Linux-6.1-x86_64",
    packages={"numpy": "2.1.0", "scikit-learn": "1.5.2"},
)


def draft(
    auc: float = 0.90,
    *,
    model: str = "fraud",
    lr: float = 0.01,
    train: bytes = b"x,y\n1,0\n2,1\n",
    commit: str = COMMIT,
    repo: str = "/src/fraud",
    env: Any = ENV,
    dirty: bool = False,
    **extra: Any,
) -> VersionDraft:
    """A version with complete lineage: data, code, environment."""
    data = (
        DataSnapshot(
            "train", "data/train.csv", "file", hashlib.sha256(train).hexdigest(), len(train), 1
        ),
    )
    code = CodeState(
        repo,
        commit,
        "main",
        None,
        dirty,
        ("train.py",) if dirty else (),
        "ab" * 32 if dirty else None,
    )
    return VersionDraft(
        model=model,
        params={"optimizer": {"name": "adam", "lr": lr}, "epochs": 20},
        metric_points={"auc": [(0, auc, 1_790_000_000.0)]},
        data=data,
        code=code,
        environment=env,
        **extra,
    )


def seed(registry: Registry, *aucs: float, model: str = "fraud", **kwargs: Any) -> list[str]:
    """One complete version per auc: 1.0.0, 1.0.1, …; returns the version numbers."""
    return [
        registry.register(draft(auc, model=model, **kwargs), actor="trainer").version
        for auc in aucs
    ]


def make_settings(fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-test",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "http_port": 0,
        "slack_admins": (ADMIN, "U456"),
        "slack_channel": REPORTS,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake
    assert fake.violations() == [], "a message broke Slack's limits"


@dataclass
class Bot:
    """The running service plus ways to talk to it as Slack does."""

    service: Service
    slack: FakeSlack
    http: httpx.Client
    _keys: Iterator[int]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}/slack/events"

    def post(self, body: str, content_type: str, **headers: str) -> httpx.Response:
        sent = {**signed_headers(body, content_type), **headers}
        return self.http.post(self.url, content=body.encode(), headers=sent)

    def command(
        self,
        text: str,
        *,
        user: str = ADMIN,
        user_name: str = "ana",
        channel: str = "C999",
        count: int = 1,
    ) -> list[Call]:
        """Send `/model TEXT`, check the ack, and return the answer(s) posted to response_url."""
        key = f"r{next(self._keys)}"
        body = command_body(
            text,
            response_url=self.slack.response_url(key),
            user=user,
            user_name=user_name,
            channel=channel,
        )
        started = time.monotonic()
        response = self.post(body, "application/x-www-form-urlencoded")
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 3.0, "not acknowledged within Slack's 3 s"
        answers = self.slack.wait_for(
            lambda: len(self.slack.responses(key)) >= count and self.slack.responses(key)
        )
        for answer in answers:
            assert "Traceback" not in answer.all_text
        return answers

    def event(self, event: dict[str, Any], event_id: str, **headers: str) -> httpx.Response:
        return self.post(event_body(event, event_id), "application/json", **headers)


@pytest.fixture
def serve(slack: FakeSlack, registry: Registry) -> Iterator[Callable[..., Bot]]:
    """Start the real service (waitress + Bolt + dispatcher) on port 0: `serve(**settings)`."""
    started: list[Service] = []
    http = httpx.Client(timeout=10)

    def start(**overrides: Any) -> Bot:
        service = build_service(make_settings(slack, **overrides), registry)
        service.start()
        started.append(service)
        return Bot(service, slack, http, iter(range(1, 10_000)))

    yield start
    for service in started:
        service.stop()
    http.close()
