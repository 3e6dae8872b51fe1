"""Who people are in Slack (real names through `users.info`, user groups' members through
`usergroups.users.list`, both cached) and who may change a model's stages (its owners, else
the global admins).

Names go into the audit trail ("slack:U0123 (Dana Kim)") and from there into digests, so a
person is recognisable without looking the ID up. Lookups happen in lazy listeners, never in
an ack; an answer (or a failure: a missing `users:read` scope, Slack down) is kept for
`ttl` seconds, so a burst of clicks costs one call per person.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from modeltrail.core.config import Settings
from modeltrail.core.errors import ModeltrailError
from modeltrail.core.lifecycle.approvals import Owners, may_change
from modeltrail.templates.render import slack as esc

log = logging.getLogger("modeltrail.slack.people")

TTL = 600.0
FAILED_TTL = 60.0


class People:
    def __init__(
        self,
        client: WebClient,
        *,
        ttl: float = TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}

    def name(self, user_id: str) -> str | None:
        """The person's real name (else display name), or None when Slack does not say."""

        def ask() -> str | None:
            user = self.client.users_info(user=user_id).get("user") or {}
            profile = user.get("profile") or {}
            return (
                user.get("real_name")
                or profile.get("real_name")
                or profile.get("display_name")
                or None
            )

        return self._cached(("user", user_id), ask, None)

    def members(self, group_id: str) -> frozenset[str]:
        def ask() -> frozenset[str]:
            return frozenset(
                self.client.usergroups_users_list(usergroup=group_id).get("users") or ()
            )

        return self._cached(("group", group_id), ask, frozenset())

    def actor(self, user_id: str, fallback: str | None = None) -> str:
        """How the audit trail names a Slack user: `slack:U0123 (Dana Kim)`."""
        name = self.name(user_id) or fallback
        return f"slack:{user_id} ({name})" if name else f"slack:{user_id}"

    def _cached(self, key: tuple[str, str], ask: Callable[[], Any], default: Any) -> Any:
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        try:
            found, keep = ask(), self.ttl
        except (SlackApiError, OSError) as exc:
            log.info("Slack did not say who %s %s is: %s", key[0], key[1], exc)
            found, keep = default, FAILED_TTL
        with self._lock:
            self._cache[key] = (now + keep, found)
        return found


class Access:
    """Who may change a model's stages and decide its requests: its owners (users, and the
    members of its user groups) and the global admins (MODELTRAIL_SLACK_ADMINS)."""

    def __init__(self, registry: Any, settings: Settings, people: People) -> None:
        self.registry = registry
        self.settings = settings
        self.people = people

    def owners(self, model: str | None) -> Owners:
        if model is None:
            return Owners()
        try:
            return self.registry.owners(model)  # type: ignore[no-any-return]
        except ModeltrailError:
            return Owners()

    def may_change(self, model: str | None, user_id: str) -> bool:
        owners = self.owners(model)
        if may_change(user_id, owners, self.settings.slack_admins):
            return True
        members = {g: self.people.members(g) for g in owners.groups}
        return may_change(user_id, owners, (), members)

    def who(self, model: str | None) -> str:
        """The people to ask, as Slack mentions: owners first, then the admins."""
        owners = self.owners(model)
        names = [f"<@{esc(u)}>" for u in owners.users]
        names += [f"<!subteam^{esc(g)}>" for g in owners.groups]
        names += [f"<@{esc(a)}>" for a in self.settings.slack_admins if a not in owners.users]
        return ", ".join(names) if names else "nobody yet"
