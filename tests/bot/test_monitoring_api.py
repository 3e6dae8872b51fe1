"""POST /api/monitoring/MODEL through the real service (waitress on port 0): the bearer token,
what a bad request gets, and that nothing is stored without the right token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from monitoring_seed import production, training
from sqlalchemy import func, select

from modeltrail.bot.web.server import Service, build_service
from modeltrail.core.config import Settings
from modeltrail.core.lifecycle.outbox import Outbox
from modeltrail.core.monitoring.profiles import profile_columns
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store import schema

TOKEN = "s3cret-token"


@pytest.fixture
def service(registry: Registry) -> Iterator[Service]:
    registry.register(
        VersionDraft(
            "fraud",
            version="1.0.0",
            metric_points={"accuracy": [(0, 0.9, 1_790_000_000.0)]},
            profiles={"train": profile_columns(training(n=3000)).to_dict()},
        ),
        actor="trainer",
    )
    registry.promote("fraud", "1.0.0", actor="ops", force=True, reason="test")
    running = build_service(Settings(http_port=0, api_token=TOKEN), registry)
    running.start()
    yield running
    running.stop()


def _url(service: Service, model: str = "fraud") -> str:
    return f"http://127.0.0.1:{service.port}/api/monitoring/{model}"


def _stored(registry: Registry) -> int:
    with registry.engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(schema.monitor_observations)).scalar_one()
        )


def test_metrics_and_rows_are_stored_with_the_token(service: Service, registry: Registry) -> None:
    live = production(n=400)
    rows = [{k: (v[i].item()) for k, v in live.items()} for i in range(400)]
    response = httpx.post(
        _url(service),
        json={"metrics": {"accuracy": 0.8}, "rows": rows, "at": "2099-01-01T00:00:00Z"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    metrics, batch = response.json()["observations"]
    assert metrics["version"] == "1.0.0" and metrics["status"] == "decay"
    assert batch["rows"] == 400
    assert {c["column"] for c in batch["drift"]["columns"] if c["status"] == "drift"} == {
        "score",
        "country",
    }
    assert _stored(registry) == 2
    assert len([e for e in Outbox(registry.engine).events() if e.topic == "monitoring.alert"]) == 2


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
)
def test_without_the_right_token_nothing_is_stored(
    service: Service, registry: Registry, headers: dict[str, str]
) -> None:
    response = httpx.post(_url(service), json={"metrics": {"accuracy": 0.1}}, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _stored(registry) == 0
    assert Outbox(registry.engine).events() == [] or all(
        e.topic != "monitoring.alert" for e in Outbox(registry.engine).events()
    )
    assert not [e for e in registry.audit_log("fraud") if e.action == "monitor"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ([1, 2], 400),
        ({}, 400),
        ({"metrics": {"accuracy": "high"}}, 400),
        ({"metrics": {"accuracy": 0.9}, "at": "yesterday"}, 400),
        ({"metrics": {"accuracy": 0.9}, "version": "9.9.9"}, 404),
        ({"metrics": {"accuracy": 0.9}, "extra": 1}, 400),
    ],
)
def test_bad_requests(service: Service, registry: Registry, body: object, status: int) -> None:
    response = httpx.post(_url(service), json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == status, response.text
    assert "error" in response.json()
    assert _stored(registry) == 0


def test_unknown_model_and_method(service: Service) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    response = httpx.post(_url(service, "nope"), json={"metrics": {"a": 1}}, headers=auth)
    assert response.status_code == 404
    assert httpx.get(_url(service), headers=auth).status_code == 405


def test_without_any_token_configured_every_post_is_refused(registry: Registry) -> None:
    running = build_service(Settings(http_port=0), registry)
    running.start()
    try:
        response = httpx.post(
            f"http://127.0.0.1:{running.port}/api/monitoring/fraud",
            json={"metrics": {"accuracy": 0.9}},
            headers={"Authorization": "Bearer anything"},
        )
        assert response.status_code == 401
        assert _stored(registry) == 0
    finally:
        running.stop()


def test_the_time_defaults_to_now(service: Service, registry: Registry) -> None:
    response = httpx.post(
        _url(service),
        json={"metrics": {"accuracy": 0.91}},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200
    observed = dt.datetime.fromisoformat(
        response.json()["observations"][0]["observed_at"].replace("Z", "+00:00")
    )
    assert abs((observed - dt.datetime.now(dt.UTC)).total_seconds()) < 60
