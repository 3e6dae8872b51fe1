"""Approvals and owners: `policy`, `owners`, `requests`, `approve`, `reject`. A promotion
request is made with `modeltrail promote MODEL VERSION --request` (or `/model promote` in
Slack). Registered on `common.app`."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Any

import click

from modeltrail.bot.cli.common import actor_for, app, open_registry, print_json, say

if TYPE_CHECKING:
    from modeltrail.core.lifecycle.approvals import PromotionRequest


@app.command()
@click.argument("model")
@click.option(
    "--approvals",
    type=int,
    metavar="N",
    help="Approvals a promotion to production needs (0: none, promote directly).",
)
@click.option(
    "--expires-after",
    "expires_after",
    type=float,
    metavar="HOURS",
    help="How long a request stays open (default 24).",
)
@click.option("--actor")
def policy(
    model: str, approvals: int | None, expires_after: float | None, actor: str | None
) -> None:
    """Show or set whether promoting MODEL to production needs approval."""
    from modeltrail.core.lifecycle.approvals import check_policy

    registry = open_registry()
    try:
        current = registry.approval_policy(model)
        if approvals is not None or expires_after is not None:
            wanted = check_policy(
                current.approvals if approvals is None else approvals,
                current.expiry.total_seconds() / 3600 if expires_after is None else expires_after,
            )
            current = registry.set_approval_policy(model, wanted, actor=actor_for(actor))
    finally:
        registry.close()
    say(f"{model}: {current.describe()}")


@app.command()
@click.argument("model")
@click.option("--add", "add_users", multiple=True, metavar="USER_ID", help="A Slack user ID.")
@click.option("--group", "add_groups", multiple=True, metavar="GROUP_ID", help="A user group.")
@click.option("--remove", multiple=True, metavar="ID", help="Remove a user or group.")
@click.option("--actor")
@click.option("--json", "as_json", is_flag=True)
def owners(
    model: str,
    add_users: tuple[str, ...],
    add_groups: tuple[str, ...],
    remove: tuple[str, ...],
    actor: str | None,
    as_json: bool,
) -> None:
    """Show or change who may change MODEL's stages from Slack and approve its promotions
    (besides MODELTRAIL_SLACK_ADMINS): Slack user IDs (U…) and user groups (S…)."""
    registry = open_registry()
    try:
        if add_users or add_groups or remove:
            found = registry.change_owners(
                model,
                add_users=add_users,
                add_groups=add_groups,
                remove=remove,
                actor=actor_for(actor),
            )
        else:
            found = registry.owners(model)
    finally:
        registry.close()
    if as_json:
        print_json({"model": model, "users": list(found.users), "groups": list(found.groups)})
        return
    if found.empty:
        say(f"{model}: no owners; the admins (MODELTRAIL_SLACK_ADMINS) decide")
        return
    people = ", ".join([*found.users, *(f"group {g}" for g in found.groups)])
    say(f"{model}: owners {people} (and the admins)")


@app.command()
@click.argument("model", required=False)
@click.option("--all", "everything", is_flag=True, help="Also decided and expired ones.")
@click.option("--json", "as_json", is_flag=True)
def requests(model: str | None, everything: bool, as_json: bool) -> None:
    """List promotion requests waiting for approval (of MODEL, or of every model)."""
    registry = open_registry()
    try:
        found = registry.promotion_requests(model, open_only=not everything)
    finally:
        registry.close()
    now = dt.datetime.now(dt.UTC)
    if as_json:
        print_json([_request_json(r, now) for r in found])
        return
    if not found:
        say("no open promotion requests" + (f" for {model}" if model else ""))
        return
    say("\n".join(_request_line(r, now) for r in found))


@app.command()
@click.argument("request_id", metavar="ID", type=int)
@click.option("--reason", help="Why you approve (recorded with the promotion).")
@click.option("--actor")
def approve(request_id: int, reason: str | None, actor: str | None) -> None:
    """Approve promotion request ID; the approval that completes it promotes the version
    through the gate (you cannot approve your own request)."""
    from modeltrail.core.registry.governance import PromotionBlocked

    registry = open_registry()
    try:
        try:
            request, result = registry.approve_request(
                request_id, approver=actor_for(actor), reason=reason
            )
        except PromotionBlocked as blocked:
            lines = [f"error: {blocked.message}", "hint: the request stays open"]
            sys.stderr.write("\n".join(lines) + "\n")
            raise SystemExit(1) from None
    finally:
        registry.close()
    if result is None:
        left = request.needed - len(request.approvals)
        say(f"request #{request.id} approved by you; {left} more approval(s) needed")
        return
    say(f"request #{request.id} approved: {request.model} {request.version} is now in production")


@app.command()
@click.argument("request_id", metavar="ID", type=int)
@click.option("--reason", help="Why (recorded; the requester sees it).")
@click.option("--actor")
def reject(request_id: int, reason: str | None, actor: str | None) -> None:
    """Reject (or, as its requester, withdraw) promotion request ID."""
    registry = open_registry()
    try:
        request = registry.reject_request(request_id, actor=actor_for(actor), reason=reason)
    finally:
        registry.close()
    say(f"request #{request.id} rejected: {request.model} {request.version} stays where it is")


def _request_line(r: PromotionRequest, now: dt.datetime) -> str:
    line = (
        f"#{r.id} {r.model} {r.version} → production, asked by {r.requester}"
        f" {r.created_at:%Y-%m-%d %H:%M}; {len(r.approvals)}/{r.needed} approvals"
    )
    state = r.state(now)
    line += f", expires {r.expires_at:%Y-%m-%d %H:%M} UTC" if state == "open" else f", {state}"
    return line + (f" — {r.reason}" if r.reason else "")


def _request_json(r: PromotionRequest, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": r.id,
        "model": r.model,
        "version": r.version,
        "requester": r.requester,
        "reason": r.reason,
        "state": r.state(now),
        "needed": r.needed,
        "approvals": [a.to_dict() for a in r.approvals],
        "created_at": r.created_at.isoformat(),
        "expires_at": r.expires_at.isoformat(),
        "decided_by": r.decided_by,
    }
