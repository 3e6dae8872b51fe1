"""Socket Mode over websocket-client, reconnecting within seconds after Slack's refresh.

Slack asks for a new connection every few hours (`{"type": "disconnect"}`). slack_sdk's
client opens the new session and closes the old one's socket from its message thread while
the session thread still waits in `select()` on it. A socket closed under an epoll wait is
dropped from it without waking the waiter, so the old session noticed only when its select
timed out: websocket-client's default, 10 s, during which no command was answered (about a
third of refreshes here). With `ping_timeout` the wait wakes every PING_TIMEOUT_SECONDS to
see that it was closed; the same setting also gives up on a connection whose pong is late.
"""

from __future__ import annotations

import functools
from typing import Any

from slack_bolt.adapter.socket_mode.websocket_client import (
    SocketModeHandler as BoltSocketModeHandler,
)
from slack_sdk.socket_mode.websocket_client import SocketModeClient

PING_TIMEOUT_SECONDS = 2.0  # below the ping interval, as websocket-client requires


class PromptReconnectClient(SocketModeClient):
    def _run_current_session(self) -> None:
        session = self.current_session
        if session is not None and not isinstance(session.run_forever, functools.partial):
            # The upstream loop calls `run_forever(ping_interval=…)` with no way to pass the
            # timeout; the session object is made per connection, so it carries it.
            setattr(  # noqa: B010 (a method replaced on this one instance)
                session,
                "run_forever",
                functools.partial(session.run_forever, ping_timeout=PING_TIMEOUT_SECONDS),
            )
        super()._run_current_session()


class SocketModeHandler(BoltSocketModeHandler):
    """Bolt's websocket-client handler (its `handle` runs the app), on PromptReconnectClient."""

    def __init__(self, app: Any, app_token: str, *, ping_interval: float) -> None:
        # Bolt's __init__ would build and start its own client: only what `handle` and the
        # base class read is set here.
        self.app = app
        self.app_token = app_token
        self.client = PromptReconnectClient(
            app_token=app_token,
            logger=app.logger,
            web_client=app.client,
            ping_interval=ping_interval,
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]
