"""The promote and approval dialogs, the buttons on alert and regression reports, and requests
whose version went away while they waited — through the real Bolt app (signed
`block_actions`, `view_submission` and slash commands) and the real WebClient against the
fake Slack, which validates every opened view with slack_sdk's View model. SQLite and
PostgreSQL."""

from __future__ import annotations

from bot_fixtures import ADMIN, seed
from sqlalchemy import delete
from test_slack_actions import (
    FORM,
    _answer,
    _buttons,
    _click,
    _opened,
    _report,
    _submit,
    _view_text,
)

from modeltrail.bot.cli.main import main
from modeltrail.bot.slack import views
from modeltrail.core.lifecycle.approvals import check_policy
from modeltrail.core.monitoring.observe import report_metrics
from modeltrail.core.registry.writer import Registry
from modeltrail.core.store import schema


def _command(bot, text: str, *, key: str, user: str = ADMIN) -> None:
    from slack_fake import command_body

    body = command_body(text, response_url=bot.slack.response_url(key), user=user)
    assert bot.post(body, FORM).status_code == 200


# -- buttons on alert and regression reports ------------------------------------------------------


def test_a_decay_alert_carries_roll_back_and_changelog(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.91)
    bot = serve()
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.promote("fraud", "1.0.1", actor="ada")
    _report(bot.slack, "fraud 1.0.1 promoted")
    report_metrics(registry, "fraud", {"auc": 0.60})  # far below 0.91 offline: decay
    alert = _report(bot.slack, "metric decay in production")
    buttons = _buttons(alert)
    assert list(buttons) == ["Roll back", "Changelog"]

    _click(bot, buttons["Changelog"], user="U777", key="log")
    assert "fraud: latest changes" in _answer(bot, "log").all_text
    _click(bot, buttons["Roll back"], user="U777", key="eve")
    assert "Sorry, only the registry admins can roll back" in _answer(bot, "eve").text

    _click(bot, buttons["Roll back"], key="ana")
    view = _opened(bot)
    assert "*1.0.1* leaves production and *1.0.0* returns" in _view_text(view)
    assert _submit(bot, view, "live auc fell to 0.60") == {}
    assert registry.model_state("fraud").production == "1.0.0"
    assert _report(bot.slack, "fraud rolled back to 1.0.0")


def test_a_registration_with_a_regression_carries_full_diff_and_changelog(
    serve, registry: Registry
) -> None:
    seed(registry, 0.90)
    registry.set_model_setting("fraud", "slack.on_register", True, actor="ada")
    bot = serve()
    seed(registry, 0.80)  # 1.0.1: auc 0.90 → 0.80
    post = _report(bot.slack, "fraud 1.0.1 registered")
    assert "regression" in post.all_text
    buttons = _buttons(post)
    assert list(buttons) == ["Full diff", "Changelog"]  # production did not move: no rollback
    _click(bot, buttons["Full diff"], user="U777", key="diff")
    answer = _answer(bot, "diff")
    assert answer.blocks[0]["text"]["text"] == "fraud 1.0.1 vs 1.0.0" and "0.8" in answer.all_text


# -- the promote dialog ------------------------------------------------------------------------


def test_promote_without_a_reason_opens_a_dialog_that_needs_one(serve, registry: Registry) -> None:
    seed(registry, 0.90, 0.92)
    registry.promote("fraud", "1.0.0", actor="ada")
    bot = serve()
    bot.slack.users[ADMIN] = "Ana Admin"

    _command(bot, "promote fraud 1.0.1", key="eve", user="U777")  # not allowed: no dialog
    assert "Sorry, only the registry admins can promote" in _answer(bot, "eve").text
    assert bot.slack.calls_of("views.open") == []

    _command(bot, "promote fraud 1.0.1", key="ana")
    view = _opened(bot)
    assert bot.slack.calls_of("views.open")[0].data["trigger_id"] == "1.2.3"
    assert view["type"] == "modal" and view["callback_id"] == views.REASON_MODAL
    assert "Promote *fraud 1.0.1* to production, replacing 1.0.0." in _view_text(view)
    assert view["submit"]["text"] == "Promote"
    assert not view["blocks"][-1].get("optional")

    answer = _submit(bot, view, "  ")
    assert answer["response_action"] == "errors"
    assert "a reason is needed" in answer["errors"][views.REASON_BLOCK]
    # The same dialog submitted by someone else (a forged or forwarded payload): refused.
    assert _submit(bot, view, "me too", user="U777") == {}
    assert "Sorry, only the registry admins can promote" in _answer(bot, "ana").text
    assert registry.model_state("fraud").production == "1.0.0"

    assert _submit(bot, view, "shadow test passed") == {}
    assert registry.model_state("fraud").production == "1.0.1"
    event = next(e for e in registry.audit_log("fraud") if e.action == "promote")
    assert event.actor == "slack:U123 (Ana Admin)" and event.reason == "shadow test passed"
    said = bot.slack.wait_for(lambda: len(bot.slack.responses("ana")) == 2 and True)
    assert said and "is now in production, replacing 1.0.0" in bot.slack.responses("ana")[1].text
    assert _report(bot.slack, "fraud 1.0.1 promoted")


# -- the approval dialogs ----------------------------------------------------------------------


def _policy(registry: Registry) -> None:
    seed(registry, 0.90, 0.92, 0.93)
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.set_approval_policy("fraud", check_policy(1, 24), actor="ada")


def test_asking_and_approving_through_dialogs(serve, registry: Registry) -> None:
    _policy(registry)
    bot = serve()

    # Asked without a reason: the request dialog, reason required.
    _command(bot, "promote fraud 1.0.1", key="ask", user="U777")
    ask = _opened(bot)
    assert "Ask for *fraud 1.0.1* to go to production" in _view_text(ask)
    assert "need 1 approval" in _view_text(ask)
    assert "a reason is needed" in _submit(bot, ask, "", user="U777")["errors"]["reason"]
    assert _submit(bot, ask, "nightly retrain", user="U777") == {}
    (request,) = registry.promotion_requests("fraud")
    assert request.requester == "slack:U777 (ana)" and request.reason == "nightly retrain"
    assert "request #" in _answer(bot, "ask").text
    post = _report(bot.slack, "promotion to production requested")
    buttons = _buttons(post)

    # Approve: a dialog with an optional reason, for owners and admins who did not ask.
    _click(bot, buttons["Approve"], user="U888", key="stranger")
    assert "Sorry, only the registry admins can approve" in _answer(bot, "stranger").text
    _click(bot, buttons["Approve"], key="ana", ts=post.ts)
    approve = _opened(bot, 2)
    text = _view_text(approve)
    assert f"Approve request #{request.id}: *fraud 1.0.1* to production" in text
    assert "asked by slack:U777 (ana) (nightly retrain)" in text and "gate still applies" in text
    assert approve["blocks"][-1].get("optional") is True
    # Submitted by someone who may not: refused, nothing approved.
    assert _submit(bot, approve, "", user="U888") == {}
    assert registry.promotion_request(request.id).status == "open"
    assert _submit(bot, approve, "") == {}  # no reason needed to approve
    assert registry.model_state("fraud").production == "1.0.1"
    promote = next(e for e in registry.audit_log("fraud") if e.action == "promote")
    assert promote.after["requester"] == "slack:U777 (ana)"
    assert promote.after["approval_reason"] is None
    assert promote.after["request_reason"] == "nightly retrain"

    # Reject: its own dialog; a decided request cannot be rejected.
    _click(bot, buttons["Reject"], key="late")
    assert "already approved" in _answer(bot, "late").text


# -- a request whose version went away ---------------------------------------------------------


def test_a_request_for_a_version_retired_meanwhile_is_refused(
    serve, registry: Registry, db_url: str, capsys
) -> None:
    _policy(registry)
    bot = serve()
    request = registry.request_promotion("fraud", "1.0.1", requester="ci", reason="nightly")
    buttons = _buttons(_report(bot.slack, "promotion to production requested"))
    _click(bot, buttons["Approve"], key="open")
    dialog = _opened(bot)  # opened before the retirement, submitted after

    registry.retire("fraud", "1.0.1", actor="bo", reason="leaks customer ids")
    answer = _submit(bot, dialog, "looks fine")
    error = answer["errors"][views.REASON_BLOCK]
    assert "fraud 1.0.1 was retired by bo" in error and "cannot be approved" in error
    _click(bot, buttons["Approve"], key="again")
    said = _answer(bot, "again").text
    assert "was retired by bo" in said and "leaks customer ids" in said
    assert bot.slack.calls_of("views.open") and len(bot.slack.calls_of("views.open")) == 1

    code = main(["--db", db_url, "approve", str(request.id), "--actor", "ana"])
    _, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    assert f"request #{request.id} cannot be approved" in err
    assert f"modeltrail reject {request.id}" in err

    assert registry.model_state("fraud").production == "1.0.0"
    assert registry.promotion_request(request.id).approvals == ()
    # It can still be rejected, which closes it.
    _click(bot, buttons["Reject"], key="rej")
    reject = _opened(bot, 2)
    assert _submit(bot, reject, "the version is retired") == {}
    assert registry.promotion_request(request.id).status == "rejected"


def test_a_request_whose_model_was_deleted_is_answered_clearly(serve, registry: Registry) -> None:
    _policy(registry)
    bot = serve()
    request = registry.request_promotion("fraud", "1.0.2", requester="ci", reason="nightly")
    buttons = _buttons(_report(bot.slack, "promotion to production requested"))
    _click(bot, buttons["Approve"], key="open")
    dialog = _opened(bot)

    with registry.engine.begin() as conn:  # an operator removed the model by hand
        conn.execute(delete(schema.models).where(schema.models.c.name == "fraud"))
    answer = _submit(bot, dialog, "ok")
    assert f"there is no promotion request #{request.id}" in answer["errors"]["reason"]
    _click(bot, buttons["Approve"], key="gone")
    assert f"there is no promotion request #{request.id}" in _answer(bot, "gone").text
    _click(bot, buttons["Full diff"], key="diff")
    assert "fraud" in _answer(bot, "diff").text  # "no model fraud", said plainly
    assert len(bot.slack.calls_of("views.open")) == 1


def test_forged_stale_and_foreign_dialog_submissions(serve, registry: Registry) -> None:
    import time

    from slack_fake import signed_headers, view_submission_body

    from modeltrail.bot.slack.requests_flow import rollback_modal

    seed(registry, 0.90, 0.92)
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.promote("fraud", "1.0.1", actor="ada")
    bot = serve()
    view = rollback_modal(registry, "fraud")  # what Slack sends back with the submission
    body = view_submission_body(view, {views.REASON_BLOCK: {views.REASON_INPUT: "why"}})
    forged = signed_headers(body, FORM, secret="wrong")
    assert bot.http.post(bot.url, content=body, headers=forged).status_code == 401
    stale = signed_headers(body, FORM, timestamp=time.time() - 600)
    assert bot.http.post(bot.url, content=body, headers=stale).status_code == 401
    foreign = _submit(bot, {**view, "private_metadata": "{not json"}, "why")
    assert "not one of ours" in foreign["errors"][views.REASON_BLOCK]
    assert registry.model_state("fraud").production == "1.0.1"  # none of them did anything
    # The genuine one, replayed: one rollback.
    signed = signed_headers(body, FORM)
    answers = [bot.http.post(bot.url, content=body, headers=signed) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    state = registry.model_state("fraud")
    assert state.production == "1.0.0"
    assert [c.action for c in state.changes].count("rollback") == 2  # one rollback: two moves
