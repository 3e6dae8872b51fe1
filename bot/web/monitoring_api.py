"""`POST /api/monitoring/<MODEL>`: production observations over HTTP, with a token of scope
monitor (or write) for the model, or MODELTRAIL_API_TOKEN (see auth.py).

    curl -X POST http://127.0.0.1:3000/api/monitoring/fraud-detector \\
         -H "Authorization: Bearer $MODELTRAIL_API_TOKEN" -H "Content-Type: application/json" \\
         -d '{"metrics": {"accuracy": 0.87}, "at": "2026-11-20T14:00:00Z"}'

Body (JSON object): `version` (default: the version in production at `at`), `at` (ISO time,
default now), `metrics` (name → number) and/or `rows` (a batch: a list of objects mapping
column names to values; a `prediction` column is judged against validation predictions).
Answers 200 with the observations and any alerts they raised; 401 without a valid bearer
token, 403 for one whose scope or model does not cover it (nothing is read or stored either
way), 400 for a malformed body, 404
for an unknown model or version, 405 for another method, 413 for a body over 10 MB.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from modeltrail.bot.web.auth import Gate, Refusal
from modeltrail.bot.web.responses import json_response
from modeltrail.core.errors import (
    InvalidMetricError,
    InvalidVersionError,
    ModeltrailError,
    NotFoundError,
    UsageError,
)
from modeltrail.core.registry.writer import Registry

PREFIX = "/api/monitoring/"
MAX_BODY = 10 * 1024 * 1024
API_ACTOR = "api"

log = logging.getLogger("modeltrail.monitoring_api")


class MonitoringApi:
    def __init__(self, registry: Registry, gate: Gate) -> None:
        self.registry = registry
        self.gate = gate

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        # PATH_INFO is decoded as latin-1 by WSGI; model names may hold "/".
        raw = environ.get("PATH_INFO", "")[len(PREFIX) :]
        model = raw.encode("latin-1").decode("utf-8", "replace").strip("/")
        grant = self.gate.check(environ, "monitor", model or None)
        if isinstance(grant, Refusal):
            return grant.respond(start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return json_response(start_response, "405 Method Not Allowed", {"error": "use POST"})
        if not model:
            return json_response(start_response, "404 Not Found", {"error": "name a model"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return json_response(start_response, "400 Bad Request", {"error": "bad length"})
        if length > MAX_BODY:
            return json_response(
                start_response, "413 Content Too Large", {"error": "body over 10 MB"}
            )
        try:
            try:
                body = json.loads(environ["wsgi.input"].read(length) or b"null")
            except RecursionError:
                raise ValueError("the JSON body is nested too deeply") from None
            result = self.observe(model, body)
        except (ValueError, UsageError, InvalidMetricError, InvalidVersionError) as exc:
            message = exc.message if isinstance(exc, ModeltrailError) else str(exc)
            hint = exc.hint if isinstance(exc, ModeltrailError) else None
            return json_response(start_response, "400 Bad Request", _error(message, hint))
        except NotFoundError as exc:
            return json_response(start_response, "404 Not Found", _error(exc.message, exc.hint))
        except ModeltrailError as exc:
            return json_response(start_response, "409 Conflict", _error(exc.message, exc.hint))
        return json_response(start_response, "200 OK", result)

    def observe(self, model: str, body: Any) -> dict[str, Any]:
        from modeltrail.core.monitoring.observe import report_batch, report_metrics

        if not isinstance(body, dict):
            raise UsageError("the body must be a JSON object")
        unknown = set(body) - {"version", "at", "metrics", "rows", "prediction_column"}
        if unknown:
            raise UsageError(f"unknown field(s): {', '.join(sorted(unknown))}")
        version = body.get("version")
        if version is not None and not isinstance(version, str):
            raise UsageError("version must be a string such as 2.1.5")
        at = _moment(body.get("at"))
        metrics, rows = body.get("metrics"), body.get("rows")
        if metrics is None and rows is None:
            raise UsageError("send metrics, rows, or both")
        if metrics is not None and not isinstance(metrics, dict):
            raise UsageError("metrics must be an object of name → number")
        if rows is not None and not (isinstance(rows, list) and rows):
            raise UsageError("rows must be a non-empty list of objects")
        observations = []
        if metrics is not None:
            observations.append(
                report_metrics(
                    self.registry, model, metrics, version=version, at=at, actor=API_ACTOR
                )
            )
        if rows is not None:
            column = body.get("prediction_column", "prediction")
            observations.append(
                report_batch(
                    self.registry,
                    model,
                    rows,
                    version=version,
                    at=at,
                    actor=API_ACTOR,
                    prediction_column=column if isinstance(column, str) else None,
                )
            )
        return {"observations": [o.to_dict() for o in observations]}


def _moment(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError("at must be an ISO time, e.g. 2026-11-20T14:00:00Z")
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"at={value!r} is not an ISO time") from None
    from modeltrail.core.timestamps import check_moment

    return check_moment(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC), "at")


def _error(message: str, hint: str | None) -> dict[str, Any]:
    return {"error": message, **({"hint": hint} if hint else {})}
