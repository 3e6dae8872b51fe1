"""Shared fixtures: a scrubbed environment, and a fresh registry on SQLite and PostgreSQL.

PostgreSQL: one database per test process (xdist worker), migrated once, truncated before
each test. Without a reachable server the PostgreSQL half of the suite is skipped, except in
CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import git

from modeltrail.core.registry.writer import Registry

PG_ADMIN_URL = os.environ.get(
    "MODELTRAIL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_SCRUBBED_PREFIXES = ("MODELTRAIL_", "SLACK_", "OPENAI_", "SMTP_", "MLFLOW_", "GIT_", "AWS_")


def _tables_children_first() -> list[str]:
    from modeltrail.core.store.schema import metadata

    return [table.name for table in reversed(metadata.sorted_tables)]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting of the developer's machine leaks into a test, and git works offline."""
    for key in list(os.environ):
        if key.startswith(_SCRUBBED_PREFIXES) or key in ("CI", "GITHUB_ACTIONS", "GITLAB_CI"):
            monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test Trainer\n\temail = trainer@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("MODELTRAIL_CACHE_DIR", str(tmp_path / "cache"))
    # The developer's ~/.aws profiles stay out of the S3 tests.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.chdir(tmp_path)


def _postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true"


_REQUIRED_AT_START = _postgres_required()  # read before clean_environment removes CI


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from modeltrail.core.store.engine import ensure_schema, make_engine

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"modeltrail_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {str(exc.orig).strip()}"
        if _REQUIRED_AT_START:
            pytest.fail(message + " (required when CI=true)")
        pytest.skip(message)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty registry database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url: str = request.getfixturevalue("postgres_url")
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        # DELETE in dependency order: ten times faster than TRUNCATE for these tiny tables.
        for table in _tables_children_first():
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    return url


@pytest.fixture
def registry(db_url: str) -> Iterator[Registry]:
    reg = Registry.open(db_url)
    yield reg
    reg.close()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """An empty git repository with one commit, in a tmp dir."""
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "README.md").write_text("demo\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial commit")
    return repo
