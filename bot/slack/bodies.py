"""Malformed Slack request bodies are answered 400 before Bolt sees them.

Bolt parses bodies as it goes and answers a broken one with a 500 (or a 404 "unhandled
request" for JSON that is not an object); neither tells the sender what was wrong, and a
500 looks like our bug. The body is at most 1 MiB here (the route's cap).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from modeltrail.bot.web.responses import json_response

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def problem_with(raw: bytes, content_type: str) -> str | None:
    """Why `raw` is not a body Slack sends, or None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if "json" in content_type:
        return _json_object_problem(text, "the JSON body")
    try:
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        return "the form body is malformed"
    payload = form.get("payload")
    if payload:
        return _json_object_problem(payload[0], "the payload field")
    return None


def _json_object_problem(text: str, what: str) -> str | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return f"{what} is not valid JSON"
    if not isinstance(value, dict):
        return f"{what} is not a JSON object"
    return None


def checked(app: WsgiApp) -> WsgiApp:
    """`app` behind the check; the body is handed on unchanged."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_response(start_response, "400 Bad Request", {"error": "bad length"})
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        problem = problem_with(raw, environ.get("CONTENT_TYPE", ""))
        if problem is not None:
            return json_response(start_response, "400 Bad Request", {"error": problem})
        environ["wsgi.input"] = io.BytesIO(raw)
        return app(environ, start_response)

    return guarded
