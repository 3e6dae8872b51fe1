"""Promotion requests, approvals and model owners: the rules, as pure functions of values.

A model's policy may say that promotion to production needs N approvals. Then a promotion is
a request: it names the version, who asked and why, and expires (24 h by default). Anyone
may approve who is not the requester; each approver once; the last approval that completes
the count runs the promotion through the gate. Who may approve or change stages is the I/O
side's business (owners, admins): these rules only need who asked and who answers.

Identities: actors are free text ("ana", "ci:github", "slack:U0123 (Dana Kim)"). A Slack
actor is the same person whatever name is shown after the ID, so `identity()` compares IDs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modeltrail.core.errors import ModeltrailError, UsageError

if TYPE_CHECKING:
    from modeltrail.core.lifecycle.rules import ModelState

DEFAULT_EXPIRY = dt.timedelta(hours=24)
MAX_APPROVALS = 5
POLICY_SETTING = "approvals"


class RequestError(ModeltrailError):
    """A request cannot be approved, rejected or made (expired, decided, self-approval…)."""


class ApprovalRequired(ModeltrailError):
    """Promotion to production needs approval under the model's policy."""

    def __init__(self, model: str, version: str, policy: Policy) -> None:
        n = policy.approvals
        super().__init__(
            f"{model} needs {n} approval{'s' if n != 1 else ''} to promote to production",
            hint=f'ask for it: modeltrail promote {model} {version} --request --reason "why"',
        )
        self.model = model
        self.policy = policy


@dataclass(frozen=True)
class Policy:
    approvals: int = 0
    expiry: dt.timedelta = DEFAULT_EXPIRY

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Policy:
        if not data:
            return cls()
        return cls(
            approvals=int(data.get("approvals", 0)),
            expiry=dt.timedelta(hours=float(data.get("expiry_hours", 24))),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"approvals": self.approvals, "expiry_hours": self.expiry.total_seconds() / 3600}

    def describe(self) -> str:
        if not self.approvals:
            return "promotions to production need no approval"
        n = self.approvals
        hours = self.expiry.total_seconds() / 3600
        return (
            f"promotions to production need {n} approval{'s' if n != 1 else ''}"
            f" (requests expire after {hours:g} h)"
        )


def check_policy(approvals: int, expiry_hours: float) -> Policy:
    if not 0 <= approvals <= MAX_APPROVALS:
        raise UsageError(f"approvals must be between 0 and {MAX_APPROVALS}, not {approvals}")
    if not 0 < expiry_hours <= 24 * 30:
        raise UsageError(f"requests must expire after 0–720 hours, not {expiry_hours:g}")
    return Policy(approvals, dt.timedelta(hours=expiry_hours))


@dataclass(frozen=True)
class Approval:
    actor: str
    reason: str | None
    at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {"actor": self.actor, "reason": self.reason, "at": self.at.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Approval:
        return cls(data["actor"], data.get("reason"), dt.datetime.fromisoformat(data["at"]))


@dataclass(frozen=True)
class PromotionRequest:
    id: int
    model: str
    version: str
    requester: str
    reason: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    needed: int
    status: str = "open"  # open | approved | rejected (expired is open past expires_at)
    approvals: tuple[Approval, ...] = ()
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision_reason: str | None = None
    baseline: str | None = field(default=None, compare=False)  # production when asked

    def state(self, now: dt.datetime) -> str:
        if self.status == "open" and now >= self.expires_at:
            return "expired"
        return self.status

    def is_open(self, now: dt.datetime) -> bool:
        return self.state(now) == "open"


def identity(actor: str) -> str:
    """Who an actor string names: `slack:U0123 (Dana Kim)` and `slack:U0123` are one person."""
    text = actor.strip()
    if text.startswith("slack:"):
        return text.split(" ", 1)[0]
    return text.lower()


def _closed(request: PromotionRequest, now: dt.datetime) -> RequestError | None:
    state = request.state(now)
    if state == "approved":
        return RequestError(
            f"request #{request.id} is already approved (by {request.decided_by})",
            hint=f"{request.model} {request.version} was promoted then",
        )
    if state == "rejected":
        return RequestError(f"request #{request.id} was rejected by {request.decided_by}")
    if state == "expired":
        return RequestError(
            f"request #{request.id} expired at {request.expires_at:%Y-%m-%d %H:%M} UTC",
            hint=f"ask again: modeltrail promote {request.model} {request.version} --request",
        )
    return None


def check_approval(request: PromotionRequest, approver: str, now: dt.datetime) -> bool:
    """Refuse an approval that the rules do not allow; True when it completes the count."""
    closed = _closed(request, now)
    if closed is not None:
        raise closed
    who = identity(approver)
    if who == identity(request.requester):
        raise RequestError(
            f"you asked for request #{request.id}; someone else must approve it",
            hint="an owner of the model (or an admin) who is not the requester",
        )
    if any(identity(a.actor) == who for a in request.approvals):
        raise RequestError(f"you already approved request #{request.id}")
    return len(request.approvals) + 1 >= request.needed


def check_still_wanted(request: PromotionRequest, state: ModelState) -> None:
    """Refuse to approve a request whose version went away while it waited: retired since it
    was asked (judged bad: approving must not bring it to production), or no longer in the
    registry at all."""
    if not any(v.version == request.version for v in state.versions):
        raise RequestError(
            f"{request.model} {request.version} is no longer in the registry; "
            f"request #{request.id} cannot be approved",
            hint=f"reject it (modeltrail reject {request.id}) and ask for another version",
        )
    retired = next(
        (
            c
            for c in reversed(state.changes)
            if c.version == request.version and c.action == "retire" and c.at >= request.created_at
        ),
        None,
    )
    if retired is not None:
        why = f": {retired.reason}" if retired.reason else ""
        raise RequestError(
            f"{request.model} {request.version} was retired by {retired.actor} at "
            f"{retired.at:%Y-%m-%d %H:%M} UTC{why}; request #{request.id} cannot be approved",
            hint=f"reject it (modeltrail reject {request.id}) and ask for another version",
        )


def check_rejection(request: PromotionRequest, now: dt.datetime) -> None:
    """Anyone allowed to decide may reject an open request (the requester withdraws it)."""
    closed = _closed(request, now)
    if closed is not None:
        raise closed


def expiry(created_at: dt.datetime, policy: Policy) -> dt.datetime:
    return created_at + policy.expiry


@dataclass(frozen=True)
class Owners:
    """Who may change a model's stages besides the global admins: Slack user IDs and user
    groups (whose members are looked up in Slack)."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.users or self.groups)


def may_change(
    user_id: str,
    owners: Owners,
    admins: Iterable[str],
    group_members: Mapping[str, Iterable[str]] | None = None,
) -> bool:
    """Global admins always; otherwise an owner, directly or through an owning group."""
    if user_id in set(admins) or user_id in owners.users:
        return True
    members = group_members or {}
    return any(user_id in set(members.get(group, ())) for group in owners.groups)


def check_slack_id(text: str, kind: str) -> str:
    """A Slack user (U…/W…) or user-group (S…) ID, as Slack spells them."""
    value = text.strip().lstrip("@")
    first = "UW" if kind == "user" else "S"
    if not (2 <= len(value) <= 20 and value[0] in first and value.isalnum() and value.isupper()):
        example = "U0123ABC" if kind == "user" else "S0123ABC"
        raise UsageError(
            f"{text!r} is not a Slack {kind} ID",
            hint=f"like {example} (profile → ⋮ → Copy member ID"
            + (")" if kind == "user" else "; a group's ID from its page)"),
        )
    return value
