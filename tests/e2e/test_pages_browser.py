"""The pages in a real headless browser (Debian's chromium): opened through a signed link as a
teammate would from Slack, the model page loads with its stage marks and draws its metric
chart, the version page shows the record, and the diff page shows the planted regression.

The set-up installs chromium with apt when it is missing in CI (CI=true); elsewhere a machine
without it skips these tests.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from modeltrail.bot.web.links import page_url
from modeltrail.bot.web.server import Service, build_service
from modeltrail.core.config import Settings
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry

SECRET = "browser-test-link-secret"
IN_CI = os.environ.get("CI", "").lower() == "true"  # read before the environment is scrubbed
AUCS = [0.81, 0.84, 0.88, 0.90, 0.72]  # 1.0.4 is the planted regression


def _chromium() -> str | None:
    found = shutil.which("chromium")
    if found is None and IN_CI:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env)
        found = shutil.which("chromium")
    return found


@pytest.fixture(scope="module")
def chromium() -> str:
    found = _chromium()
    if found is None:
        if IN_CI:
            pytest.fail("chromium is required in CI and could not be installed")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Service, Registry]]:
    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    for auc in AUCS:
        registry.register(
            VersionDraft(
                "fraud",
                params={"optimizer": {"lr": 0.01}},
                metric_points={"auc": [(0, auc, 1_790_000_000.0)]},
            ),
            actor="trainer",
        )
    registry.set_metric_goal("fraud", "auc", "maximize", 0.01, actor="lead")
    registry.promote("fraud", "1.0.3", actor="ops", force=True, reason="best")
    registry.set_golden("fraud", "1.0.1", actor="lead", reason="baseline")
    running = build_service(
        Settings(http_port=0, link_secret=SECRET, public_url="http://127.0.0.1"), registry
    )
    running.start()
    yield running, registry
    running.stop()
    registry.close()


def _browse(chromium: str, url: str, profile: Path, *extra: str) -> str:
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _url(service: Service, *tail: str) -> str:
    base = f"http://127.0.0.1:{service.port}"
    return page_url(base, "fraud", *tail, secret=SECRET, now=dt.datetime.now(dt.UTC))


def test_the_model_page_loads_with_stage_marks_and_draws_the_chart(
    chromium: str, site: tuple[Service, Registry], tmp_path: Path
) -> None:
    service, _ = site
    url = _url(service)
    dom = _browse(chromium, url, tmp_path / "profile", "--dump-dom")
    assert "<h1>fraud</h1>" in dom
    svg = re.search(r'<svg class="metric-chart" data-metric="auc".*?</svg>', dom, re.S)
    assert svg is not None, dom[:2000]
    points = re.findall(r'<circle [^>]*data-version="([^"]+)"', svg.group(0))
    assert points == ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4"]
    assert re.search(r'data-version="1.0.3" data-stage="production"', dom)
    assert 'class="golden"' in dom
    # Links between pages carry the link token on, so a click-through needs no login.
    assert re.search(r'href="/m/fraud/1\.0\.4\?t=[^"]+"', dom)

    # The chart is drawn: the screenshot holds the chart's line colour and both markers.
    shot = tmp_path / "model.png"
    _browse(
        chromium,
        url,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1000,900",
        "--hide-scrollbars",
    )
    from PIL import Image  # Pillow comes with matplotlib, the digest extra

    colours = {c for _, c in Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 24)}
    for hex_colour in ("2563eb", "15803d", "b45309"):  # line, production, golden
        wanted = tuple(int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))
        assert wanted in colours, f"#{hex_colour} not drawn"


def test_the_version_and_diff_pages_show_the_record_and_the_regression(
    chromium: str, site: tuple[Service, Registry], tmp_path: Path
) -> None:
    service, _ = site
    record = _browse(chromium, _url(service, "production"), tmp_path / "p1", "--dump-dom")
    assert "fraud 1.0.3" in record and "optimizer.lr" in record
    assert re.search(r'<mark class="stage-production">production</mark>', record)

    diff = _browse(chromium, _url(service, "diff", "1.0.3", "1.0.4"), tmp_path / "p2", "--dump-dom")
    assert "fraud 1.0.4 vs 1.0.3" in diff
    text = re.sub(r"<[^>]+>", " ", diff)
    assert re.search(r"auc", text) and re.search(r"regress", text, re.I), text[:3000]
    assert "0.72" in text and "0.9" in text


def test_without_the_link_the_browser_gets_401(
    chromium: str, site: tuple[Service, Registry], tmp_path: Path
) -> None:
    service, _ = site
    dom = _browse(
        chromium, f"http://127.0.0.1:{service.port}/m/fraud", tmp_path / "p", "--dump-dom"
    )
    assert "401" in dom and "metric-chart" not in dom
