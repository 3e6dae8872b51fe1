"""Data hashing benchmarks: one large file against `sha256sum`, and a directory of small files
with and without the stat cache.

    .venv/bin/python bench/bench_hashing.py [--size-mib 1024] [--files 10000] [--json out]

1. A file of --size-mib MiB of random bytes in /tmp (deleted afterwards). The page cache is
   warmed first; then `hash_file` (in process) and `sha256sum` (wall time of the process) are
   each run 3 times and the best is kept. The digests must agree.
2. A directory of --files small files (1–8 KiB, 100 subdirectories), mtimes set one hour in
   the past: the stat cache only trusts entries whose mtime is ≥ 2 s older than the moment they
   were hashed ("racily clean" files are re-hashed), and data a training run re-logs is
   normally older than that. Median of 5 each:
   - first snapshot: an empty stat cache each time, every file hashed (page cache warm);
   - re-snapshot: the same cache, nothing changed, nothing hashed;
   - re-snapshot from a fresh process (`python -c` with snapshot_data), wall time.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt, load, machine, median_time, report, summary, write_json

from modeltrail.core.capture.data import hash_file, snapshot_data
from modeltrail.core.capture.statcache import StatCache


def make_big_file(path: Path, size_mib: int) -> None:
    chunk = os.urandom(16 * 1024 * 1024)
    with open(path, "wb") as f:
        for i in range(size_mib // 16):
            # Vary the chunks cheaply so the file is not one block repeated.
            f.write(i.to_bytes(8, "little") + chunk[8:])
        f.write(os.urandom((size_mib % 16) * 1024 * 1024))


def bench_big_file(size_mib: int, tmp: Path) -> dict:
    print(f"1. hash a {size_mib} MiB file (best of 3, page cache warm)", flush=True)
    path = tmp / "big.bin"
    make_big_file(path, size_mib)
    size = path.stat().st_size
    try:
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # warm
        ours, theirs = [], []
        digest = sha = ""
        for _ in range(3):
            t0 = time.perf_counter()
            digest, n = hash_file(path)
            ours.append(time.perf_counter() - t0)
            assert n == size
            t0 = time.perf_counter()
            out = subprocess.run(
                ["sha256sum", str(path)], capture_output=True, text=True, check=True
            ).stdout
            theirs.append(time.perf_counter() - t0)
            sha = out.split()[0]
        assert digest == sha, (digest, sha)
        mib = size / 2**20
        # A second reference: OpenSSL's own sha256 (Debian's coreutils sha256sum does not use
        # OpenSSL and may be much slower than hashlib).
        ossl = []
        if shutil.which("openssl"):
            for _ in range(3):
                t0 = time.perf_counter()
                subprocess.run(
                    ["openssl", "dgst", "-sha256", str(path)], capture_output=True, check=True
                )
                ossl.append(time.perf_counter() - t0)
        out = {
            "bytes": size,
            "hash_file_best_s": min(ours),
            "hash_file_all_s": ours,
            "hash_file_mib_s": mib / min(ours),
            "sha256sum_best_s": min(theirs),
            "sha256sum_all_s": theirs,
            "sha256sum_mib_s": mib / min(theirs),
            "load": load(),
        }
        out["ratio"] = out["hash_file_mib_s"] / out["sha256sum_mib_s"]
        if ossl:
            out["openssl_best_s"] = min(ossl)
            out["openssl_mib_s"] = mib / min(ossl)
            out["ratio_vs_openssl"] = out["hash_file_mib_s"] / out["openssl_mib_s"]
        print(
            f"  hash_file  best {fmt(min(ours)):>10}  {out['hash_file_mib_s']:7.0f} MiB/s\n"
            f"  sha256sum  best {fmt(min(theirs)):>10}  {out['sha256sum_mib_s']:7.0f} MiB/s\n"
            f"  ratio {out['ratio']:.2f} (budget ≥ 0.8), load {load()}"
            + (
                f"\n  openssl dgst -sha256 best {fmt(out['openssl_best_s'])}"
                f"  {out['openssl_mib_s']:.0f} MiB/s (hash_file at {out['ratio_vs_openssl']:.2f}×)"
                if ossl
                else ""
            ),
            flush=True,
        )
        return out
    finally:
        path.unlink(missing_ok=True)


def make_tree(root: Path, files: int) -> int:
    rng = random.Random(42)
    past = time.time() - 3600
    total = 0
    for i in range(files):
        d = root / f"part-{i % 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"sample-{i:05d}.bin"
        data = rng.randbytes(rng.randint(1024, 8192))
        p.write_bytes(data)
        os.utime(p, (past, past))
        total += len(data)
    return total


def bench_directory(files: int, tmp: Path) -> dict:
    print(f"2. snapshot a directory of {files:,} small files (median of 5)", flush=True)
    root = tmp / "dataset"
    total = make_tree(root, files)
    print(f"  {files:,} files, {total / 2**20:.1f} MiB", flush=True)
    out: dict = {"files": files, "bytes": total}
    digests = set()

    caches: list[Path] = []

    def empty_cache() -> None:
        caches.append(tmp / f"cold-{len(caches)}.db")

    def cold() -> None:
        with StatCache(caches[-1]) as cache:
            digests.add(snapshot_data("train", str(root), cache=cache).digest)

    out["first_snapshot"] = median_time(cold, 5, setup=empty_cache)
    report("first snapshot (empty stat cache, hashes every file)", out["first_snapshot"])

    def no_cache() -> None:
        digests.add(snapshot_data("train", str(root), cache=None).digest)

    out["snapshot_no_cache"] = median_time(no_cache, 5)
    report("snapshot without any stat cache", out["snapshot_no_cache"])

    warm_path = caches[-1]

    def warm() -> None:
        with StatCache(warm_path) as cache:  # a new instance: opens the SQLite file again
            digests.add(snapshot_data("train", str(root), cache=cache).digest)

    out["resnapshot_warm"] = median_time(warm, 5)
    report("re-snapshot, unchanged, warm stat cache (in process)", out["resnapshot_warm"])

    code = (
        "import sys; from modeltrail.core.capture.data import snapshot_data;"
        " from modeltrail.core.capture.statcache import StatCache;"
        " c = StatCache(sys.argv[2]); print(snapshot_data('train', sys.argv[1], cache=c).digest)"
    )
    walls = []
    for _ in range(5):
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-c", code, str(root), str(warm_path)],
            capture_output=True,
            text=True,
            check=True,
        )
        walls.append(time.perf_counter() - t0)
        digests.add(res.stdout.strip())
    out["resnapshot_warm_process"] = summary(walls)
    report("re-snapshot, warm stat cache, fresh process (wall)", out["resnapshot_warm_process"])
    assert len(digests) == 1, digests
    out["digest"] = digests.pop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--json", help="also write every figure to this JSON file")
    parser.add_argument("--only", default="12", help="run only part 1 or 2 (default: both)")
    args = parser.parse_args()
    results: dict = {"machine": machine(), "load_start": load()}
    print(f"modeltrail hashing benchmarks — {results['machine']}, load {load()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="modeltrail-hash-bench-", dir="/tmp"))
    try:
        if "1" in args.only:
            results["big_file"] = bench_big_file(args.size_mib, tmp)
        if "2" in args.only:
            results["directory"] = bench_directory(args.files, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["load_end"] = load()
    print(f"done, load {load()}")
    write_json(args.json, results)


if __name__ == "__main__":
    main()
