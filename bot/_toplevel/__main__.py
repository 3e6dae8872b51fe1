"""`python -m modeltrail`: the `modeltrail` command."""

from modeltrail.bot.cli.main import entry

entry()
