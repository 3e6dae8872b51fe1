"""`GET /metrics` on the real service (waitress on loopback), read with Prometheus's own parser."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from modeltrail.bot.web.server import Service, build_service
from modeltrail.core.config import Settings
from modeltrail.core.digest.ledger import DigestLedger
from modeltrail.core.digest.schedule import trailing_window
from modeltrail.core.lifecycle.outbox import Outbox
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store.engine import WRITE


@pytest.fixture
def running(registry: Registry) -> Iterator[tuple[Service, httpx.Client]]:
    service = build_service(Settings(http_port=0), registry)
    service.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{service.port}", timeout=10) as http:
        yield service, http
    service.stop()


def scrape(http: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_the_outbox_deliveries_and_registrations(
    running: tuple[Service, httpx.Client], registry: Registry
) -> None:
    _, http = running
    for model in ("fraud", "fraud", "churn"):
        registry.register(VersionDraft(model), actor="ana")  # one outbox event each
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)  # every event due
    outbox = Outbox(registry.engine)
    first = outbox.claim(now=later, limit=1)[0]
    outbox.fail(first, "channel_not_found", now=later, permanent=True)
    ledger = DigestLedger(registry.engine)
    window = trailing_window(later, 7, ZoneInfo("UTC"))
    ledger.enqueue(window, ["a@example.com", "b@example.com"], now=later)
    ledger.reject(ledger.claim(now=later, limit=1)[0], "550 no such user")

    samples = scrape(http)
    assert samples[("modeltrail_database_up", ())] == 1
    assert samples[("modeltrail_outbox_events", (("status", "dead"),))] == 1
    assert samples[("modeltrail_outbox_events", (("status", "pending"),))] == 2
    assert samples[("modeltrail_outbox_events", (("status", "done"),))] == 0  # present at 0
    assert samples[("modeltrail_digest_deliveries", (("status", "rejected"),))] == 1
    assert samples[("modeltrail_digest_deliveries", (("status", "pending"),))] == 1
    assert samples[("modeltrail_digest_deliveries", (("status", "failed"),))] == 0
    assert samples[("modeltrail_versions_registered_total", (("model", "fraud"),))] == 2
    assert samples[("modeltrail_versions_registered_total", (("model", "churn"),))] == 1


def latency(samples: dict[Any, float], route: str, status: str, method: str = "GET") -> float:
    key = (("method", method), ("route", route), ("status", status))
    return samples.get(("modeltrail_http_request_duration_seconds_count", key), 0)


def test_every_request_is_timed_by_route_not_by_path(
    running: tuple[Service, httpx.Client],
) -> None:
    _, http = running
    assert http.get("/healthz").status_code == 200
    assert http.get("/healthz").status_code == 200
    assert http.get("/no/such/page").status_code == 404
    assert http.get("/another/missing/page").status_code == 404
    assert http.post("/metrics").status_code == 405
    samples = scrape(http)
    assert latency(samples, "/healthz", "200") == 2
    assert latency(samples, "unmatched", "404") == 2  # one series, however many paths
    assert latency(samples, "/metrics", "405", "POST") == 1
    assert not [k for k in samples if "/no/such/page" in str(k)]
    buckets = [
        v
        for (name, labels), v in samples.items()
        if name.endswith("_bucket") and ("route", "/healthz") in labels
    ]
    assert buckets and max(buckets) == 2  # the +Inf bucket holds both
    # A scrape is timed too, once answered: the first shows up in the second.
    assert latency(scrape(http), "/metrics", "200") == 1


def test_a_scrape_when_the_database_fails_says_so_and_still_answers(tmp_path: Path) -> None:
    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    service = build_service(Settings(http_port=0), registry)
    service.start()
    try:
        with registry.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(text("DROP TABLE outbox"))
        with httpx.Client(base_url=f"http://127.0.0.1:{service.port}", timeout=10) as http:
            samples = scrape(http)
    finally:
        service.stop()
        registry.close()
    assert samples[("modeltrail_database_up", ())] == 0
    assert not [name for name, _ in samples if name.startswith("modeltrail_outbox")]


def test_api_and_page_requests_are_labelled_by_their_prefix(
    running: tuple[Service, httpx.Client],
) -> None:
    _, http = running
    http.get("/api/models")  # 401 without a token: counted all the same
    http.get("/api/models/fraud/versions")
    http.get("/m/fraud")
    samples = scrape(http)
    routes = {
        dict(labels)["route"]
        for name, labels in samples
        if name == "modeltrail_http_request_duration_seconds_count"
    }
    assert routes == {"/api/*", "/m/*"}
