"""JSON responses for the WSGI endpoints; the server and every endpoint share this one helper."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any


def json_response(
    start_response: Callable[..., Any],
    status: str,
    body: dict[str, Any],
    *,
    headers: Sequence[tuple[str, str]] = (),
) -> list[bytes]:
    data = json.dumps(body).encode("utf-8")
    return bytes_response(start_response, status, data, "application/json", headers=headers)


def bytes_response(
    start_response: Callable[..., Any],
    status: str,
    data: bytes,
    content_type: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
) -> list[bytes]:
    start_response(
        status,
        [("Content-Type", content_type), ("Content-Length", str(len(data))), *headers],
    )
    return [data]
