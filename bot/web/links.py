"""Links to the pages `serve` shows (/m/...), for Slack reports and digest emails: absolute,
under MODELTRAIL_PUBLIC_URL, and signed for their model when MODELTRAIL_LINK_SECRET is set, so
a teammate can click through without logging in (scope read, that model, 30 days).

Small on purpose: the Slack dispatcher and the digest import it without the web server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import quote, urlencode

from modeltrail.core.access import sign_link
from modeltrail.core.config import Settings

PREFIX = "/m/"
Linker = Callable[..., str]  # (model, *path segments) → absolute URL


def page_url(base: str, model: str, *tail: str, secret: str | None, now: dt.datetime) -> str:
    """An absolute link to a page, signed for `model` when a secret is set."""
    path = "/".join([quote(model, safe="/"), *(quote(t, safe="") for t in tail)])
    url = f"{base.rstrip('/')}{PREFIX}{path}"
    return url if not secret else f"{url}?{urlencode({'t': sign_link(secret, model, now)})}"


def linker(settings: Settings, now: dt.datetime | None = None) -> Linker | None:
    """A function making page links, or None when MODELTRAIL_PUBLIC_URL is not set."""
    base = settings.public_url
    if not base:
        return None
    moment = now or dt.datetime.now(dt.UTC)

    def link(model: str, *tail: str) -> str:
        return page_url(base, model, *tail, secret=settings.link_secret, now=moment)

    return link
