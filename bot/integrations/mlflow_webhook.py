"""MLflow → modeltrail while `serve` runs: the `POST /webhooks/mlflow` endpoint and a poller.

Webhook (MLflow fires them only from `mlflow server`, with a SQL backend): create one in
MLflow pointed at `https://<serve host>/webhooks/mlflow` for the events
`model_version.created` and `model_version_alias.created`, with the secret also set here as
`MLFLOW_WEBHOOK_SECRET`. Each delivery is checked before anything is read:

- `X-MLflow-Signature` must be `v1,` + base64(HMAC-SHA256(secret,
  "{X-MLflow-Delivery-Id}.{X-MLflow-Timestamp}.{body}")), compared in constant time;
- `X-MLflow-Timestamp` (Unix seconds) must be within 5 minutes of now, either way;
- a delivery ID already processed is acknowledged and ignored (MLflow retries with the same
  ID; a delivery whose processing failed is forgotten, so its retry is processed).

Failures answer 401 (signature, timestamp), 400 (body), 502 (MLflow unreachable: MLflow
retries). A version event naming a model or version MLflow does not have — MLflow's own
"test webhook" delivery names `example_model` — is acknowledged (200, "not_found"): a retry
would not find it either. The version itself is read from MLflow at `MLFLOW_TRACKING_URI`:
a new version is imported, an alias mapped to a stage promotes here (the Slack report follows
from the outbox).

Poller: with `MODELTRAIL_MLFLOW_POLL_SECONDS`, `serve` runs an incremental import every N
seconds — for MLflow used straight from its database, which fires no webhooks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from modeltrail.bot.integrations.mlflow_import import ImportReport, MlflowImporter
from modeltrail.bot.integrations.mlflow_source import MlflowImportError, MlflowNotFound
from modeltrail.core.config import Settings
from modeltrail.core.errors import ConfigError, ModeltrailError
from modeltrail.core.registry.writer import Registry

log = logging.getLogger("modeltrail.mlflow")

PATH = "/webhooks/mlflow"
MAX_SKEW_SECONDS = 300
MAX_BODY_BYTES = 1 << 20
SIGNATURE_VERSION = "v1"
# Events that name one model version; the version is synced (imported or updated).
VERSION_EVENTS = frozenset(
    {
        "model_version.created",
        "model_version_alias.created",
        "model_version_tag.set",
        "model_version_tag.deleted",
    }
)


class WebhookRejected(ModeltrailError):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The `X-MLflow-Signature` MLflow sends for this delivery."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def verify(
    secret: str,
    *,
    delivery_id: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
) -> None:
    """Raise `WebhookRejected` (401) unless the delivery is signed with `secret` and fresh."""
    if not delivery_id or not timestamp or not signature:
        raise WebhookRejected(
            "401 Unauthorized", "missing X-MLflow-Delivery-Id, -Timestamp or -Signature"
        )
    expected = sign(secret, delivery_id, timestamp, body)
    if not hmac.compare_digest(expected.encode("utf-8"), signature.strip().encode("utf-8")):
        raise WebhookRejected("401 Unauthorized", "bad signature")
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookRejected("401 Unauthorized", "bad timestamp") from None
    if abs(now - sent) > MAX_SKEW_SECONDS:
        raise WebhookRejected("401 Unauthorized", "stale timestamp")


def parse_event(body: bytes) -> tuple[str, dict[str, Any]]:
    """("entity.action", data) from MLflow's envelope `{entity, action, timestamp, data}`."""
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested beyond the parser's depth
        raise WebhookRejected("400 Bad Request", "body is not JSON") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), dict):
        raise WebhookRejected("400 Bad Request", "no event data")
    return f"{envelope.get('entity')}.{envelope.get('action')}", envelope["data"]


class MlflowSync:
    """One importer shared by the webhook and the poller; one import at a time."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        *,
        importer: Callable[[str], MlflowImporter] | None = None,
    ) -> None:
        if not settings.mlflow_tracking_uri:
            raise ConfigError(
                "MLFLOW_WEBHOOK_SECRET or MODELTRAIL_MLFLOW_POLL_SECONDS is set but "
                "MLFLOW_TRACKING_URI is not",
                hint="set MLFLOW_TRACKING_URI to the MLflow server or store to import from",
            )
        self.settings = settings
        self.registry = registry
        self._make = importer or self._default_importer
        self._importers: dict[str, MlflowImporter] = {}
        self._lock = threading.Lock()

    def _default_importer(self, actor: str) -> MlflowImporter:
        from modeltrail.bot.integrations.mlflow_import import importer_from_settings

        return importer_from_settings(self.settings, self.registry, actor=actor)

    def _importer(self, actor: str) -> MlflowImporter:
        if actor not in self._importers:
            self._importers[actor] = self._make(actor)
        return self._importers[actor]

    def wanted(self, model: str) -> bool:
        return not self.settings.mlflow_models or model in self.settings.mlflow_models

    def sync_version(self, model: str, number: int) -> ImportReport:
        with self._lock:
            return self._importer("mlflow-webhook").sync_model(model, only={number})

    def sync_all(self) -> ImportReport:
        with self._lock:
            return self._importer("mlflow-poller").import_all(self.settings.mlflow_models)


@dataclass
class MlflowWebhookApp:
    """The WSGI app behind `POST /webhooks/mlflow`."""

    secret: str
    sync: MlflowSync
    clock: Callable[[], float] = time.time

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        from modeltrail.bot.web.responses import json_response

        if environ.get("REQUEST_METHOD") != "POST":
            return json_response(start_response, "405 Method Not Allowed", {"error": "use POST"})
        try:
            body = _read_body(environ)
            verify(
                self.secret,
                delivery_id=environ.get("HTTP_X_MLFLOW_DELIVERY_ID"),
                timestamp=environ.get("HTTP_X_MLFLOW_TIMESTAMP"),
                signature=environ.get("HTTP_X_MLFLOW_SIGNATURE"),
                body=body,
                now=self.clock(),
            )
            event, data = parse_event(body)
        except WebhookRejected as exc:
            log.warning("MLflow webhook rejected: %s", exc.message)
            return json_response(start_response, exc.status, {"error": exc.message})
        key = f"mlflow:{environ['HTTP_X_MLFLOW_DELIVERY_ID']}"
        if not self.sync.registry.record_event_once(key):
            return json_response(start_response, "200 OK", {"status": "duplicate"})
        try:
            status, body_out = self._handle(event, data)
        except WebhookRejected as exc:  # permanent: a retry would be rejected the same way
            return json_response(start_response, exc.status, {"error": exc.message})
        except MlflowImportError as exc:
            self.sync.registry.forget_event(key)  # MLflow retries; let the retry through
            log.warning("MLflow webhook %s: %s", event, exc.message)
            return json_response(start_response, "502 Bad Gateway", {"error": exc.message})
        except Exception:
            self.sync.registry.forget_event(key)
            log.exception("MLflow webhook %s failed", event)
            return json_response(start_response, "500 Internal Server Error", {"error": "failed"})
        return json_response(start_response, status, body_out)

    def _handle(self, event: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        model, number = data.get("name"), data.get("version")
        if event not in VERSION_EVENTS or not isinstance(model, str) or number is None:
            return "200 OK", {"status": "ignored", "event": event}
        if not self.sync.wanted(model):
            return "200 OK", {"status": "ignored", "event": event, "model": model}
        try:
            version = int(str(number))
        except ValueError:
            raise WebhookRejected("400 Bad Request", f"bad version {number!r}") from None
        try:
            report = self.sync.sync_version(model, version)
        except MlflowNotFound as exc:
            log.info("MLflow %s %s %s: %s", event, model, version, exc.message)
            return "200 OK", {"status": "not_found", "event": event, "model": model}
        log.info("MLflow %s %s %s: %s", event, model, version, report.summary())
        return "200 OK", {
            "status": "ok",
            "event": event,
            "imported": [v for _, _, v in report.imported],
            "stage_moves": [{"version": v, "stage": s} for _, v, s, _ in report.moved],
            "updated": [v for _, v, _ in report.updated],
            "skipped": report.skipped,
        }


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise WebhookRejected("400 Bad Request", "bad Content-Length") from None
    if length > MAX_BODY_BYTES:
        raise WebhookRejected("413 Content Too Large", "body too large")
    return environ["wsgi.input"].read(length) if length > 0 else b""


@dataclass
class MlflowPoller:
    """Runs an incremental import every `interval` seconds until `stop` is set."""

    sync: MlflowSync
    interval: float
    reports: list[ImportReport] = field(default_factory=list)  # the last few, for tests

    def run_once(self) -> ImportReport | None:
        try:
            report = self.sync.sync_all()
        except ModeltrailError as exc:
            log.warning("MLflow poll: %s", exc.message)
            return None
        except Exception:  # the thread must outlive one bad poll
            log.exception("MLflow poll failed")
            return None
        if report.changed or report.skipped:
            log.info("MLflow poll: %s", report.summary())
        self.reports = [*self.reports[-9:], report]
        return report

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.run_once()
            stop.wait(self.interval)


def attach(service: Any, settings: Settings, registry: Registry) -> None:
    """Add the webhook route and/or the poller to a `serve` Service, as configured."""
    sync = MlflowSync(settings, registry)
    if settings.mlflow_webhook_secret:
        service.router.routes[PATH] = MlflowWebhookApp(settings.mlflow_webhook_secret, sync)
    if settings.mlflow_poll_seconds:
        service.mlflow_poller = MlflowPoller(sync, settings.mlflow_poll_seconds)
