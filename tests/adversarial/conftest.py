"""The adversarial suite reuses the bot tests' fixtures (the fake Slack, the running service,
seeded registries): loaded under their own module name, since every test folder's fixture
module is called `conftest`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_path = Path(__file__).parents[1] / "bot" / "conftest.py"
_spec = importlib.util.spec_from_file_location("bot_fixtures", _path)
assert _spec is not None and _spec.loader is not None
bot_fixtures = importlib.util.module_from_spec(_spec)
sys.modules["bot_fixtures"] = bot_fixtures
_spec.loader.exec_module(bot_fixtures)

slack = bot_fixtures.slack
serve = bot_fixtures.serve
