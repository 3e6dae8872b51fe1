"""The `modeltrail` command line: `common` holds the group and the shared helpers, one module
per command family registers its commands on it, and `main` is the entry point."""

from modeltrail.bot.cli.main import entry, main

__all__ = ["entry", "main"]
