"""The scenario registry (tests/assistant/scenario.py), seeded once per module: answering
questions never writes, so the tests of a module share it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from scenario import seed_scenario

from modeltrail.core.registry.writer import Registry


@pytest.fixture(scope="module")
def scenario_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('scenario') / 'registry.db'}"
    seed_scenario(url)
    return url


@pytest.fixture(scope="module")
def scenario(scenario_url: str) -> Iterator[Registry]:
    registry = Registry.open(scenario_url)
    yield registry
    registry.close()
