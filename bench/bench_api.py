"""The read API under load: `GET /api/models/{m}/versions/{ref}` on a 10,000-version registry
(SQLite, and PostgreSQL with --postgres), 50 concurrent connections from `wrk` on loopback,
and artifact streaming from the local store.

Budget (issue 17): p99 < 20 ms at 50 concurrent requests; streaming >= 500 MB/s.

The server is `modeltrail serve` itself, started as users start it, once per `--workers`
count (`modeltrail serve --workers N`, bot/web/workers.py). Its CPU per answer is summed over
its processes (the primary and its children, from /proc).

Request mixes per backend, each after a warm-up:
  hot     - the same ref (`production`) over and over: the answer comes from the cache,
            after one indexed query that checks the registry has not changed;
  spread  - a random one of the 10,000 version numbers per request (wrk Lua script): most
            answers are built (resolve + load the record) because 10,000 URLs exceed the cache;
  version - one exact version number (`1.0.42`), as a serving system pinning a version does;
  spread_warm - the spread mix again once every version has been asked for once by every
            worker (a server that has run a while).

    python bench/bench_api.py [--versions 10000] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--seed-db /tmp/api-bench.db] [--pg-db NAME] [--seed-only] [--seconds 10]
        [--connections 50] [--artifact-mib 256] [--only sqlite,postgres,artifact]
        [--workers 1,2] [--mixes hot,version,spread,spread_warm]

Seeding 10,000 versions through `Registry.register` takes minutes; `--seed-db` (SQLite) and
`--pg-db` (a PostgreSQL database kept, not dropped) let a seeded registry be reused, and
`--seed-only` seeds and stops, so the timed run fits in a short quiet window.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load
from bench_web_stack import parse_wrk

from modeltrail.bot.web.server import build_service
from modeltrail.core.config import Settings
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry

MODEL = "big"
TOKEN = "bench-token"
SPREAD = """
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format("/api/models/big/versions/1.0.%%d", math.random(0, %d)))
end
"""


def seed(registry: Registry, versions: int) -> float:
    """`versions` versions of MODEL: 40 params, 10 metrics, two tags each."""
    have = (
        registry.count_versions(MODEL) if MODEL in {m.name for m in registry.list_models()} else 0
    )
    t0 = time.perf_counter()
    for i in range(have, versions):
        registry.register(
            VersionDraft(
                MODEL,
                params={f"group{g}.param{p}": g * p + i for g in range(4) for p in range(10)},
                metric_points={
                    f"metric_{m}": [(0, 0.5 + (i % 97) / 1000, 1.79e9)] for m in range(10)
                },
                tags={"team": "risk", "run": str(i)},
            ),
            actor="bench",
        )
        if (i + 1) % 1000 == 0:
            print(f"    seeded {i + 1:,} ({load()})", flush=True)
    if registry.stage_version(MODEL, "production") is None:
        registry.promote(MODEL, f"1.0.{versions // 2}", actor="bench", force=True, reason="bench")
    return time.perf_counter() - t0


def wrk(
    server: Server, path: str, seconds: int, connections: int, script: Path | None = None
) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-H", f"Authorization: Bearer {TOKEN}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(f"http://127.0.0.1:{server.port}{path}")
    began = load()
    cpu = server.cpu_seconds()
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = server.cpu_seconds() - cpu
    found = parse_wrk(out)
    answers = found["rps"] * seconds
    return {
        **found,
        "server_cpu_us_per_answer": round(cpu / answers * 1e6),
        "load_before": began,
        "load": load(),
    }


class Server:
    """`modeltrail serve --workers N` on a free port, against the registry at `url`."""

    def __init__(self, url: str, workers: int, tmp: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "OPENAI_", "MODELTRAIL_"))
        }
        environ.update(
            MODELTRAIL_HTTP_PORT=str(self.port),
            MODELTRAIL_API_TOKEN=TOKEN,
            MODELTRAIL_LOG_LEVEL="warning",
        )
        self.log = tmp / f"serve-{workers}.log"
        with self.log.open("wb") as err:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "modeltrail",
                    "--db",
                    url,
                    "serve",
                    "--workers",
                    f"{workers}",
                ],
                env=environ,
                stdout=err,
                stderr=err,
            )
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"serve ended: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    pass
                if len(self.pids()) == workers + (workers > 1):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("serve did not answer /healthz in 120 s")
            time.sleep(0.1)

    def pids(self) -> list[int]:
        """The primary and its children (the HTTP workers)."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except FileNotFoundError:
            children = []
        return [pid, *map(int, children)]

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def owner(self, conn: http.client.HTTPConnection) -> int:
        """The process holding the server's end of `conn` (/proc/net/tcp, /proc/PID/fd)."""
        assert conn.sock is not None
        mine = conn.sock.getsockname()[1]
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
                if int(local, 16) == self.port and int(remote, 16) == mine:
                    inodes.add(f"socket:[{fields[9]}]")
        for pid in self.pids():
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
                except OSError:
                    continue
        raise RuntimeError("no process holds the connection")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        if self.process.wait(timeout=60) != 0:
            raise SystemExit(f"serve failed: {self.log.read_text()[-2000:]}")


def warm_every_version(server: Server, versions: int, workers: int) -> None:
    """Ask every version of every worker: connections are opened until each worker holds 8,
    then each worker's 8 share the versions."""
    by_worker: dict[int, list[http.client.HTTPConnection]] = {}
    spare = []
    while len(by_worker) < workers or any(len(c) < 8 for c in by_worker.values()):
        conn = http.client.HTTPConnection("127.0.0.1", server.port)
        ask(conn, "/healthz")
        owned = by_worker.setdefault(server.owner(conn), [])
        (owned if len(owned) < 8 else spare).append(conn)

    def fetch(job: tuple[http.client.HTTPConnection, range]) -> None:
        conn, part = job
        for i in part:
            assert ask(conn, f"/api/models/{MODEL}/versions/1.0.{i}") == 200

    jobs = [
        (conn, range(k, versions, 8))
        for conns in by_worker.values()
        for k, conn in enumerate(conns)
    ]
    with ThreadPoolExecutor(len(jobs)) as pool:
        list(pool.map(fetch, jobs))
    for conn in spare + [c for conns in by_worker.values() for c in conns]:
        conn.close()


def ask(conn: http.client.HTTPConnection, path: str) -> int:
    conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
    response = conn.getresponse()
    response.read()
    return response.status


def bench_backend(url: str, args: argparse.Namespace, tmp: Path) -> dict:
    registry = Registry.open(url)
    out: dict = {"seed_s": round(seed(registry, args.versions), 1)}
    registry.close()
    if args.seed_only:
        return out
    script = tmp / "spread.lua"
    script.write_text(SPREAD % (args.versions - 1))
    mixes = {
        "hot": (f"/api/models/{MODEL}/versions/production", None),
        "version": (f"/api/models/{MODEL}/versions/1.0.42", None),
        "spread": ("/", script),
    }
    for workers in (int(w) for w in args.workers.split(",")):
        server = Server(url, workers, tmp)
        runs: dict = out.setdefault(f"workers_{workers}", {})
        try:
            for name, (path, lua) in mixes.items():
                if name not in args.mixes:
                    continue
                wrk(server, path, 2, args.connections, lua)  # warm-up
                runs[name] = wrk(server, path, args.seconds, args.connections, lua)
                print(f"  workers={workers} {name:8} {json.dumps(runs[name])}", flush=True)
            if "spread_warm" in args.mixes:
                # A server that has run a while has answered every version once, in every
                # worker: the same spread mix with each of the 10,000 answers built before.
                began = time.perf_counter()
                warm_every_version(server, args.versions, workers)
                runs["warm_all_s"] = round(time.perf_counter() - began, 1)
                runs["spread_warm"] = wrk(server, "/", args.seconds, args.connections, script)
                print(
                    f"  workers={workers} spread_warm {json.dumps(runs['spread_warm'])}", flush=True
                )
        finally:
            server.stop()
    return out


def bench_artifact(tmp: Path, mib: int) -> dict:
    """One stored artifact of `mib` MiB, downloaded with curl (to /dev/null) three times."""
    db = f"sqlite:///{tmp / 'artifact.db'}"
    blob = tmp / "model.bin"
    with open(blob, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))
    from modeltrail.bot.cli.main import main

    assert (
        main(["--db", db, "register", "art", "--no-git", "--no-env", "--artifact", str(blob)]) == 0
    )
    blob.unlink()
    registry = Registry.open(db)
    service = build_service(Settings(http_port=0, api_token=TOKEN), registry)
    service.start()
    speeds = []
    try:
        url = f"http://127.0.0.1:{service.port}/api/models/art/versions/latest/artifacts/model.bin"
        for _ in range(3):
            result = subprocess.run(
                [
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{speed_download} %{size_download}",
                    "-H",
                    f"Authorization: Bearer {TOKEN}",
                    url,
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            assert int(float(result[1])) == mib << 20, result
            speeds.append(float(result[0]) / 1e6)
    finally:
        service.stop()
        registry.close()
    speeds.sort()
    return {"mib": mib, "mb_per_s_median": round(speeds[1], 1), "mb_per_s": speeds, "load": load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--postgres", help="admin URL; a bench database is created and dropped")
    parser.add_argument("--seed-db", help="keep (and reuse) the SQLite registry at this path")
    parser.add_argument("--pg-db", help="keep (and reuse) this PostgreSQL database")
    parser.add_argument("--seed-only", action="store_true", help="seed the registries, no load")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--artifact-mib", type=int, default=256)
    parser.add_argument("--only", default="sqlite,postgres,artifact")
    parser.add_argument("--workers", default="1,2", help="serve --workers counts to measure")
    parser.add_argument("--mixes", default="hot,version,spread,spread_warm")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="modeltrail-api-bench-"))
    results: dict = {}
    try:
        if "sqlite" in args.only:
            db = Path(args.seed_db) if args.seed_db else tmp / "registry.db"
            print(f"SQLite ({db})", flush=True)
            results["sqlite"] = bench_backend(f"sqlite:///{db}", args, tmp)
        if "postgres" in args.only and args.postgres:
            from sqlalchemy import create_engine, text

            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            name = args.pg_db or f"modeltrail_api_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                exists = conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                ).first()
                if not exists:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                print(f"PostgreSQL ({name})", flush=True)
                url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
                results["postgres"] = bench_backend(url, args, tmp)
            finally:
                if not args.pg_db:
                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        if "artifact" in args.only and not args.seed_only:
            results["artifact"] = bench_artifact(tmp, args.artifact_mib)
            print(f"artifact {json.dumps(results['artifact'])}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
