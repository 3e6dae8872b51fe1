"""Who is asking: the credential a request presents, checked before anything is read.

A bearer token (`Authorization: Bearer mt_…`, created with `modeltrail token create`, looked
up by its hash), `MODELTRAIL_API_TOKEN` (compared in constant time; grants read and monitor on
every model), or, for the pages only, a signed link token in `?t=` (scope read, one model).
No credential, or one that is unknown, expired or revoked: 401. A valid one whose scope or
model does not cover the request: 403.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from modeltrail.bot.web.responses import json_response
from modeltrail.core.access import Grant, denial, token_digest, verify_link
from modeltrail.core.registry.writer import Registry


@dataclass(frozen=True)
class Refusal:
    status: str  # "401 Unauthorized" | "403 Forbidden"
    reason: str

    def respond(self, start_response: Callable[..., Any]) -> list[bytes]:
        if self.status.startswith("401"):
            return json_response(
                start_response,
                self.status,
                {"error": self.reason},
                headers=[("WWW-Authenticate", 'Bearer realm="modeltrail"')],
            )
        return json_response(start_response, self.status, {"error": self.reason})


UNAUTHORISED = "401 Unauthorized"
FORBIDDEN = "403 Forbidden"


class Gate:
    """Checks credentials against the registry's tokens and the configured secrets."""

    def __init__(
        self,
        registry: Registry,
        *,
        env_token: str | None = None,
        link_secret: str | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.registry = registry
        self._env_token = env_token.encode("utf-8") if env_token else None
        self._link_secret = link_secret
        self._clock = clock
        # digest → (registry generation, token): revocations are writes, so they change the
        # generation and the entry is read again; expiry is checked against the clock each time.
        self._tokens: dict[str, tuple[int, Any]] = {}

    def check(
        self,
        environ: dict[str, Any],
        scope: str,
        model: str | None,
        *,
        generation: int | None = None,
        links: bool = False,
    ) -> Grant | Refusal:
        """The grant for this request, or why not. `model` None: a request across models."""
        bearer = _bearer(environ.get("HTTP_AUTHORIZATION", ""))
        if bearer is None and links and model is not None and self._link_secret:
            link = parse_qs(environ.get("QUERY_STRING", "")).get("t")
            if link:
                why = verify_link(self._link_secret, model, link[0], self._clock())
                if why is not None:
                    return Refusal(UNAUTHORISED, why)
                if scope != "read":
                    return Refusal(FORBIDDEN, "a link only reads")
                return Grant("read", model, "link")
        if bearer is None:
            return Refusal(UNAUTHORISED, "a bearer token is needed")
        if self._env_token is not None and hmac.compare_digest(
            bearer.encode("utf-8"), self._env_token
        ):
            if scope == "write":
                return Refusal(FORBIDDEN, "MODELTRAIL_API_TOKEN does not allow write")
            return Grant("monitor", None, "MODELTRAIL_API_TOKEN")
        token = self._lookup(bearer, generation)
        why = denial(token, self._clock(), scope, model)
        if why is not None:
            unknown = token is None or token.status(self._clock()) != "active"
            return Refusal(UNAUTHORISED if unknown else FORBIDDEN, why)
        return Grant(token.scope, token.model, f"token {token.id}")

    def _lookup(self, secret: str, generation: int | None) -> Any:
        digest = token_digest(secret)
        cached = self._tokens.get(digest)
        if generation is not None and cached is not None and cached[0] == generation:
            return cached[1]
        token = self.registry.find_token(secret)
        if generation is not None:
            if len(self._tokens) > 10_000:
                self._tokens.clear()
            self._tokens[digest] = (generation, token)
        return token


def _bearer(header: str) -> str | None:
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()
