"""Rendering: Jinja2 environments per output format, and the filters the templates share.

Templates are loaded from this package (PackageLoader), never from a path relative to the
working directory. HTML is autoescaped; markdown escapes table pipes through `md`; Slack text
escapes `&`, `<`, `>` through `slack`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from functools import cache
from typing import Any, Literal

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined

Format = Literal["text", "md", "html", "slack", "prompt"]
FORMATS: tuple[str, ...] = ("text", "md", "html")


def num(value: Any, digits: int = 4) -> str:
    """Numbers as people read them: 0.912, 1.2e-05, 20, 1,200,000."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 100_000 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        if value == int(value) and abs(value) < 1e15:
            return str(int(value)) if abs(value) < 100_000 else f"{int(value):,}"
        return f"{value:.{digits}g}"
    return str(value)


def signed(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    text = num(value, digits)
    return text if text.startswith("-") or value == 0 else f"+{text}"


def pct(value: float | None) -> str:
    """A relative change as a signed percentage: -0.0164 -> -1.6%."""
    if value is None or not math.isfinite(value):
        return "n/a"
    percent = value * 100
    if abs(percent) >= 100:
        return f"{percent:+,.0f}%"
    return f"{percent:+.1f}%"


def size(value: int | None) -> str:
    if value is None:
        return "—"
    amount = float(abs(value))
    sign = "-" if value < 0 else ""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{sign}{amount:.0f} {unit}" if unit == "B" else f"{sign}{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} B"


def signed_size(value: int | None) -> str:
    if value is None:
        return "—"
    return ("+" if value >= 0 else "") + size(value)


def short(digest: str | None, length: int = 12) -> str:
    if not digest:
        return "—"
    if digest.startswith("md5:"):
        return "md5:" + digest[4 : 4 + length]
    return digest[:length]


def value(item: Any) -> str:
    """A param value as written in a params file: strings bare, the rest as JSON."""
    import json

    if isinstance(item, str):
        return item
    if isinstance(item, float | int) and not isinstance(item, bool):
        return num(item, 6)
    return json.dumps(item, ensure_ascii=False)


def md(text: Any) -> str:
    """Escape for a markdown table cell or inline text: pipes, backticks, newlines."""
    return (
        str(text)
        .replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("`", "\\`")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def slack(text: Any) -> str:
    """Slack's mrkdwn control characters, so registry text can never ping or forge a link."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d")


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


FILTERS = {
    "num": num,
    "signed": signed,
    "pct": pct,
    "size": size,
    "signed_size": signed_size,
    "short": short,
    "value": value,
    "md": md,
    "slack": slack,
    "when": when,
    "day": day,
    "plural": plural,
}


class _BytecodeCache(FileSystemBytecodeCache):
    """Compiled templates kept between processes (Jinja's own per-user cache directory, keyed
    by each template's source checksum): compiling answers.j2 and its imports costs a fresh
    `modeltrail ask` more than everything else it does. A cache that cannot be written is
    skipped, never an error."""

    def dump_bytecode(self, bucket: Any) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache(fmt: str) -> FileSystemBytecodeCache | None:
    # One file name per output format: the same source compiles differently with and without
    # autoescape, and a text build loaded into the HTML environment would not escape.
    try:
        return _BytecodeCache(pattern=f"__modeltrail_{fmt}_%s.cache")
    except (OSError, RuntimeError):  # no safe per-user directory: compile every time
        return None


@cache
def environment(fmt: str) -> Environment:
    env = Environment(
        bytecode_cache=_bytecode_cache(fmt),
        loader=PackageLoader("modeltrail.templates", "."),
        # Every template of the HTML environment escapes, the shared plain-text macros
        # (_headline.j2) included: a macro's output counts as safe where it is called.
        autoescape=fmt == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(FILTERS)
    return env


def render(template: str, fmt: str = "text", **context: Any) -> str:
    """Render `templates/<template>` (e.g. "diff.md.j2") with the given values."""
    return environment(fmt).get_template(template).render(**context)
