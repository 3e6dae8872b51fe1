"""Version references (`model@production`, `model/2.1.5`): the pure parser, and resolving them
through the registry and the stdlib SQLite reader alike."""

from __future__ import annotations

import pytest

from modeltrail.core.config import Settings
from modeltrail.core.errors import InvalidVersionError, UsageError
from modeltrail.core.records import VersionDraft
from modeltrail.core.refs import EmptyStageError, Ref, parse_ref, parse_selector
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store.sqlite_reader import SqliteReader


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fraud-detector@production", Ref("fraud-detector", "production")),
        ("fraud-detector@Staging", Ref("fraud-detector", "staging")),
        ("fraud-detector@prod", Ref("fraud-detector", "production")),
        ("fraud-detector@golden", Ref("fraud-detector", "golden")),
        ("fraud-detector@latest", Ref("fraud-detector", "latest")),
        ("fraud-detector@previous", Ref("fraud-detector", "previous")),
        ("fraud-detector/2.1.5", Ref("fraud-detector", "2.1.5")),
        ("fraud-detector/v2.1.5", Ref("fraud-detector", "2.1.5")),
        ("fraud-detector@2.1.5", Ref("fraud-detector", "2.1.5")),
        ("team/fraud@production", Ref("team/fraud", "production")),
        ("team/fraud/1.0.0", Ref("team/fraud", "1.0.0")),
        ("team/fraud", Ref("team/fraud", "latest")),
        ("fraud-detector", Ref("fraud-detector", "latest")),
    ],
)
def test_parse_ref(text: str, expected: Ref) -> None:
    assert parse_ref(text) == expected
    assert parse_ref(str(expected)) == expected  # str() round-trips


def test_a_version_given_apart() -> None:
    assert parse_ref("fraud", "production") == Ref("fraud", "production")
    assert parse_ref("fraud", "@golden") == Ref("fraud", "golden")
    assert parse_ref("fraud", "v1.2.3") == Ref("fraud", "1.2.3")
    with pytest.raises(UsageError, match="already names a version"):
        parse_ref("fraud@production", "1.0.0")


@pytest.mark.parametrize("text", ["@production", ""])
def test_bad_references_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_ref(text)


@pytest.mark.parametrize("text", ["fraud@", "fraud@banana", "fraud@1.2"])
def test_a_malformed_version_is_bad_input_like_everywhere(text: str) -> None:
    # exit 1, as the README says of a malformed version number (usage errors exit 2)
    with pytest.raises(InvalidVersionError, match="is not a version number or a stage name"):
        parse_ref(text)


def test_parse_selector_messages() -> None:
    assert parse_selector(" Production ") == "production"
    with pytest.raises(InvalidVersionError, match="'banana' is not a version number or a stage"):
        parse_selector("banana")


def _seed(registry: Registry) -> None:
    for _ in range(4):
        registry.register(VersionDraft(model="fraud"), actor="t")
    registry.promote("fraud", "1.0.0", actor="t", force=True, reason="bare")
    registry.promote("fraud", "1.0.2", actor="t", force=True, reason="bare")
    registry.promote("fraud", "1.0.3", to="staging", actor="t")
    registry.set_golden("fraud", "1.0.1", actor="t")


EXPECTED = {
    "production": "1.0.2",
    "previous": "1.0.0",
    "staging": "1.0.3",
    "golden": "1.0.1",
    "latest": "1.0.3",
    "1.0.1": "1.0.1",
}


def test_registry_resolves_every_name(registry: Registry) -> None:
    _seed(registry)
    for name, version in EXPECTED.items():
        assert registry.resolve_version("fraud", name) == version
        assert registry.resolve(f"fraud@{name}").version == version
    assert registry.resolve("fraud/1.0.1").stage == "none"


def test_the_sqlite_reader_resolves_the_same(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Registry.open(url) as registry:
        _seed(registry)
    reader = SqliteReader.open(Settings(database_url=url))
    assert reader is not None
    with reader:
        for name, version in EXPECTED.items():
            assert reader.resolve_version("fraud", name) == version
            assert reader.resolve(f"fraud@{name}").version == version


def test_empty_stages_say_so(registry: Registry) -> None:
    registry.register(VersionDraft(model="fraud"), actor="t")
    with pytest.raises(EmptyStageError, match="^fraud has no production version "):
        registry.resolve("fraud@production")
    with pytest.raises(EmptyStageError, match="^fraud has no earlier production version "):
        registry.resolve("fraud@previous")
    registry.promote("fraud", "1.0.0", actor="t", force=True, reason="bare")
    with pytest.raises(EmptyStageError, match="no earlier production version"):
        registry.resolve_version("fraud", "previous")
