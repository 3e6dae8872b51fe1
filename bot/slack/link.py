"""Whether Slack's Web API answers, and the bot's identity once it does.

`serve` must come up when Slack is unreachable (a network outage, a proxy not yet open): the
HTTP endpoint, webhooks and the monitoring API do not need Slack. Instead of Bolt's eager
`auth.test` at start (which raises and ended the process), `SlackLink.run` asks `auth.test` in
the background with exponential backoff until it answers, then runs what waits for it (the
Socket Mode connection). The dispatcher reports what it sees when posting, so `/healthz` says
`slack: unreachable` while posts fail for network reasons and `ok` once one goes through.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("modeltrail.slack.link")

FIRST_DELAY = 1.0
MAX_DELAY = 60.0


def retry_delays(first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> Callable[[int], float]:
    """attempt (1, 2, …) → seconds to wait before the next: 1, 2, 4, … capped."""
    return lambda attempt: min(first * 2 ** min(attempt - 1, 30), cap)


class SlackLink:
    def __init__(
        self,
        client: WebClient,
        *,
        delay: Callable[[int], float] | None = None,
    ) -> None:
        self.client = client
        self.delay = delay or retry_delays()
        self._lock = threading.Lock()
        self._status = "connecting"
        self._identity: dict[str, Any] | None = None
        self.attempts = 0

    @property
    def status(self) -> str:
        """ "connecting" (not asked yet), "ok", "unreachable", or Slack's error (invalid_auth…)."""
        with self._lock:
            return self._status

    @property
    def identity(self) -> dict[str, Any] | None:
        """auth.test's answer (bot user ID, team), once Slack has answered."""
        with self._lock:
            return self._identity

    def check(self) -> bool:
        """One auth.test; True when Slack answered ok."""
        self.attempts += 1
        try:
            answer = self.client.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error") if hasattr(exc.response, "get") else None
            self._set(str(error or f"http {exc.response.status_code}"))
            return False
        except OSError as exc:  # refused, DNS, timeouts (URLError is an OSError)
            self._set("unreachable", detail=str(exc))
            return False
        with self._lock:
            self._identity = dict(answer.data) if isinstance(answer.data, dict) else {}
        self._set("ok")
        return True

    def run(self, stop: threading.Event, *, when_up: Callable[[], None] | None = None) -> None:
        """Ask until Slack answers (backing off), then run `when_up` once."""
        while not stop.is_set():
            if self.check():
                if when_up is not None:
                    try:
                        when_up()
                    except Exception:  # e.g. the Socket Mode connect failing: try again
                        log.exception("connecting to Slack failed; trying again")
                        self._set("unreachable")
                        stop.wait(self.delay(self.attempts))
                        continue
                return
            wait = self.delay(self.attempts)
            log.warning(
                "Slack's API is %s (attempt %d); next try in %.0f s",
                self.status,
                self.attempts,
                wait,
            )
            stop.wait(wait)

    def reached(self) -> None:
        """A call to Slack just went through."""
        self._set("ok")

    def unreachable(self, detail: str) -> None:
        """A call to Slack failed for network reasons."""
        self._set("unreachable", detail=detail)

    def _set(self, status: str, *, detail: str | None = None) -> None:
        with self._lock:
            changed = status != self._status
            self._status = status
        if changed and status == "ok":
            log.info("Slack's API answers")
        elif changed:
            log.warning("Slack's API: %s%s", status, f" ({detail})" if detail else "")
