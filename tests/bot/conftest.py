"""The bot tests' fixtures live in tests/bot_fixtures.py (importable from every folder)."""

from bot_fixtures import serve, slack

__all__ = ["serve", "slack"]
