"""A feature whose extra is not installed says which one in one line and exits 1.

Each command runs in a fresh interpreter in which the extra's libraries cannot be imported
(None in sys.modules is how Python itself marks a module as unimportable), so the real
import machinery fails exactly as on a core-only install.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from modeltrail.core.extras import EXTRAS

PROBE = """
import json, sys
hidden = json.loads(sys.argv[1])
sys.modules.update(dict.fromkeys(hidden))
from modeltrail.bot.cli.main import main
code = main(sys.argv[2:])
sys.stdout.flush()
loaded = sorted({m.split('.')[0] for m, v in sys.modules.items() if v is not None})
print("\\n" + json.dumps(loaded), file=sys.stderr)
sys.exit(code)
"""
EVERY_EXTRA = tuple(m for modules in EXTRAS.values() for m in modules)
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")


def run(
    tmp_path: Path, hidden: tuple[str, ...], *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(hidden), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environ,
        timeout=120,
    )


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What the command said on stderr, less `serve`'s log records and the probe's list."""
    lines = result.stderr.splitlines()[:-1]
    return [line for line in lines if line.strip() and not LOG_RECORD.match(line)]


def loaded(result: subprocess.CompletedProcess[str]) -> set[str]:
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


def test_serve_with_a_slack_token_and_no_slack_extra(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        EXTRAS["slack"],
        "--db",
        db(tmp_path),
        "serve",
        "--port",
        "0",
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="s",
    )
    assert result.returncode == 1
    assert error_lines(result) == [
        "error: the Slack bot (SLACK_BOT_TOKEN is set) needs the slack extra: "
        "pip install 'modeltrail[slack]'"
    ]
    assert "Traceback" not in result.stderr


def test_ask_with_an_llm_configured_and_no_llm_extra(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        EXTRAS["llm"],
        "--db",
        db(tmp_path),
        "ask",
        "what is in production for fraud?",
        OPENAI_API_KEY="sk-test",
    )
    assert result.returncode == 1
    assert error_lines(result) == [
        "error: the LLM (OPENAI_API_KEY or OPENAI_BASE_URL is set) needs the llm extra: "
        "pip install 'modeltrail[llm]'"
    ]


def test_ask_without_an_llm_needs_no_extra(tmp_path: Path) -> None:
    result = run(tmp_path, EVERY_EXTRA, "--db", db(tmp_path), "ask", "list models")
    assert result.returncode == 0, result.stderr
    assert not loaded(result) & set(EVERY_EXTRA)


def test_serve_without_slack_needs_no_extra(tmp_path: Path) -> None:
    """The core's serve: /healthz, /metrics, the read API and the monitoring POST."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    environ.update(MODELTRAIL_HTTP_PORT=str(port), MODELTRAIL_LOG_LEVEL="warning")
    server = subprocess.Popen(
        [sys.executable, "-c", PROBE, json.dumps(EVERY_EXTRA), "--db", db(tmp_path), "serve"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate(timeout=10)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    assert b"modeltrail_database_up 1.0" in r.read()
                    break
            except OSError:
                assert time.monotonic() < deadline, "serve did not answer in 60 s"
                time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    assert not set(json.loads(err.strip().splitlines()[-1])) & set(EVERY_EXTRA)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_text_digest_needs_no_matplotlib_and_the_html_one_says_so(tmp_path: Path) -> None:
    text = run(tmp_path, EVERY_EXTRA, "--db", db(tmp_path), "digest", "preview")
    assert text.returncode == 0, text.stderr
    assert "digest" in text.stdout
    assert not loaded(text) & set(EVERY_EXTRA)

    html = run(
        tmp_path, EXTRAS["digest"], "--db", db(tmp_path), "digest", "preview", "--format", "html"
    )
    assert html.returncode == 1
    assert error_lines(html) == [
        "error: drawing the digest's metric charts needs the digest extra: "
        "pip install 'modeltrail[digest]'"
    ]
    charts_off = run(
        tmp_path,
        EXTRAS["digest"],
        "--db",
        db(tmp_path),
        "digest",
        "preview",
        "--format",
        "html",
        "--no-charts",
    )
    assert charts_off.returncode == 0, charts_off.stderr
    assert charts_off.stdout.lstrip().lower().startswith("<!doctype html")


def test_a_postgres_registry_without_the_postgres_extra(tmp_path: Path) -> None:
    result = run(
        tmp_path, EXTRAS["postgres"], "--db", "postgresql://nobody@127.0.0.1:1/none", "list"
    )
    assert result.returncode == 1
    assert error_lines(result) == [
        "error: a PostgreSQL registry needs the postgres extra: pip install 'modeltrail[postgres]'"
    ]


def test_the_demo_runs_with_every_extra_missing(tmp_path: Path) -> None:
    """The README's first command installs the core only."""
    result = run(tmp_path, EVERY_EXTRA, "demo", "--dir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert not loaded(result) & set(EVERY_EXTRA)


def test_serve_with_a_digest_schedule_and_no_digest_extra_says_so_at_start(
    tmp_path: Path,
) -> None:
    result = run(
        tmp_path,
        EXTRAS["digest"],
        "--db",
        db(tmp_path),
        "serve",
        "--port",
        "0",
        MODELTRAIL_DIGEST_SCHEDULE="mon 09:00",
        SMTP_HOST="127.0.0.1",
    )
    assert result.returncode == 1
    assert error_lines(result) == [
        "error: drawing the scheduled digest's charts (MODELTRAIL_DIGEST_SCHEDULE is set) needs "
        "the digest extra: pip install 'modeltrail[digest]'"
    ]
