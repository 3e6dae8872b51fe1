"""`serve`'s log: the level, and one JSON object a line with MODELTRAIL_LOG_FORMAT=json."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from modeltrail.bot.logs import configure_logging
from modeltrail.core.config import Settings


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_time_level_logger_message_and_exception() -> None:
    stream = io.StringIO()
    configure_logging(Settings(log_format="json", log_level="info"), stream)
    log = logging.getLogger("modeltrail.test")
    log.debug("not at info")
    log.info("posted %s to %s", "1.0.2", "#fraud")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("delivery failed")
    lines = stream.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert [e["message"] for e in entries] == ["posted 1.0.2 to #fraud", "delivery failed"]
    assert entries[0]["level"] == "info" and entries[0]["logger"] == "modeltrail.test"
    assert entries[0]["time"].endswith("Z") and "T" in entries[0]["time"]
    assert "RuntimeError: boom" in entries[1]["exception"]
    assert "exception" not in entries[0]


def test_text_format_and_the_level_filter() -> None:
    stream = io.StringIO()
    configure_logging(Settings(log_format="text", log_level="warning"), stream)
    log = logging.getLogger("modeltrail.test")
    log.info("quiet")
    log.warning("loud")
    (line,) = stream.getvalue().splitlines()
    assert line.endswith("WARNING modeltrail.test: loud")
