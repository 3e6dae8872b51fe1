from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from modeltrail.core.capture.data import (
    hash_file,
    manifest_digest,
    snapshot_artifact,
    snapshot_data,
)
from modeltrail.core.capture.statcache import StatCache, default_cache_path
from modeltrail.core.errors import DataPathError

OLD = 1_600_000_000  # an mtime long before any hashing, so cache entries are not "racy"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(path: Path, data: bytes, *, mtime: int | None = OLD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, ns=(mtime * 10**9, mtime * 10**9))
    return path


def test_hash_file(tmp_path: Path) -> None:
    data = os.urandom(5 * 1024 * 1024 + 17)  # spans several read chunks
    path = write(tmp_path / "blob.bin", data)
    assert hash_file(path) == (sha(data), len(data))
    assert hash_file(write(tmp_path / "empty", b"")) == (sha(b""), 0)


def test_file_snapshot(tmp_path: Path) -> None:
    write(tmp_path / "data" / "train.csv", b"a,b\n1,2\n")
    snap = snapshot_data("train", "data/train.csv", base_dir=str(tmp_path))
    assert snap.role == "train"
    assert snap.path == "data/train.csv"
    assert snap.kind == "file"
    assert snap.digest == sha(b"a,b\n1,2\n")
    assert (snap.size, snap.file_count, snap.manifest) == (8, 1, None)
    assert (snap.dvc_md5, snap.dvc_source) == (None, None)


def test_relative_to_cwd_and_normalised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "data" / "train.csv", b"x")
    monkeypatch.chdir(tmp_path)
    snap = snapshot_data("train", "./data//train.csv")
    assert snap.path == "data/train.csv" and snap.digest == sha(b"x")
    absolute = snapshot_data("train", str(tmp_path / "data" / "train.csv"))
    assert absolute.path == (tmp_path / "data" / "train.csv").as_posix()


def test_symlinked_path_is_stored_as_given(tmp_path: Path) -> None:
    write(tmp_path / "real" / "v1.csv", b"x")
    (tmp_path / "current.csv").symlink_to(tmp_path / "real" / "v1.csv")
    snap = snapshot_data("train", "current.csv", base_dir=str(tmp_path))
    assert snap.path == "current.csv" and snap.digest == sha(b"x")


def test_directory_snapshot_matches_documented_manifest(tmp_path: Path) -> None:
    root = tmp_path / "images"
    files = {
        "b.txt": b"bee",
        "a.txt": b"a",
        "sub/z.bin": os.urandom(3000),
        "sub/deeper/c.txt": b"",
        "é-unicode.txt": b"accent",
    }
    for rel, data in files.items():
        write(root / rel, data)
    write(root / ".git" / "HEAD", b"ignored")
    write(root / ".dvc" / "cache" / "ab" / "cdef", b"ignored")
    write(root / ".dvc" / "config", b"[core]\n")  # only the cache is skipped
    (tmp_path / "elsewhere").mkdir()
    write(tmp_path / "elsewhere" / "big.bin", b"not followed")
    (root / "linked-dir").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (root / "linked-file.txt").symlink_to(root / "a.txt")
    (root / "broken-link").symlink_to(tmp_path / "missing")
    files[".dvc/config"] = b"[core]\n"
    files["linked-file.txt"] = b"a"

    snap = snapshot_data("images", str(root))

    expected_text = "".join(
        f"{sha(files[rel])}  {len(files[rel])}  {rel}\n" for rel in sorted(files)
    )
    assert snap.kind == "directory"
    assert snap.digest == sha(expected_text.encode("utf-8"))
    assert snap.file_count == len(files)
    assert snap.size == sum(len(d) for d in files.values())
    assert snap.manifest is not None
    assert [e.path for e in snap.manifest] == sorted(files)
    assert manifest_digest(snap.manifest) == snap.digest


def test_directory_digest_changes_with_content_and_names(tmp_path: Path) -> None:
    root = tmp_path / "d"
    write(root / "a.txt", b"1")
    first = snapshot_data("d", str(root)).digest
    write(root / "a.txt", b"2")
    second = snapshot_data("d", str(root)).digest
    (root / "a.txt").rename(root / "b.txt")
    third = snapshot_data("d", str(root)).digest
    assert len({first, second, third}) == 3


def test_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    snap = snapshot_data("d", str(tmp_path / "empty"))
    assert (snap.digest, snap.size, snap.file_count, snap.manifest) == (sha(b""), 0, 0, ())


@pytest.mark.parametrize(
    ("uri", "stored"),
    [
        ("s3://bucket/train/", "s3://bucket/train/"),
        ("gs://bucket/x.parquet", "gs://bucket/x.parquet"),
        ("hdfs://nn:8020/data", "hdfs://nn:8020/data"),
        ("dbfs:/mnt/data", "dbfs:/mnt/data"),
        ("https://u:p@host/d.csv?token=t&v=2", "https://host/d.csv?v=2"),
    ],
)
def test_uri_is_recorded_not_read(uri: str, stored: str) -> None:
    snap = snapshot_data("train", uri)
    assert (snap.path, snap.kind, snap.digest, snap.size, snap.file_count) == (
        stored,
        "uri",
        None,
        None,
        None,
    )


def test_file_uri_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", b"x")
    snap = snapshot_data("train", path.as_uri())
    assert snap.kind == "file" and snap.digest == sha(b"x") and snap.path == path.as_posix()


def test_missing_path_error_names_role_and_path(tmp_path: Path) -> None:
    with pytest.raises(DataPathError) as info:
        snapshot_data("validation", "data/val.csv", base_dir=str(tmp_path))
    message = str(info.value)
    assert "validation" in message and "data/val.csv" in message
    assert info.value.hint


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file_error(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.csv", b"x")
    path.chmod(0)
    with pytest.raises(DataPathError, match="train"):
        snapshot_data("train", str(path))


def test_artifacts(tmp_path: Path) -> None:
    model = write(tmp_path / "out" / "model.pkl", b"weights")
    art = snapshot_artifact("out/model.pkl", base_dir=str(tmp_path))
    assert (art.name, art.uri, art.digest, art.size) == (
        "model.pkl",
        "out/model.pkl",
        sha(b"weights"),
        7,
    )
    write(tmp_path / "out" / "tokenizer.json", b"{}")
    folder = snapshot_artifact(str(tmp_path / "out") + "/", name="bundle")
    assert folder.name == "bundle" and folder.size == 9
    assert folder.digest == snapshot_data("x", str(model.parent)).digest
    remote = snapshot_artifact("s3://models/fraud/model.pkl?X-Amz-Signature=abc")
    assert (remote.name, remote.uri, remote.digest, remote.size) == (
        "model.pkl",
        "s3://models/fraud/model.pkl",
        None,
        None,
    )
    with pytest.raises(DataPathError, match=r"missing\.pkl"):
        snapshot_artifact(str(tmp_path / "missing.pkl"))


# --- the stat cache -----------------------------------------------------------------------


def test_default_cache_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELTRAIL_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_path() == tmp_path / "c" / "statcache.db"
    monkeypatch.delenv("MODELTRAIL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "modeltrail" / "statcache.db"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / ".cache" / "modeltrail" / "statcache.db"


def _rewrite_keeping_stat(path: Path, data: bytes) -> None:
    st = path.stat()
    assert len(data) == st.st_size
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_stat_cache_hit_skips_hashing_a_file(tmp_path: Path) -> None:
    path = write(tmp_path / "train.csv", b"original")
    cache = StatCache(tmp_path / "cache" / "statcache.db")  # directory made on demand
    assert snapshot_data("train", str(path), cache=cache).digest == sha(b"original")

    _rewrite_keeping_stat(path, b"ORIGINAL")
    # Same size, mtime, inode and device: trusted without reading, so the old digest comes back.
    assert snapshot_data("train", str(path), cache=cache).digest == sha(b"original")

    os.utime(path, ns=((OLD + 1) * 10**9, (OLD + 1) * 10**9))
    assert snapshot_data("train", str(path), cache=cache).digest == sha(b"ORIGINAL")
    cache.close()


def test_stat_cache_hit_skips_hashing_in_a_directory(tmp_path: Path) -> None:
    root = tmp_path / "d"
    write(root / "a.txt", b"aaaa")
    write(root / "b.txt", b"bbbb")
    with StatCache(tmp_path / "statcache.db") as cache:
        first = snapshot_data("d", str(root), cache=cache)
        _rewrite_keeping_stat(root / "a.txt", b"AAAA")
        assert snapshot_data("d", str(root), cache=cache).digest == first.digest

        os.utime(root / "a.txt", ns=((OLD + 5) * 10**9, (OLD + 5) * 10**9))
        rehashed = snapshot_data("d", str(root), cache=cache)
        assert rehashed.digest != first.digest
        assert rehashed.manifest is not None
        assert rehashed.manifest[0].digest == sha(b"AAAA")


def test_stat_cache_distrusts_files_written_just_before_hashing(tmp_path: Path) -> None:
    path = write(tmp_path / "fresh.csv", b"one", mtime=None)  # mtime: now
    with StatCache(tmp_path / "statcache.db") as cache:
        snapshot_data("train", str(path), cache=cache)
        _rewrite_keeping_stat(path, b"two")  # within the same timestamp tick
        assert snapshot_data("train", str(path), cache=cache).digest == sha(b"two")


def test_stat_cache_failure_never_fails_a_capture(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", b"x")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    cache = StatCache(blocker / "statcache.db")
    assert snapshot_data("train", str(path), cache=cache).digest == sha(b"x")

    good = StatCache(tmp_path / "ok.db")
    good.put(str(path), path.stat(), "0" * 64)
    holder = sqlite3.connect(tmp_path / "ok.db", timeout=0)
    holder.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    busy = StatCache(tmp_path / "ok.db", timeout=0.05)
    write(tmp_path / "y.csv", b"y")
    assert snapshot_data("train", str(tmp_path / "y.csv"), cache=busy).digest == sha(b"y")
    holder.rollback()
    holder.close()
    good.close()
    busy.close()


@pytest.mark.slow  # creating 10,000 files, not snapshotting them, takes the time
def test_warm_cache_resnapshot_of_10000_files_is_fast(tmp_path: Path) -> None:
    root = tmp_path / "many"
    for i in range(100):
        sub = root / f"part-{i:03d}"
        sub.mkdir(parents=True)
        for j in range(100):
            fd = os.open(sub / f"{j:03d}.txt", os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{i}-{j}\n".encode())
                os.utime(fd, ns=(OLD * 10**9, OLD * 10**9))
            finally:
                os.close(fd)
    with StatCache(tmp_path / "statcache.db") as cache:
        cold = snapshot_data("many", str(root), cache=cache)
        warm = snapshot_data("many", str(root), cache=cache)
    # Speed (< 1 s warm) is measured in bench/bench_hashing.py, not asserted on a shared CI box.
    assert warm == cold
    assert warm.file_count == 10_000
