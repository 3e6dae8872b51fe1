"""The registry's writes for owners, approval policies and promotion requests.

A mixin of `Registry`. The rules (who may approve, expiry, the count) are the pure functions
of `lifecycle/approvals.py`; here they are applied in one write transaction with their audit
events and the outbox row that posts a request to the model's channel. An approval that
completes a request promotes in that same transaction, so a promotion and its approval exist
together or not at all; two approvers at once serialise on the request row (FOR UPDATE on
PostgreSQL, SQLite's single writer), and the second one hears "already approved".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, insert, select, update

from modeltrail.core.errors import NotFoundError
from modeltrail.core.lifecycle.approvals import (
    POLICY_SETTING,
    Approval,
    Owners,
    Policy,
    PromotionRequest,
    RequestError,
    check_approval,
    check_rejection,
    check_slack_id,
    check_still_wanted,
    expiry,
)
from modeltrail.core.lifecycle.outbox import enqueue
from modeltrail.core.lifecycle.rules import plan_stage
from modeltrail.core.registry.governance import GovernanceMixin
from modeltrail.core.store import schema
from modeltrail.core.versioning import SemVer

if TYPE_CHECKING:
    from modeltrail.core.registry.governance import MoveResult


class ApprovalsMixin(GovernanceMixin):
    # -- policy and owners ------------------------------------------------------------------

    def set_approval_policy(
        self, model: str, policy: Policy, *, actor: str, reason: str | None = None
    ) -> Policy:
        self.set_model_setting(model, POLICY_SETTING, policy.to_dict(), actor=actor, reason=reason)
        return policy

    def owners(self, model: str) -> Owners:
        o = schema.model_owners
        with self._read() as conn:
            model_id = self._model_id(conn, model)
            rows = list(
                conn.execute(select(o.c.kind, o.c.slack_id).where(o.c.model_id == model_id))
            )
        return Owners(
            users=tuple(sorted(i for k, i in rows if k == "user")),
            groups=tuple(sorted(i for k, i in rows if k == "group")),
        )

    def change_owners(
        self,
        model: str,
        *,
        add_users: Iterable[str] = (),
        add_groups: Iterable[str] = (),
        remove: Iterable[str] = (),
        actor: str,
    ) -> Owners:
        """Add Slack users / user groups as owners, or remove any of them; audited."""
        users = [check_slack_id(u, "user") for u in add_users]
        groups = [check_slack_id(g, "group") for g in add_groups]
        gone = [r.strip().lstrip("@") for r in remove]
        o = schema.model_owners
        now = self._clock()
        with self._write() as conn:
            model_id = self._model_id(conn, model, lock=True)
            before = _owner_rows(conn, model_id)
            wanted = set(before) | {("user", u) for u in users} | {("group", g) for g in groups}
            wanted = {(k, i) for k, i in wanted if i not in gone}
            conn.execute(delete(o).where(o.c.model_id == model_id))
            if wanted:
                conn.execute(
                    insert(o),
                    [{"model_id": model_id, "kind": k, "slack_id": i} for k, i in sorted(wanted)],
                )
            if wanted != set(before):
                self._append_audit(
                    conn,
                    now=now,
                    actor=actor,
                    action="owners",
                    model=model,
                    version=None,
                    before={"owners": [f"{k}:{i}" for k, i in sorted(before)]},
                    after={"owners": [f"{k}:{i}" for k, i in sorted(wanted)]},
                    reason=None,
                )
        return Owners(
            users=tuple(sorted(i for k, i in wanted if k == "user")),
            groups=tuple(sorted(i for k, i in wanted if k == "group")),
        )

    # -- requests ---------------------------------------------------------------------------

    def request_promotion(
        self, model: str, version: str, *, requester: str, reason: str | None = None
    ) -> PromotionRequest:
        """Ask for `version` to go to production under the model's policy; announced in the
        model's channel with the change report (outbox topic `promotion.requested`)."""
        version = str(SemVer.parse(version))
        policy = self.approval_policy(model)
        if not policy.approvals:
            raise RequestError(
                f"{model} needs no approval to promote",
                hint=f"promote directly, or set one: modeltrail policy {model} --approvals 1",
            )
        state = self.model_state(model)
        plan_stage(state, version, "production", reason)  # refuses a version not promotable
        r = schema.promotion_requests
        now = self._clock()
        with self._write() as conn:
            model_id = self._model_id(conn, model, lock=True)
            already = conn.execute(
                select(r.c.id).where(
                    r.c.model_id == model_id,
                    r.c.version == version,
                    r.c.status == "open",
                    r.c.expires_at > now,
                )
            ).scalar()
            if already is not None:
                raise RequestError(
                    f"{model} {version} already has an open request (#{already})",
                    hint=f"approve it: modeltrail approve {already}",
                )
            request_id = conn.execute(
                insert(r).returning(r.c.id),
                {
                    "model_id": model_id,
                    "version": version,
                    "requester": requester,
                    "reason": reason,
                    "baseline": state.production,
                    "created_at": now,
                    "expires_at": expiry(now, policy),
                    "needed": policy.approvals,
                    "status": "open",
                    "approvals": "[]",
                },
            ).scalar_one()
            seq = self._append_audit(
                conn,
                now=now,
                actor=requester,
                action="promotion_request",
                model=model,
                version=version,
                before=None,
                after={"request": request_id, "needed": policy.approvals},
                reason=reason,
            )
            request = self._request_in(conn, request_id)
            enqueue(
                conn,
                topic="promotion.requested",
                model=model,
                version=version,
                payload=_request_payload(request),
                key=f"audit:{seq}",
                now=now,
            )
        return request

    def promotion_request(self, request_id: int) -> PromotionRequest:
        with self._read() as conn:
            return self._request_in(conn, request_id)

    def promotion_requests(
        self, model: str | None = None, *, open_only: bool = True
    ) -> list[PromotionRequest]:
        """Requests newest first; `open_only`: those still waiting (not decided, not expired)."""
        r, m = schema.promotion_requests, schema.models
        query = select(r.c.id).join(m, m.c.id == r.c.model_id).order_by(r.c.id.desc())
        if model is not None:
            query = query.where(m.c.name == model)
        if open_only:
            query = query.where(r.c.status == "open", r.c.expires_at > self._clock())
        with self._read() as conn:
            if model is not None:
                self._model_id(conn, model)  # an unknown model is an error, not "none"
            return [self._request_in(conn, i) for i in conn.execute(query).scalars()]

    def approve_request(
        self, request_id: int, *, approver: str, reason: str | None = None
    ) -> tuple[PromotionRequest, MoveResult | None]:
        """Record an approval; the one that completes the count promotes through the gate
        (a blocking finding refuses the approval and leaves the request open)."""
        from modeltrail.core.registry.governance import MoveResult, PromotionBlocked

        now = self._clock()
        state = self.model_state(self.promotion_request(request_id).model)
        # The request is read after the stage: one decided meanwhile (another approver's
        # promotion committing just now) then reads as "already approved", not as a version
        # "already in production" that this approver never promoted.
        request = self.promotion_request(request_id)
        completes = check_approval(request, approver, now)
        plan = decision = None
        check_still_wanted(request, state)  # retired or gone while it waited
        if completes:
            plan = plan_stage(state, request.version, "production", request.reason)
            decision = self.judge(request.model, request.version, baseline=state.production)
            if not decision.allowed:
                raise PromotionBlocked(request.model, decision)
        r = schema.promotion_requests
        with self._write() as conn:
            fresh = self._request_in(conn, request_id, lock=True)
            # Someone may have decided between our first look and the lock.
            completes = check_approval(fresh, approver, now)
            approvals = (*fresh.approvals, Approval(approver, reason, now))
            values: dict[str, Any] = {
                "approvals": json.dumps([a.to_dict() for a in approvals], sort_keys=True)
            }
            if completes:
                values.update(
                    status="approved", decided_by=approver, decided_at=now, decision_reason=reason
                )
            conn.execute(update(r).where(r.c.id == request_id).values(**values))
            self._append_audit(
                conn,
                now=now,
                actor=approver,
                action="approve",
                model=fresh.model,
                version=fresh.version,
                before={"request": request_id, "approvals": len(fresh.approvals)},
                after={"request": request_id, "approvals": len(approvals)},
                reason=reason,
            )
            if completes and plan is not None and state is not None:
                self._apply_in(
                    conn,
                    plan,
                    actor=approver,
                    expected=state,
                    decision=decision,
                    extra={
                        "request": request_id,
                        "requester": fresh.requester,
                        "request_reason": fresh.reason,
                        "approvers": [a.actor for a in approvals],
                        "approval_reason": reason,
                    },
                )
            result = self._request_in(conn, request_id)
        moved = MoveResult(plan, decision) if completes and plan is not None else None
        return result, moved

    def reject_request(
        self, request_id: int, *, actor: str, reason: str | None = None
    ) -> PromotionRequest:
        r = schema.promotion_requests
        now = self._clock()
        with self._write() as conn:
            request = self._request_in(conn, request_id, lock=True)
            check_rejection(request, now)
            conn.execute(
                update(r)
                .where(r.c.id == request_id)
                .values(status="rejected", decided_by=actor, decided_at=now, decision_reason=reason)
            )
            self._append_audit(
                conn,
                now=now,
                actor=actor,
                action="reject",
                model=request.model,
                version=request.version,
                before={"request": request_id, "status": "open"},
                after={"request": request_id, "status": "rejected", "requester": request.requester},
                reason=reason,
            )
            return self._request_in(conn, request_id)

    def _request_in(
        self, conn: Connection, request_id: int, *, lock: bool = False
    ) -> PromotionRequest:
        r, m = schema.promotion_requests, schema.models
        query = select(r, m.c.name.label("model")).join(m, m.c.id == r.c.model_id)
        query = query.where(r.c.id == request_id)
        if lock and not self._sqlite:
            query = query.with_for_update(of=r)
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFoundError(
                f"there is no promotion request #{request_id}",
                hint="`modeltrail requests` lists the open ones (a deleted model takes its own)",
            )
        return PromotionRequest(
            id=row["id"],
            model=row["model"],
            version=row["version"],
            requester=row["requester"],
            reason=row["reason"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            needed=row["needed"],
            status=row["status"],
            approvals=tuple(Approval.from_dict(a) for a in json.loads(row["approvals"])),
            decided_by=row["decided_by"],
            decided_at=row["decided_at"],
            decision_reason=row["decision_reason"],
            baseline=row["baseline"],
        )


def _owner_rows(conn: Connection, model_id: int) -> list[tuple[str, str]]:
    o = schema.model_owners
    return [
        (k, i)
        for k, i in conn.execute(select(o.c.kind, o.c.slack_id).where(o.c.model_id == model_id))
    ]


def _request_payload(request: PromotionRequest) -> Mapping[str, Any]:
    return {
        "request": request.id,
        "model": request.model,
        "version": request.version,
        "requester": request.requester,
        "reason": request.reason,
        "previous_production": request.baseline,
        "needed": request.needed,
        "expires_at": request.expires_at.isoformat(),
    }
