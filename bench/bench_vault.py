"""The vault's budgets on a 1 GiB artifact, on the disk the working directory is on.

- storing into the local store vs `cp` (and `cp` + `sync`) of the same file to the same disk,
  hash included; with the source in the page cache (as a file just written by training) and
  with it evicted first (`posix_fadvise(DONTNEED)`: read from the disk);
- `modeltrail register --artifact` as a process, beside the same command without an artifact
  (the process's fixed cost) on a registry created beforehand;
- re-registering the unchanged artifact (stat cache + dedup: nothing read or copied), in
  process and as a process;
- `pull` from the local store vs `cp`, in process and as a process.

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import child_env


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def evict(path: Path) -> None:
    """Drop the file's clean pages from the page cache: the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


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

        os.sync()

        def cp(cold: bool = False) -> float:
            target = work / "cp.bin"
            if cold:
                evict(src)
            t = timed(lambda: subprocess.run(["cp", str(src), str(target)], check=True))
            target.unlink()
            os.sync()
            return t

        def cp_sync(cold: bool = False) -> float:
            target = work / "cp.bin"
            if cold:
                evict(src)
            t = timed(
                lambda: subprocess.run(
                    ["sh", "-c", f"cp '{src}' '{target}' && sync '{target}'"], check=True
                )
            )
            target.unlink()
            os.sync()
            return t

        def store_once(cold: bool = False) -> float:
            root = work / "store"
            if cold:
                evict(src)
            t = timed(lambda: store_path(LocalStore(root), str(src)))
            drop_target(root)
            os.sync()
            return t

        def med(fn, cold: bool = False) -> float:
            return sorted(fn(cold) for _ in range(args.reps))[args.reps // 2]

        print(f"load before: {os.getloadavg()}")
        for cold in (False, True):
            where = "source on disk (evicted)" if cold else "source in the page cache"
            cp_med, sync_med, store_med = med(cp, cold), med(cp_sync, cold), med(store_once, cold)
            print(f"-- {where}")
            print(f"cp:            {cp_med:.2f} s  ({size / cp_med / 2**20:.0f} MiB/s)")
            print(f"cp + sync:     {sync_med:.2f} s  ({size / sync_med / 2**20:.0f} MiB/s)")
            print(
                f"store (hash + copy + fsync + rename): {store_med:.2f} s "
                f"({size / store_med / 2**20:.0f} MiB/s) = {cp_med / store_med:.2f}× cp, "
                f"{sync_med / store_med:.2f}× cp+sync"
            )
        cp_med = med(cp)  # the page-cache `cp` is the reference below
        print(f"load after store: {os.getloadavg()}")

        # whole process: `modeltrail register --artifact` vs `cp`
        env = {
            **child_env(),
            "MODELTRAIL_DATABASE_URL": f"sqlite:///{work / 'reg.db'}",
            "MODELTRAIL_ARTIFACT_STORE": f"file://{work / 'cli-store'}",
            "MODELTRAIL_CACHE_DIR": str(work / "cache"),
        }
        exe = str(Path(sys.executable).with_name("modeltrail"))
        subprocess.run([exe, "init"], env=env, check=True, capture_output=True)
        plain = [exe, "register", "plain", "--no-git", "--no-env"]
        fixed = sorted(
            timed(lambda: subprocess.run(plain, env=env, check=True, capture_output=True))
            for _ in range(args.reps)
        )[args.reps // 2]
        print(f"register without an artifact (process): {fixed:.3f} s")
        register = [exe, "register", "bench", "--no-git", "--no-env", "--artifact", str(src)]
        first = timed(lambda: subprocess.run(register, env=env, check=True, capture_output=True))
        again = [
            timed(lambda: subprocess.run(register, env=env, check=True, capture_output=True))
            for _ in range(args.reps)
        ]
        print(
            f"register --artifact (process, first): {first:.2f} s = {cp_med / first:.2f}× cp"
            f" (of which the process without the artifact: {fixed:.2f} s)"
        )
        print(f"register again, unchanged (process): {sorted(again)[args.reps // 2]:.3f} s")

        store = LocalStore(work / "store")
        with StatCache(work / "statcache.db") as cache:
            kept = store_path(store, str(src), cache=cache)
            rerun = sorted(
                timed(lambda: store_path(store, str(src), cache=cache)) for _ in range(args.reps)
            )
        print(f"store again, unchanged (in-process): {rerun[args.reps // 2] * 1000:.1f} ms")

        artifact = Artifact("model.bin", "model.bin", kept.digest, kept.size, True, "file")

        def pull_once() -> float:
            target = work / "pulled"
            t = timed(lambda: pull(store, [artifact], target, force=False))
            drop_target(target)
            return t

        pull_med = sorted(pull_once() for _ in range(args.reps))[args.reps // 2]
        print(
            f"pull (read + hash + write + rename): {pull_med:.2f} s "
            f"({size / pull_med / 2**20:.0f} MiB/s) = {cp_med / pull_med:.2f}× cp"
        )
        pull_cmd = [exe, "pull", "bench@latest", str(work / "pulled-cli")]

        def cli_pull_once() -> float:
            t = timed(lambda: subprocess.run(pull_cmd, env=env, check=True, capture_output=True))
            drop_target(work / "pulled-cli")
            return t

        cli_pull = sorted(cli_pull_once() for _ in range(args.reps))[args.reps // 2]
        print(f"modeltrail pull (process): {cli_pull:.2f} s = {cp_med / cli_pull:.2f}× cp")
        print(f"load after: {os.getloadavg()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
