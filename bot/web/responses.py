"""JSON responses for the WSGI endpoints; the server and every endpoint share this one helper."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def json_response(
    start_response: Callable[..., Any], status: str, body: dict[str, Any]
) -> list[bytes]:
    data = json.dumps(body).encode("utf-8")
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
