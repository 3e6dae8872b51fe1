"""Who may read or write over HTTP: API token values, scopes, expiry, and signed page links.

Pure: no I/O and no clock (`now` is passed in). The registry stores tokens by their sha256
(`registry/tokens.py`); the web layer asks `denial()` whether a token grants a request.

Scopes are levels, each granting the ones below it: `read` (the read API and the pages) <
`monitor` (also POST production observations) < `write`. A token is for one model, or for
every model when it names none.

A page link carries its own short token instead: an HMAC of (scope read, model, expiry) under
the server's link secret, so a teammate can open a report from Slack without an account, for
that model only, until the link expires.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from modeltrail.core.errors import UsageError

SCOPES: tuple[str, ...] = ("read", "monitor", "write")
TOKEN_PREFIX = "mt_"
LINK_DAYS = 30  # how long a link in a Slack report or digest email opens its page
_DURATION = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$")


@dataclass(frozen=True)
class ApiToken:
    """A stored token (never its secret): what it grants, and whether it still does."""

    id: int
    prefix: str  # the first characters of the secret, to recognise it in `token list`
    scope: str
    model: str | None  # None: every model
    name: str | None
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime | None  # None: never
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None

    def status(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


@dataclass(frozen=True)
class Grant:
    """What a presented credential allows: a scope, on one model or all (None)."""

    scope: str
    model: str | None
    via: str  # "token 12", "MODELTRAIL_API_TOKEN", "link"

    def allows(self, scope: str, model: str | None) -> bool:
        if SCOPES.index(self.scope) < SCOPES.index(scope):
            return False
        return self.model is None or model == self.model


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise UsageError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    return scope


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(secret: str) -> str:
    """What is stored and looked up. The secret has 256 random bits, so a plain sha256 (no
    salt, no stretching) cannot be reversed, and one indexed lookup finds it."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_lifetime(text: str) -> dt.timedelta | None:
    """`90d`, `12h`, `2w`; `never` (None) for no expiry."""
    if text.strip().lower() == "never":
        return None
    found = _DURATION.match(text.lower())
    if found is None or int(found.group(1)) == 0:
        raise UsageError(
            f"--expires {text!r} is not a duration", hint="use e.g. 90d, 12h, 2w or never"
        )
    amount, unit = int(found.group(1)), found.group(2)
    return dt.timedelta(hours={"h": 1, "d": 24, "w": 24 * 7}[unit] * amount)


def denial(token: ApiToken | None, now: dt.datetime, scope: str, model: str | None) -> str | None:
    """Why `token` may not do `scope` on `model` (None: it may). `model` None: a request
    that spans models (e.g. the list of models), which any token of the scope may make."""
    if token is None:
        return "unknown token"
    status = token.status(now)
    if status != "active":
        return f"token {status}"
    if SCOPES.index(token.scope) < SCOPES.index(scope):
        return f"token scope {token.scope} does not allow {scope}"
    if model is not None and token.model is not None and token.model != model:
        return "token is for another model"
    return None


# -- signed page links ------------------------------------------------------------------------


def sign_link(secret: str, model: str, now: dt.datetime, days: int = LINK_DAYS) -> str:
    """A link token for the pages of `model`: `<expiry epoch>.<mac>`."""
    expires = int((now + dt.timedelta(days=days)).timestamp())
    return f"{expires}.{_link_mac(secret, model, expires)}"


def verify_link(secret: str, model: str, token: str, now: dt.datetime) -> str | None:
    """Why `token` does not open `model`'s pages (None: it does)."""
    stamp, _, mac = token.partition(".")
    if not stamp.isdigit() or not mac:
        return "malformed link token"
    if not hmac.compare_digest(mac, _link_mac(secret, model, int(stamp))):
        return "link token is not valid for this model"
    if now.timestamp() >= int(stamp):
        return "link expired"
    return None


def _link_mac(secret: str, model: str, expires: int) -> str:
    message = f"read\n{model}\n{expires}".encode()
    mac = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")
