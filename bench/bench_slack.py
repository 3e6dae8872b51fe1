"""Slack bot benchmarks against the issue's budgets.

    .venv/bin/python bench/bench_slack.py [--commands 50] [--concurrency 20] [--rounds 3]

(a) Ack latency: `--commands` correctly signed `/model …` slash commands (a mix of show, diff,
    history, production, changelog, help; a third of them are button clicks instead, Full
    diff and Changelog, answered by lazy listeners like the commands) sent `--concurrency` at
    a time to the real HTTP endpoint (`build_service`: waitress + Bolt + the outbox
    dispatcher) on a SQLite registry seeded with a few versions. Latency is the time to the
    HTTP response (the ack); the answers are then awaited at the fake Slack server so the
    lazy work is done before the next round.
    Budget: p99 < 100 ms (Slack's own limit is 3,000 ms).
(b) Report latency: `Registry.promote` as the CLI does it, then the time until the fake Slack
    Web API records the channel's chat.postMessage (the service's dispatcher, no LLM).
    Budget: < 2 s.

Slack itself is the fake Web API server of the tests (tests/slack_fake.py) on loopback. The
service runs in a child process (as `modeltrail serve` would, start-up objects frozen out of
the garbage collector), so that the load generator and the fake Slack do not share its GIL;
the promotions are made from this process, like the CLI. This process does not collect
garbage while it times acks (its own pauses would be counted as the bot's).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import load, machine
from slack_fake import SIGNING_SECRET, FakeSlack, action_body, command_body, signed_headers

from modeltrail.bot.web.server import build_service, freeze_startup_objects
from modeltrail.core.capture.environment import environment_from_parts
from modeltrail.core.config import Settings
from modeltrail.core.records import CodeState, DataSnapshot, VersionDraft
from modeltrail.core.registry.writer import Registry

TEXTS = [
    "show fraud",
    "diff fraud",
    "history fraud",
    "production fraud",
    "changelog fraud",
    "help",
    "show fraud 1.0.2",
    "diff fraud 1.0.0 1.0.3",
]
ACTIONS = [
    ("modeltrail.diff", '{"m":"fraud","a":"1.0.0","b":"1.0.3"}'),
    ("modeltrail.changelog", '{"m":"fraud"}'),
]
ENV = environment_from_parts(python_version="3.11.9", packages={"numpy": "2.1.0"})


def draft(i: int) -> VersionDraft:
    return VersionDraft(
        model="fraud",
        params={"optimizer": {"name": "adam", "lr": 0.01 * (i + 1)}, "epochs": 20 + i},
        metric_points={"auc": [(0, 0.80 + i / 100, 1.79e9)], "loss": [(0, 0.5 - i / 100, 1.79e9)]},
        data=(DataSnapshot("train", "data/train.csv", "file", f"{i:064x}", 100 + i, 1),),
        code=CodeState("/src/fraud", f"{i:040x}", "main", None, False),
        environment=ENV,
        description=f"version {i}",
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def ack_round(
    bot_url: str, fake: FakeSlack, http: httpx.Client, n: int, workers: int, tag: str
) -> list[float]:
    def one(i: int) -> float:
        key = f"{tag}-{i}"
        if i % 3 == 2:  # a third of the load: button clicks (Full diff, Changelog)
            action, value = ACTIONS[i % len(ACTIONS)]
            body = action_body(action, value, response_url=fake.response_url(key), user=f"U{i:03d}")
        else:
            body = command_body(
                TEXTS[i % len(TEXTS)], response_url=fake.response_url(key), user=f"U{i:03d}"
            )
        headers = signed_headers(body, "application/x-www-form-urlencoded")
        started = time.perf_counter()
        response = http.post(bot_url, content=body.encode(), headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"ack failed: {response.status_code} {response.text}")
        return elapsed

    with ThreadPoolExecutor(max_workers=workers) as pool:
        latencies = list(pool.map(one, range(n)))
    fake.wait_for(lambda: all(fake.responses(f"{tag}-{i}") for i in range(n)), timeout=60)
    return latencies


def serve_child(db_url: str, api_url: str) -> None:
    """The service, in its own process: prints its port, runs until stdin closes."""
    registry = Registry.open(db_url)
    settings = Settings(
        slack_bot_token="xoxb-bench",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=api_url,
        http_port=0,
        slack_channel="CREPORTS",
        slack_admins=("UADMIN",),
    )
    service = build_service(settings, registry)
    service.start()
    freeze_startup_objects()  # as `modeltrail serve` does
    print(service.port, flush=True)
    sys.stdin.read()
    service.stop()
    registry.close()


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-child":
        serve_child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commands", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as fake:
        db_url = f"sqlite:///{Path(tmp) / 'registry.db'}"
        registry = Registry.open(db_url)
        for i in range(5):
            registry.register(draft(i), actor="trainer")
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve-child", db_url, fake.api_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdin is not None
        port = int(child.stdout.readline())
        url = f"http://127.0.0.1:{port}/slack/events"
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=0)
        try:
            with httpx.Client(timeout=30, limits=limits) as http:
                ack_round(url, fake, http, 4, 2, "warmup")  # auth.test, imports, templates
                # After the start: the bot's first start does not post the registry's past.
                registry.promote("fraud", "1.0.0", actor="ada", reason="first")
                fake.wait_for(lambda: fake.posts("CREPORTS"), timeout=10)  # 1.0.0's report
                # The load generator and the fake Slack share this process: a full garbage
                # collection here (~60 ms) would be timed as the bot's latency.
                gc.collect()
                gc.freeze()
                gc.disable()
                rounds = [
                    ack_round(url, fake, http, args.commands, args.concurrency, f"r{r}")
                    for r in range(args.rounds)
                ]
                gc.enable()
            promote_times = []
            for version in ("1.0.1", "1.0.2", "1.0.3"):
                before = len(fake.posts("CREPORTS"))
                started = time.perf_counter()
                registry.promote("fraud", version, actor="ada", reason="bench")
                fake.wait_for(lambda b=before: len(fake.posts("CREPORTS")) > b, timeout=10)
                promote_times.append(time.perf_counter() - started)
        finally:
            child.stdin.close()
            child.wait(timeout=30)
            registry.close()
        violations = fake.violations()

    print(f"# bench_slack  {machine()}  load {load()}")
    print(f"{'measure':<46} {'p50':>9} {'p99':>9} {'max':>9}  budget")
    for r, latencies in enumerate(rounds, 1):
        ms = [x * 1000 for x in latencies]
        print(
            f"{f'ack, round {r} ({args.commands} cmds+clicks, {args.concurrency} at once)':<46} "
            f"{statistics.median(ms):8.1f}ms {percentile(ms, 99):8.1f}ms {max(ms):8.1f}ms"
            "  p99 < 100 ms"
        )
    everything = [x * 1000 for latencies in rounds for x in latencies]
    print(
        f"{'ack, all rounds':<46} {statistics.median(everything):8.1f}ms "
        f"{percentile(everything, 99):8.1f}ms {max(everything):8.1f}ms  p99 < 100 ms"
    )
    ms = [x * 1000 for x in promote_times]
    print(
        f"{'promotion -> channel report posted (3 runs)':<46} {statistics.median(ms):8.1f}ms "
        f"{'':>9} {max(ms):8.1f}ms  < 2000 ms"
    )
    if violations:
        print(f"Block Kit limit violations: {violations}")


if __name__ == "__main__":
    main()
