"""API tokens in the registry: create (the secret is handed out once, only its hash is kept),
list, revoke, and look one up by the secret a request presents. Creating and revoking are
audited in the same transaction, like every other write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update

from modeltrail.core.access import ApiToken, check_scope, new_secret, token_digest
from modeltrail.core.errors import TokenNotFoundError, UsageError
from modeltrail.core.registry.base import RegistryBase
from modeltrail.core.serialize import iso
from modeltrail.core.store import schema


class TokensMixin(RegistryBase):
    """Token storage, part of `Registry`."""

    def create_token(
        self,
        *,
        scope: str,
        model: str | None,
        lifetime: dt.timedelta | None,
        actor: str,
        name: str | None = None,
    ) -> tuple[ApiToken, str]:
        """A new token and its secret, valid for `lifetime` (None: until revoked). The secret
        is not stored and cannot be shown again."""
        check_scope(scope)
        if lifetime is not None and lifetime <= dt.timedelta(0):
            raise UsageError("a token must expire in the future")
        now = self._clock()
        expires_at = None if lifetime is None else now + lifetime
        secret = new_secret()
        with self._write() as conn:
            if model is not None:
                self._model_id(conn, model)  # a token for a model that does not exist is a typo
            ident = conn.execute(
                insert(schema.api_tokens).returning(schema.api_tokens.c.id),
                {
                    "token_hash": token_digest(secret),
                    "prefix": secret[:10],
                    "scope": scope,
                    "model": model,
                    "name": name,
                    "created_at": now,
                    "created_by": actor,
                    "expires_at": expires_at,
                },
            ).scalar_one()
            token = ApiToken(int(ident), secret[:10], scope, model, name, now, actor, expires_at)
            self._append_audit(
                conn,
                now=now,
                actor=actor,
                action="token_create",
                model=model,
                version=None,
                before=None,
                after=_audit_fields(token),
                reason=name,
            )
        return token, secret

    def list_tokens(self) -> list[ApiToken]:
        t = schema.api_tokens
        with self._read() as conn:
            return [_token(r) for r in conn.execute(select(t).order_by(t.c.id)).mappings()]

    def revoke_token(self, ident: int, *, actor: str, reason: str | None = None) -> ApiToken:
        t = schema.api_tokens
        now = self._clock()
        with self._write() as conn:
            row = conn.execute(select(t).where(t.c.id == ident)).mappings().first()
            if row is None:
                raise TokenNotFoundError(ident)
            token = _token(row)
            if token.revoked_at is not None:
                return token
            conn.execute(update(t).where(t.c.id == ident).values(revoked_at=now, revoked_by=actor))
            self._append_audit(
                conn,
                now=now,
                actor=actor,
                action="token_revoke",
                model=token.model,
                version=None,
                before=_audit_fields(token),
                after={"id": token.id, "revoked": True},
                reason=reason,
            )
        return _token({**row, "revoked_at": now, "revoked_by": actor})

    def find_token(self, secret: str) -> ApiToken | None:
        """The stored token whose secret this is (active or not), or None."""
        t = schema.api_tokens
        with self._read() as conn:
            row = (
                conn.execute(select(t).where(t.c.token_hash == token_digest(secret)))
                .mappings()
                .first()
            )
        return None if row is None else _token(row)


def _token(row: Mapping[str, Any]) -> ApiToken:
    return ApiToken(
        id=int(row["id"]),
        prefix=row["prefix"],
        scope=row["scope"],
        model=row["model"],
        name=row["name"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        revoked_by=row["revoked_by"],
    )


def _audit_fields(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "prefix": token.prefix,
        "scope": token.scope,
        "model": token.model,
        "expires_at": iso(token.expires_at),
    }
