"""`POST /webhooks/mlflow` on the running service, and the poller: deliveries signed the way
MLflow signs them, versions read from a real MLflow store, Slack reports from a fake Slack.
The last test has a real `mlflow server` fire real webhooks at the running service."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bot_fixtures import REPORTS, make_settings
from mlflow_store import (
    client_for,
    fill_store,
    log_training_run,
    mlflow_server_available,
    quiet_mlflow,
    register_version,
    require_mlflow,
    running_mlflow_server,
    two_versions,
)
from slack_fake import FakeSlack

from modeltrail.bot.integrations.mlflow_import import ImportReport
from modeltrail.bot.integrations.mlflow_source import MlflowImportError
from modeltrail.bot.integrations.mlflow_webhook import (
    MlflowPoller,
    MlflowSync,
    MlflowWebhookApp,
    WebhookRejected,
    verify,
)
from modeltrail.bot.web.server import build_service
from modeltrail.core.config import Settings
from modeltrail.core.errors import ConfigError
from modeltrail.core.registry.writer import Registry

require_mlflow()

SECRET = "whsec-test-1234"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    with quiet_mlflow():
        client = client_for(uri)
        info = fill_store(client, workdir)
        yield {"uri": uri, "client": client, "workdir": workdir, **info}


def envelope(entity: str, action: str, **data: Any) -> bytes:
    return json.dumps(
        {
            "entity": entity,
            "action": action,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "data": data,
        }
    ).encode()


def mlflow_headers(
    body: bytes,
    *,
    secret: str = SECRET,
    delivery_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Headers as MLflow's delivery code sends them, computed here independently."""
    delivery_id = delivery_id or str(uuid.uuid4())
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(
        secret.encode(), f"{delivery_id}.{stamp}.".encode() + body, hashlib.sha256
    ).digest()
    return {
        "Content-Type": "application/json",
        "X-MLflow-Delivery-Id": delivery_id,
        "X-MLflow-Timestamp": stamp,
        "X-MLflow-Signature": "v1," + base64.b64encode(mac).decode(),
    }


@pytest.fixture
def hook(
    store: dict[str, Any], slack: FakeSlack, registry: Registry
) -> Iterator[Callable[..., httpx.Response]]:
    """The running service with the webhook on; `hook(body, **header_options)` posts."""
    service = build_service(
        make_settings(slack, mlflow_webhook_secret=SECRET, mlflow_tracking_uri=store["uri"]),
        registry,
    )
    service.start()
    client = httpx.Client(timeout=30)
    url = f"http://127.0.0.1:{service.port}/webhooks/mlflow"

    def post(body: bytes, **options: Any) -> httpx.Response:
        return client.post(url, content=body, headers=mlflow_headers(body, **options))

    post.url = url  # type: ignore[attr-defined]
    post.client = client  # type: ignore[attr-defined]
    try:
        with quiet_mlflow():
            yield post
    finally:
        client.close()
        service.stop()


def test_signature_and_timestamp_checks() -> None:
    body = envelope("model_version", "created", name="m", version="1")
    headers = mlflow_headers(body, delivery_id="d-1", timestamp=1_800_000_000)
    ok = {
        "delivery_id": "d-1",
        "timestamp": headers["X-MLflow-Timestamp"],
        "signature": headers["X-MLflow-Signature"],
        "body": body,
    }
    verify(SECRET, **ok, now=1_800_000_000 + 299)
    verify(SECRET, **ok, now=1_800_000_000 - 299)
    for now in (1_800_000_000 + 301, 1_800_000_000 - 301):
        with pytest.raises(WebhookRejected, match="stale"):
            verify(SECRET, **ok, now=now)
    with pytest.raises(WebhookRejected, match="bad signature"):
        verify("other-secret", **ok, now=1_800_000_000)
    with pytest.raises(WebhookRejected, match="bad signature"):
        verify(SECRET, **{**ok, "body": body + b" "}, now=1_800_000_000)
    with pytest.raises(WebhookRejected, match="bad signature"):  # the ID is signed too
        verify(SECRET, **{**ok, "delivery_id": "d-2"}, now=1_800_000_000)
    with pytest.raises(WebhookRejected, match="missing"):
        verify(SECRET, **{**ok, "signature": None}, now=1_800_000_000)


def test_webhook_imports_then_promotes_and_slack_reports(
    hook: Callable[..., httpx.Response], registry: Registry, slack: FakeSlack
) -> None:
    created = envelope(
        "model_version", "created", name="fraud-detector", version="1", source="x", run_id="r"
    )
    response = hook(created, delivery_id="delivery-1")
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == ["1.1.0"]
    record = registry.load("fraud-detector", "1.1.0")
    assert record.actor == "alice"  # who made it in MLflow; the import is the webhook's
    assert [(e.action, e.actor) for e in registry.audit_log("fraud-detector")] == [
        ("import", "mlflow-webhook")
    ]

    # MLflow retries with the same delivery ID: acknowledged, not processed again
    again = hook(created, delivery_id="delivery-1")
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}

    alias = envelope(
        "model_version_alias", "created", name="fraud-detector", alias="champion", version="2"
    )
    response = hook(alias)
    assert response.status_code == 200, response.text
    assert response.json()["stage_moves"] == [{"version": "1.2.0", "stage": "production"}]
    assert registry.stage_version("fraud-detector", "production") == "1.2.0"
    promote = registry.audit_log("fraud-detector")[0]
    assert (promote.action, promote.reason) == ("promote", "imported from MLflow alias champion")
    posts = slack.wait_for(
        lambda: [p for p in slack.posts(REPORTS) if "1.2.0" in p.all_text], timeout=10
    )
    assert "fraud-detector" in posts[0].all_text

    ignored = hook(envelope("registered_model", "created", name="fraud-detector"))
    assert ignored.json()["status"] == "ignored"


def test_an_alias_moved_back_by_webhooks_ends_where_mlflow_has_it(
    store: dict[str, Any], hook: Callable[..., httpx.Response], registry: Registry, tmp_path: Path
) -> None:
    """champion 1 → 2 → 1, each move delivered as MLflow delivers it: 1 is in production."""
    client, name = store["client"], f"moved-{time.time_ns()}"
    two_versions(client, store["experiment_id"], tmp_path, name)

    def champion(version: int) -> dict[str, Any]:
        client.set_registered_model_alias(name, "champion", str(version))
        body = envelope(
            "model_version_alias", "created", name=name, alias="champion", version=str(version)
        )
        response = hook(body)
        assert response.status_code == 200, response.text
        return response.json()

    champion(1)
    assert registry.stage_version(name, "production") == "1.1.0"
    champion(2)
    assert registry.stage_version(name, "production") == "1.2.0"
    answer = champion(1)
    assert answer["stage_moves"] == [{"version": "1.1.0", "stage": "production"}]
    assert registry.stage_version(name, "production") == "1.1.0"
    assert registry.load(name, "1.2.0").tags["mlflow.aliases"] == ""


def test_mlflows_test_delivery_is_acknowledged(
    hook: Callable[..., httpx.Response], registry: Registry
) -> None:
    """MLflow's "test webhook" sends its example payloads (`example_model`, version 1)."""
    from mlflow.webhooks.types import ModelVersionAliasCreatedPayload, ModelVersionCreatedPayload

    for entity, payload in (
        ("model_version", ModelVersionCreatedPayload.example()),
        ("model_version_alias", ModelVersionAliasCreatedPayload.example()),
    ):
        response = hook(envelope(entity, "created", **payload))
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "not_found"
    assert registry.list_models() == []


def test_webhook_rejects_unsigned_wrong_and_stale_deliveries(
    hook: Callable[..., httpx.Response], registry: Registry
) -> None:
    body = envelope("model_version", "created", name="fraud-detector", version="1")
    client, url = hook.client, hook.url  # type: ignore[attr-defined]
    assert client.post(url, content=body).status_code == 401
    assert hook(body, secret="not-the-secret").status_code == 401
    assert hook(body, timestamp=int(time.time()) - 600).status_code == 401
    assert hook(body, timestamp=int(time.time()) + 600).status_code == 401
    assert client.get(url).status_code == 405
    assert hook(b"not json").status_code == 400
    assert registry.list_models() == []


def test_a_failed_delivery_is_processed_on_retry(registry: Registry) -> None:
    calls: list[int] = []

    class FlakyImporter:
        def sync_model(self, name: str, *, only: set[int]) -> ImportReport:
            calls.append(len(calls))
            if len(calls) == 1:
                raise MlflowImportError("cannot reach MLflow at http://mlflow: refused")
            return ImportReport(imported=[(name, 1, "1.1.0")])

    settings = Settings(mlflow_tracking_uri="http://mlflow", mlflow_webhook_secret=SECRET)
    app = MlflowWebhookApp(
        SECRET, MlflowSync(settings, registry, importer=lambda actor: FlakyImporter())
    )
    body = envelope("model_version", "created", name="m", version="1")
    headers = mlflow_headers(body, delivery_id="retry-me")

    def call() -> tuple[str, dict[str, Any]]:
        environ = {
            "REQUEST_METHOD": "POST",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
        }
        status: list[str] = []
        out = app(environ, lambda s, h: status.append(s))
        return status[0], json.loads(b"".join(out))

    assert call()[0].startswith("502")
    status, answer = call()  # MLflow's retry: same ID, now processed
    assert status.startswith("200") and answer["imported"] == ["1.1.0"]
    assert call()[1] == {"status": "duplicate"}
    assert len(calls) == 2


def test_service_wiring(store: dict[str, Any], registry: Registry, slack: FakeSlack) -> None:
    with pytest.raises(ConfigError, match="MLFLOW_TRACKING_URI"):
        build_service(make_settings(slack, mlflow_webhook_secret=SECRET), registry)
    plain = build_service(make_settings(slack), registry)
    assert "/webhooks/mlflow" not in plain.router.routes and plain.mlflow_poller is None


def test_poller_imports_what_is_new(store: dict[str, Any], registry: Registry) -> None:
    settings = Settings(
        mlflow_tracking_uri=store["uri"],
        mlflow_poll_seconds=0.2,
        mlflow_models=("fraud-detector",),
    )
    poller = MlflowPoller(MlflowSync(settings, registry), settings.mlflow_poll_seconds or 1)
    stop = threading.Event()
    with quiet_mlflow():
        thread = threading.Thread(target=poller.run_forever, args=(stop,), daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while len(poller.reports) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        thread.join(timeout=20)
    assert [v.version for v in registry.list_versions("fraud-detector")] == [
        "1.3.0",
        "1.2.0",
        "1.1.0",
    ]
    assert registry.stage_version("fraud-detector", "production") == "1.2.0"
    assert not poller.reports[1].changed  # the second poll found nothing new
    assert {m.name for m in registry.list_models()} == {"fraud-detector"}


@pytest.mark.slow
def test_a_real_mlflow_server_fires_webhooks_at_serve(
    store: dict[str, Any], tmp_path: Path, slack: FakeSlack
) -> None:
    """`mlflow server` on the module's store, a webhook created through MLflow's client, a
    version registered and aliased there: imported and promoted here, reported in Slack."""
    why_not = mlflow_server_available()
    if why_not:
        pytest.skip(why_not)
    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    server = running_mlflow_server(
        tmp_path / "server",
        backend_uri=store["uri"],
        # a test on loopback over plain HTTP; MLflow's defaults want public https endpoints
        MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS="true",
        MLFLOW_WEBHOOK_ALLOWED_SCHEMES="http,https",
    )
    with quiet_mlflow(), server as url, registry:
        service = build_service(
            make_settings(slack, mlflow_webhook_secret=SECRET, mlflow_tracking_uri=url),
            registry,
        )
        service.start()
        try:
            client = client_for(url)
            name = f"hooked-{time.time_ns()}"
            webhook = client.create_webhook(
                name=name,
                url=f"http://127.0.0.1:{service.port}/webhooks/mlflow",
                events=["model_version.created", "model_version_alias.created"],
                secret=SECRET,
            )
            # MLflow's "test webhook" button: its example payload gets a 2xx
            tested = client.test_webhook(webhook.webhook_id)
            assert tested.success and tested.response_status == 200, tested.response_body
            experiment = client.create_experiment(name)
            run_id = log_training_run(
                client,
                experiment,
                tmp_path,
                lr=0.1,
                losses=[0.4, 0.2],
                auc=0.93,
                dataset_digest="9999",
            )
            register_version(client, name, run_id, description="from the server")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not registry.tag_values(name, "mlflow.version"):
                time.sleep(0.2)
            assert registry.load(name, "1.1.0").description == "from the server"
            client.set_registered_model_alias(name, "champion", "1")
            while (
                time.monotonic() < deadline and registry.stage_version(name, "production") is None
            ):
                time.sleep(0.2)
            assert registry.stage_version(name, "production") == "1.1.0"
            slack.wait_for(
                lambda: [p for p in slack.posts(REPORTS) if name in p.all_text], timeout=10
            )
        finally:
            service.stop()
