"""Scoped API tokens: the CLI prints a token once and the registry keeps only its hash; every
route (read API, pages, monitoring POST) refuses a missing, wrong, expired, revoked,
wrong-scope or wrong-model token with 401/403 — and then has read nothing but the token table
and written nothing at all."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from modeltrail.bot.cli.main import main
from modeltrail.bot.web.server import Service, build_service
from modeltrail.core.access import sign_link, token_digest
from modeltrail.core.config import Settings
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store import schema

ENV_TOKEN = "env-shared-token"
LINK_SECRET = "link-secret-" + "x" * 20


@pytest.fixture
def service(registry: Registry) -> Iterator[Service]:
    for model in ("fraud", "churn"):
        registry.register(
            VersionDraft(model, metric_points={"accuracy": [(0, 0.9, 1_790_000_000.0)]}),
            actor="trainer",
        )
        registry.promote(model, "1.0.0", actor="ops", force=True, reason="first")
    running = build_service(
        Settings(http_port=0, api_token=ENV_TOKEN, link_secret=LINK_SECRET), registry
    )
    running.start()
    yield running
    running.stop()


def _tokens(registry: Registry) -> dict[str, str]:
    """One secret per kind of credential the matrix below presents."""
    past = Registry(registry.engine, clock=lambda: dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    expired = past.create_token(
        scope="write", model=None, lifetime=dt.timedelta(days=1), actor="a"
    )[1]
    revoked_token, revoked = registry.create_token(
        scope="write", model=None, lifetime=None, actor="a"
    )
    registry.revoke_token(revoked_token.id, actor="a", reason="leaked")
    return {
        "expired": expired,
        "revoked": revoked,
        "read-fraud": registry.create_token(scope="read", model="fraud", lifetime=None, actor="a")[
            1
        ],
        "monitor-churn": registry.create_token(
            scope="monitor", model="churn", lifetime=None, actor="a"
        )[1],
        "write-all": registry.create_token(scope="write", model=None, lifetime=None, actor="a")[1],
    }


# route → (method, path, status when allowed): every route that names a model
ROUTES = {
    "api": ("GET", "/api/models/fraud/versions/production", 200),
    "api-model": ("GET", "/api/models/fraud", 200),
    "api-versions": ("GET", "/api/models/fraud/versions?stage=production", 200),
    "api-diff": ("GET", "/api/models/fraud/diff/1.0.0/production", 200),
    "api-history": ("GET", "/api/models/fraud/history", 200),
    "api-audit": ("GET", "/api/audit?model=fraud", 200),
    "api-artifact": ("GET", "/api/models/fraud/versions/1.0.0/artifacts/model.bin", 404),
    "page": ("GET", "/m/fraud/1.0.0", 200),
    "page-model": ("GET", "/m/fraud", 200),
    "page-diff": ("GET", "/m/fraud/diff/1.0.0/production", 200),
    "monitor": ("POST", "/api/monitoring/fraud", 200),
}
# credential → (status on read routes, status on the monitoring POST); None: allowed
MATRIX = {
    "missing": (401, 401),
    "wrong": (401, 401),
    "expired": (401, 401),
    "revoked": (401, 401),
    "read-fraud": (None, 403),  # wrong scope for the POST
    "monitor-churn": (403, 403),  # wrong model
    "write-all": (None, None),
    "env": (None, None),  # MODELTRAIL_API_TOKEN: read + monitor
}


class Statements:
    """Every SQL statement the registry's engine runs while recording."""

    def __init__(self, registry: Registry) -> None:
        self.seen: list[str] = []
        event.listen(registry.engine, "before_cursor_execute", self._record)
        self.engine = registry.engine

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.seen.append(statement)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def tables(self) -> set[str]:
        names = {t.name for t in schema.metadata.sorted_tables}
        return {n for s in self.seen for n in names if f"{n}" in s.lower()}


def _request(service: Service, route: str, secret: str | None) -> httpx.Response:
    method, path, _ = ROUTES[route]
    headers = {} if secret is None else {"Authorization": f"Bearer {secret}"}
    body = {"metrics": {"accuracy": 0.5}} if method == "POST" else None
    return httpx.request(
        method, f"http://127.0.0.1:{service.port}{path}", headers=headers, json=body, timeout=30
    )


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_route_checks_the_token_before_reading_or_writing(
    service: Service, registry: Registry, route: str
) -> None:
    secrets = {**_tokens(registry), "missing": None, "wrong": "mt_not-a-token", "env": ENV_TOKEN}
    audit_before = len(registry.audit_log())
    for credential, (read_status, monitor_status) in MATRIX.items():
        expected = monitor_status if route == "monitor" else read_status
        statements = Statements(registry)
        try:
            response = _request(service, route, secrets[credential])
        finally:
            statements.close()
        if expected is None:
            assert response.status_code == ROUTES[route][2], (credential, response.text)
            continue
        assert response.status_code == expected, (credential, response.text)
        if expected == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "1.0.0" not in response.text and "accuracy" not in response.text
        # Nothing read but the token (and the generation the cache compares with), no write.
        assert statements.tables() <= {"api_tokens", "audit_head"}, (credential, statements.seen)
        assert not any(
            s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in statements.seen
        )
    with registry.engine.connect() as conn:
        observations = conn.execute(
            select(func.count()).select_from(schema.monitor_observations)
        ).scalar_one()
    # Only the two allowed POSTs stored anything; refused requests wrote no audit event.
    assert observations == (2 if route == "monitor" else 0)
    assert len(registry.audit_log()) == audit_before + (2 if route == "monitor" else 0)


def test_a_token_for_one_model_sees_only_that_model(service: Service, registry: Registry) -> None:
    secret = registry.create_token(scope="read", model="fraud", lifetime=None, actor="a")[1]
    base, auth = f"http://127.0.0.1:{service.port}", {"Authorization": f"Bearer {secret}"}
    models = httpx.get(f"{base}/api/models", headers=auth).json()["models"]
    assert [m["name"] for m in models] == ["fraud"]
    assert httpx.get(f"{base}/api/audit", headers=auth).status_code == 403
    assert httpx.get(f"{base}/api/audit?model=churn", headers=auth).status_code == 403
    events = httpx.get(f"{base}/api/audit?model=fraud", headers=auth).json()["events"]
    assert events and {e["model"] for e in events} == {"fraud"}


def test_a_revoked_token_stops_working_at_once(service: Service, registry: Registry) -> None:
    token, secret = registry.create_token(scope="read", model=None, lifetime=None, actor="a")
    assert _request(service, "api", secret).status_code == 200
    assert _request(service, "api", secret).status_code == 200  # cached grant
    registry.revoke_token(token.id, actor="a")
    assert _request(service, "api", secret).status_code == 401


def test_signed_links_open_the_pages_of_their_model_only(service: Service) -> None:
    base = f"http://127.0.0.1:{service.port}"
    now = dt.datetime.now(dt.UTC)
    good = sign_link(LINK_SECRET, "fraud", now)
    assert httpx.get(f"{base}/m/fraud", params={"t": good}).status_code == 200
    assert httpx.get(f"{base}/m/churn", params={"t": good}).status_code == 401
    stale = sign_link(LINK_SECRET, "fraud", now - dt.timedelta(days=60))
    assert httpx.get(f"{base}/m/fraud", params={"t": stale}).status_code == 401
    forged = sign_link("another-secret", "fraud", now)
    assert httpx.get(f"{base}/m/fraud", params={"t": forged}).status_code == 401
    # A link opens pages, not the API.
    api = httpx.get(f"{base}/api/models/fraud", params={"t": good})
    assert api.status_code == 401


def test_cli_prints_the_token_once_and_stores_only_its_hash(
    registry: Registry, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.register(VersionDraft("fraud"), actor="t")
    args = ["--db", db_url, "token", "create", "--scope", "read", "--model", "fraud"]
    assert main([*args, "--expires", "30d", "--name", "dashboard", "--actor", "ana"]) == 0
    out = capsys.readouterr()
    secret = out.out.strip()
    assert secret.startswith("mt_") and "not shown again" in out.err
    with registry.engine.connect() as conn:
        row = conn.execute(select(schema.api_tokens)).mappings().one()
    assert row["token_hash"] == token_digest(secret)
    assert secret not in json.dumps({k: str(v) for k, v in row.items()})
    assert row["expires_at"] - row["created_at"] == dt.timedelta(days=30)

    assert main(["--db", db_url, "token", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(t["scope"], t["model"], t["status"], t["name"]) for t in listed] == [
        ("read", "fraud", "active", "dashboard")
    ]
    assert secret not in json.dumps(listed)
    assert main(["--db", db_url, "token", "revoke", str(listed[0]["id"]), "--actor", "ana"]) == 0
    capsys.readouterr()
    assert main(["--db", db_url, "token", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "revoked"
    actions = [(e.action, e.actor) for e in registry.audit_log("fraud")][:2]
    assert actions == [("token_revoke", "ana"), ("token_create", "ana")]
    assert registry.verify_audit().ok


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["create", "--scope", "admin"], 2, "admin"),
        (["create", "--scope", "read", "--expires", "soon"], 2, "not a duration"),
        (["create", "--scope", "read", "--model", "nope"], 1, "no model named"),
        (["revoke", "42"], 1, "no API token 42"),
    ],
)
def test_cli_bad_input_is_one_line_and_writes_nothing(
    registry: Registry,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    message: str,
) -> None:
    assert main(["--db", db_url, "token", *args]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert registry.list_tokens() == [] and registry.audit_log() == []
