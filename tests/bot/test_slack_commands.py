"""The `/model …` parser (pure): subcommands, aliases, `public`, the model left out, arity."""

from __future__ import annotations

import pytest

from modeltrail.bot.slack.commands import USAGE, SlashCommand, parse_command, usage_text
from modeltrail.core.errors import UsageError

MODELS = ("fraud", "churn")


def parse(text: str, models=MODELS, channel_model: str | None = None) -> SlashCommand:
    return parse_command(text, known_models=list(models), channel_model=channel_model)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("diff fraud 1.0.0 1.0.1", SlashCommand("diff", "fraud", ("1.0.0", "1.0.1"))),
        ("diff fraud", SlashCommand("diff", "fraud", ())),
        ("show fraud", SlashCommand("show", "fraud", ())),
        ("show churn v2.1.0", SlashCommand("show", "churn", ("v2.1.0",))),
        ("history fraud", SlashCommand("history", "fraud", ())),
        ("log fraud", SlashCommand("history", "fraud", ())),
        ("production fraud", SlashCommand("production", "fraud", ())),
        ("PROD fraud", SlashCommand("production", "fraud", ())),
        ("changelog fraud", SlashCommand("changelog", "fraud", ())),
        ("promote fraud 1.0.1", SlashCommand("promote", "fraud", ("1.0.1",))),
        (
            "promote fraud 1.0.1 better auc",
            SlashCommand("promote", "fraud", ("1.0.1", "better", "auc")),
        ),
        ("rollback fraud it broke", SlashCommand("rollback", "fraud", ("it", "broke"))),
        ("golden fraud latest", SlashCommand("golden", "fraud", ("latest",))),
        (
            "golden fraud 1.0.0 the stable one",
            SlashCommand("golden", "fraud", ("1.0.0", "the", "stable", "one")),
        ),
        (
            "retire fraud 1.0.0 leaks pii",
            SlashCommand("retire", "fraud", ("1.0.0", "leaks", "pii")),
        ),
        ("help", SlashCommand("help", None, ())),
        ("", SlashCommand("help", None, ())),
        ("   ", SlashCommand("help", None, ())),
        ("?", SlashCommand("help", None, ())),
        ("show fraud public", SlashCommand("show", "fraud", (), public=True)),
        ("Public diff fraud 1.0.0", SlashCommand("diff", "fraud", ("1.0.0",), public=True)),
    ],
)
def test_each_subcommand(text: str, expected: SlashCommand) -> None:
    assert parse(text) == expected


def test_mutating_commands() -> None:
    assert {n for n in USAGE if SlashCommand(n, None, ()).mutating} == {
        "promote",
        "rollback",
        "golden",
        "retire",
    }


def test_the_model_may_be_left_out_with_one_model() -> None:
    assert parse("show", models=["fraud"]) == SlashCommand("show", "fraud", ())
    assert parse("show 1.0.0", models=["fraud"]) == SlashCommand("show", "fraud", ("1.0.0",))
    assert parse("rollback it broke", models=["fraud"]).args == ("it", "broke")
    assert parse("promote latest", models=["fraud"]) == SlashCommand(
        "promote", "fraud", ("latest",)
    )


def test_the_channel_default_model_is_used_when_none_is_named() -> None:
    assert parse("show", channel_model="churn").model == "churn"
    assert parse("diff 1.0.0 1.0.1", channel_model="churn").args == ("1.0.0", "1.0.1")
    assert parse("show fraud", channel_model="churn").model == "fraud"
    assert parse("rollback bad numbers", channel_model="churn") == SlashCommand(
        "rollback", "churn", ("bad", "numbers")
    )


@pytest.mark.parametrize(
    ("text", "models", "message", "hint"),
    [
        ("show", MODELS, "Which model? `fraud`, `churn`", "Usage: `/model show"),
        ("show 1.0.0", MODELS, "Which model?", "Usage: `/model show"),
        ("history", MODELS, "Which model?", "Usage: `/model history"),
        ("show frud", MODELS, "There is no model named `frud`.", "Models: `fraud`, `churn`"),
        ("promote frud 1.0.0", MODELS, "There is no model named `frud`.", "Models:"),
        ("show", (), "The registry has no models yet.", None),
        ("frobnicate", MODELS, "I don't know `frobnicate`.", "Try one of:"),
        ("promote fraud", MODELS, "Which version?", "Usage: `/model promote"),
        ("golden fraud", MODELS, "Which version?", "Usage: `/model golden"),
        ("retire fraud", MODELS, "Which version?", "Usage: `/model retire"),
        ("policy fraud approvals x", MODELS, "Say `approvals N`", "Usage: `/model policy"),
        ("requests frud", MODELS, "Which model?", "Usage: `/model requests"),
        ("show fraud 1.0.0 1.0.1", MODELS, "Too many arguments.", "Usage: `/model show"),
        ("diff fraud 1 2 3", MODELS, "Too many arguments.", "Usage: `/model diff"),
        ("changelog fraud extra", MODELS, "This takes only a model name.", None),
    ],
)
def test_mistakes_raise_usage_errors(text, models, message, hint) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text, models=models)
    assert message in caught.value.message
    if hint:
        assert hint in (caught.value.hint or "")


def test_usage_text_for_one_and_all() -> None:
    assert usage_text("/model", "show") == f"Usage: `/model {USAGE['show']}`"
    everything = usage_text("/mt")
    assert everything.count("`/mt ") == len(USAGE)
    assert usage_text("/model", "nonsense") == usage_text("/model")


def test_the_manifest_usage_hint_names_every_subcommand() -> None:
    """Slack shows `usage_hint` while typing `/model`: it must not hide a subcommand."""
    from pathlib import Path

    import yaml

    manifest = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "manifest.yml").read_text(encoding="utf-8")
    )
    (command,) = manifest["features"]["slash_commands"]
    hint = command["usage_hint"]
    words = {w.strip("·[] ") for w in hint.split()}
    assert set(USAGE) <= words, set(USAGE) - words
    assert len(hint) <= 1000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("show fraud@production", SlashCommand("show", "fraud", ("production",))),
        ("show fraud/1.0.1", SlashCommand("show", "fraud", ("1.0.1",))),
        (
            "diff fraud@previous fraud@production",
            SlashCommand("diff", "fraud", ("previous", "production")),
        ),
        ("diff fraud @previous prod", SlashCommand("diff", "fraud", ("@previous", "prod"))),
        ("rollback fraud broke x@noon", SlashCommand("rollback", "fraud", ("broke", "x@noon"))),
    ],
)
def test_references_read_as_on_the_command_line(text: str, expected: SlashCommand) -> None:
    assert parse(text) == expected
