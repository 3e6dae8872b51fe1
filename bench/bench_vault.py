"""The vault's budgets on a 1 GiB artifact, on the disk the working directory is on.

- storing into the local store vs `cp` of the same file to the same disk (hash included);
- re-registering the unchanged artifact (stat cache + dedup: nothing read or copied);
- `pull` from the local store vs `cp`;
- a registration without artifacts (the path every version takes);
- the object-storage clients side by side against moto's S3 server on loopback.

Run: .venv/bin/python bench/bench_vault.py [--size-mib 1024] [--dir DIR]. Needs ~3× the size
free; every file it makes is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def drop_target(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", default=".")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    from modeltrail.core.capture.statcache import StatCache
    from modeltrail.core.records import Artifact
    from modeltrail.core.vault.local import LocalStore
    from modeltrail.core.vault.vault import pull, store_path

    work = Path(tempfile.mkdtemp(prefix="vault-bench-", dir=args.dir))
    try:
        src = work / "model.bin"
        with open(src, "wb") as f:
            block = os.urandom(16 * 1024 * 1024)
            for _ in range(args.size_mib // 16):
                f.write(block)
        size = src.stat().st_size
        print(f"artifact: {size / 2**30:.2f} GiB in {work}")

        def cp() -> float:
            target = work / "cp.bin"
            t = timed(lambda: subprocess.run(["cp", str(src), str(target)], check=True))
            target.unlink()
            return t

        def cp_sync() -> float:
            target = work / "cp.bin"
            t = timed(
                lambda: subprocess.run(
                    ["sh", "-c", f"cp '{src}' '{target}' && sync '{target}'"], check=True
                )
            )
            target.unlink()
            return t

        def store_once() -> float:
            root = work / "store"
            t = timed(lambda: store_path(LocalStore(root), str(src)))
            drop_target(root)
            return t

        cp_times = sorted(cp() for _ in range(args.reps))
        cp_sync_times = sorted(cp_sync() for _ in range(args.reps))
        store_times = sorted(store_once() for _ in range(args.reps))
        cp_med, sync_med, store_med = cp_times[1], cp_sync_times[1], store_times[1]
        print(f"cp:            {cp_med:.2f} s  ({size / cp_med / 2**20:.0f} MiB/s)")
        print(f"cp + sync:     {sync_med:.2f} s  ({size / sync_med / 2**20:.0f} MiB/s)")
        print(
            f"store (hash + copy + fsync + rename): {store_med:.2f} s "
            f"({size / store_med / 2**20:.0f} MiB/s) = {cp_med / store_med:.2f}× cp, "
            f"{sync_med / store_med:.2f}× cp+sync"
        )

        # whole process: `modeltrail register --artifact` vs `cp`
        env = {
            **os.environ,
            "MODELTRAIL_DATABASE_URL": f"sqlite:///{work / 'reg.db'}",
            "MODELTRAIL_ARTIFACT_STORE": f"file://{work / 'cli-store'}",
            "MODELTRAIL_CACHE_DIR": str(work / "cache"),
        }
        exe = str(Path(sys.executable).with_name("modeltrail"))
        register = [exe, "register", "bench", "--no-git", "--no-env", "--artifact", str(src)]
        first = timed(lambda: subprocess.run(register, env=env, check=True, capture_output=True))
        again = [
            timed(lambda: subprocess.run(register, env=env, check=True, capture_output=True))
            for _ in range(args.reps)
        ]
        print(f"register --artifact (process, first): {first:.2f} s = {cp_med / first:.2f}× cp")
        print(f"register again, unchanged (process): {sorted(again)[1]:.3f} s")

        store = LocalStore(work / "store")
        with StatCache(work / "statcache.db") as cache:
            kept = store_path(store, str(src), cache=cache)
            rerun = sorted(
                timed(lambda: store_path(store, str(src), cache=cache)) for _ in range(args.reps)
            )
        print(f"store again, unchanged (in-process): {rerun[1] * 1000:.1f} ms")

        artifact = Artifact("model.bin", "model.bin", kept.digest, kept.size, True, "file")

        def pull_once() -> float:
            target = work / "pulled"
            t = timed(lambda: pull(store, [artifact], target, force=False))
            drop_target(target)
            return t

        pull_med = sorted(pull_once() for _ in range(args.reps))[1]
        print(
            f"pull (read + hash + write + rename): {pull_med:.2f} s "
            f"({size / pull_med / 2**20:.0f} MiB/s) = {cp_med / pull_med:.2f}× cp"
        )
        pull_cmd = [exe, "pull", "bench@latest", str(work / "pulled-cli")]
        cli_pull = timed(lambda: subprocess.run(pull_cmd, env=env, check=True, capture_output=True))
        print(f"modeltrail pull (process): {cli_pull:.2f} s = {cp_med / cli_pull:.2f}× cp")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
