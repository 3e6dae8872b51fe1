"""Slack reports and digest emails link to the pages when MODELTRAIL_PUBLIC_URL is set; each
link carries a signed token that opens that model's page without any other credential."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from bot_fixtures import REPORTS, make_settings, seed
from slack_fake import FakeSlack

from modeltrail.bot.cli.main import main
from modeltrail.bot.slack.app import web_client
from modeltrail.bot.slack.dispatcher import SlackDispatcher
from modeltrail.bot.web.server import Service, build_service
from modeltrail.core.config import Settings
from modeltrail.core.registry.writer import Registry

SECRET = "page-link-secret-for-tests"


@pytest.fixture
def pages(registry: Registry) -> Iterator[Service]:
    """`serve` showing the pages, with the link secret the reports sign with."""
    running = build_service(Settings(http_port=0, link_secret=SECRET), registry)
    running.start()
    yield running
    running.stop()


def _report(registry: Registry, slack: FakeSlack, **settings: object) -> str:
    seed(registry, 0.91, 0.80)  # 1.0.1 regresses auc
    registry.promote("fraud", "1.0.0", actor="ada")
    registry.promote("fraud", "1.0.1", actor="ada", force=True, reason="hotfix")
    config = make_settings(slack, **settings)
    dispatcher = SlackDispatcher(registry, web_client(config), config)
    while dispatcher.run_once():
        pass
    return slack.posts(REPORTS)[-1].all_text


def test_a_promotion_report_links_to_the_diff_page_which_opens(
    registry: Registry, slack: FakeSlack, pages: Service
) -> None:
    base = f"http://127.0.0.1:{pages.port}"
    text = _report(registry, slack, public_url=base, link_secret=SECRET)
    links = dict((label, url) for url, label in re.findall(r"<(http[^|>]+)\|([^>]+)>", text))
    assert set(links) == {"See the whole diff", "fraud 1.0.1", "All versions of fraud"}
    assert links["See the whole diff"].startswith(f"{base}/m/fraud/diff/1.0.0/1.0.1?t=")
    diff = httpx.get(links["See the whole diff"])  # no token header: the link is enough
    assert diff.status_code == 200
    assert "fraud 1.0.1 vs 1.0.0" in diff.text and "auc" in diff.text
    assert httpx.get(links["fraud 1.0.1"]).status_code == 200
    assert httpx.get(links["All versions of fraud"]).status_code == 200
    # The token is for this model only.
    token = links["All versions of fraud"].split("?t=")[1]
    assert httpx.get(f"{base}/m/other", params={"t": token}).status_code == 401


def test_without_a_public_url_reports_have_no_links(registry: Registry, slack: FakeSlack) -> None:
    assert "/m/fraud" not in _report(registry, slack)


def test_the_digest_links_each_model_to_its_page(
    registry: Registry,
    pages: Service,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(registry, 0.9, 0.92)
    base = f"http://127.0.0.1:{pages.port}"
    monkeypatch.setenv("MODELTRAIL_PUBLIC_URL", base)
    monkeypatch.setenv("MODELTRAIL_LINK_SECRET", SECRET)
    args = ["--db", db_url, "digest", "preview", "--days", "7", "--no-charts"]
    assert main([*args, "--format", "text"]) == 0
    (url,) = re.findall(r"^page: (\S+)$", capsys.readouterr().out, re.M)
    assert url.startswith(f"{base}/m/fraud?t=")
    page = httpx.get(url)
    assert page.status_code == 200 and "1.0.1" in page.text
    assert main([*args, "--format", "html"]) == 0
    (href,) = re.findall(r'<a href="([^"]+)"', capsys.readouterr().out)
    assert href.startswith(f"{base}/m/fraud?t=") and httpx.get(href).status_code == 200
