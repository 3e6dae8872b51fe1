"""Questions in plain words to intents: a deterministic parser with no I/O (`parser`), the
`Intent` it returns (`intent`), the words it knows (`vocabulary`) and what it finds in a text
(`refs`)."""

from modeltrail.core.questions.intent import Intent
from modeltrail.core.questions.parser import parse
from modeltrail.core.questions.refs import refs_in

__all__ = ["Intent", "parse", "refs_in"]
