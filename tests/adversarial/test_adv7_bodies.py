"""Item 7 (and the HTTP half of item 9): bodies are capped per route and answered 413 before
the rest is read; rejected requests never put their body (or a response_url) in the log;
malformed Slack bodies and deeply nested monitoring JSON are 400, never a 500."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from slack_fake import signed_headers

from modeltrail.core.registry.writer import Registry

MIB = 1024 * 1024


def _raw_post(port: int, path: str, length: int, sent: bytes, **headers: str) -> tuple[str, float]:
    """POST announcing `length` bytes but sending only `sent`; the status line and how long
    the server took to answer."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + sent)
        answer = conn.recv(4096).decode("latin-1")
    return answer.split("\r\n", 1)[0], time.monotonic() - started


def test_item7_oversized_bodies_are_refused_before_they_are_read(serve, registry: Registry) -> None:
    bot = serve(api_token="t0ken")
    for path, announced in (
        ("/slack/events", 50 * MIB),  # a 50 MB bogus request
        ("/slack/events", MIB + 1),
        ("/api/monitoring/fraud", 11 * MIB),
        ("/api/monitoring/fraud", 1024**3),  # beyond every cap: waitress itself refuses
    ):
        status, took = _raw_post(bot.service.port, path, announced, b"x" * 1000)
        assert " 413 " in status, (path, announced, status)
        assert took < 2.0, "the server waited for a body it should not read"


def test_item7_rejected_requests_are_not_logged_with_their_body(
    serve, caplog: pytest.LogCaptureFixture
) -> None:
    bot = serve()
    secret_text = "SECRET-BODY-TEXT-" + "y" * 200
    body = f"text={secret_text}&response_url=https://hooks.slack.com/commands/T1/SECRETURL"
    caplog.set_level(logging.DEBUG)
    wrong = signed_headers(body, "application/x-www-form-urlencoded", secret="wrong")
    answer = bot.http.post(bot.url, content=body.encode(), headers=wrong)
    assert answer.status_code == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "SECRET-BODY-TEXT" not in logged and "SECRETURL" not in logged


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"type": "event_callback", "event": ', "application/json"),
        ("[1, 2, 3]", "application/json"),
        ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        ("\xff\xfe garbage", "application/x-www-form-urlencoded"),
    ],
)
def test_item9_malformed_slack_bodies_are_400(serve, body: str, content_type: str) -> None:
    bot = serve()
    answer = bot.http.post(
        bot.url, content=body.encode("utf-8"), headers=signed_headers(body, content_type)
    )
    assert answer.status_code == 400, answer.text
    assert "Traceback" not in answer.text


def test_item9_deeply_nested_monitoring_json_is_400(serve) -> None:
    bot = serve(api_token="t0ken")
    nested = "[" * 100_000 + "]" * 100_000
    answer = bot.http.post(
        f"http://127.0.0.1:{bot.service.port}/api/monitoring/fraud",
        content=nested.encode(),
        headers={"Authorization": "Bearer t0ken", "Content-Type": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    assert "Traceback" not in answer.text
