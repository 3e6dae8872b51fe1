"""`modeltrail serve --workers N` as users run it: a real process tree on a real port.

Which worker answered a connection is read from the kernel, not from the product: the
server's end of a kept-alive connection is a socket only the process that accepted it holds
(/proc/net/tcp gives its inode, /proc/PID/fd who holds it). Linux only, like SO_REUSEPORT's
load spreading.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_fake import SIGNING_SECRET, FakeSlack, command_body, signed_headers

from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc to see which worker answered"
)

TOKEN = "workers-test-token"
MODELTRAIL = (sys.executable, "-m", "modeltrail")
CONNECTIONS = 24  # all on one of two workers by chance: 2 × 2^-24


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    tmp: Path

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except FileNotFoundError:
            return []

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def get(self, conn: http.client.HTTPConnection, path: str) -> tuple[int, Any]:
        conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
        response = conn.getresponse()
        body = response.read()
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(body) if is_json else body.decode()

    def owner(self, conn: http.client.HTTPConnection) -> int:
        """The pid of the worker holding the server's end of `conn`."""
        assert conn.sock is not None
        client_port = conn.sock.getsockname()[1]
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote = fields[1], fields[2]
                if _port(local) == self.port and _port(remote) == client_port:
                    inodes.add(f"socket:[{fields[9]}]")
        for pid in self.children():
            for fd in _fds(pid):
                if _readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
        raise AssertionError(f"no worker holds the connection from port {client_port}")

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        conn = self.connect()
        status, text = self.get(conn, "/metrics")
        conn.close()
        assert status == 200
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def api_answers(self) -> float:
        key = (("method", "GET"), ("route", "/api/*"), ("status", "200"))
        return self.scrape().get(("modeltrail_http_request_duration_seconds_count", key), 0.0)

    def stderr(self) -> str:
        return self.log.read_text()


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1], 16)


def _fds(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/fd")
    except (FileNotFoundError, PermissionError):
        return []


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """Running (a zombie left to a parent that does not reap counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def run(db_url: str, workers: int = 2, children: int | None = None, **env: str) -> Served:
        port = free_port()
        tmp = tmp_path / "tmp"
        tmp.mkdir(exist_ok=True)
        environ = {
            **os.environ,
            "MODELTRAIL_HTTP_PORT": str(port),
            "MODELTRAIL_API_TOKEN": TOKEN,
            "TMPDIR": str(tmp),  # where serve makes its metrics directory
            **env,
        }
        log = tmp_path / f"serve-{len(started)}.log"
        with log.open("wb") as err:
            process = subprocess.Popen(
                [*MODELTRAIL, "--db", db_url, "serve", "--workers", str(workers)],
                cwd=tmp_path,
                env=environ,
                stdout=err,
                stderr=err,
            )
        served = Served(process, port, log, tmp)
        started.append(served)

        def up() -> bool:
            assert process.poll() is None, served.stderr()
            if len(served.children()) != (workers if children is None else children):
                return False
            try:
                return served.get(served.connect(), "/healthz")[0] == 200
            except OSError:
                return False

        wait_until(up, "serve to answer /healthz", timeout=60)
        return served

    yield run
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(timeout=30)


def register(db_url: str, model: str = "m", **params: Any) -> str:
    with Registry.open(db_url) as registry:
        return registry.register(VersionDraft(model, params=params), actor="trainer").version


def metrics_dirs(served: Served) -> list[Path]:
    return list(served.tmp.glob("modeltrail-metrics-*"))


def stop(served: Served, signum: int = signal.SIGTERM) -> None:
    workers = served.children()
    served.process.send_signal(signum)
    assert served.process.wait(timeout=30) == 0, served.stderr()
    wait_until(lambda: not any(_alive(pid) for pid in workers), "the workers to end", 10)
    assert "stopping…" in served.stderr()
    assert metrics_dirs(served) == []  # gone too


def test_workers_answer_count_together_and_see_every_write(
    db_url: str, start: Callable[..., Served]
) -> None:
    register(db_url, lr=0.1)
    served = start(db_url)
    workers = set(served.children())
    conns = [served.connect() for _ in range(CONNECTIONS)]
    for conn in conns:
        status, body = served.get(conn, "/api/models/m/versions/latest")
        assert (status, body["version"], body["params"]) == (200, "1.0.0", {"lr": 0.1})
    assert {served.owner(conn) for conn in conns} == workers  # both workers answered

    metrics = served.scrape()
    assert served.api_answers() == CONNECTIONS  # summed over the workers
    miss = ("modeltrail_api_cache_answers_total", (("result", "miss"),))
    hit = ("modeltrail_api_cache_answers_total", (("result", "hit"),))
    assert metrics[miss] == len(workers)  # each worker built the answer once, then cached it
    assert metrics[hit] == CONNECTIONS - len(workers)

    # A write by another process (the CLI) is seen at once by every worker's cache.
    write = ["register", "m", "--no-git", "--no-env", "--param", "lr=0.2", "--actor", "ci"]
    cli = subprocess.run(
        [*MODELTRAIL, "--db", db_url, *write],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    for conn in conns:
        status, body = served.get(conn, "/api/models/m/versions/latest")
        assert (status, body["version"], body["params"]) == (200, "1.0.1", {"lr": 0.2})
    assert {served.owner(conn) for conn in conns} == workers

    status, health = served.get(served.connect(), "/healthz")
    assert (status, health["status"], health["database"]) == (200, "ok", "ok")
    for conn in conns:
        conn.close()
    stop(served, signal.SIGINT)


def test_a_killed_worker_is_replaced_and_its_counts_kept(
    db_url: str, start: Callable[..., Served]
) -> None:
    register(db_url)
    served = start(db_url)
    first = served.children()
    before = [served.connect() for _ in range(CONNECTIONS)]
    for conn in before:
        assert served.get(conn, "/api/models/m/versions/1.0.0")[0] == 200
    victim = served.owner(before[0])
    os.kill(victim, signal.SIGKILL)

    replaced = wait_until(
        lambda: (kids := served.children()) and len(kids) == 2 and victim not in kids and kids,
        "a new worker in place of the killed one",
    )
    assert set(replaced) - set(first)
    assert f"(pid {victim}) was killed by SIGKILL" in served.stderr()
    after = [served.connect() for _ in range(CONNECTIONS)]
    for conn in after:
        assert served.get(conn, "/api/models/m/versions/1.0.0")[0] == 200
    assert {served.owner(conn) for conn in after} == set(replaced)
    # The dead worker's answers still count: its counts are in its file, read at each scrape.
    assert served.api_answers() == 2 * CONNECTIONS
    stop(served)


def test_serve_gives_up_when_workers_keep_dying(tmp_path: Path, start: Callable[..., Served]):
    db_url = f"sqlite:///{tmp_path / 'registry.db'}"
    register(db_url)
    served = start(db_url)
    killed: set[int] = set()
    deadline = time.monotonic() + 60
    while served.process.poll() is None:
        assert time.monotonic() < deadline, served.stderr()
        for pid in set(served.children()) - killed:
            killed.add(pid)
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    assert served.process.returncode == 1
    err = served.stderr()
    assert "giving up" in err
    assert "error: serve stopped: its worker processes died 5 times in a row" in err
    assert not any(_alive(pid) for pid in killed)
    assert metrics_dirs(served) == []


def test_workers_end_when_the_primary_is_killed(tmp_path: Path, start: Callable[..., Served]):
    db_url = f"sqlite:///{tmp_path / 'registry.db'}"
    served = start(db_url, MODELTRAIL_HTTP_WORKERS="3")  # the flag (2) wins
    workers = served.children()
    assert len(workers) == 2
    served.process.kill()
    served.process.wait(timeout=10)
    wait_until(lambda: not any(_alive(pid) for pid in workers), "orphaned workers to end", 15)


def test_slack_over_http_on_every_worker_and_the_links_status_in_healthz(
    tmp_path: Path, start: Callable[..., Served]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'registry.db'}"
    register(db_url)
    with FakeSlack() as slack:
        served = start(
            db_url,
            children=3,  # two HTTP workers and the background process
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            MODELTRAIL_SLACK_API_URL=slack.api_url,
            MODELTRAIL_SLACK_CHANNEL="CREPORTS",
        )
        assert "background loops in one more" in served.stderr()
        conns = [served.connect() for _ in range(CONNECTIONS)]

        def slack_ok_everywhere() -> bool:
            return all(served.get(c, "/healthz")[1].get("slack") == "ok" for c in conns)

        wait_until(slack_ok_everywhere, "every worker's /healthz to say slack: ok")
        http_workers = {served.owner(conn) for conn in conns}
        assert len(http_workers) == 2
        for number, conn in enumerate(conns[:8]):
            body = command_body("help", response_url=slack.response_url(f"r{number}"))
            conn.request(
                "POST",
                "/slack/events",
                body=body,
                headers=signed_headers(body, "application/x-www-form-urlencoded"),
            )
            response = conn.getresponse()
            response.read()
            assert response.status == 200
        answered = slack.wait_for(lambda: len(slack.responses()) >= 8 and slack.responses())
        assert all("Traceback" not in answer.all_text for answer in answered)
        for conn in conns:
            conn.close()
        stop(served)


def test_the_workers_setting_reads_a_count_or_auto() -> None:
    from modeltrail.core.config import Settings
    from modeltrail.core.errors import ConfigError

    assert Settings.load(environ={}, env_file=None).http_workers == 1
    assert Settings.load(environ={"MODELTRAIL_HTTP_WORKERS": "3"}, env_file=None).http_workers == 3
    auto = Settings.load(environ={"MODELTRAIL_HTTP_WORKERS": "auto"}, env_file=None)
    assert auto.http_workers == len(os.sched_getaffinity(0))
    for bad in ("0", "-2", "two", "65"):
        with pytest.raises(ConfigError, match="MODELTRAIL_HTTP_WORKERS"):
            Settings.load(environ={"MODELTRAIL_HTTP_WORKERS": bad}, env_file=None)


def test_the_workers_flag_is_checked(tmp_path: Path) -> None:
    env = {**os.environ, "MODELTRAIL_HTTP_WORKERS": "2", "MODELTRAIL_HTTP_PORT": "0"}
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    bad = subprocess.run(
        [*MODELTRAIL, "--db", db, "serve", "--workers", "none"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 1
    assert "--workers='none' is not a number of processes (or auto)" in bad.stderr
