"""Promotion requests, approvals and owners, through the registry on SQLite and PostgreSQL:
the policy, a request and its expiry, who may approve, two approvers at once, the gate at
approval time, and what the audit trail and the outbox keep of each step."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from test_governance import ACTOR, Clock, add, outbox_rows, stages

from modeltrail.core.errors import NotFoundError, UsageError
from modeltrail.core.lifecycle.approvals import (
    ApprovalRequired,
    Owners,
    Policy,
    RequestError,
    check_approval,
    check_policy,
    identity,
    may_change,
)
from modeltrail.core.registry.governance import PromotionBlocked
from modeltrail.core.registry.writer import Registry

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reg(db_url: str, clock: Clock) -> Iterator[Registry]:
    with Registry.open(db_url, clock=clock) as registry:
        yield registry


def _guarded(reg: Registry, approvals: int = 1) -> None:
    add(reg, 0.90)
    add(reg, 0.92)
    reg.promote("fraud", "1.0.0", actor=ACTOR, reason="first")
    reg.set_approval_policy("fraud", check_policy(approvals, 24), actor=ACTOR)


# -- pure rules ----------------------------------------------------------------------------------


def test_identity_compares_slack_ids_not_the_names_shown() -> None:
    assert identity("slack:U1 (Dana Kim)") == identity("slack:U1") == "slack:U1"
    assert identity("Ana") == identity(" ana ")
    assert identity("slack:U1") != identity("slack:U2 (Dana Kim)")


def test_policy_bounds_and_words() -> None:
    assert Policy().describe() == "promotions to production need no approval"
    assert check_policy(2, 8).describe() == (
        "promotions to production need 2 approvals (requests expire after 8 h)"
    )
    for bad in ((-1, 24), (6, 24), (1, 0), (1, 10_000)):
        with pytest.raises(UsageError):
            check_policy(*bad)
    assert Policy.from_dict(check_policy(1, 12).to_dict()) == check_policy(1, 12)


def test_owners_users_groups_and_admins() -> None:
    owners = Owners(users=("U1",), groups=("S9",))
    assert may_change("U1", owners, admins=())
    assert may_change("UADMIN", owners, admins=("UADMIN",))
    assert not may_change("U2", owners, admins=("UADMIN",))
    assert may_change("U2", owners, admins=(), group_members={"S9": ["U2", "U3"]})
    assert not may_change("U2", Owners(), admins=())


# -- policy makes promotion a request ----------------------------------------------------------


def test_under_a_policy_promote_is_refused_and_a_request_is_made(reg: Registry) -> None:
    _guarded(reg)
    with pytest.raises(ApprovalRequired) as info:
        reg.promote("fraud", "1.0.1", actor=ACTOR)
    assert "needs 1 approval" in info.value.message and "--request" in (info.value.hint or "")
    reg.promote("fraud", "1.0.1", to="staging", actor=ACTOR)  # staging needs none

    request = reg.request_promotion(
        "fraud", "1.0.1", requester="slack:U1 (Ana)", reason="better auc"
    )
    assert request.needed == 1 and request.is_open(T0) and request.baseline == "1.0.0"
    assert request.expires_at == T0 + dt.timedelta(hours=24)
    assert reg.promotion_requests("fraud") == [request]
    event = reg.audit_log("fraud")[0]
    assert (event.action, event.actor, event.reason) == (
        "promotion_request",
        "slack:U1 (Ana)",
        "better auc",
    )
    posted = outbox_rows(reg)[-1]
    assert posted.topic == "promotion.requested"
    assert (
        posted.payload["request"] == request.id and posted.payload["requester"] == "slack:U1 (Ana)"
    )

    with pytest.raises(RequestError, match="already has an open request"):
        reg.request_promotion("fraud", "1.0.1", requester="bob")
    assert stages(reg) == {"1.0.0": "production", "1.0.1": "staging"}


def test_no_request_without_a_policy_or_for_a_version_that_cannot_move(reg: Registry) -> None:
    add(reg)
    with pytest.raises(RequestError, match="needs no approval"):
        reg.request_promotion("fraud", "1.0.0", requester="ana")
    reg.set_approval_policy("fraud", check_policy(1, 24), actor=ACTOR)
    with pytest.raises(UsageError):
        reg.request_promotion("fraud", "9.9.9", requester="ana")


def test_an_approval_by_someone_else_promotes_and_the_audit_names_both(reg: Registry) -> None:
    _guarded(reg)
    request = reg.request_promotion("fraud", "1.0.1", requester="slack:U1 (Ana)", reason="auc")
    with pytest.raises(RequestError, match="someone else must approve"):
        reg.approve_request(request.id, approver="slack:U1 (Ana Smith)")
    assert stages(reg)["1.0.1"] == "none"

    done, result = reg.approve_request(request.id, approver="slack:U2 (Bo)", reason="checked")
    assert result is not None and result.decision is not None and result.decision.allowed
    assert done.status == "approved" and done.decided_by == "slack:U2 (Bo)"
    assert stages(reg) == {"1.0.0": "archived", "1.0.1": "production"}
    promote = next(e for e in reg.audit_log("fraud") if e.action == "promote")
    assert promote.actor == "slack:U2 (Bo)" and promote.reason == "auc"
    assert promote.after["requester"] == "slack:U1 (Ana)"
    assert promote.after["request_reason"] == "auc"
    assert promote.after["approvers"] == ["slack:U2 (Bo)"]
    assert promote.after["approval_reason"] == "checked"
    approve = next(e for e in reg.audit_log("fraud") if e.action == "approve")
    assert approve.reason == "checked"
    report = [e for e in outbox_rows(reg) if e.topic == "version.promoted"][-1]
    assert report.payload["requester"] == "slack:U1 (Ana)"
    assert report.payload["approvers"] == ["slack:U2 (Bo)"]
    assert reg.verify_audit().ok

    with pytest.raises(RequestError, match="already approved"):
        reg.approve_request(request.id, approver="slack:U3")
    assert reg.promotion_requests("fraud") == []


def test_two_approvals_needed_each_approver_once(reg: Registry) -> None:
    _guarded(reg, approvals=2)
    request = reg.request_promotion("fraud", "1.0.1", requester="ana")
    waiting, result = reg.approve_request(request.id, approver="bob")
    assert result is None and waiting.status == "open" and len(waiting.approvals) == 1
    with pytest.raises(RequestError, match="already approved request"):
        reg.approve_request(request.id, approver="Bob")
    assert stages(reg)["1.0.1"] == "none"
    done, result = reg.approve_request(request.id, approver="cy")
    assert result is not None and done.status == "approved"
    assert stages(reg)["1.0.1"] == "production"


def test_requests_expire(reg: Registry, clock: Clock) -> None:
    _guarded(reg)
    request = reg.request_promotion("fraud", "1.0.1", requester="ana")
    clock.advance(hours=24)
    assert reg.promotion_requests("fraud") == []
    assert reg.promotion_request(request.id).state(clock()) == "expired"
    with pytest.raises(RequestError, match="expired at 2026-11-02 09:00 UTC"):
        reg.approve_request(request.id, approver="bob")
    assert stages(reg)["1.0.1"] == "none"
    again = reg.request_promotion("fraud", "1.0.1", requester="ana")  # a new one may be made
    assert again.id != request.id


def test_a_rejection_closes_the_request(reg: Registry) -> None:
    _guarded(reg)
    request = reg.request_promotion("fraud", "1.0.1", requester="ana")
    rejected = reg.reject_request(request.id, actor="bob", reason="not on a Friday")
    assert rejected.status == "rejected" and rejected.decision_reason == "not on a Friday"
    with pytest.raises(RequestError, match="rejected by bob"):
        reg.approve_request(request.id, approver="cy")
    event = reg.audit_log("fraud")[0]
    assert (event.action, event.actor, event.reason) == ("reject", "bob", "not on a Friday")
    assert stages(reg)["1.0.1"] == "none"


def test_the_gate_still_decides_at_approval_time(reg: Registry) -> None:
    add(reg, 0.90)
    add(reg, 0.70)  # a regression
    reg.promote("fraud", "1.0.0", actor=ACTOR)
    reg.set_approval_policy("fraud", check_policy(1, 24), actor=ACTOR)
    request = reg.request_promotion("fraud", "1.0.1", requester="ana")
    before = len(reg.audit_log())
    with pytest.raises(PromotionBlocked):
        reg.approve_request(request.id, approver="bob")
    assert len(reg.audit_log()) == before  # nothing half-written
    assert reg.promotion_request(request.id).status == "open"


def test_an_unknown_request(reg: Registry) -> None:
    with pytest.raises(NotFoundError, match="no promotion request #999999"):
        reg.approve_request(999_999, approver="bob")


def test_two_approvers_at_once_promote_once(reg: Registry) -> None:
    _guarded(reg)
    request = reg.request_promotion("fraud", "1.0.1", requester="ana")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(who: str) -> None:
        barrier.wait()
        try:
            reg.approve_request(request.id, approver=who)
            outcomes.append("promoted")
        except RequestError as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=approve, args=(w,)) for w in ("bob", "cy")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.split(" (")[0] for o in outcomes) == [
        "promoted",
        f"request #{request.id} is already approved",
    ]
    promotions = [e for e in reg.audit_log("fraud") if e.action == "promote"]
    assert [e.version for e in promotions if e.after["stage"] == "production"] == [
        "1.0.1",
        "1.0.0",
    ]


def test_owners_are_kept_and_audited(reg: Registry) -> None:
    add(reg)
    owners = reg.change_owners("fraud", add_users=["U1", "@U2"], add_groups=["S9"], actor=ACTOR)
    assert owners == Owners(users=("U1", "U2"), groups=("S9",))
    assert reg.owners("fraud") == owners
    assert reg.change_owners("fraud", remove=["U1"], actor=ACTOR).users == ("U2",)
    event = reg.audit_log("fraud")[0]
    assert event.action == "owners" and event.after == {"owners": ["group:S9", "user:U2"]}
    with pytest.raises(UsageError, match="not a Slack user ID"):
        reg.change_owners("fraud", add_users=["dana"], actor=ACTOR)
    with pytest.raises(UsageError, match="not a Slack group ID"):
        reg.change_owners("fraud", add_groups=["U1"], actor=ACTOR)
    assert reg.owners("fraud").users == ("U2",)


def test_check_approval_is_pure() -> None:
    from modeltrail.core.lifecycle.approvals import PromotionRequest

    request = PromotionRequest(1, "m", "1.0.0", "ana", None, T0, T0 + dt.timedelta(hours=1), 1)
    assert check_approval(request, "bob", T0) is True
    with pytest.raises(RequestError, match="expired"):
        check_approval(request, "bob", T0 + dt.timedelta(hours=1))


def test_a_request_whose_version_went_away_cannot_be_approved() -> None:
    from modeltrail.core.lifecycle.approvals import PromotionRequest, check_still_wanted
    from modeltrail.core.lifecycle.rules import ModelState, StageChange, VersionState

    request = PromotionRequest(7, "m", "1.0.1", "ana", None, T0, T0 + dt.timedelta(hours=1), 1)
    here = (VersionState("1.0.0", "production"), VersionState("1.0.1", "archived"))
    earlier = StageChange(
        "1.0.1", "none", "archived", T0 - dt.timedelta(days=1), "bo", "old", "retire"
    )
    check_still_wanted(
        request, ModelState("m", here, None, (earlier,))
    )  # retired before: asked anyway
    since = StageChange(
        "1.0.1", "none", "archived", T0 + dt.timedelta(minutes=5), "bo", "leaks", "retire"
    )
    with pytest.raises(RequestError, match=r"m 1.0.1 was retired by bo at .*: leaks; request #7"):
        check_still_wanted(request, ModelState("m", here, None, (since,)))
    with pytest.raises(RequestError, match="m 1.0.1 is no longer in the registry"):
        check_still_wanted(request, ModelState("m", here[:1], None))
