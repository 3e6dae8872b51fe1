"""The Slack bot through its public door: signed HTTP requests to the real Bolt app served by
waitress (`build_service`), answers read back from a fake Slack Web API on loopback.

Every `/model` subcommand, the model left out, the admin refusal, the gate refusal, unknown
and malformed input, request verification, event retries, `/healthz`. SQLite and PostgreSQL.
"""

from __future__ import annotations

import time

from bot_fixtures import ADMIN, REPORTS, seed
from slack_fake import command_body, event_body, signed_headers

from modeltrail.bot.slack import handlers
from modeltrail.core.registry.writer import Registry


def _words(call) -> str:
    return call.all_text


def _post_about(slack, words: str):
    found = [p for p in slack.posts(REPORTS) if words in p.text]
    assert len(found) <= 1, "posted twice"
    return found[0] if found else None


# -- request verification and health --------------------------------------------------------------


def test_healthz_answers_json(serve, registry: Registry) -> None:
    bot = serve()
    response = bot.http.get(f"http://127.0.0.1:{bot.service.port}/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert bot.http.get(f"http://127.0.0.1:{bot.service.port}/nope").status_code == 404


def test_forged_signatures_and_stale_timestamps_get_401(serve, registry: Registry) -> None:
    seed(registry, 0.9)
    bot = serve()
    body = command_body("help", response_url=bot.slack.response_url("forged"))
    kind = "application/x-www-form-urlencoded"

    forged = signed_headers(body, kind, secret="not-the-secret")
    assert bot.http.post(bot.url, content=body, headers=forged).status_code == 401

    stale = signed_headers(body, kind, timestamp=time.time() - 6 * 60)
    assert bot.http.post(bot.url, content=body, headers=stale).status_code == 401

    tampered = signed_headers(body, kind)
    changed = body.replace("help", "promote")
    assert bot.http.post(bot.url, content=changed, headers=tampered).status_code == 401

    unsigned = {"Content-Type": kind}
    assert bot.http.post(bot.url, content=body, headers=unsigned).status_code == 401

    assert bot.command("help")  # a correctly signed one goes through
    assert bot.slack.responses("forged") == []


# -- read-only subcommands ----------------------------------------------------------------------


def test_help_lists_every_subcommand_ephemerally(serve, registry: Registry) -> None:
    bot = serve()
    for text in ("help", "", "?"):
        (answer,) = bot.command(text)
        assert answer.data["response_type"] == "ephemeral"
        for sub in (
            "diff",
            "show",
            "history",
            "production",
            "changelog",
            "promote",
            "rollback",
            "golden",
            "help",
        ):
            assert f"/model {sub}" in answer.text


def test_show_is_ephemeral_unless_public(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92, description="first")
    bot = serve()
    (answer,) = bot.command("show fraud")
    assert answer.data["response_type"] == "ephemeral"
    assert answer.blocks[0]["text"]["text"] == "fraud 1.0.1"
    assert "auc 0.92" in _words(answer)

    (answer,) = bot.command("show fraud 1.0.0 public")
    assert answer.data["response_type"] == "in_channel"
    assert answer.blocks[0]["text"]["text"] == "fraud 1.0.0"
    assert "auc 0.9" in _words(answer)


def test_diff_between_two_versions_and_against_the_parent(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92, 0.93)
    bot = serve()
    (answer,) = bot.command("diff fraud 1.0.0 1.0.2")
    text = _words(answer)
    assert answer.blocks[0]["text"]["text"] == "fraud 1.0.2 vs 1.0.0"
    assert "improved" in text and "auc" in text

    (answer,) = bot.command("diff fraud 1.0.1")
    assert answer.blocks[0]["text"]["text"] == "fraud 1.0.1 vs 1.0.0"
    (answer,) = bot.command("diff")  # the only model, newest two
    assert answer.blocks[0]["text"]["text"] == "fraud 1.0.2 vs 1.0.1"


def test_history_production_and_changelog(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92)
    registry.promote("fraud", "1.0.0", actor="ada", reason="first release")
    registry.promote("fraud", "1.0.1", actor="bob", reason="better auc")
    bot = serve()

    (answer,) = bot.command("history fraud")
    text = _words(answer)
    assert "fraud: production history" in text
    assert "*1.0.1*" in text and "bob" in text and "better auc" in text
    assert "*1.0.0*" in text and "first release" in text

    (answer,) = bot.command("production fraud")
    assert "fraud 1.0.1 is in production" in answer.text
    (answer,) = bot.command("prod")
    assert "1.0.1" in answer.text

    (answer,) = bot.command("changelog fraud")
    text = _words(answer)
    assert "fraud: latest changes" in text
    assert "*1.0.1*" in text and "*1.0.0*" in text and "auc" in text


def test_production_when_there_is_none(serve, registry: Registry) -> None:
    seed(registry, 0.90)
    bot = serve()
    (answer,) = bot.command("production")
    assert "fraud has no version in production" in answer.text


# -- which model ------------------------------------------------------------------------------


def test_model_may_be_left_out_with_one_model_or_a_channel_default(
    serve, registry: Registry
) -> None:
    seed(registry, 0.90)
    bot = serve()
    (answer,) = bot.command("show")
    assert answer.blocks[0]["text"]["text"] == "fraud 1.0.0"

    seed(registry, 0.5, 0.6, model="churn")
    (answer,) = bot.command("show", channel="C999")
    assert "Which model?" in answer.text and "`churn`" in answer.text
    assert "`fraud`" in answer.text
    assert "Usage: `/model show" in answer.text
    (answer,) = bot.command("show 1.0.0")
    assert "Which model?" in answer.text

    registry.set_model_setting("churn", "slack.channel", "C123", actor="ada")
    (answer,) = bot.command("show", channel="C123")
    assert answer.blocks[0]["text"]["text"] == "churn 1.0.1"
    (answer,) = bot.command("show 1.0.0", channel="C123")
    assert answer.blocks[0]["text"]["text"] == "churn 1.0.0"
    (answer,) = bot.command("show fraud", channel="C123")  # a name still wins
    assert answer.blocks[0]["text"]["text"] == "fraud 1.0.0"


# -- mistakes: short, ephemeral, with the usage -------------------------------------------------


MISTAKES = [
    ("frobnicate fraud", "I don't know `frobnicate`."),
    ("show nosuch", "There is no model named `nosuch`."),
    ("show fraud 9.9.9", "9.9.9"),
    ("show fraud banana", "banana"),
    ("show fraud 1.0.0 1.0.1", "Too many arguments."),
    ("history fraud 1.0.0", "This takes only a model name."),
    ("promote fraud", "Which version?"),
    ("golden fraud", "Which version?"),
    ("rollback fraud", "fraud has no production version to roll back"),
    ("diff fraud 1.0.0 2.0.0", "2.0.0"),
    ("rollback fraud nothing to roll back to", "Usage: `/model rollback"),
    ("promote fraud 7.7.7 because", "7.7.7"),
]


def test_mistakes_get_a_short_ephemeral_answer_with_usage(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92)
    seed(registry, 0.5, model="churn")
    bot = serve()
    for text, expected in MISTAKES:
        (answer,) = bot.command(text)
        assert answer.data["response_type"] == "ephemeral", text
        assert expected in answer.text, (text, answer.text)
        assert len(answer.text) < 1500, text
        assert "Traceback" not in answer.text and "Error:" not in answer.text, text
    assert registry.model_state("fraud").production is None


def test_an_unexpected_failure_still_answers(serve, registry: Registry, monkeypatch) -> None:
    seed(registry, 0.90)

    def broken(self, text, asker):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(handlers.CommandHandler, "handle", broken)
    bot = serve()
    (answer,) = bot.command("show")
    assert "something went wrong" in answer.text
    assert "database on fire" not in answer.text and answer.data["response_type"] == "ephemeral"


def test_untrusted_text_is_escaped_in_answers(serve, registry: Registry) -> None:
    evil = "<!channel> see <http://evil.example|click here> & <@U999>"
    seed(registry, 0.90, description=evil)
    registry.promote("fraud", "1.0.0", actor="ada", reason=evil)
    bot = serve()
    for text in ("show", "changelog", "history"):
        (answer,) = bot.command(text)
        body = _words(answer)
        assert "<!channel>" not in body and "<http://evil" not in body and "<@U999>" not in body
        assert "&lt;!channel&gt;" in body and "&amp;" in body


# -- changes: admins only, audited, gated ---------------------------------------------------------


def test_stage_changes_are_refused_to_non_admins_naming_the_admins(
    serve, registry: Registry
) -> None:
    seed(registry, 0.90, 0.92)
    registry.promote("fraud", "1.0.0", actor="ada")
    bot = serve()
    before = registry.audit_log()
    for text in ("promote fraud 1.0.1 looks good", "rollback fraud oops", "golden fraud 1.0.0"):
        (answer,) = bot.command(text, user="U777", user_name="eve")
        assert answer.data["response_type"] == "ephemeral"
        assert "Sorry, only the registry admins can" in answer.text
        assert f"<@{ADMIN}>" in answer.text and "<@U456>" in answer.text
    assert registry.model_state("fraud").production == "1.0.0"
    assert registry.model_state("fraud").golden is None
    assert len(registry.audit_log()) == len(before)


def test_refusal_says_when_there_are_no_admins(serve, registry: Registry) -> None:
    seed(registry, 0.90)
    bot = serve(slack_admins=())
    (answer,) = bot.command("promote fraud 1.0.0")
    assert "nobody yet" in answer.text
    assert registry.model_state("fraud").production is None


def test_an_admin_promotes_and_the_audit_names_the_slack_user(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92)
    registry.promote("fraud", "1.0.0", actor="ada")
    bot = serve()
    (answer,) = bot.command("promote fraud 1.0.1 better auc on holdout")
    assert "*fraud 1.0.1* is now in production, replacing 1.0.0." in answer.text
    assert registry.model_state("fraud").production == "1.0.1"
    last = registry.audit_log("fraud")[0]
    assert last.actor == f"slack:{ADMIN} (ana)"
    assert last.reason == "better auc on holdout"
    # …and the channel hears about it, with who and why
    post = bot.slack.wait_for(lambda: _post_about(bot.slack, "fraud 1.0.1 promoted"))
    assert f"slack:{ADMIN} (ana)" in post.all_text and "better auc on holdout" in post.all_text


def test_a_blocked_promotion_shows_the_findings(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.80)
    registry.promote("fraud", "1.0.0", actor="ada")
    bot = serve()
    (answer,) = bot.command("promote fraud 1.0.1 looks fine public")
    text = _words(answer)
    assert "Promotion of fraud 1.0.1 blocked (compared with production 1.0.0)" in text
    assert "metric_regression" in text and "auc" in text and "0.9 → 0.8" in text
    assert "--force" in text
    assert registry.model_state("fraud").production == "1.0.0"


def test_rollback_and_golden_from_slack(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92)
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.promote("fraud", "1.0.1", actor="ada")
    bot = serve()
    (answer,) = bot.command("rollback fraud latency doubled")
    assert "Rolled back *fraud*: *1.0.0* is in production again." in answer.text
    assert registry.model_state("fraud").production == "1.0.0"
    assert registry.audit_log("fraud")[0].reason.endswith("latency doubled")

    (answer,) = bot.command("golden 1.0.1", user="U456", user_name="bob")
    assert "*fraud 1.0.1* is the golden version." in answer.text
    (answer,) = bot.command("golden fraud 1.0.0", user="U456", user_name="bob")
    assert "(was 1.0.1)" in answer.text
    assert registry.model_state("fraud").golden == "1.0.0"
    assert registry.audit_log("fraud")[0].actor == "slack:U456 (bob)"

    (answer,) = bot.command("golden fraud 1.0.0")
    assert "already the golden version" in answer.text

    assert bot.slack.wait_for(lambda: _post_about(bot.slack, "fraud rolled back to 1.0.0"))


# -- events ----------------------------------------------------------------------------------------


def test_a_retried_event_is_answered_once(serve, registry: Registry) -> None:
    seed(registry, 0.90)
    bot = serve()
    mention = {
        "type": "app_mention",
        "user": "U777",
        "text": "<@UBOT> what's up",
        "ts": "1700000000.000100",
        "channel": "C42",
        "event_ts": "1700000000.000100",
    }
    assert bot.event(mention, "Ev001").status_code == 200
    retry = bot.event(
        mention, "Ev001", **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert retry.status_code == 200
    # a second, different event: once it is answered, a duplicate answer would be too
    later = {**mention, "ts": "1700000001.000100", "event_ts": "1700000001.000100"}
    assert bot.event(later, "Ev002").status_code == 200
    posts = bot.slack.wait_for(lambda: len(bot.slack.posts("C42")) >= 2 and bot.slack.posts("C42"))
    time.sleep(0.2)
    posts = bot.slack.posts("C42")
    assert sorted(p.data["thread_ts"] for p in posts) == ["1700000000.000100", "1700000001.000100"]
    assert "could not read that question" in posts[0].text  # the assistant answered, once


def test_url_verification_and_signed_event_bodies(serve, registry: Registry) -> None:
    bot = serve()
    import json

    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"})
    response = bot.post(body, "application/json")
    assert response.status_code == 200 and "abc123" in response.text
    forged = signed_headers(
        event_body({"type": "app_mention"}, "Ev9"), "application/json", secret="wrong"
    )
    assert bot.http.post(bot.url, content=body, headers=forged).status_code == 401


def test_golden_takes_a_reason_and_retire_works_from_slack(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92)
    bot = serve()
    (answer,) = bot.command("golden fraud 1.0.0 stable for the audit")
    assert "*fraud 1.0.0* is the golden version." in answer.text
    event = registry.audit_log("fraud")[0]
    assert event.action == "golden" and event.reason == "stable for the audit"

    (answer,) = bot.command("retire fraud 1.0.1 leaks customer ids")
    assert "*fraud 1.0.1* is retired." in answer.text
    assert registry.model_state("fraud").stage_of("1.0.1") == "archived"
    assert registry.audit_log("fraud")[0].reason == "leaks customer ids"
    assert bot.slack.wait_for(lambda: _post_about(bot.slack, "fraud 1.0.1 retired"))

    (answer,) = bot.command("retire fraud 1.0.0 why not", user="U777")
    assert "Sorry, only the registry admins can retire versions" in answer.text
