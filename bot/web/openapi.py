"""The OpenAPI 3.1 document of the read API, kept by hand next to api.py.

tests/bot/test_read_api.py checks it is a valid OpenAPI 3.1 document and validates every
response the tests receive against the schema it declares for that path and status, so the
document cannot drift from what the server sends.
"""

from __future__ import annotations

from typing import Any

API_VERSION = "1.0.0"


def _nullable(kind: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(kind, str):
        return {"type": [kind, "null"]}
    return {"anyOf": [kind, {"type": "null"}]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


_TIME = {"type": "string", "format": "date-time"}
_STAGE = {"type": "string", "enum": ["none", "staging", "production", "archived"]}
_NUMBER_MAP = {"type": "object", "additionalProperties": {"type": "number"}}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

SCHEMAS: dict[str, Any] = {
    "Error": _obj(["error"], error={"type": "string"}, hint={"type": "string"}),
    "ModelList": _obj(
        ["models"],
        models={
            "type": "array",
            "items": _obj(
                ["name", "latest_version", "version_count", "production_version"],
                name={"type": "string"},
                latest_version=_nullable("string"),
                version_count={"type": "integer"},
                production_version=_nullable("string"),
                golden_version=_nullable("string"),
                updated_at=_nullable("string"),
            ),
        },
    ),
    "Model": _obj(
        [
            "name",
            "created_at",
            "updated_at",
            "version_count",
            "latest_version",
            "production_version",
            "staging_versions",
            "golden_version",
            "metric_goals",
        ],
        name={"type": "string"},
        created_at=_TIME,
        updated_at=_TIME,
        version_count={"type": "integer", "minimum": 0},
        latest_version=_nullable("string"),
        production_version=_nullable("string"),
        staging_versions={"type": "array", "items": {"type": "string"}},
        golden_version=_nullable("string"),
        metric_goals={
            "type": "object",
            "additionalProperties": _obj(
                ["goal", "tolerance"],
                goal={"type": "string", "enum": ["maximize", "minimize"]},
                tolerance={"type": "number"},
            ),
        },
    ),
    "VersionPage": _obj(
        ["model", "sort", "versions", "next_cursor"],
        model={"type": "string"},
        sort={"type": "string"},
        versions={
            "type": "array",
            "items": _obj(
                ["version", "stage", "golden", "created_at", "actor", "metrics", "tags"],
                version={"type": "string"},
                stage=_STAGE,
                golden={"type": "boolean"},
                created_at=_TIME,
                actor={"type": "string"},
                description=_nullable("string"),
                metrics=_NUMBER_MAP,
                tags=_STRING_MAP,
            ),
        },
        next_cursor={
            **_nullable("string"),
            "description": "Pass as `cursor` for the next page; null on the last page.",
        },
    ),
    "Version": _obj(
        [
            "model",
            "version",
            "created_at",
            "actor",
            "stage",
            "golden",
            "parent",
            "params",
            "metrics",
            "metric_goals",
            "data",
            "code",
            "environment",
            "artifacts",
            "tags",
            "notes",
        ],
        model={"type": "string"},
        version={"type": "string"},
        created_at=_TIME,
        actor={"type": "string"},
        description=_nullable("string"),
        stage=_STAGE,
        golden={"type": "boolean"},
        parent=_nullable("string"),
        params={"type": "object", "description": "Flattened dotted keys to JSON values."},
        metrics={
            "type": "object",
            "additionalProperties": _obj(
                ["value", "step", "history_count"],
                value={"type": "number"},
                step={"type": "integer"},
                timestamp=_nullable("string"),
                history_count={"type": "integer"},
            ),
        },
        metric_goals={"type": "object"},
        data={
            "type": "array",
            "items": _obj(
                ["role", "path", "kind", "digest"],
                role={"type": "string"},
                path={"type": "string"},
                kind={"type": "string"},
                digest=_nullable("string"),
                size=_nullable("integer"),
                file_count=_nullable("integer"),
            ),
        },
        code=_nullable(
            _obj(
                ["commit", "dirty"],
                commit=_nullable("string"),
                branch=_nullable("string"),
                remote_url=_nullable("string"),
                dirty=_nullable("boolean"),
            )
        ),
        environment=_nullable(
            _obj(
                ["python_version", "packages", "fingerprint"],
                python_version={"type": "string"},
                packages=_STRING_MAP,
                fingerprint={"type": "string"},
            )
        ),
        artifacts={
            "type": "array",
            "items": _obj(
                ["name", "uri", "digest", "size"],
                name={"type": "string"},
                uri={"type": "string"},
                digest=_nullable("string"),
                size=_nullable("integer"),
            ),
        },
        tags=_STRING_MAP,
        notes={
            "type": "array",
            "items": _obj(
                ["text", "actor", "created_at"],
                text={"type": "string"},
                actor={"type": "string"},
                created_at=_TIME,
            ),
        },
    ),
    "Diff": _obj(
        [
            "model",
            "from",
            "to",
            "params",
            "metrics",
            "data",
            "code",
            "environment",
            "artifacts",
            "findings",
            "suggested_bump",
        ],
        model={"type": "string"},
        **{"from": {"type": "string"}, "to": {"type": "string"}},
        params=_obj(
            ["added", "removed", "changed"],
            added={"type": "array"},
            removed={"type": "array"},
            changed={"type": "array"},
        ),
        metrics={
            "type": "array",
            "items": _obj(
                ["name", "verdict"],
                name={"type": "string"},
                old=_nullable("number"),
                new=_nullable("number"),
                verdict={"type": "string"},
            ),
        },
        data={"type": "array", "items": {"type": "object"}},
        code=_obj(["status", "commits"], status={"type": "string"}, commits={"type": "array"}),
        environment=_obj(["status"], status={"type": "string"}),
        artifacts={"type": "array", "items": {"type": "object"}},
        findings={
            "type": "array",
            "items": _obj(
                ["kind", "severity", "message"],
                kind={"type": "string"},
                severity={"type": "string"},
                message={"type": "string"},
            ),
        },
        suggested_bump=_obj(
            ["level", "reason"], level={"type": "string"}, reason={"type": "string"}
        ),
    ),
    "History": {
        "oneOf": [
            _obj(
                ["model", "stage", "golden", "periods"],
                model={"type": "string"},
                stage={"type": "string"},
                golden=_nullable("string"),
                periods={
                    "type": "array",
                    "items": _obj(
                        ["version", "stage", "since", "until", "moved_by"],
                        version={"type": "string"},
                        stage={"type": "string"},
                        since=_TIME,
                        until=_nullable("string"),
                        moved_by={"type": "string"},
                        reason=_nullable("string"),
                        left_by=_nullable("string"),
                        left_reason=_nullable("string"),
                    ),
                },
            ),
            _obj(
                ["model", "at", "production"],
                model={"type": "string"},
                at=_TIME,
                production=_nullable("string"),
            ),
        ]
    },
    "Audit": _obj(
        ["events"],
        events={
            "type": "array",
            "items": _obj(
                ["seq", "at", "actor", "action", "model", "version", "hash"],
                seq={"type": "integer"},
                at=_TIME,
                actor={"type": "string"},
                action={"type": "string"},
                model=_nullable("string"),
                version=_nullable("string"),
                before={},
                after={},
                reason=_nullable("string"),
                hash={"type": "string", "pattern": "^[0-9a-f]{64}$"},
            ),
        },
    ),
}


def _param(name: str, where: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


_MODEL = _param("model", "path", "The model's name (a '/' in it may be sent as %2F).")
_REF = "A version number (2.1.5, v2.1.5) or a name: latest, previous, production, staging, golden."


def _get(summary: str, schema: str, params: list[dict[str, Any]], errors: list[int]) -> Any:
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": _ref(schema)}}}
    }
    why = {
        400: "A query parameter is malformed or unknown.",
        401: "No token, or an unknown, expired or revoked one.",
        403: "The token's scope or model does not cover this request.",
        404: "No such model, version or stage version.",
        503: "The registry database did not answer.",
    }
    # Every route refuses a query parameter it does not know, and says when the database is down.
    for code in sorted({400, *errors, 503}):
        responses[str(code)] = {
            "description": why[code],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    return {"get": {"summary": summary, "parameters": params, "responses": responses}}


def _artifact() -> dict[str, Any]:
    path = _get(
        "A stored artifact's bytes, streamed from the artifact store. For a stored directory "
        "ask for NAME/PATH, one of its files.",
        "Error",
        [
            _MODEL,
            _param("ref", "path", _REF),
            _param("name", "path", "The artifact's name (NAME/PATH for a file in a directory)."),
        ],
        [400, 401, 403, 404],
    )
    path["get"]["responses"]["200"] = {
        "description": "The bytes.",
        "headers": {
            "X-Checksum-Sha256": {
                "description": "The sha256 of the bytes (hex), as recorded at registration.",
                "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            },
            "Repr-Digest": {
                "description": "The same digest in RFC 9530 form: sha-256=:BASE64:",
                "schema": {"type": "string"},
            },
        },
        "content": {
            "application/octet-stream": {
                "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
            }
        },
    }
    return path


def openapi_document() -> dict[str, Any]:
    auth = [401, 403]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "modeltrail read API",
            "version": API_VERSION,
            "description": "Read-only access to the model registry. Authenticate with "
            "`Authorization: Bearer <token>` (`modeltrail token create --scope read`).",
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/models": _get("The models the token may read.", "ModelList", [], [401]),
            "/api/models/{model}": _get(
                "A model: version count, latest, production, staging, golden, metric goals.",
                "Model",
                [_MODEL],
                [*auth, 404],
            ),
            "/api/models/{model}/versions": _get(
                "Versions, filtered and paged (newest first by default).",
                "VersionPage",
                [
                    _MODEL,
                    _param("stage", "query", "Only versions in this stage.", **_STAGE),
                    _param(
                        "tag",
                        "query",
                        "KEY or KEY=VALUE; repeat to require several tags.",
                    ),
                    _param(
                        "metric",
                        "query",
                        "A threshold such as auc>=0.9 (<, <=, >, >=, =); repeatable.",
                    ),
                    _param(
                        "sort",
                        "query",
                        "version, created_at or metric:NAME; a leading '-' sorts descending "
                        "(default -version). Sorting by a metric leaves out versions without it.",
                    ),
                    _param("limit", "query", "Page size.", type="integer", minimum=1, maximum=500),
                    _param("cursor", "query", "The next_cursor of the previous page."),
                ],
                [400, *auth, 404],
            ),
            "/api/models/{model}/versions/{ref}": _get(
                "Everything recorded for one version.",
                "Version",
                [_MODEL, _param("ref", "path", _REF)],
                [400, *auth, 404],
            ),
            "/api/models/{model}/versions/{ref}/artifacts/{name}": _artifact(),
            "/api/models/{model}/diff/{a}/{b}": _get(
                "What changed from version a to version b: the `modeltrail diff --format json` "
                "document (commits listed when the newer version's checkout is on the server's "
                "machine).",
                "Diff",
                [_MODEL, _param("a", "path", _REF), _param("b", "path", _REF)],
                [400, *auth, 404],
            ),
            "/api/models/{model}/history": _get(
                "The stage timeline, or with `at` the version in production at that time.",
                "History",
                [
                    _MODEL,
                    _param("at", "query", "An ISO date or time (UTC when it has no zone)."),
                    _param(
                        "stage",
                        "query",
                        "The stage whose timeline (default production).",
                        type="string",
                        enum=["production", "staging", "archived"],
                    ),
                ],
                [400, *auth, 404],
            ),
            "/api/audit": _get(
                "Audit events, newest first. A token for one model must name it.",
                "Audit",
                [
                    _param("model", "query", "Only this model's events."),
                    _param("since", "query", "Only events at or after this ISO time."),
                    _param("limit", "query", "At most this many.", type="integer", minimum=1),
                ],
                [400, *auth],
            ),
        },
    }
