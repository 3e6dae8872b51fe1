"""A Socket Mode endpoint on loopback, for tests: the WebSocket side of Slack.

The bot asks the fake Web API (`apps.connections.open`, tests/slack_fake.py) where to connect
and gets this server's `ws://127.0.0.1:PORT/link/?ticket=N` URL; slack_sdk's built-in Socket
Mode client connects there without TLS because the port is not 443. Like Slack, the server
says `hello` on each new connection, sends envelopes (slash commands, events) and takes the
client's acks (`{"envelope_id": …}`); a test can ask for a refresh the way Slack does it
(`{"type": "disconnect"}`) or drop the connection outright (the TCP socket closed, no
WebSocket close frame), and then see whether the client comes back.

The WebSocket protocol itself (handshake, frames, ping/pong) is the `websockets` library's.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve


class FakeSocketMode:
    def __init__(self) -> None:
        self.connections: list[ServerConnection] = []  # in the order they came
        self._alive: list[ServerConnection] = []
        self.acks: dict[str, dict[str, Any]] = {}  # envelope_id -> what the client answered
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeSocketMode:
        self._server = serve(self._session, "127.0.0.1", 0, ping_interval=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """What apps.connections.open hands out (a fresh ticket each time, as Slack does)."""
        assert self._server is not None
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={next(self._ids)}"

    # -- what tests do -----------------------------------------------------------------------

    def open_connections(self) -> list[ServerConnection]:
        with self._lock:
            return list(self._alive)

    def send(self, kind: str, payload: Mapping[str, Any], **extra: Any) -> str:
        """Send an envelope on the newest open connection; returns its envelope_id."""
        envelope_id = f"env-{next(self._ids)}"
        message = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": dict(payload),
            "accepts_response_payload": kind != "events_api",
            **extra,
        }
        (self.open_connections() or [None])[-1].send(json.dumps(message))  # type: ignore[union-attr]
        return envelope_id

    def refresh(self) -> None:
        """What Slack does every few hours: ask the client to reconnect, then close."""
        connection = self.open_connections()[-1]
        connection.send(json.dumps({"type": "disconnect", "reason": "refresh_requested"}))

    def drop(self) -> None:
        """Cut the newest connection: the TCP socket closed, no WebSocket close frame (what
        a restarted load balancer or a lost network path looks like to the client)."""
        connection = self.open_connections()[-1]
        with self._lock:
            self._alive.remove(connection)
        connection.socket.shutdown(socket.SHUT_RDWR)
        connection.socket.close()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout} s; {len(self.connections)} connections, "
                    f"acks {list(self.acks)}"
                )
            time.sleep(0.02)

    # -- the server side ---------------------------------------------------------------------

    def _session(self, connection: ServerConnection) -> None:
        with self._lock:
            self.connections.append(connection)
            self._alive.append(connection)
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "fake", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A1"},
        }
        try:
            connection.send(json.dumps(hello))
            for raw in connection:
                data = json.loads(raw)
                if isinstance(data, dict) and data.get("envelope_id"):
                    with self._lock:
                        self.acks[str(data["envelope_id"])] = data
        except (ConnectionClosed, OSError):
            pass
        finally:
            with self._lock:
                if connection in self._alive:
                    self._alive.remove(connection)
