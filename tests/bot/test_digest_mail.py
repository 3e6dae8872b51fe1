"""The digest by email, received by a real SMTP server (aiosmtpd) on loopback and parsed with
the `email` package: the MIME structure, subject, content of the seeded week, inline charts,
the once-per-period ledger (two schedulers at once, a restart), the retry after an outage,
rejected recipients, login, STARTTLS and SSL, the summary hook, the Slack copy, the CLI."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import digest_seed
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from digest_seed import RUN_AT, clear_ledger

from modeltrail.bot.cli.main import main
from modeltrail.bot.digest_jobs import DigestScheduler
from modeltrail.bot.mail import SmtpConfig, SmtpMailer
from modeltrail.core.config import Settings
from modeltrail.core.digest.ledger import DigestLedger
from modeltrail.core.registry.writer import Registry

seeded_url = digest_seed.seeded_url  # the module-scoped seeded database, per backend

SUBJECT = (
    "modeltrail weekly digest — 3 new versions, 2 promotions, 1 rollback, "
    "4 versions retired (Nov 16–22)"
)
TEAM = ("ana@example.com", "ben@example.com")
BOUNCE = "nobody@example.com"


@dataclass
class Inbox:
    """An aiosmtpd handler: keeps what arrives, refuses chosen recipients with 550."""

    reject: set[str] = field(default_factory=set)
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def parsed(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for _, raw in self.messages
        ]

    def recipients(self) -> list[str]:
        return sorted(r for rcpts, _ in self.messages for r in rcpts)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A controller that can be stopped and started again on the same port (an outage)."""

    def __init__(self, inbox: Inbox, **smtp: Any) -> None:
        self.inbox, self.port, self.smtp = inbox, free_port(), smtp
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **self.smtp)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def inbox() -> Inbox:
    return Inbox(reject={BOUNCE})


@pytest.fixture
def smtp(inbox: Inbox) -> Iterator[Server]:
    server = Server(inbox)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def seeded(seeded_url: str) -> Iterator[Registry]:
    clear_ledger(seeded_url)
    with Registry.open(seeded_url) as registry:
        yield registry


def settings_for(server: Server, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port,
        "smtp_security": "none",
        "smtp_timeout": 5.0,
        "digest_from": "modeltrail@example.com",
        "digest_to": (*TEAM, BOUNCE),
        "digest_schedule": "mon 09:00",
        "timezone": "UTC",
    }
    values.update(extra)
    return Settings(**values)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def scheduler(
    registry: Registry, settings: Settings, clock: Clock, **kwargs: Any
) -> DigestScheduler:
    mailer = SmtpMailer(SmtpConfig.from_settings(settings))
    return DigestScheduler(registry, settings, mailer, clock=clock, **kwargs)


def statuses(registry: Registry) -> dict[str, tuple[str, int]]:
    return {d.recipient: (d.status, d.attempts) for d in DigestLedger(registry.engine).deliveries()}


# -- the message ----------------------------------------------------------------------------------


def test_the_weekly_digest_as_received(seeded: Registry, inbox: Inbox, smtp: Server) -> None:
    clock = Clock(RUN_AT + dt.timedelta(minutes=1))
    outcomes = scheduler(seeded, settings_for(smtp), clock).run_once()

    assert sorted((o.recipient, o.status) for o in outcomes) == [
        ("ana@example.com", "sent"),
        ("ben@example.com", "sent"),
        (BOUNCE, "rejected"),
    ]
    assert inbox.recipients() == list(TEAM)
    rejected = next(o for o in outcomes if o.status == "rejected")
    assert rejected.detail.startswith("550")

    message = next(m for m in inbox.parsed() if m["To"] == "ana@example.com")
    assert message["Subject"] == SUBJECT
    assert message["From"] == "modeltrail@example.com"
    assert re.fullmatch(r"<digest\.[0-9a-f]{24}@modeltrail>", message["Message-ID"])

    # multipart/alternative [text/plain, multipart/related [text/html, image/png…]]
    assert message.get_content_type() == "multipart/alternative"
    plain, related = message.get_payload()  # type: ignore[misc]
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert len(images) == 4  # auc and loss of fraud and churn (scoring is quiet)
    html = html_part.get_content()
    for image in images:
        assert image.get_content_type() == "image/png"
        assert image.get_content_disposition() == "inline"
        data = image.get_payload(decode=True)
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 2000
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html
    assert html.count('src="cid:') == len(images)

    # No scripts, no external resources, inline styles only.
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "<style" not in html.lower()
    assert not re.search(r"""(src|href)=["']https?:""", html)
    assert 'name="color-scheme" content="light dark"' in html

    # The content of the seeded week, in both parts.
    text = plain.get_content()
    for part in (text, html):
        for expected in (
            "Automatic summary (no LLM)",
            "1.0.2",
            "1.0.3",
            "1.0.4",
            "better auc",
            "auc dropped on live traffic",
            "fairness issue on segment X",
            "archived by retention",
            "auc 0.85 → 0.7",
        ):
            assert expected in part, expected
        assert "1.0.5" not in part  # registered after the week
    assert "rollback 1.0.3 → 1.0.2" in text
    assert "production: 1.0.2   golden: 1.0.0" in text
    assert "[critical] 1.0.3 vs 1.0.2" in text
    assert "No changes: scoring (production none)" in text
    assert "Bob" in text and "Cy" in text


def test_once_per_period_and_recipient_across_restarts(
    seeded: Registry, inbox: Inbox, smtp: Server, seeded_url: str
) -> None:
    settings = settings_for(smtp)
    clock = Clock(RUN_AT + dt.timedelta(minutes=1))
    scheduler(seeded, settings, clock).run_once()
    assert len(inbox.messages) == 2
    # The same process, later in the period; then a restart (new objects) in the same period.
    clock.now += dt.timedelta(hours=5)
    assert scheduler(seeded, settings, clock).run_once() == []
    with Registry.open(seeded_url) as restarted:
        assert scheduler(restarted, settings, clock).run_once() == []
    assert len(inbox.messages) == 2
    ledger = DigestLedger(seeded.engine)
    window = scheduler(seeded, settings, clock).current_window()
    assert ledger.enqueue(window, [*TEAM, BOUNCE], now=clock.now) == 0  # all there already
    assert ledger.counts() == {"sent": 2, "rejected": 1}
    assert statuses(seeded) == {
        "ana@example.com": ("sent", 1),
        "ben@example.com": ("sent", 1),
        BOUNCE: ("rejected", 1),
    }
    # Someone added to MODELTRAIL_DIGEST_TO mid-period gets this period's digest, once.
    late = settings_for(smtp, digest_to=(*TEAM, BOUNCE, "late@example.com"))
    assert [(o.recipient, o.status) for o in scheduler(seeded, late, clock).run_once()] == [
        ("late@example.com", "sent")
    ]
    assert scheduler(seeded, late, clock).run_once() == []
    assert len(inbox.messages) == 3
    # The next period is a new digest, sent once more to each.
    clock.now = RUN_AT + dt.timedelta(days=7, minutes=1)
    scheduler(seeded, settings, clock).run_once()
    assert len(inbox.messages) == 5
    following = inbox.parsed()[-1]
    assert following["Subject"] == "modeltrail weekly digest — 1 new version (Nov 23–29)"


def test_two_schedulers_at_once_send_one_email_per_recipient(
    seeded_url: str, seeded: Registry, inbox: Inbox, smtp: Server
) -> None:
    settings = settings_for(smtp)
    clock = Clock(RUN_AT + dt.timedelta(minutes=1))
    registries = [Registry.open(seeded_url), Registry.open(seeded_url)]
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []
    errors: list[BaseException] = []

    def run(registry: Registry) -> None:
        try:
            job = scheduler(registry, settings, clock)
            barrier.wait()
            for _ in range(3):
                outcomes.extend(job.run_once())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in registries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for registry in registries:
        registry.close()
    assert not errors
    assert inbox.recipients() == list(TEAM)  # exactly one message each
    assert sorted(o.status for o in outcomes) == ["rejected", "sent", "sent"]


def test_a_scheduler_whose_slow_summary_outlasts_the_lease_sends_nothing(
    seeded_url: str, seeded: Registry, inbox: Inbox, smtp: Server
) -> None:
    """Scheduler A claims the digest and its LLM summary takes longer than the lease; B takes
    the rows over meanwhile and sends them. A, back from its summary, must not send again."""
    settings = settings_for(smtp, digest_to=TEAM)
    clock = Clock(RUN_AT + dt.timedelta(minutes=1))
    with Registry.open(seeded_url) as other:
        b = scheduler(other, settings, clock)
        taken_over: list[Any] = []

        def slow_summary(_digest: Any) -> str:
            if not taken_over:
                clock.now += dt.timedelta(minutes=10)  # longer than the 5-minute lease
                taken_over.extend(b.run_once())  # B claims the expired rows and sends them
            return "A busy week for fraud."

        a = scheduler(seeded, settings, clock, summarize=slow_summary)
        outcomes = a.run_once()
    assert sorted(o.status for o in taken_over) == ["sent", "sent"]
    assert sorted(o.status for o in outcomes) == ["lost", "lost"]
    assert inbox.recipients() == list(TEAM)  # one message each, B's
    assert {r: s for r, (s, _) in statuses(seeded).items()} == dict.fromkeys(TEAM, "sent")


def test_smtp_outage_keeps_the_digest_queued_and_retries(
    seeded: Registry, inbox: Inbox, smtp: Server
) -> None:
    settings = settings_for(smtp, digest_to=TEAM)
    clock = Clock(RUN_AT + dt.timedelta(minutes=1))
    job = scheduler(seeded, settings, clock)
    smtp.stop()
    outcomes = job.run_once()
    assert [o.status for o in outcomes] == ["pending", "pending"]
    assert "unavailable" in outcomes[0].detail
    assert statuses(seeded) == {r: ("pending", 1) for r in TEAM}
    # Still down at the first retry: the backoff grows (5 s, then 10 s).
    clock.now += dt.timedelta(seconds=5)
    assert [o.status for o in job.run_once()] == ["pending", "pending"]
    smtp.start()
    clock.now += dt.timedelta(seconds=9)
    assert job.run_once() == []  # not due yet
    clock.now += dt.timedelta(seconds=1)
    assert sorted(o.status for o in job.run_once()) == ["sent", "sent"]
    assert inbox.recipients() == list(TEAM)
    assert statuses(seeded) == {r: ("sent", 3) for r in TEAM}
    clock.now += dt.timedelta(hours=1)
    assert job.run_once() == []
    assert len(inbox.messages) == 2


def test_a_temporary_refusal_is_retried_not_dropped(
    seeded: Registry, inbox: Inbox, smtp: Server
) -> None:
    class Busy(Inbox):
        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
        ) -> str:
            if address in self.reject:
                return "451 4.3.0 try again later"
            return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    busy = Busy(reject={"ben@example.com"})
    server = Server(busy)
    server.start()
    try:
        clock = Clock(RUN_AT + dt.timedelta(minutes=1))
        job = scheduler(seeded, settings_for(server, digest_to=TEAM), clock)
        assert sorted((o.recipient, o.status) for o in job.run_once()) == [
            ("ana@example.com", "sent"),
            ("ben@example.com", "pending"),
        ]
        busy.reject.clear()
        clock.now += dt.timedelta(seconds=5)
        assert [(o.recipient, o.status) for o in job.run_once()] == [("ben@example.com", "sent")]
    finally:
        server.stop()
    assert sorted(r for rcpts, _ in busy.messages for r in rcpts) == list(TEAM)


def test_a_quiet_week_is_short(seeded: Registry, inbox: Inbox, smtp: Server) -> None:
    clock = Clock(RUN_AT + dt.timedelta(days=14, minutes=1))  # Nov 30 – Dec 6: nothing
    scheduler(seeded, settings_for(smtp, digest_to=TEAM[:1]), clock).run_once()
    [message] = inbox.parsed()
    assert message["Subject"] == "modeltrail weekly digest — quiet week (Nov 30–Dec 6)"
    plain, html = message.get_payload()  # type: ignore[misc]
    text = plain.get_content()
    assert "Quiet week: nothing happened in the registry." in text
    assert (
        "Nothing was registered, promoted, rolled back or retired in 3 models during Nov 30–Dec 6"
        in text
    )
    assert "fraud: production 1.0.2, golden 1.0.0" in text
    assert "churn: production 1.0.4, golden none" in text
    assert html.get_content_type() == "text/html"  # no charts, so no multipart/related
    assert "Quiet week." in html.get_content()
    assert len(text.splitlines()) < 15


# -- the summary, teams, Slack --------------------------------------------------------------------


def test_the_llm_summary_goes_on_top_and_a_failing_one_falls_back(
    seeded: Registry, inbox: Inbox, smtp: Server
) -> None:
    clock = Clock(RUN_AT + dt.timedelta(minutes=1))
    settings = settings_for(smtp, digest_to=TEAM[:1])
    job = scheduler(seeded, settings, clock, summarize=lambda d: "A busy week for fraud.")
    job.run_once()
    text = inbox.parsed()[0].get_payload()[0].get_content()  # type: ignore[index]
    assert "Summary: A busy week for fraud." in text and "Automatic summary" not in text

    def broken(_digest: Any) -> str:
        raise RuntimeError("LLM down")

    clock.now += dt.timedelta(days=7)
    scheduler(seeded, settings, clock, summarize=broken).run_once()
    text = inbox.parsed()[1].get_payload()[0].get_content()  # type: ignore[index]
    assert "Automatic summary (no LLM): 1 of 3 models changed during Nov 23–29" in text


def test_team_addresses_get_only_their_models_and_slack_gets_a_copy(
    seeded: Registry, inbox: Inbox, smtp: Server
) -> None:
    seeded.set_model_setting("churn", "digest.to", ["churn-team@example.com"], actor="ops")
    try:
        posts: list[tuple[str, str]] = []
        settings = settings_for(
            smtp, digest_to=TEAM[:1], digest_slack=True, slack_channel="C0DIGEST"
        )
        clock = Clock(RUN_AT + dt.timedelta(minutes=1))
        job = scheduler(seeded, settings, clock, slack_post=lambda c, t: posts.append((c, t)))
        outcomes = job.run_once()
        job.run_once()
    finally:
        seeded.set_model_setting("churn", "digest.to", [], actor="ops")
    assert sorted((o.recipient, o.status) for o in outcomes) == [
        ("ana@example.com", "sent"),
        ("churn-team@example.com", "sent"),
        ("slack:C0DIGEST", "sent"),
    ]
    by_to = {m["To"]: m for m in inbox.parsed()}
    team = by_to["churn-team@example.com"]
    assert team["Subject"] == ("modeltrail weekly digest — 4 versions retired (Nov 16–22)")
    team_text = team.get_payload()[0].get_content()  # type: ignore[index]
    assert "churn" in team_text and "fraud" not in team_text
    assert by_to["ana@example.com"]["Subject"] == SUBJECT
    [(channel, text)] = posts  # once, though the scheduler ran twice
    assert channel == "C0DIGEST"
    assert SUBJECT in text and "auc dropped on live traffic" in text


# -- SMTP security and login -----------------------------------------------------------------------


def test_login_and_a_refused_login_without_leaking_the_password(
    seeded: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = data.login == b"digest" and data.password == b"s3cret-pw"
        return AuthResult(success=ok, handled=False)

    inbox = Inbox()
    server = Server(inbox, authenticator=authenticator, auth_require_tls=False)
    server.start()
    try:
        clock = Clock(RUN_AT + dt.timedelta(minutes=1))
        wrong = settings_for(
            server, digest_to=TEAM[:1], smtp_username="digest", smtp_password="wrong-pw-123"
        )
        job = scheduler(seeded, wrong, clock)
        [outcome] = job.run_once()
        assert outcome.status == "pending" and "login refused" in outcome.detail
        assert "wrong-pw-123" not in repr(wrong) and "wrong-pw-123" not in caplog.text
        right = settings_for(
            server, digest_to=TEAM[:1], smtp_username="digest", smtp_password="s3cret-pw"
        )
        clock.now += dt.timedelta(seconds=5)
        assert [o.status for o in scheduler(seeded, right, clock).run_once()] == ["sent"]
    finally:
        server.stop()
    assert inbox.recipients() == [TEAM[0]]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_starttls_and_ssl(seeded: Registry, certificate: tuple[Path, Path], security: str) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox = Inbox()
    if security == "starttls":
        server = Server(inbox, tls_context=server_tls, require_starttls=True)
    else:
        server = Server(inbox, ssl_context=server_tls)
    server.start()
    try:
        settings = settings_for(server, smtp_security=security, digest_to=TEAM[:1])
        mailer = SmtpMailer(
            SmtpConfig.from_settings(settings), tls=ssl.create_default_context(cafile=str(cert))
        )
        clock = Clock(RUN_AT + dt.timedelta(minutes=1))
        job = DigestScheduler(seeded, settings, mailer, clock=clock)
        assert [o.status for o in job.run_once()] == ["sent"]
        # A client that does not trust the certificate sends nothing, and keeps the digest.
        clock.now += dt.timedelta(days=7)
        untrusting = DigestScheduler(
            seeded, settings, SmtpMailer(SmtpConfig.from_settings(settings)), clock=clock
        )
        assert [o.status for o in untrusting.run_once()] == ["pending"]
    finally:
        server.stop()
    assert len(inbox.messages) == 1


# -- the CLI ------------------------------------------------------------------------------------


def test_cli_preview_send_and_status(
    seeded_url: str,
    seeded: Registry,
    inbox: Inbox,
    smtp: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = ["--db", seeded_url]
    page = tmp_path / "digest.html"
    assert (
        main(
            [
                *db,
                "digest",
                "preview",
                "--until",
                "2026-11-22",
                "--format",
                "html",
                "--out",
                str(page),
            ]
        )
        == 0
    )
    html = page.read_text()
    assert 'src="data:image/png;base64,' in html and "cid:" not in html
    assert "wrote" in capsys.readouterr().out
    assert (
        main([*db, "digest", "preview", "--until", "2026-11-22", "--model", "fraud", "--no-charts"])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith(
        "modeltrail weekly digest — 3 new versions, 2 promotions, 1 rollback (Nov 16–22)"
    )
    eml = tmp_path / "digest.eml"
    assert (
        main(
            [
                *db,
                "digest",
                "preview",
                "--until",
                "2026-11-22",
                "--format",
                "eml",
                "--out",
                str(eml),
            ]
        )
        == 0
    )
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"

    for key, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_SECURITY": "none",
        "SMTP_PASSWORD": "never-printed",
        "MODELTRAIL_DIGEST_FROM": "modeltrail@example.com",
    }.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    to = f"ana@example.com,{BOUNCE}"
    code = main([*db, "digest", "send", "--until", "2026-11-22", "--to", to])
    out = capsys.readouterr().out
    assert code == 1  # one recipient was rejected
    assert "sent to ana@example.com" in out and f"REJECTED {BOUNCE}: 550" in out
    assert "never-printed" not in out
    assert inbox.recipients() == ["ana@example.com"]
    assert inbox.parsed()[0]["Subject"] == SUBJECT

    assert main([*db, "digest", "send", "--to", "not-an-address"]) == 2
    assert main([*db, "digest", "status"]) == 0
    assert "no digest deliveries yet" in capsys.readouterr().out


# -- serve -------------------------------------------------------------------------------------


def test_serve_runs_the_scheduler(seeded: Registry, inbox: Inbox, smtp: Server) -> None:
    import time

    from modeltrail.bot.web.server import build_service
    from modeltrail.core.errors import ConfigError

    with pytest.raises(ConfigError, match="schedule"):
        build_service(settings_for(smtp, digest_schedule="someday"), seeded)
    with pytest.raises(ConfigError, match="timezone"):
        build_service(settings_for(smtp, timezone="Mars/Olympus"), seeded)
    with pytest.raises(ConfigError, match="SMTP_HOST"):
        build_service(settings_for(smtp, smtp_host=None), seeded)

    service = build_service(settings_for(smtp, digest_to=TEAM[:1], http_port=0), seeded)
    assert isinstance(service.digest_scheduler, DigestScheduler)
    service.start()
    try:
        deadline = time.monotonic() + 20
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        service.stop()
    assert inbox.recipients() == [TEAM[0]]  # the current period, whichever it is
    assert not any(t.is_alive() for t in service.threads if t.name == "digest-scheduler")
