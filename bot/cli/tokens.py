"""API tokens for `serve`'s read API, pages and monitoring POST: create, list, revoke."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import click

from modeltrail.bot.cli.common import actor_for, app, open_registry, print_json, say

if TYPE_CHECKING:
    from modeltrail.core.access import ApiToken


@app.group()
def token() -> None:
    """Scoped, expiring API tokens (only their hash is stored)."""


@token.command("create")
@click.option(
    "--scope",
    type=click.Choice(["read", "monitor", "write"]),
    required=True,
    help="read: the read API and pages; monitor: also POST observations; write: all.",
)
@click.option("--model", metavar="MODEL", help="The one model it is for (default: every model).")
@click.option(
    "--expires",
    default="90d",
    show_default=True,
    metavar="DURATION",
    help="How long it works: e.g. 90d, 12h, 2w, or never.",
)
@click.option("--name", metavar="TEXT", help="What it is for, shown in `token list`.")
@click.option("--actor", help="Who creates it (default: MODELTRAIL_ACTOR, git user, OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print the token and its facts as JSON.")
def token_create(
    scope: str,
    model: str | None,
    expires: str,
    name: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Create a token and print it once: it cannot be shown again."""
    from modeltrail.core.access import parse_lifetime

    lifetime = parse_lifetime(expires)
    registry = open_registry()
    try:
        created, secret = registry.create_token(
            scope=scope, model=model, lifetime=lifetime, actor=actor_for(actor), name=name
        )
    finally:
        registry.close()
    if as_json:
        print_json({**_token_dict(created), "token": secret})
        return
    click.echo(secret)
    click.echo(
        f"token {created.id}: scope {created.scope}, {created.model or 'every model'}, "
        f"{_expiry(created)}. Store it now: it is not shown again.",
        err=True,
    )


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def token_list(as_json: bool) -> None:
    """Every token: id, prefix, scope, model, expiry and whether it still works."""
    registry = open_registry()
    try:
        tokens = registry.list_tokens()
    finally:
        registry.close()
    now = dt.datetime.now(dt.UTC)
    if as_json:
        print_json([{**_token_dict(t), "status": t.status(now)} for t in tokens])
        return
    if not tokens:
        say("no API tokens: create one with `modeltrail token create --scope read`")
        return
    for t in tokens:
        say(
            f"{t.id:>4}  {t.prefix}…  {t.scope:<7}  {t.model or '*':<20}  "
            f"{t.status(now):<7}  {_expiry(t)}" + (f"  {t.name}" if t.name else "")
        )


@token.command("revoke")
@click.argument("ident", metavar="ID", type=int)
@click.option("--reason", help="Why (kept in the audit trail).")
@click.option("--actor", help="Who revokes it.")
def token_revoke(ident: int, reason: str | None, actor: str | None) -> None:
    """Revoke a token at once (every request with it is refused from now on)."""
    registry = open_registry()
    try:
        revoked = registry.revoke_token(ident, actor=actor_for(actor), reason=reason)
    finally:
        registry.close()
    say(f"token {revoked.id} ({revoked.prefix}…) revoked")


def _expiry(t: ApiToken) -> str:
    from modeltrail.core.serialize import iso

    return "never expires" if t.expires_at is None else f"expires {iso(t.expires_at)}"


def _token_dict(t: ApiToken) -> dict[str, Any]:
    import dataclasses

    from modeltrail.core.serialize import iso

    out = dataclasses.asdict(t)
    for key in ("created_at", "expires_at", "revoked_at"):
        out[key] = iso(out[key])
    return out
