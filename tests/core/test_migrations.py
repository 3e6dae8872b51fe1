"""Opening registry databases: where they live, creating and migrating them, and refusing
ones this release cannot read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from modeltrail.core.config import DEFAULT_DATABASE_PATH, Settings
from modeltrail.core.errors import DatabaseError, SchemaTooNewError
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store import engine as db
from modeltrail.core.store import schema


def _revision(url: str) -> str | None:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return db.current_revision(conn)
    finally:
        engine.dispose()


def _set_revision(url: str, revision: str) -> None:
    engine = db.make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    finally:
        engine.dispose()


def test_revisions_match_the_migration_scripts() -> None:
    config = Config()
    config.set_main_option("script_location", "modeltrail.core.store:migrations")
    scripts = ScriptDirectory.from_config(config)
    oldest_first = [script.revision for script in reversed(list(scripts.walk_revisions()))]
    assert tuple(oldest_first) == db.REVISIONS
    assert scripts.get_heads() == [db.HEAD]


def test_a_fresh_database_is_migrated_to_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with Registry.open(url) as registry:
        tables = set(inspect(registry.engine).get_table_names())
    assert {t.name for t in schema.metadata.sorted_tables} <= tables
    assert _revision(url) == db.HEAD


def test_the_migrated_schema_matches_the_metadata(db_url: str) -> None:
    """The migration scripts build exactly the tables schema.py declares."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with Registry.open(db_url) as registry, registry.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, schema.metadata) == []


def test_database_stamped_by_a_newer_release_is_refused(db_url: str) -> None:
    Registry.open(db_url).close()
    _set_revision(db_url, "9999_future")
    try:
        with pytest.raises(SchemaTooNewError) as info:
            Registry.open(db_url)
        assert info.value.found == "9999_future"
        message = str(info.value)
        assert "9999_future" in message and "newer than this modeltrail knows" in message
        assert "pip install -U modeltrail" in message
        assert isinstance(info.value, DatabaseError)
        # The check under the migration lock refuses it too.
        engine = db.make_engine(db_url)
        with pytest.raises(SchemaTooNewError):
            db.upgrade(engine)
        engine.dispose()
        assert _revision(db_url) == "9999_future"
    finally:
        _set_revision(db_url, db.HEAD)


def test_opening_a_current_database_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'current.db'}"
    Registry.open(url).close()
    script = (
        "import sys\n"
        "from modeltrail.core.registry.writer import Registry\n"
        f"Registry.open({url!r}).close()\n"
        "print('alembic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_explicit_sqlite_path_in_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "deeper"
    with pytest.raises(DatabaseError) as info:
        Registry.open(f"sqlite:///{missing / 'registry.db'}")
    assert str(missing) in str(info.value)
    assert "does not exist" in str(info.value)
    assert not (tmp_path / "nowhere").exists()


def test_configured_sqlite_path_in_a_missing_directory_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "absent"
    monkeypatch.setenv("MODELTRAIL_DATABASE_URL", f"sqlite:///{missing / 'r.db'}")
    with pytest.raises(DatabaseError, match=str(missing)):
        Registry.open()
    assert not missing.exists()


def test_default_location_is_created_on_first_use(tmp_path: Path) -> None:
    assert Path.cwd() == tmp_path  # the conftest runs every test in its tmp dir
    path = tmp_path / DEFAULT_DATABASE_PATH
    assert not path.parent.exists()
    with Registry.open() as registry:
        registry.register(VersionDraft("fraud"), actor="a")
    assert path.is_file()
    with Registry.open(f"sqlite:///{path}") as registry:
        assert registry.latest_version("fraud") == "1.0.0"


def test_configured_url_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "configured.db"
    monkeypatch.setenv("MODELTRAIL_DATABASE_URL", f"sqlite:///{path}")
    with Registry.open() as registry:
        registry.register(VersionDraft("fraud"), actor="a")
    assert path.is_file()
    assert not (tmp_path / DEFAULT_DATABASE_PATH).exists()


def test_dotenv_setting_is_used_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        f"MODELTRAIL_DATABASE_URL=sqlite:///{tmp_path / 'from_env_file.db'}\n"
        "MODELTRAIL_ACTOR=dotenv-actor\n"
    )
    settings = Settings.load()
    assert settings.database_url == f"sqlite:///{tmp_path / 'from_env_file.db'}"
    assert settings.actor == "dotenv-actor"
    monkeypatch.setenv("MODELTRAIL_ACTOR", "  env-actor ")
    assert Settings.load().actor == "env-actor"
    monkeypatch.setenv("MODELTRAIL_ACTOR", "  ")
    assert Settings.load().actor is None
    assert Settings.load(environ={}, env_file=None) == Settings()
    with Registry.open() as registry:
        registry.register(VersionDraft("fraud"), actor="a")
    assert (tmp_path / "from_env_file.db").is_file()


def test_settings_overrides_and_default_url(tmp_path: Path) -> None:
    settings = Settings(database_url=None, actor="a")
    assert settings.with_overrides(actor="b", database_url=None).actor == "b"
    assert (
        settings.resolved_database_url(tmp_path) == f"sqlite:///{tmp_path / DEFAULT_DATABASE_PATH}"
    )
    with pytest.raises(Exception, match="unknown setting"):
        settings.with_overrides(colour="red")


def test_explicit_url_wins_over_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELTRAIL_DATABASE_URL", f"sqlite:///{tmp_path / 'configured.db'}")
    with Registry.open(f"sqlite:///{tmp_path / 'explicit.db'}"):
        pass
    assert (tmp_path / "explicit.db").is_file()
    assert not (tmp_path / "configured.db").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_are_normalised(url: str, expected: str) -> None:
    assert db.normalise_url(url) == expected


def test_unusable_databases_are_database_errors(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="cannot parse database URL"):
        Registry.open("not a url")
    with pytest.raises(DatabaseError, match="unsupported database 'mysql'"):
        Registry.open("mysql://u:secret@h/db")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a SQLite database, just some bytes" * 20)
    with pytest.raises(DatabaseError, match="cannot open the registry database"):
        Registry.open(f"sqlite:///{garbage}")


def test_unreachable_postgres_is_a_database_error_without_the_password() -> None:
    with pytest.raises(DatabaseError) as info:
        Registry.open("postgresql://u:hunter2@127.0.0.1:1/db")
    assert "hunter2" not in str(info.value)
