"""Which web stack for the read API: the WSGI server `serve` already runs (waitress + our small
router) or a framework with OpenAPI built in (FastAPI on uvicorn)?

Both serve the same JSON document (a version record of ~2 KB, as the API hands out from its
cache) at `/api/models/fraud/versions/1.0.0`. Measured per stack, each in a fresh process:
start-up (process start to the first 200 answer) and throughput/latency under `wrk` with 50
connections on loopback. FastAPI is not a dependency of modeltrail: install it next to
modeltrail to run its half (`pip install fastapi uvicorn`); without it that half is skipped.

    python bench/bench_web_stack.py [--seconds 10] [--connections 50]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load

DOC = {
    "model": "fraud",
    "version": "1.0.0",
    "stage": "production",
    "params": {f"param.{i}": i * 0.5 for i in range(40)},
    "metrics": {f"metric_{i}": {"value": 0.9, "step": 0} for i in range(10)},
    "tags": {"team": "risk"},
}

WAITRESS = """
import json, sys
from waitress import serve
body = json.dumps(%(doc)s).encode()
def app(environ, start_response):
    if environ["PATH_INFO"].startswith("/api/models/"):
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    start_response("404 Not Found", [("Content-Length", "0")])
    return [b""]
serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
"""

FASTAPI = """
import json, sys
import uvicorn
from fastapi import FastAPI, Response
body = json.dumps(%(doc)s).encode()
api = FastAPI()
@api.get("/api/models/{model}/versions/{ref}")
def version(model: str, ref: str) -> Response:
    return Response(body, media_type="application/json")
uvicorn.run(api, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(code: str) -> tuple[subprocess.Popen[bytes], int, float]:
    port = free_port()
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code % {"doc": repr(DOC)}, str(port)], stderr=subprocess.DEVNULL
    )
    url = "/api/models/fraud/versions/1.0.0 HTTP/1.0\r\nHost: x\r\n\r\n"
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET " + url.encode())
                if b" 200 " in s.recv(64):
                    return proc, port, time.perf_counter() - began
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the server did not start") from None
            time.sleep(0.005)


def wrk(port: int, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            f"http://127.0.0.1:{port}/api/models/fraud/versions/1.0.0",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, float]:
    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    found = {p: ms(v) for p, v in re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": found["50"],
        "p90_ms": found["90"],
        "p99_ms": found["99"],
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    stacks = {"waitress + router": WAITRESS}
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401

        stacks["fastapi + uvicorn"] = FASTAPI
    except ImportError:
        print("fastapi/uvicorn not installed, skipping the framework half")
    results = {}
    for name, code in stacks.items():
        proc, port, startup = start(code)
        try:
            wrk(port, 2, args.connections)  # warm-up
            figures = wrk(port, args.seconds, args.connections)
        finally:
            proc.terminate()
            proc.wait()
        results[name] = {"startup_s": round(startup, 3), **figures, "load": load()}
        print(f"{name:20} {json.dumps(results[name])}")


if __name__ == "__main__":
    main()
