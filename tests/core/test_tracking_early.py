"""track() fails before the training runs when it cannot register afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeltrail.core.errors import DatabaseError, DuplicateVersionError
from modeltrail.core.registry.writer import Registry
from modeltrail.core.tracking import track


def test_a_taken_version_fails_before_the_block(registry: Registry) -> None:
    with track("m", registry=registry, version="2.0.0", capture_code=False):
        pass
    trained = []
    with pytest.raises(DuplicateVersionError), track("m", registry=registry, version="2.0.0"):
        trained.append("hours of training")
    assert trained == []


def test_an_unusable_database_fails_before_the_block(tmp_path: Path) -> None:
    trained = []
    url = f"sqlite:///{tmp_path}/missing/dir/registry.db"
    with pytest.raises(DatabaseError), track("m", database_url=url):
        trained.append("hours of training")
    assert trained == []
