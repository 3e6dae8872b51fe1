from modeltrail.bot.cli.main import entry

entry()
