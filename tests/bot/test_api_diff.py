"""`GET /api/models/{model}/diff/{a}/{b}` is the document `modeltrail diff --format json`
prints, on SQLite and PostgreSQL — the commits between the two versions included, read from
the checkout the newer version was trained in when it is on the server's machine, as the CLI
reads them — and the diff page lists the same commits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import commit_file, git

from modeltrail.bot.cli.main import main
from modeltrail.bot.web.server import Service, build_service
from modeltrail.core.config import Settings
from modeltrail.core.records import CodeState, VersionDraft
from modeltrail.core.registry.writer import Registry
from modeltrail.core.serialize import record_to_dict

TOKEN = "diff-test-token"


def _version(registry: Registry, repo: Path, auc: float) -> None:
    commit = git(repo, "rev-parse", "HEAD")
    code = CodeState(str(repo), commit, "main", None, dirty=False)
    registry.register(
        VersionDraft(
            "fraud",
            params={"lr": auc / 10},
            metric_points={"auc": [(0, auc, 1_790_000_000.0)]},
            code=code,
        ),
        actor="trainer",
    )


@pytest.fixture
def trained(registry: Registry, git_repo: Path) -> Path:
    """fraud 1.0.0 at the first commit, 1.0.1 two commits later with a lower auc."""
    _version(registry, git_repo, 0.90)
    commit_file(git_repo, "train.py", "LR = 0.02\n", "Tune the learning rate")
    commit_file(git_repo, "features.py", "X = 1\n", "Add a feature")
    _version(registry, git_repo, 0.80)
    return git_repo


@pytest.fixture
def service(registry: Registry, trained: Path) -> Iterator[Service]:
    running = build_service(Settings(http_port=0, api_token=TOKEN), registry)
    running.start()
    yield running
    running.stop()


def _served(service: Service, a: str, b: str) -> dict:
    response = httpx.get(
        f"http://127.0.0.1:{service.port}/api/models/fraud/diff/{a}/{b}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def _printed(db_url: str, capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    capsys.readouterr()
    assert main(["--db", db_url, "diff", "fraud", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_served_diff_is_the_cli_document_with_the_commits(
    service: Service, registry: Registry, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    served = _served(service, "1.0.0", "1.0.1")
    assert served == _printed(db_url, capsys, "1.0.0", "1.0.1")
    code = served["code"]
    assert code["history"] is True and code["reachable"] is True
    assert [c["subject"] for c in code["commits"]] == ["Add a feature", "Tune the learning rate"]
    assert any(f["kind"] == "metric_regression" for f in served["findings"])
    # Refs are resolved as the CLI resolves them.
    assert _served(service, "1.0.0", "latest") == served
    # The version answer carries the code state as the registry recorded it.
    record = httpx.get(
        f"http://127.0.0.1:{service.port}/api/models/fraud/versions/latest",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    assert record == json.loads(json.dumps(record_to_dict(registry.load("fraud", "1.0.1"))))
    assert record["code"]["commit"] == code["new_commit"]
    # The diff page shows the same commits, as `diff --format html` does.
    page = httpx.get(
        f"http://127.0.0.1:{service.port}/m/fraud/diff/1.0.0/1.0.1",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert page.status_code == 200 and "Tune the learning rate" in page.text


def test_without_the_checkout_both_say_the_history_is_not_at_hand(
    service: Service, trained: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    shutil.rmtree(trained)
    served = _served(service, "1.0.0", "1.0.1")
    assert served == _printed(db_url, capsys, "1.0.0", "1.0.1")
    assert served["code"]["history"] is False and served["code"]["commits"] == []
