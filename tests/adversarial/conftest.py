"""The adversarial suite reuses the bot tests' fixtures (the fake Slack, the running service,
seeded registries) from tests/bot_fixtures.py."""

from bot_fixtures import serve, slack

__all__ = ["serve", "slack"]
