"""A fake Slack Web API server on loopback, for tests and benchmarks.

It answers `auth.test`, records every `chat.postMessage`, `chat.update` and every `respond()`
(POSTs to `/respond/<id>`, the response_url Slack hands to slash commands and block actions),
checks each message against Slack's Block Kit limits (and with slack_sdk's own block models),
refuses a message whose blocks carry more than ~12,000 characters with `msg_blocks_too_long`
as Slack does, hands out the Socket Mode URL (`apps.connections.open`, app-level tokens
only), validates the views of `views.open` / `views.update` / `views.publish` with
slack_sdk's `View` model, answers `users.info` and `usergroups.users.list` from the people
a test gave it, and answers 429 or 5xx on demand.

The limit checks are written here again on purpose rather than imported from
`modeltrail.bot.slack.blocks`: a test that used the product's own validator could not catch
the product's mistakes.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = "UBOT"
LIMITS = {
    "blocks": 50,
    "section": 3000,
    "header": 150,
    "fields": 10,
    "field": 2000,
    "context": 10,
    "text": 40000,
    "total": 12000,  # characters of text in all blocks of one message (msg_blocks_too_long)
}


def block_text_size(blocks: Any) -> int:
    """Characters of text in a message's blocks, as Slack counts them for msg_blocks_too_long."""
    total = 0
    if isinstance(blocks, dict):
        for key, value in blocks.items():
            if key == "text" and isinstance(value, str):
                total += len(value)
            else:
                total += block_text_size(value)
    elif isinstance(blocks, list):
        total += sum(block_text_size(item) for item in blocks)
    return total


def sdk_problems(blocks: Any) -> list[str]:
    """What slack_sdk's block models refuse in `blocks` (they know every element's limits)."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block

    problems = []
    for i, data in enumerate(blocks or []):
        block = Block.parse(data) if isinstance(data, dict) else None
        if block is None:
            problems.append(f"block {i}: not a block slack_sdk knows: {data!r:.80}")
            continue
        try:
            block.validate_json()
        except SlackObjectFormationError as exc:
            problems.append(f"block {i}: {exc}")
    return problems


def view_problems(view: Any) -> list[str]:
    """What slack_sdk's View model refuses in a view (modal or home tab)."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.views import View

    if not isinstance(view, dict):
        return ["view is not an object"]
    if view.get("type") not in ("modal", "home"):
        return [f"view type {view.get('type')!r}"]
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError) as exc:
        return [f"view: {exc}"]
    return sdk_problems(view.get("blocks"))


def limit_problems(message: Mapping[str, Any]) -> list[str]:
    """What in a chat.postMessage / response_url payload Slack would reject or cut."""
    problems: list[str] = []
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append("no plain `text` fallback")
    elif len(text) > LIMITS["text"]:
        problems.append(f"text of {len(text)} characters")
    blocks = message.get("blocks") or []
    if not isinstance(blocks, list):
        return [*problems, "blocks is not a list"]
    if len(blocks) > LIMITS["blocks"]:
        problems.append(f"{len(blocks)} blocks (limit {LIMITS['blocks']})")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "header":
            obj = block.get("text") or {}
            if obj.get("type") != "plain_text":
                problems.append(f"block {i}: header text must be plain_text")
            if not 0 < len(obj.get("text", "")) <= LIMITS["header"]:
                problems.append(f"block {i}: header of {len(obj.get('text', ''))} characters")
        elif kind == "section":
            obj = block.get("text")
            items = block.get("fields") or []
            if obj is None and not items:
                problems.append(f"block {i}: section without text or fields")
            if obj is not None and not 0 < len(obj.get("text", "")) <= LIMITS["section"]:
                problems.append(f"block {i}: section text of {len(obj.get('text', ''))} characters")
            if len(items) > LIMITS["fields"]:
                problems.append(f"block {i}: {len(items)} fields")
            for item in items:
                if len(item.get("text", "")) > LIMITS["field"]:
                    problems.append(f"block {i}: a field of {len(item['text'])} characters")
        elif kind == "context":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= LIMITS["context"]:
                problems.append(f"block {i}: {len(elements)} context elements")
            for element in elements:
                if len(element.get("text", "")) > LIMITS["section"]:
                    problems.append(f"block {i}: context text of {len(element['text'])}")
        elif kind not in ("divider", "actions", "image", "rich_text"):
            problems.append(f"block {i}: unknown block type {kind!r}")
    return problems + sdk_problems(blocks)


@dataclass
class Call:
    """One request the fake received."""

    method: str  # "auth.test", "chat.postMessage", … or "respond"
    path: str
    data: dict[str, Any]
    headers: dict[str, str]
    status: int
    ts: str | None = None
    problems: list[str] = field(default_factory=list)
    error: str | None = None  # Slack's error when it answered `ok: false`
    at: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        return str(self.data.get("text", ""))

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return list(self.data.get("blocks") or [])

    @property
    def all_text(self) -> str:
        """The fallback and every piece of text in the blocks, joined."""
        parts = [self.text]
        for block in self.blocks:
            if isinstance(block.get("text"), dict):
                parts.append(block["text"].get("text", ""))
            parts += [f.get("text", "") for f in block.get("fields") or []]
            for element in block.get("elements") or []:
                text = element.get("text", "")
                parts.append(text.get("text", "") if isinstance(text, dict) else text)
        return "\n".join(parts)


@dataclass
class Failure:
    status: int
    retry_after: float | None
    method: str
    error: str | None = None  # with status 200: Slack's `{"ok": false, "error": …}`


class FakeSlack:
    """`with FakeSlack() as slack:` … `slack.api_url` for the WebClient."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failures: deque[Failure] = deque()
        # users.info answers: user ID -> real name; usergroups.users.list: group ID -> users
        self.users: dict[str, str] = {}
        self.usergroups: dict[str, list[str]] = {}
        # (method, seconds): hold the next answers of that method
        self.delays: deque[tuple[str, float]] = deque()
        # apps.connections.open: where Socket Mode connects (slack_socket_fake.FakeSocketMode)
        self.socket_url: Callable[[], str] | None = None
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, key: str = "1") -> str:
        return f"http://127.0.0.1:{self.port}/respond/{key}"

    # -- what tests ask ----------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        *,
        retry_after: float | None = None,
        times: int = 1,
        method: str = "chat.postMessage",
        error: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with `status` (429 carries Retry-After;
        `error` with status 200 is an API error such as channel_not_found)."""
        with self._lock:
            self.failures.extend(Failure(status, retry_after, method, error) for _ in range(times))

    def answer_late(
        self, seconds: float, *, times: int = 1, method: str = "chat.postMessage"
    ) -> None:
        """Accept (and record) the next `times` calls of `method`, but answer each only
        after `seconds`: what a client with a shorter timeout sees as a failure (or, within
        its timeout, a slow Slack)."""
        with self._lock:
            self.delays.extend([(method, seconds)] * times)

    def posts(self, channel: str | None = None, *, delivered: bool = True) -> list[Call]:
        """chat.postMessage calls (by default only those answered with ok)."""
        with self._lock:
            calls = list(self.calls)
        return [
            c
            for c in calls
            if c.method == "chat.postMessage"
            and (not delivered or (c.status == 200 and c.error is None))
            and (channel is None or c.data.get("channel") == channel)
        ]

    def calls_of(self, method: str) -> list[Call]:
        """Every call of one Web API method (views.open, users.info, …), in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def responses(self, key: str | None = None) -> list[Call]:
        with self._lock:
            calls = list(self.calls)
        return [
            c
            for c in calls
            if c.method == "respond" and (key is None or c.path.endswith(f"/{key}"))
        ]

    def violations(self) -> list[tuple[str, str, list[str]]]:
        with self._lock:
            return [(c.method, c.text[:80], c.problems) for c in self.calls if c.problems]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Poll until `predicate()` is truthy; returns its value, or fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s; calls: {self.summary()}")
            time.sleep(0.01)

    def summary(self) -> list[tuple[str, int, str]]:
        with self._lock:
            return [(c.method, c.status, c.text[:60]) for c in self.calls]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.failures.clear()

    # -- the server side ---------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode("utf-8")
        headers = {k.lower(): v for k, v in request.headers.items()}
        data = _parse_body(raw, headers.get("content-type", ""))
        path = request.path.split("?", 1)[0]
        if path.startswith("/api/"):
            method = path[len("/api/") :]
        elif path.startswith("/respond/"):
            method = "respond"
        else:
            self._send(request, 404, {"ok": False, "error": "unknown_path"})
            return
        with self._lock:
            failure = None
            if self.failures and self.failures[0].method == method:
                failure = self.failures.popleft()
        call = Call(method, path, data, headers, status=200)
        if failure is not None:
            call.status = failure.status
            call.error = failure.error
            with self._lock:
                self.calls.append(call)
            extra = {}
            if failure.retry_after is not None:
                extra["Retry-After"] = str(int(failure.retry_after))
            if failure.error is not None:
                self._send(request, failure.status, {"ok": False, "error": failure.error}, extra)
            elif failure.status == 429:
                self._send(request, 429, {"ok": False, "error": "ratelimited"}, extra)
            else:
                body = b"<html>upstream error</html>"
                self._send_raw(request, failure.status, body, "text/html", extra)
            return
        answer: dict[str, Any] = {"ok": True}
        if method != "auth.test" and not _authorised(headers, data, method):
            call.status = 200
            answer = {"ok": False, "error": "not_authed"}
        elif method == "auth.test":
            answer.update(
                user_id=BOT_USER,
                bot_id="BBOT",
                team_id="T1",
                team="Test",
                user="modeltrail",
                url="https://test.slack.com/",
            )
        elif method in ("chat.postMessage", "chat.update", "respond") and (
            block_text_size(data.get("blocks")) > LIMITS["total"]
        ):
            # What Slack answers (and does not post) when the blocks are too long altogether.
            call.error = "msg_blocks_too_long"
            answer = {"ok": False, "error": "msg_blocks_too_long"}
        elif method in ("chat.postMessage", "chat.update", "respond"):
            call.problems = limit_problems(data)
            if method == "chat.postMessage":
                call.ts = f"{int(time.time())}.{next(self._ts):06d}"
                answer.update(channel=data.get("channel"), ts=call.ts)
            elif method == "chat.update":
                answer.update(channel=data.get("channel"), ts=data.get("ts"))
        elif method in ("views.open", "views.update", "views.publish"):
            view = data.get("view")
            if isinstance(view, str):
                view = data["view"] = json.loads(view)
            call.problems = view_problems(view)
            if call.problems:
                call.error = "invalid_arguments"
                answer = {"ok": False, "error": "invalid_arguments", "messages": call.problems}
            elif method == "views.open" and not data.get("trigger_id"):
                call.error = "invalid_trigger_id"
                answer = {"ok": False, "error": "invalid_trigger_id"}
            else:
                answer["view"] = {**view, "id": f"V{next(self._ts)}"}
        elif method == "users.info":
            user = str(data.get("user", ""))
            if user in self.users:
                name = self.users[user]
                answer["user"] = {
                    "id": user,
                    "name": name.lower().replace(" ", "."),
                    "real_name": name,
                    "profile": {"real_name": name, "display_name": name.split()[0]},
                }
            else:
                call.error = "user_not_found"
                answer = {"ok": False, "error": "user_not_found"}
        elif method == "usergroups.users.list":
            group = str(data.get("usergroup", ""))
            if group in self.usergroups:
                answer["users"] = list(self.usergroups[group])
            else:
                call.error = "no_such_subteam"
                answer = {"ok": False, "error": "no_such_subteam"}
        elif method == "apps.connections.open":
            if self.socket_url is None:
                call.error = "not_allowed_token_type"
                answer = {"ok": False, "error": "not_allowed_token_type"}
            else:
                answer["url"] = self.socket_url()
        elif method == "conversations.history":
            answer.update(messages=self._history(data), has_more=False)
        with self._lock:
            self.calls.append(call)
            delay = 0.0
            for held in self.delays:
                if held[0] == method:
                    self.delays.remove(held)
                    delay = held[1]
                    break
        if delay:
            time.sleep(delay)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._send(request, 200, answer)  # the client may have given up (answer_late)

    def _history(self, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The channel's posted messages, newest first, with their metadata."""
        oldest = float(data.get("oldest") or 0)
        with self._lock:
            posted = [
                c
                for c in self.calls
                if c.method == "chat.postMessage"
                and c.ts
                and c.data.get("channel") == data.get("channel")
                and float(c.ts) >= oldest
            ]
        messages = []
        for c in reversed(posted):
            message: dict[str, Any] = {"type": "message", "ts": c.ts, "text": c.text}
            metadata = c.data.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            if metadata and str(data.get("include_all_metadata")).lower() in ("1", "true"):
                message["metadata"] = metadata
            messages.append(message)
        return messages[: int(data.get("limit") or 100)]

    def _send(
        self,
        request: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        self._send_raw(request, status, json.dumps(body).encode(), "application/json", headers)

    def _send_raw(
        self,
        request: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(body)


def _parse_body(raw: str, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        data = json.loads(raw or "{}")
    else:
        data = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    for key in ("blocks", "attachments", "view"):
        if isinstance(data.get(key), str):  # form bodies carry blocks as a JSON string
            data[key] = json.loads(data[key])
    return data


def _authorised(headers: Mapping[str, str], data: Mapping[str, Any], method: str) -> bool:
    if method == "respond":
        return True  # response_url needs no token
    auth = headers.get("authorization", "")
    if method == "apps.connections.open":  # the one method for the app-level token
        return auth.startswith("Bearer xapp-")
    return auth.startswith("Bearer xoxb-") or str(data.get("token", "")).startswith("xoxb-")


# -- signed requests, as Slack sends them --------------------------------------------------------

SIGNING_SECRET = "test-signing-secret"


def signature(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    import hashlib
    import hmac

    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str,
    content_type: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: float | None = None,
) -> dict[str, str]:
    stamp = str(int(time.time() if timestamp is None else timestamp))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(body, stamp, secret),
    }


def command_body(
    text: str,
    *,
    response_url: str,
    user: str = "U123",
    user_name: str = "ana",
    channel: str = "C999",
    command: str = "/model",
) -> str:
    from urllib.parse import urlencode

    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": "T1",
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "ml",
            "user_id": user,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": "A1",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )


def event_body(event: Mapping[str, Any], event_id: str) -> str:
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": "T1",
            "api_app_id": "A1",
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
        }
    )


def action_body(
    action_id: str,
    value: str,
    *,
    response_url: str,
    user: str = "U123",
    user_name: str = "ana",
    channel: str = "C999",
    trigger_id: str = "4.5.6",
    message_ts: str = "1700000001.000100",
) -> str:
    """A `block_actions` payload as Slack sends it when someone clicks a button."""
    from urllib.parse import urlencode

    payload = {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "test"},
        "user": {"id": user, "username": user_name, "name": user_name, "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "trigger_id": trigger_id,
        "channel": {"id": channel, "name": "ml"},
        "message": {"type": "message", "ts": message_ts, "text": "a report", "blocks": []},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "modeltrail",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(
    view: Mapping[str, Any],
    values: Mapping[str, Mapping[str, str]],
    *,
    user: str = "U123",
    user_name: str = "ana",
) -> str:
    """A `view_submission` payload for a modal the bot opened: `values` maps block_id →
    {action_id: typed text}, as Slack puts plain-text inputs in `view.state.values`."""
    from urllib.parse import urlencode

    state = {
        block: {a: {"type": "plain_text_input", "value": text} for a, text in inner.items()}
        for block, inner in values.items()
    }
    payload = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "test"},
        "user": {"id": user, "username": user_name, "name": user_name, "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "trigger_id": "7.8.9",
        "view": {
            **dict(view),
            "id": "V1",
            "team_id": "T1",
            "state": {"values": state},
            "hash": "1.abc",
        },
    }
    return urlencode({"payload": json.dumps(payload)})
