"""Slack: the Bolt app, slash commands, Block Kit reports and the outbox dispatcher."""
