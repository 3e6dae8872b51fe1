"""Buttons, modals, promotion requests, owners, real names and App Home through the real Bolt
app: signed `block_actions`, `view_submission`, slash commands and events, answered through
the real WebClient against the fake Slack (which validates every view with slack_sdk's View
model). SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time

from bot_fixtures import ADMIN, REPORTS, seed
from slack_fake import action_body, signed_headers, view_submission_body

from modeltrail.bot.slack import views
from modeltrail.core.lifecycle.approvals import check_policy
from modeltrail.core.registry.writer import Registry

FORM = "application/x-www-form-urlencoded"


def _report(slack, words: str):
    return slack.wait_for(lambda: [p for p in slack.posts(REPORTS) if words in p.text])[0]


def _buttons(post) -> dict[str, dict]:
    found = {}
    for message_block in post.blocks:
        if message_block["type"] == "actions":
            for element in message_block["elements"]:
                found[element["text"]["text"]] = element
    return found


def _click(
    bot,
    button: dict | str,
    *,
    value: str | None = None,
    user: str = ADMIN,
    key: str,
    ts: str = "1700000001.000100",
):
    action_id = button if isinstance(button, str) else button["action_id"]
    body = action_body(
        action_id,
        value if value is not None else button["value"],  # type: ignore[index]
        response_url=bot.slack.response_url(key),
        user=user,
        channel=REPORTS,
        message_ts=ts,
    )
    response = bot.post(body, FORM)
    assert response.status_code == 200, response.text
    return response


def _answer(bot, key: str):
    (answer,) = bot.slack.wait_for(lambda: bot.slack.responses(key))
    assert answer.data["response_type"] == "ephemeral"
    assert "Traceback" not in answer.all_text
    return answer


def _opened(bot, count: int = 1) -> dict:
    calls = bot.slack.wait_for(lambda: len(bot.slack.calls_of("views.open")) >= count and True)
    assert calls
    call = bot.slack.calls_of("views.open")[count - 1]
    assert call.problems == [] and call.error is None, call.problems
    return call.data["view"]


def _submit(bot, view: dict, reason: str, *, user: str = ADMIN):
    body = view_submission_body(view, {views.REASON_BLOCK: {views.REASON_INPUT: reason}}, user=user)
    response = bot.post(body, FORM)
    assert response.status_code == 200, response.text
    return response.json() if response.content else {}


def _view_text(view: dict) -> str:
    return "\n".join(b["text"]["text"] for b in view["blocks"] if b.get("text"))


# -- buttons on reports ---------------------------------------------------------------------------


def test_a_promotion_report_has_buttons_that_answer_ephemerally(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92)
    bot = serve()
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.promote("fraud", "1.0.1", actor="ada", reason="better")
    post = _report(bot.slack, "fraud 1.0.1 promoted")
    buttons = _buttons(post)
    assert list(buttons) == ["Full diff", "Roll back", "Changelog"]
    assert buttons["Roll back"]["style"] == "danger"

    _click(bot, buttons["Full diff"], user="U777", key="diff")
    answer = _answer(bot, "diff")
    assert answer.blocks[0]["text"]["text"] == "fraud 1.0.1 vs 1.0.0" and "auc" in answer.all_text

    _click(bot, buttons["Changelog"], user="U777", key="log")
    assert "fraud: latest changes" in _answer(bot, "log").all_text
    assert bot.slack.calls_of("views.open") == []


def test_roll_back_asks_for_a_reason_naming_the_version_that_returns(
    serve, registry: Registry
) -> None:
    seed(registry, 0.90, 0.92)
    bot = serve()
    bot.slack.users["U123"] = "Ana Admin"
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.promote("fraud", "1.0.1", actor="ada")
    button = _buttons(_report(bot.slack, "fraud 1.0.1 promoted"))["Roll back"]

    _click(bot, button, user="U777", key="eve")  # not an admin, not an owner
    assert "Sorry, only the registry admins can roll back" in _answer(bot, "eve").text
    assert bot.slack.calls_of("views.open") == []

    _click(bot, button, key="ana")
    view = _opened(bot)
    assert view["type"] == "modal" and view["callback_id"] == views.REASON_MODAL
    assert "*1.0.1* leaves production and *1.0.0* returns to production" in _view_text(view)
    assert registry.model_state("fraud").production == "1.0.1"  # nothing yet

    answer = _submit(bot, view, "   ")
    assert answer["response_action"] == "errors" and "reason" in answer["errors"]["reason"]
    assert registry.model_state("fraud").production == "1.0.1"

    assert _submit(bot, view, "latency doubled on live traffic") == {}
    assert registry.model_state("fraud").production == "1.0.0"
    event = registry.audit_log("fraud")[0]
    assert event.actor == "slack:U123 (Ana Admin)"
    assert event.reason.endswith("latency doubled on live traffic")
    assert "is in production again" in _answer(bot, "ana").text
    assert _report(bot.slack, "fraud rolled back to 1.0.0")

    # The same confirmation submitted again: production moved meanwhile, nothing twice.
    answer = _submit(bot, view, "again")
    assert "nothing was rolled back" in answer["errors"]["reason"]
    assert [e.action for e in registry.audit_log("fraud")].count("rollback") == 2  # 2 moves
    # An old report's button: out of date, said so.
    _click(bot, button, key="old")
    assert "this report is out of date" in _answer(bot, "old").text


def test_forged_and_malformed_clicks(serve, registry: Registry) -> None:
    seed(registry, 0.90)
    bot = serve()
    body = action_body(views.ROLLBACK, '{"m":"fraud"}', response_url=bot.slack.response_url("x"))
    forged = signed_headers(body, FORM, secret="wrong")
    assert bot.http.post(bot.url, content=body, headers=forged).status_code == 401
    stale = signed_headers(body, FORM, timestamp=time.time() - 600)
    assert bot.http.post(bot.url, content=body, headers=stale).status_code == 401

    # A captured click sent again: acked, nothing done twice.
    seen = action_body(views.CHANGELOG, '{"m":"fraud"}', response_url=bot.slack.response_url("c"))
    signed = signed_headers(seen, FORM)
    for _ in range(3):
        assert bot.http.post(bot.url, content=seen, headers=signed).status_code == 200
    bot.slack.wait_for(lambda: bot.slack.responses("c"))
    time.sleep(0.3)
    assert len(bot.slack.responses("c")) == 1

    _click(bot, views.ROLLBACK, value="not json", key="bad")
    assert "not one of mine" in _answer(bot, "bad").text
    _click(bot, views.APPROVE, value='{"r": 999999}', key="gone")
    assert "no promotion request #999999" in _answer(bot, "gone").text
    assert bot.slack.calls_of("views.open") == []
    assert bot.slack.responses("x") == []


# -- modals for a missing reason ------------------------------------------------------------------


def test_slash_rollback_and_retire_without_a_reason_open_a_modal(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92)
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.promote("fraud", "1.0.1", actor="ada")
    bot = serve()
    key = "cmd"
    from slack_fake import command_body

    body = command_body("rollback fraud", response_url=bot.slack.response_url(key))
    assert bot.post(body, FORM).status_code == 200
    view = _opened(bot)
    assert "*1.0.0* returns to production" in _view_text(view)
    assert view["blocks"][-1]["type"] == "input" and not view["blocks"][-1].get("optional")
    assert _submit(bot, view, "auc dropped") == {}
    assert registry.model_state("fraud").production == "1.0.0"
    assert "is in production again" in _answer(bot, key).text

    body = command_body("retire fraud 1.0.1", response_url=bot.slack.response_url("ret"))
    assert bot.post(body, FORM).status_code == 200
    view = _opened(bot, 2)
    assert "Retire *fraud 1.0.1*" in _view_text(view)
    assert _submit(bot, view, "leaks ids") == {}
    assert registry.model_state("fraud").stage_of("1.0.1") == "archived"
    assert registry.audit_log("fraud")[0].reason == "leaks ids"


# -- promotion requests ---------------------------------------------------------------------------


def test_a_promotion_request_approved_by_another_owner(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92)
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.change_owners("fraud", add_users=["U777"], actor="ada")
    bot = serve()
    bot.slack.users.update({"U777": "Eve Owner", "U123": "Ana Admin", "U456": "Bo Admin"})

    (answer,) = bot.command("policy fraud approvals 1", user="U888")
    assert "Sorry, only the owners of fraud and the registry admins" in answer.text
    assert "<@U777>" in answer.text and "<@U123>" in answer.text
    (answer,) = bot.command("policy fraud approvals 1", user="U777")
    assert "need 1 approval" in answer.text

    (answer,) = bot.command("promote fraud 1.0.1 shadow test passed", user="U777")
    assert "request #" in answer.text and registry.model_state("fraud").production == "1.0.0"
    post = _report(bot.slack, "promotion to production requested")
    assert "slack:U777 (Eve Owner)" in post.all_text and "shadow test passed" in post.all_text
    assert "auc" in post.all_text  # the change report comes with it
    buttons = _buttons(post)
    assert list(buttons) == ["Approve", "Reject", "Full diff"]

    (answer,) = bot.command("requests")
    assert "fraud 1.0.1" in answer.text and "0/1 approvals" in answer.text

    _click(bot, buttons["Approve"], user="U777", key="self")
    assert "someone else must approve" in _answer(bot, "self").text
    _click(bot, buttons["Approve"], user="U888", key="stranger")
    assert "Sorry, only the owners of fraud" in _answer(bot, "stranger").text

    # Two admins open the dialog; both submit: one promotion, one "already approved".
    _click(bot, buttons["Approve"], user="U123", key="ana", ts=post.ts)
    first = _opened(bot)
    _click(bot, buttons["Approve"], user="U456", key="bo", ts=post.ts)
    second = _opened(bot, 2)
    outcomes: list[dict] = []

    def submit(view: dict, user: str) -> None:
        outcomes.append(_submit(bot, view, "diff looks right", user=user))

    threads = [
        threading.Thread(target=submit, args=(first, "U123")),
        threading.Thread(target=submit, args=(second, "U456")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(bool(o) for o in outcomes) == [False, True], json.dumps(outcomes)
    refused = [o for o in outcomes if o]
    assert len(refused) == 1 and "already approved" in refused[0]["errors"]["reason"]
    assert registry.model_state("fraud").production == "1.0.1"
    promote = next(e for e in registry.audit_log("fraud") if e.action == "promote")
    assert promote.after["requester"] == "slack:U777 (Eve Owner)"
    assert promote.after["request_reason"] == "shadow test passed"
    assert promote.after["approval_reason"] == "diff looks right"
    assert promote.actor in ("slack:U123 (Ana Admin)", "slack:U456 (Bo Admin)")
    updated = bot.slack.wait_for(lambda: bot.slack.calls_of("chat.update"))
    assert "approved" in updated[0].text and updated[0].data["ts"] == post.ts
    assert _report(bot.slack, "fraud 1.0.1 promoted")
    (answer,) = bot.command("requests fraud")
    assert "No promotion requests are waiting for *fraud*" in answer.text


def test_a_rejected_and_an_expired_request(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92, 0.93)
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.set_approval_policy("fraud", check_policy(1, 24), actor="ada")
    bot = serve()
    request = registry.request_promotion("fraud", "1.0.1", requester="ci", reason="nightly")
    buttons = _buttons(_report(bot.slack, "promotion to production requested"))
    _click(bot, buttons["Reject"], key="rej")
    view = _opened(bot)
    assert _submit(bot, view, "not before the freeze ends") == {}
    assert registry.promotion_request(request.id).status == "rejected"
    _click(bot, buttons["Approve"], key="late")
    assert f"request #{request.id} was rejected" in _answer(bot, "late").text

    with registry.engine.begin() as conn:  # a request from yesterday
        from sqlalchemy import update

        from modeltrail.core.store import schema

        old = registry.request_promotion("fraud", "1.0.2", requester="ci")
        conn.execute(
            update(schema.promotion_requests)
            .where(schema.promotion_requests.c.id == old.id)
            .values(expires_at=registry._clock())
        )
    _click(bot, views.APPROVE, value=views.value(r=old.id), key="expired")
    assert "expired" in _answer(bot, "expired").text
    assert registry.model_state("fraud").production == "1.0.0"


# -- owners, names, App Home ------------------------------------------------------------------


def test_a_group_owner_may_and_names_are_looked_up_once(
    serve, registry: Registry, db_url: str, capsys
) -> None:
    seed(registry, 0.90, 0.92)
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.change_owners("fraud", add_groups=["SML"], actor="ada")
    bot = serve()
    bot.slack.usergroups["SML"] = ["U900"]
    bot.slack.users["U900"] = "Dana Kim"
    (answer,) = bot.command("golden fraud 1.0.0 baseline", user="U900", user_name="dana")
    assert "is the golden version" in answer.text
    assert registry.audit_log("fraud")[0].actor == "slack:U900 (Dana Kim)"
    bot.command("show fraud", user="U900")
    lookups = [c for c in bot.slack.calls_of("users.info") if c.data.get("user") == "U900"]
    assert len(lookups) == 1  # cached
    from modeltrail.bot.cli.main import main

    assert main(["--db", db_url, "digest", "preview", "--no-charts"]) == 0
    assert "slack:U900 (Dana Kim)" in capsys.readouterr().out  # the digest names her too
    (answer,) = bot.command("golden fraud 1.0.1", user="U901")
    assert "Sorry, only the owners of fraud" in answer.text and "<!subteam^SML>" in answer.text


def test_app_home_shows_the_models_and_their_last_changes(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92)
    seed(registry, 0.5, model="churn")
    registry.promote("fraud", "1.0.0", actor="ada", reason="first")
    registry.set_golden("fraud", "1.0.0", actor="ada")
    registry.promote("fraud", "1.0.1", to="staging", actor="ada")
    bot = serve()
    event = {"type": "app_home_opened", "user": "U777", "channel": "D1", "tab": "home"}
    assert bot.event(event, "EvHome1").status_code == 200
    (call,) = bot.slack.wait_for(lambda: bot.slack.calls_of("views.publish"))
    assert call.problems == [] and call.data["user_id"] == "U777"
    text = _view_text(call.data["view"])
    assert "*fraud*  production *1.0.0* · staging 1.0.1 · golden 1.0.0" in text
    assert "1.0.0 promoted to production by ada" in text and "*churn*" in text

    registry.change_owners("churn", add_users=["U777"], actor="ada")
    assert bot.event({**event}, "EvHome2").status_code == 200
    calls = bot.slack.wait_for(lambda: len(bot.slack.calls_of("views.publish")) == 2 and True)
    assert calls
    text = _view_text(bot.slack.calls_of("views.publish")[1].data["view"])
    assert "*churn*" in text and "*fraud*" not in text  # the models you own
