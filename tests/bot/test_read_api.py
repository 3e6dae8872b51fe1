"""The read API through the real service (waitress on port 0), on SQLite and PostgreSQL: every
route's real responses validated against the OpenAPI document the server publishes, filters
and cursor pagination, refs as in the CLI, the diff document as `modeltrail diff --format json`
prints it, and cached answers that follow every write."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry as SchemaRegistry
from referencing import Resource
from referencing.jsonschema import DRAFT202012

from modeltrail.bot.cli.main import main
from modeltrail.bot.web.server import Service, build_service
from modeltrail.core.config import Settings
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry
from modeltrail.core.serialize import record_to_dict

ENV_TOKEN = "env-shared-token"


def _draft(auc: float, loss: float, **extra: Any) -> VersionDraft:
    return VersionDraft(
        "fraud",
        params={"optimizer": {"lr": 0.01}, "epochs": 20},
        metric_points={"auc": [(0, auc, 1_790_000_000.0)], "loss": [(0, loss, 1_790_000_000.0)]},
        **extra,
    )


@pytest.fixture
def seeded(registry: Registry) -> Registry:
    """fraud 1.0.0 … 1.0.5 (auc rising then falling), production 1.0.3, golden 1.0.1,
    staging 1.0.4, tags on some; and a second model."""
    aucs = [0.80, 0.84, 0.86, 0.90, 0.88, 0.70]
    for i, auc in enumerate(aucs):
        tags = {"team": "risk"} if i % 2 else {}
        if i == 4:
            tags["candidate"] = "yes"
        registry.register(_draft(auc, 1 - auc, tags=tags), actor="trainer")
    registry.set_metric_goal("fraud", "auc", "maximize", 0.01, actor="lead")
    registry.promote("fraud", "1.0.3", actor="ops", force=True, reason="best so far")
    registry.promote("fraud", "1.0.4", to="staging", actor="ops", force=True, reason="try")
    registry.set_golden("fraud", "1.0.1", actor="lead", reason="baseline")
    registry.register(VersionDraft("churn", metric_points={"f1": [(0, 0.5, 1.0)]}), actor="t")
    return registry


@pytest.fixture
def service(seeded: Registry) -> Iterator[Service]:
    running = build_service(Settings(http_port=0, api_token=ENV_TOKEN), seeded)
    running.start()
    yield running
    running.stop()


class Api:
    def __init__(self, service: Service, document: dict[str, Any]) -> None:
        self.base = f"http://127.0.0.1:{service.port}"
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._schemas = SchemaRegistry().with_resource("urn:openapi", resource)
        self.checked: set[tuple[str, int]] = set()

    def get(self, path: str, template: str, *, token: str = ENV_TOKEN, **params: Any) -> Any:
        """GET, then validate the body against the document's schema for (template, status)."""
        response = httpx.get(
            self.base + path, params=params, headers={"Authorization": f"Bearer {token}"}
        )
        operation = self.document["paths"][template]["get"]
        declared = operation["responses"].get(str(response.status_code))
        assert declared is not None, f"{template} answered undocumented {response.status_code}"
        schema = declared["content"]["application/json"]["schema"]
        ref = {"$ref": "urn:openapi" + schema["$ref"]}
        OAS31Validator(ref, registry=self._schemas).validate(response.json())
        self.checked.add((template, response.status_code))
        return response


@pytest.fixture
def api(service: Service) -> Api:
    document = httpx.get(f"http://127.0.0.1:{service.port}/api/openapi.json").json()
    return Api(service, document)


def test_the_document_is_valid_openapi_31_and_every_route_answers_as_it_says(api: Api) -> None:
    validate_spec(api.document)
    assert api.document["openapi"].startswith("3.1")
    assert api.get("/api/models", "/api/models").json()["models"][1]["name"] == "fraud"
    model = api.get("/api/models/fraud", "/api/models/{model}").json()
    assert model["production_version"] == "1.0.3"
    assert model["staging_versions"] == ["1.0.4"] and model["golden_version"] == "1.0.1"
    assert model["metric_goals"] == {"auc": {"goal": "maximize", "tolerance": 0.01}}
    page = api.get("/api/models/fraud/versions", "/api/models/{model}/versions").json()
    assert [v["version"] for v in page["versions"]][:2] == ["1.0.5", "1.0.4"]
    record = api.get(
        "/api/models/fraud/versions/production", "/api/models/{model}/versions/{ref}"
    ).json()
    assert (record["version"], record["stage"], record["golden"]) == ("1.0.3", "production", False)
    assert record["params"] == {"epochs": 20, "optimizer.lr": 0.01}
    diff = api.get("/api/models/fraud/diff/golden/latest", "/api/models/{model}/diff/{a}/{b}")
    assert (diff.json()["from"], diff.json()["to"]) == ("1.0.1", "1.0.5")
    history = api.get("/api/models/fraud/history", "/api/models/{model}/history").json()
    assert history["periods"][0]["version"] == "1.0.3"
    at = api.get(
        "/api/models/fraud/history", "/api/models/{model}/history", at="2999-01-01T00:00:00Z"
    ).json()
    assert at["production"] == "1.0.3"
    audit = api.get("/api/audit", "/api/audit", model="fraud").json()["events"]
    assert {e["action"] for e in audit} >= {"register", "promote", "golden"}
    # The errors a client can get are documented too.
    assert api.get("/api/models/nope", "/api/models/{model}").status_code == 404
    missing = api.get("/api/models/fraud/versions/9.9.9", "/api/models/{model}/versions/{ref}")
    assert missing.status_code == 404
    assert (
        api.get(
            "/api/models/churn/versions/golden", "/api/models/{model}/versions/{ref}"
        ).status_code
        == 404
    )
    bad = api.get("/api/models/fraud/versions", "/api/models/{model}/versions", limit="x")
    assert bad.status_code == 400 and "limit" in bad.json()["error"]
    assert api.get("/api/models", "/api/models", token="wrong").status_code == 401


def test_every_documented_answer_is_met_by_a_real_one(api: Api, seeded: Registry) -> None:
    """Each (route, status) the document declares is produced by a real request and its body
    validated against the declared schema — all but 503 (the database down) and the
    artifact's 200 (bytes; tests/bot/test_api_artifacts.py checks those headers)."""
    churn_only = seeded.create_token(scope="read", model="churn", lifetime=None, actor="a")[1]
    version, diff = "/api/models/{model}/versions/{ref}", "/api/models/{model}/diff/{a}/{b}"
    artifact = version + "/artifacts/{name}"
    calls: list[tuple[str, str, dict[str, Any], str]] = [
        ("/api/models", "/api/models", {}, ENV_TOKEN),
        ("/api/models", "/api/models", {"colour": "red"}, ENV_TOKEN),
        ("/api/models/fraud", "/api/models/{model}", {}, ENV_TOKEN),
        ("/api/models/nope", "/api/models/{model}", {}, ENV_TOKEN),
        ("/api/models/fraud", "/api/models/{model}", {"colour": "red"}, ENV_TOKEN),
        ("/api/models/fraud/versions", "/api/models/{model}/versions", {}, ENV_TOKEN),
        ("/api/models/nope/versions", "/api/models/{model}/versions", {}, ENV_TOKEN),
        ("/api/models/fraud/versions", "/api/models/{model}/versions", {"limit": 0}, ENV_TOKEN),
        ("/api/models/fraud/versions/1.0.3", version, {}, ENV_TOKEN),
        ("/api/models/fraud/versions/9.9.9", version, {}, ENV_TOKEN),
        ("/api/models/fraud/versions/1.0.3", version, {"colour": "red"}, ENV_TOKEN),
        ("/api/models/fraud/versions/1.0.3/artifacts/x", artifact, {}, ENV_TOKEN),
        ("/api/models/fraud/versions/1.0.3/artifacts/x", artifact, {"colour": "red"}, ENV_TOKEN),
        ("/api/models/fraud/diff/1.0.1/1.0.3", diff, {}, ENV_TOKEN),
        ("/api/models/fraud/diff/1.0.1/9.9.9", diff, {}, ENV_TOKEN),
        ("/api/models/fraud/diff/1.0.1/1.0.3", diff, {"colour": "red"}, ENV_TOKEN),
        ("/api/models/fraud/history", "/api/models/{model}/history", {}, ENV_TOKEN),
        ("/api/models/nope/history", "/api/models/{model}/history", {}, ENV_TOKEN),
        ("/api/models/fraud/history", "/api/models/{model}/history", {"at": "soon"}, ENV_TOKEN),
        ("/api/audit", "/api/audit", {}, ENV_TOKEN),
        ("/api/audit", "/api/audit", {"limit": "x"}, ENV_TOKEN),
    ]
    for template, methods in api.document["paths"].items():
        concrete = template.replace("{model}", "fraud").replace("{ref}", "1.0.3")
        concrete = concrete.replace("{a}", "1.0.1").replace("{b}", "1.0.3")
        concrete = concrete.replace("{name}", "x")
        assert set(methods) == {"get"}
        calls.append((concrete, template, {}, "wrong"))  # 401
        calls.append(
            (concrete, template, {"model": "fraud"} if "audit" in template else {}, churn_only)
        )
    for path, template, params, token in calls:
        api.get(path, template, token=token, **params)
    declared = {
        (template, int(status))
        for template, methods in api.document["paths"].items()
        for status in methods["get"]["responses"]
    }
    assert declared - api.checked == {
        *((template, 503) for template in api.document["paths"]),
        (artifact, 200),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"stage": "production"}, ["1.0.3"]),
        ({"stage": "archived"}, []),
        ({"tag": "team=risk"}, ["1.0.5", "1.0.3", "1.0.1"]),
        ({"tag": ["team", "candidate=yes"]}, []),
        ({"tag": "candidate"}, ["1.0.4"]),
        ({"metric": "auc>=0.86"}, ["1.0.4", "1.0.3", "1.0.2"]),
        ({"metric": ["auc>0.8", "loss<0.15"]}, ["1.0.4", "1.0.3", "1.0.2"]),
        ({"sort": "-metric:auc", "limit": 3}, ["1.0.3", "1.0.4", "1.0.2"]),
        ({"sort": "version", "limit": 2}, ["1.0.0", "1.0.1"]),
        ({"sort": "created_at", "metric": "loss<0.13"}, ["1.0.3", "1.0.4"]),
    ],
)
def test_filters_and_sorting(api: Api, params: dict[str, Any], expected: list[str]) -> None:
    page = api.get("/api/models/fraud/versions", "/api/models/{model}/versions", **params).json()
    assert [v["version"] for v in page["versions"]] == expected


@pytest.mark.parametrize("sort", ["-version", "version", "created_at", "-metric:auc"])
def test_cursor_pages_walk_every_version_once_in_order(api: Api, sort: str) -> None:
    everything = api.get(
        "/api/models/fraud/versions", "/api/models/{model}/versions", sort=sort, limit=500
    ).json()["versions"]
    seen, cursor, pages = [], None, 0
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/models/fraud/versions", "/api/models/{model}/versions", **params)
        body = page.json()
        seen += [v["version"] for v in body["versions"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [v["version"] for v in everything] and len(seen) == 6
    assert pages == 3


@pytest.mark.parametrize(
    "params",
    [
        {"stage": "gone"},
        {"metric": "auc~0.5"},
        {"metric": "auc>=high"},
        {"sort": "size"},
        {"limit": 0},
        {"limit": 501},
        {"cursor": "not-a-cursor"},
        {"colour": "red"},
    ],
)
def test_bad_queries_are_400_with_one_line(api: Api, params: dict[str, Any]) -> None:
    response = api.get("/api/models/fraud/versions", "/api/models/{model}/versions", **params)
    assert response.status_code == 400
    assert "\n" not in response.json()["error"]


def test_a_cursor_from_another_sort_is_refused(api: Api) -> None:
    first = api.get(
        "/api/models/fraud/versions", "/api/models/{model}/versions", sort="version", limit=1
    ).json()
    response = api.get(
        "/api/models/fraud/versions",
        "/api/models/{model}/versions",
        sort="created_at",
        cursor=first["next_cursor"],
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("ref", "version"),
    [
        ("1.0.2", "1.0.2"),
        ("v1.0.2", "1.0.2"),
        ("latest", "1.0.5"),
        ("production", "1.0.3"),
        ("staging", "1.0.4"),
        ("golden", "1.0.1"),
    ],
)
def test_refs_as_in_the_cli(api: Api, seeded: Registry, ref: str, version: str) -> None:
    record = api.get(f"/api/models/fraud/versions/{ref}", "/api/models/{model}/versions/{ref}")
    assert record.json()["version"] == version
    assert record.json()["golden"] is (version == "1.0.1")
    # The API reads records at the driver level; what it serves is the registry's record.
    expected = json.loads(json.dumps(record_to_dict(seeded.load("fraud", version))))
    assert record.json() == expected


def test_the_diff_is_the_cli_json_document(
    api: Api, seeded: Registry, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    served = api.get("/api/models/fraud/diff/1.0.3/1.0.5", "/api/models/{model}/diff/{a}/{b}")
    assert main(["--db", db_url, "diff", "fraud", "1.0.3", "1.0.5", "--format", "json"]) == 0
    assert served.json() == json.loads(capsys.readouterr().out)
    assert any(f["kind"] == "metric_regression" for f in served.json()["findings"])


def test_answers_follow_writes_made_by_another_process(api: Api, db_url: str) -> None:
    """Cached answers are keyed on the registry's generation: a write from the CLI (another
    connection, another engine) is visible on the next request."""
    path, template = "/api/models/fraud/versions/1.0.2", "/api/models/{model}/versions/{ref}"
    assert api.get(path, template).json()["tags"] == {}
    assert api.get(path, template).json()["tags"] == {}  # served from the cache
    assert main(["--db", db_url, "tag", "fraud", "1.0.2", "reviewed=yes"]) == 0
    assert api.get(path, template).json()["tags"] == {"reviewed": "yes"}
    assert main(["--db", db_url, "promote", "fraud", "1.0.2", "--force", "--reason", "r"]) == 0
    assert api.get("/api/models/fraud/versions/production", template).json()["version"] == "1.0.2"
    # `previous` is the production before the current one, as in the CLI.
    assert api.get("/api/models/fraud/versions/previous", template).json()["version"] == "1.0.3"


def test_a_write_is_seen_by_the_next_request_while_others_are_in_flight(
    api: Api, db_url: str
) -> None:
    """Other requests keep the server's threads busy checking the audit head; a request sent
    after a write has committed still sees it, whichever thread answers it."""
    headers = {"Authorization": f"Bearer {ENV_TOKEN}"}
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=api.base, headers=headers) as client:
            while not stop.is_set():
                assert client.get("/api/models/fraud/versions/production").status_code == 200

    others = [threading.Thread(target=load) for _ in range(6)]
    for thread in others:
        thread.start()
    writer = Registry.open(db_url)
    try:
        with httpx.Client(base_url=api.base, headers=headers) as client:
            for i in range(30):
                writer.set_tag("fraud", "1.0.2", "round", str(i), actor="t")
                served = client.get("/api/models/fraud/versions/1.0.2").json()
                assert served["tags"] == {"round": str(i)}
    finally:
        stop.set()
        for thread in others:
            thread.join(10)
        writer.close()


def test_audit_since_and_limit(api: Api, seeded: Registry) -> None:
    events = seeded.audit_log("fraud")
    middle = events[len(events) // 2]
    since = middle.created_at.isoformat()
    served = api.get("/api/audit", "/api/audit", model="fraud", since=since).json()["events"]
    assert [e["seq"] for e in served] == [
        e.seq for e in events if e.created_at >= middle.created_at
    ]
    assert len(api.get("/api/audit", "/api/audit", limit=2).json()["events"]) == 2
    assert api.get("/api/audit", "/api/audit", since="last week").status_code == 400


def test_only_get(service: Service) -> None:
    response = httpx.post(
        f"http://127.0.0.1:{service.port}/api/models",
        headers={"Authorization": f"Bearer {ENV_TOKEN}"},
    )
    assert response.status_code == 405


def _cache_answers(api: Api) -> dict[str, float]:
    text = httpx.get(api.base + "/metrics").text
    found = re.findall(r'^modeltrail_api_cache_answers_total\{result="(\w+)"\} (\S+)$', text, re.M)
    return {result: float(count) for result, count in found}


def test_monitoring_posts_keep_cached_records_and_writes_drop_only_their_model(
    api: Api, db_url: str
) -> None:
    """The cache is dropped only by what changes an answer: observations posted to the
    monitoring API change no version record (the audit trail shows them at once); a tag on one
    model leaves the other model's answers cached."""
    record, template = "/api/models/fraud/versions/production", "/api/models/{model}/versions/{ref}"
    churn = "/api/models/churn/versions/latest"
    first = api.get(record, template).json()
    api.get(churn, template)
    before = _cache_answers(api)

    posted = httpx.post(
        api.base + "/api/monitoring/fraud",
        json={"metrics": {"auc": 0.85}},
        headers={"Authorization": f"Bearer {ENV_TOKEN}"},
    )
    assert posted.status_code == 200, posted.text
    assert api.get(record, template).json() == first
    api.get(churn, template)
    after_post = _cache_answers(api)
    assert after_post["hit"] == before["hit"] + 2
    assert after_post["miss"] == before["miss"]
    # The audit trail is not served stale: the observation is in it on the next request.
    events = api.get("/api/audit", "/api/audit", model="fraud").json()["events"]
    assert events[0]["action"] == "monitor"

    assert main(["--db", db_url, "tag", "churn", "1.0.0", "owner=ml"]) == 0
    assert api.get(churn, template).json()["tags"] == {"owner": "ml"}  # built again
    assert api.get(record, template).json() == first  # fraud's answer still cached
    after_tag = _cache_answers(api)
    assert after_tag["miss"] == after_post["miss"] + 2  # the audit page, then churn's record
    assert after_tag["hit"] == after_post["hit"] + 1
