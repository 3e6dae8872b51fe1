"""The read API: `GET /api/...`, JSON, described by the OpenAPI document at
`/api/openapi.json` (openapi.py; tests validate real responses against it).

    GET /api/models                                   models (those the token may read)
    GET /api/models/{model}                           overview: stages, counts, metric goals
    GET /api/models/{model}/versions?stage=&tag=&metric=&sort=&limit=&cursor=
    GET /api/models/{model}/versions/{ref}            the record (ref: 2.1.5, production, …)
    GET /api/models/{model}/versions/{ref}/artifacts/{name}   a stored artifact's bytes,
                                                      streamed, sha256 in X-Checksum-Sha256
    GET /api/models/{model}/diff/{a}/{b}              the `diff --format json` document
                                                      (commits read as the CLI reads them)
    GET /api/models/{model}/history?at=&stage=        stage timeline, or production at a time
    GET /api/audit?model=&since=&limit=               audit events, newest first

Every route but the document needs a token with scope read (auth.py) for the model it names;
the credential is checked before anything else is read. Model names holding "/" may be sent
as they are or with "%2F".

Responses are cached per URL until a write that concerns them: one indexed query per request
reads the audit head (every write moves it), and when it has moved the new events say what
changed (core/registry/changes.py). A promotion or a new tag is visible on the next request,
from whichever process made it; a write to one model keeps the other models' answers, and
monitoring observations (a serving system may post many a minute) keep every answer but the
audit trail's. The cache holds up to CACHE_BYTES of answers, least recently used first out.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

from modeltrail.bot.web.auth import FORBIDDEN, Gate, Refusal
from modeltrail.bot.web.responses import bytes_response, json_response
from modeltrail.core.errors import DatabaseError, ModeltrailError, NotFoundError, UsageError
from modeltrail.core.registry.writer import Registry
from modeltrail.core.serialize import audit_event_to_dict, iso

PREFIX = "/api/"
_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("models", re.compile(r"^/api/models/?$")),
    ("audit", re.compile(r"^/api/audit/?$")),
    (
        "artifact",
        re.compile(r"^/api/models/(?P<model>.+?)/versions/(?P<ref>[^/]+)/artifacts/(?P<name>.+)$"),
    ),
    ("version", re.compile(r"^/api/models/(?P<model>.+)/versions/(?P<ref>[^/]+)$")),
    ("versions", re.compile(r"^/api/models/(?P<model>.+)/versions$")),
    ("diff", re.compile(r"^/api/models/(?P<model>.+)/diff/(?P<a>[^/]+)/(?P<b>[^/]+)$")),
    ("history", re.compile(r"^/api/models/(?P<model>.+)/history$")),
    ("model", re.compile(r"^/api/models/(?P<model>.+)$")),
)
_QUERY = {
    "models": set(),
    "model": set(),
    "version": set(),
    "artifact": set(),
    "diff": set(),
    "history": {"at", "stage"},
    "audit": {"model", "since", "limit"},
}
# 10,000 version records of 40 params and 10 metrics are ~32 MB of JSON: a registry of that
# size stays warm whichever versions its consumers ask for.
CACHE_BYTES = 64 << 20
CACHE_MAX_BYTES = 1 << 20  # a larger answer is built each time
STREAM_CHUNK = 1 << 20  # artifact bytes are sent in 1 MiB reads


def route(path: str) -> tuple[str, dict[str, str]] | None:
    for name, pattern in _ROUTES:
        found = pattern.match(path)
        if found:
            return name, found.groupdict()
    return None


def request_path(environ: dict[str, Any]) -> str:
    # PATH_INFO is decoded as latin-1 by WSGI; names are UTF-8.
    return environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")


class Answers:
    """How many answers came from the cache and how many were built (under the cache's lock)."""

    hits = misses = 0

    def hit(self) -> None:
        self.hits += 1

    def miss(self) -> None:
        self.misses += 1


class ReadApi:
    def __init__(self, registry: Registry, gate: Gate) -> None:
        self.registry = registry
        self.gate = gate
        self._cache: OrderedDict[tuple[str, str, str | None], tuple[int, bytes]] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()
        self._document: bytes | None = None
        self.answers: Any = Answers()  # from the cache / built, for /metrics (metrics.py)
        from modeltrail.core.registry.changes import ChangeTracker

        self._changes = ChangeTracker(registry)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return json_response(
                start_response,
                "405 Method Not Allowed",
                {"error": "use GET"},
                headers=[("Allow", "GET, HEAD")],
            )
        path = request_path(environ)
        if path == "/api/openapi.json":
            return bytes_response(start_response, "200 OK", self.document(), "application/json")
        found = route(path)
        if found is None:
            return json_response(start_response, "404 Not Found", {"error": "not found"})
        name, args = found
        query_string = environ.get("QUERY_STRING", "")
        query = parse_qs(query_string, keep_blank_values=True)
        try:
            current = self._changes.head()
        except (DatabaseError, Exception) as exc:  # the database is down: say so, briefly
            return json_response(
                start_response, "503 Service Unavailable", {"error": type(exc).__name__}
            )
        model = args.get("model")
        if name == "audit" and query.get("model"):
            model = query["model"][0]
        grant = self.gate.check(environ, "read", model, generation=current)
        if isinstance(grant, Refusal):
            return grant.respond(start_response)
        if name == "audit" and grant.model is not None and model is None:
            return Refusal(FORBIDDEN, f"this token reads model={grant.model} only").respond(
                start_response
            )
        try:
            stamps = self._changes.stamps_at(current)
        except (DatabaseError, Exception) as exc:
            return json_response(
                start_response, "503 Service Unavailable", {"error": type(exc).__name__}
            )
        unknown = set(query) - _QUERY.get(name, set())
        if name != "versions" and unknown:
            why = UsageError(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
            return json_response(start_response, "400 Bad Request", _error(why))
        if name == "artifact":
            return self._artifact(environ, start_response, **args)
        key = (name + path, query_string, grant.model if model is None else None)
        scope = None if name == "models" else model
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and stamps.fresh(cached[0], scope, audit=name == "audit"):
                self._cache.move_to_end(key)
                self.answers.hit()
            else:
                cached = None
                self.answers.miss()
        if cached is not None:
            return bytes_response(start_response, "200 OK", cached[1], "application/json")
        try:
            body = getattr(self, f"_{name}")(grant_model=grant.model, query=query, **args)
        except UsageError as exc:
            return json_response(start_response, "400 Bad Request", _error(exc))
        except NotFoundError as exc:
            return json_response(start_response, "404 Not Found", _error(exc))
        except ModeltrailError as exc:
            # No such stage version ("no production version") and the like.
            return json_response(start_response, "404 Not Found", _error(exc))
        data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
        if len(data) <= CACHE_MAX_BYTES:
            self._keep(key, current, data)
        return bytes_response(start_response, "200 OK", data, "application/json")

    def _keep(self, key: tuple[str, str, str | None], built_at: int, data: bytes) -> None:
        with self._lock:
            old = self._cache.pop(key, None)
            if old is not None:
                self._cached_bytes -= len(old[1])
            self._cache[key] = (built_at, data)
            self._cached_bytes += len(data)
            while self._cached_bytes > CACHE_BYTES:
                _, (_, dropped) = self._cache.popitem(last=False)
                self._cached_bytes -= len(dropped)

    def document(self) -> bytes:
        if self._document is None:
            from modeltrail.bot.web.openapi import openapi_document

            self._document = json.dumps(openapi_document()).encode("utf-8")
        return self._document

    # -- the routes ---------------------------------------------------------------------------

    def _models(self, *, grant_model: str | None, query: Any) -> dict[str, Any]:
        from modeltrail.core.registry.tools import RegistryTools

        models = RegistryTools(self.registry).list_models()["models"]
        if grant_model is not None:
            models = [m for m in models if m["name"] == grant_model]
        return {"models": models}

    def _model(self, *, model: str, grant_model: str | None, query: Any) -> dict[str, Any]:
        from modeltrail.core.registry.queries import model_overview

        o = model_overview(self.registry, model)
        return {
            "name": o.name,
            "created_at": iso(o.created_at),
            "updated_at": iso(o.updated_at),
            "version_count": o.version_count,
            "latest_version": o.latest_version,
            "production_version": o.production_version,
            "staging_versions": list(o.staging_versions),
            "golden_version": o.golden_version,
            "metric_goals": {
                n: {"goal": goal, "tolerance": tol} for n, (goal, tol) in o.metric_goals.items()
            },
        }

    def _versions(self, *, model: str, grant_model: str | None, query: Any) -> dict[str, Any]:
        from modeltrail.core.registry.queries import find_versions, parse_version_query

        page = find_versions(self.registry, model, parse_version_query(query))
        return {
            "model": model,
            "sort": page.sort,
            "versions": [
                {
                    "version": i.version,
                    "stage": i.stage,
                    "golden": i.golden,
                    "created_at": iso(i.created_at),
                    "actor": i.actor,
                    "description": i.description,
                    "metrics": i.metrics,
                    "tags": i.tags,
                }
                for i in page.items
            ],
            "next_cursor": page.next_cursor,
        }

    def _version(
        self, *, model: str, ref: str, grant_model: str | None, query: Any
    ) -> dict[str, Any]:
        from modeltrail.core.serialize import record_to_dict

        return record_to_dict(self.registry.load_ref(model, ref))

    def _artifact(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        *,
        model: str,
        ref: str,
        name: str,
    ) -> Iterable[bytes]:
        """Stream a stored artifact (or a file inside a stored directory: NAME/PATH) from the
        store, never through memory; its sha256 (the store's key) goes in the headers."""
        try:
            record = self.registry.load(model, self.registry.resolve_version(model, ref))
            digest, size = self._blob(record, name)
            stream = self.registry.artifact_store().open(digest)
        except UsageError as exc:
            return json_response(start_response, "400 Bad Request", _error(exc))
        except ModeltrailError as exc:
            return json_response(start_response, "404 Not Found", _error(exc))
        filename = name.rsplit("/", 1)[-1].replace('"', "")
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", str(size)),
                ("Content-Disposition", f'attachment; filename="{filename}"'),
                ("X-Checksum-Sha256", digest),
                ("Repr-Digest", f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode()}:"),
                ("ETag", f'"{digest}"'),
            ],
        )
        wrapper = environ.get("wsgi.file_wrapper")
        if wrapper is not None:
            return wrapper(stream, STREAM_CHUNK)  # type: ignore[no-any-return]
        return _chunks(stream)

    def _blob(self, record: Any, name: str) -> tuple[str, int]:
        from modeltrail.core.vault.vault import read_manifest

        for artifact in record.artifacts:
            inside = name.startswith(artifact.name + "/") and artifact.kind == "directory"
            if name != artifact.name and not inside:
                continue
            if not artifact.stored or artifact.digest is None:
                raise NotFoundError(
                    f"artifact {artifact.name!r} of {record.model} {record.version} is "
                    "referenced, not stored",
                    hint=f"it was recorded at {artifact.uri}",
                )
            if artifact.kind != "directory":
                return artifact.digest, int(artifact.size or 0)
            entries = read_manifest(self.registry.artifact_store(), artifact.digest)
            rest = name[len(artifact.name) + 1 :]
            for entry in entries:
                if entry.path == rest:
                    return entry.digest, entry.size
            shown = ", ".join(f"{artifact.name}/{e.path}" for e in entries[:5])
            raise NotFoundError(
                f"artifact {artifact.name!r} is a directory; ask for one of its files",
                hint=f"e.g. {shown}" if shown else None,
            )
        raise NotFoundError(f"{record.model} {record.version} has no artifact {name!r}")

    def _diff(
        self, *, model: str, a: str, b: str, grant_model: str | None, query: Any
    ) -> dict[str, Any]:
        from modeltrail.core.registry.compare import compare

        old = self.registry.resolve_version(model, a)
        new = self.registry.resolve_version(model, b)
        # As `modeltrail diff` does: the commits between the two come from the checkout the
        # newer version was trained in, when that path is on this machine (else the document
        # says the history is not at hand). The answer is cached like any other.
        return compare(self.registry, model, old, new).to_dict()

    def _history(self, *, model: str, grant_model: str | None, query: Any) -> dict[str, Any]:
        from modeltrail.core.lifecycle.rules import production_at, timeline

        at = _single(query, "at")
        stage = _single(query, "stage") or "production"
        if stage not in ("production", "staging", "archived"):
            raise UsageError("stage must be production, staging or archived")
        state = self.registry.model_state(model)
        if at is not None:
            moment = parse_time(at, "at")
            return {"model": model, "at": iso(moment), "production": production_at(state, moment)}
        return {
            "model": model,
            "stage": stage,
            "golden": state.golden,
            "periods": [
                {
                    "version": p.version,
                    "stage": p.stage,
                    "since": iso(p.since),
                    "until": iso(p.until),
                    "moved_by": p.moved_by,
                    "reason": p.reason,
                    "left_by": p.left_by,
                    "left_reason": p.left_reason,
                }
                for p in timeline(state, stage)
            ],
        }

    def _audit(self, *, grant_model: str | None, query: Any) -> dict[str, Any]:
        from modeltrail.core.registry.queries import MAX_LIMIT, audit_events

        since = _single(query, "since")
        limit_text = _single(query, "limit") or "100"
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
            raise UsageError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        events = audit_events(
            self.registry,
            model=_single(query, "model"),
            since=None if since is None else parse_time(since, "since"),
            limit=int(limit_text),
        )
        return {"events": [audit_event_to_dict(e) for e in events]}


def parse_time(text: str, name: str) -> dt.datetime:
    """An ISO date or time from a query string; naive means UTC."""
    text = text.strip()
    # A "+01:00" offset arrives as " 01:00" when the client did not escape the "+".
    text = text.replace(" ", "+") if "T" in text else text.replace(" ", "T", 1)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{name}={text!r} is not an ISO date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name) or []
    if len(values) > 1:
        raise UsageError(f"{name} may be given once")
    return values[0] if values else None


def _error(exc: ModeltrailError) -> dict[str, Any]:
    return {"error": exc.message, **({"hint": exc.hint} if exc.hint else {})}


def _chunks(stream: Any) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(STREAM_CHUNK):
            yield chunk
