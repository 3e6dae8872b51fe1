"""Questions in plain words to intents: a deterministic parser with no I/O (`parser`)."""

from modeltrail.core.questions.parser import Intent, parse, refs_in

__all__ = ["Intent", "parse", "refs_in"]
