"""The artifact store on real files: storing (dedup, temp + rename, directories as files plus
manifest), pulling verified bytes, verifying, gc, and the rollback that restores exact bytes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from modeltrail.core import open_registry
from modeltrail.core.capture.data import snapshot_data
from modeltrail.core.capture.statcache import StatCache
from modeltrail.core.errors import ArtifactStoreError, BlobMismatchError, DataPathError, UsageError
from modeltrail.core.records import Artifact
from modeltrail.core.registry.writer import Registry
from modeltrail.core.tracking import track
from modeltrail.core.vault.local import LocalStore
from modeltrail.core.vault.vault import Garbage, store_path


def blobs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "sha256").rglob("*") if p.is_file())


def test_the_same_bytes_are_stored_once(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    (tmp_path / "a.bin").write_bytes(b"weights" * 1000)
    (tmp_path / "b.bin").write_bytes(b"weights" * 1000)
    first = store_path(store, str(tmp_path / "a.bin"))
    second = store_path(store, str(tmp_path / "b.bin"))
    assert first.digest == second.digest
    assert len(blobs(tmp_path / "store")) == 1
    assert list((tmp_path / "store" / "tmp").iterdir()) == []  # no temporary left behind
    assert snapshot_data("m", str(tmp_path / "a.bin")).digest == first.digest


def test_a_directory_is_its_files_plus_the_manifest(tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "weights.bin").write_bytes(b"w" * 10)
    (model / "sub" / "config.json").write_text("{}")
    os.symlink("..", model / "sub" / "loop")  # a symlink loop is not followed
    store = LocalStore(tmp_path / "store")
    kept = store_path(store, str(model))
    assert kept.kind == "directory" and kept.file_count == 2 and kept.size == 12
    # the manifest blob's key is the directory digest capture records for data
    assert kept.digest == snapshot_data("m", str(model)).digest
    assert len(blobs(tmp_path / "store")) == 3


def test_missing_path_and_unwritable_store(tmp_path: Path) -> None:
    with pytest.raises(DataPathError, match="artifact not found"):
        store_path(LocalStore(tmp_path / "s"), str(tmp_path / "nope.bin"))
    (tmp_path / "blocked").write_text("a file where the store's folder should be")
    (tmp_path / "m.bin").write_bytes(b"x")
    with pytest.raises(ArtifactStoreError, match="artifact store at"):
        store_path(LocalStore(tmp_path / "blocked"), str(tmp_path / "m.bin"))


def test_store_failure_registers_nothing(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("not a folder")
    (tmp_path / "m.bin").write_bytes(b"x")
    with Registry.open(db_url) as registry:
        registry.use_artifact_store(LocalStore(tmp_path / "blocked"))
        with pytest.raises(ArtifactStoreError):
            with track("fraud", registry=registry, capture_code=False) as run:
                run.log_artifact(tmp_path / "m.bin")
        assert registry.list_models() == []
        assert registry.audit_log() == []


def _train(registry: Registry, base: Path, content: bytes, store: bool = True) -> str:
    (base / "model.joblib").write_bytes(content)
    with track("fraud", registry=registry, base_dir=base, capture_code=False) as run:
        run.log_artifact("model.joblib", store=store)
    assert run.record is not None
    return run.record.version


def test_rollback_restores_the_exact_bytes(db_url: str, tmp_path: Path) -> None:
    """The issue's story: the label moved, and now the model moves with it."""
    with Registry.open(db_url) as registry:
        registry.use_artifact_store(LocalStore(tmp_path / "store"))
        v1 = _train(registry, tmp_path, b"model one")
        registry.promote("fraud", v1, actor="t", force=True, reason="first")
        v2 = _train(registry, tmp_path, b"model two")
        registry.promote("fraud", v2, actor="t", force=True, reason="second")
        registry.rollback("fraud", actor="t", reason="latency")
        record = registry.resolve("fraud@production")
        assert record.version == v1 and record.artifacts[0].stored
        path = registry.pull(record, tmp_path / "serve")
        assert (Path(path) / "model.joblib").read_bytes() == b"model one"
        assert (tmp_path / "model.joblib").read_bytes() == b"model two"


def test_pull_refuses_a_truncated_blob_and_leaves_nothing(db_url: str, tmp_path: Path) -> None:
    with Registry.open(db_url) as registry:
        store = LocalStore(tmp_path / "store")
        registry.use_artifact_store(store)
        _train(registry, tmp_path, b"precious weights")
        record = registry.resolve("fraud@latest")
        (blob,) = blobs(tmp_path / "store")
        blob.write_bytes(b"precious")  # truncated
        with pytest.raises(BlobMismatchError, match="^model.joblib: the stored bytes"):
            registry.pull(record, tmp_path / "out")
        assert not (tmp_path / "out").exists()
        (tmp_path / "busy").mkdir()
        (tmp_path / "busy" / "x").write_text("x")
        with pytest.raises(UsageError, match="is not empty"):
            registry.pull(record, tmp_path / "busy")
        checks = registry.verify_artifacts(record)
        assert [c.status for c in checks] == ["changed"]


def test_gc_removes_only_unreferenced_blobs(db_url: str, tmp_path: Path) -> None:
    with Registry.open(db_url) as registry:
        store = LocalStore(tmp_path / "store")
        registry.use_artifact_store(store)
        v1 = _train(registry, tmp_path, b"one")
        registry.promote("fraud", v1, actor="t", force=True, reason="r")
        v2 = _train(registry, tmp_path, b"two")
        registry.promote("fraud", v2, actor="t", force=True, reason="r")  # v1 archived
        (tmp_path / "orphan.bin").write_bytes(b"stored, never registered")
        orphan = store_path(store, str(tmp_path / "orphan.bin")).digest
        garbage = registry.collect_garbage(dry_run=True, grace=0)
        assert [d for d, _ in garbage.removable] == [orphan] and garbage.recent == ()
        assert store.has(orphan)
        assert [d for d, _ in registry.collect_garbage(grace=0).removable] == [orphan]
        assert not store.has(orphan) and len(blobs(tmp_path / "store")) == 2
        assert registry.collect_garbage(grace=0).removable == ()


def _age(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(path, (when, when))


def test_gc_keeps_a_blob_a_registration_under_way_just_stored(db_url: str, tmp_path: Path) -> None:
    """A run stores its artifact, then registers: gc in between must not take the blob."""
    with Registry.open(db_url) as registry:
        store = LocalStore(tmp_path / "store")
        registry.use_artifact_store(store)
        (tmp_path / "model.joblib").write_bytes(b"being registered")
        (tmp_path / "old.bin").write_bytes(b"left by a crash long ago")
        old = store_path(store, str(tmp_path / "old.bin")).digest
        _age(Path(store.local_file(old)), 2 * 3600)
        stray = tmp_path / "store" / "tmp" / "dead.part"
        stray.write_bytes(b"half a blob")
        _age(stray, 2 * 3600)
        with track("fraud", registry=registry, base_dir=tmp_path, capture_code=False) as run:
            artifact = run.log_artifact("model.joblib")
            garbage = registry.collect_garbage()  # default grace: one hour
            assert [d for d, _ in garbage.removable] == [old]
            assert [d for d, _ in garbage.recent] == [artifact.digest]
        assert store.has(artifact.digest) and not store.has(old) and not stray.exists()
        pulled = registry.pull(registry.resolve("fraud@latest"), tmp_path / "out")
        assert (Path(pulled) / "model.joblib").read_bytes() == b"being registered"
        # once registered, it is referenced: kept whatever its age
        _age(Path(store.local_file(artifact.digest)), 2 * 3600)
        assert registry.collect_garbage() == Garbage((), ())


def test_reused_old_bytes_count_as_recent(db_url: str, tmp_path: Path) -> None:
    """Bytes an old crash left unreferenced, registered again: the dedup must not let gc
    take them before the new registration commits (stored again, or found by the stat cache)."""
    with Registry.open(db_url) as registry:
        store = LocalStore(tmp_path / "store")
        registry.use_artifact_store(store)
        (tmp_path / "model.joblib").write_bytes(b"same bytes again")
        stat_cache = StatCache(tmp_path / "statcache.db")
        for cache in (None, stat_cache):
            digest = store_path(store, str(tmp_path / "model.joblib"), cache=cache).digest
            _age(Path(store.local_file(digest)), 2 * 3600)
            assert [d for d, _ in registry.collect_garbage(dry_run=True).removable] == [digest]
            assert store_path(store, str(tmp_path / "model.joblib"), cache=cache).digest == digest
            garbage = registry.collect_garbage(now=time.time() + 60)
            assert garbage.removable == () and [d for d, _ in garbage.recent] == [digest]
        stat_cache.close()


def test_referenced_not_stored(db_url: str, tmp_path: Path) -> None:
    with Registry.open(db_url) as registry:
        registry.use_artifact_store(LocalStore(tmp_path / "store"))
        _train(registry, tmp_path, b"huge", store=False)
        record = registry.resolve("fraud@latest")
        (artifact,) = record.artifacts
        assert artifact == Artifact(
            "model.joblib", "model.joblib", artifact.digest, 4, stored=False, kind="file"
        )
        assert not (tmp_path / "store").exists()
        result = registry.pull_files(record, tmp_path / "out")
        assert result.files == () and result.not_stored == ("model.joblib",)


def test_the_documented_read_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'reg' / 'registry.db'}"
    (tmp_path / "reg").mkdir()
    monkeypatch.setenv("MODELTRAIL_DATABASE_URL", url)
    with open_registry() as registry:
        version = _train(registry, tmp_path, b"serve me")
        registry.promote("fraud", version, actor="t", force=True, reason="r")
    # default store: beside the SQLite file
    assert blobs(tmp_path / "reg" / "artifacts")
    reg = open_registry()
    v = reg.resolve("fraud@production")
    path = reg.pull(v, tmp_path / "srv" / "fraud")
    assert (Path(path) / "model.joblib").read_bytes() == b"serve me"
    reg.close()


def test_the_gate_refuses_bytes_that_fail_verification(db_url: str, tmp_path: Path) -> None:
    from modeltrail.core.registry.governance import PromotionBlocked

    with Registry.open(db_url) as registry:
        registry.use_artifact_store(LocalStore(tmp_path / "store"))
        version = _train(registry, tmp_path, b"good weights")
        (blob,) = blobs(tmp_path / "store")
        blob.write_bytes(b"tampered")
        with pytest.raises(PromotionBlocked, match="stored artifact model.joblib fails"):
            registry.promote("fraud", version, actor="t")
        with pytest.raises(PromotionBlocked, match="artifact_unverified"):
            registry.promote("fraud", version, actor="t", force=True, reason="ship it")
        assert registry.resolve_version("fraud", "latest") == version
        assert registry.stage_version("fraud", "production") is None
        blob.unlink()
        with pytest.raises(PromotionBlocked, match=r"fails verification \(missing"):
            registry.promote("fraud", version, actor="t", force=True, reason="ship it")


def test_stored_and_pulled_bytes_match_their_digest_beyond_one_span(tmp_path: Path) -> None:
    """More than one span of the kernel copy, a ragged tail, and an empty file."""
    import hashlib

    from modeltrail.core.vault.filecopy import SPAN
    from modeltrail.core.vault.vault import pull

    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.write(os.urandom(SPAN + 1024 * 1024 + 7))
    (tmp_path / "empty.bin").write_bytes(b"")
    store = LocalStore(tmp_path / "store")
    artifacts = []
    for name in ("big.bin", "empty.bin"):
        kept = store_path(store, str(tmp_path / name))
        data = (tmp_path / name).read_bytes()
        assert kept.digest == hashlib.sha256(data).hexdigest() and kept.size == len(data)
        assert Path(store.local_file(kept.digest)).read_bytes() == data
        artifacts.append(Artifact(name, name, kept.digest, kept.size, True, "file"))
    files, _ = pull(store, artifacts, tmp_path / "out", force=False)
    assert [f.path for f in files] == ["big.bin", "empty.bin"]
    assert (tmp_path / "out" / "big.bin").read_bytes() == big.read_bytes()
    assert (tmp_path / "out" / "empty.bin").read_bytes() == b""


def test_an_artifact_on_another_filesystem_is_stored(tmp_path: Path) -> None:
    """The kernel's copy_file_range refuses a copy across filesystems; sendfile takes over."""
    import hashlib
    import tempfile

    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem at hand")
    with tempfile.NamedTemporaryFile(dir=shm, suffix=".bin") as f:
        f.write(b"elsewhere" * 100_000)
        f.flush()
        kept = store_path(LocalStore(tmp_path / "store"), f.name)
    assert kept.digest == hashlib.sha256(b"elsewhere" * 100_000).hexdigest()


def test_gc_keeps_a_blob_reused_while_it_was_listing(db_url: str, tmp_path: Path) -> None:
    """Listing a large store takes a while. A registration that reuses old unreferenced bytes
    meanwhile (refresh, then commit) must not lose them to the delete that follows."""

    class BusyStore(LocalStore):
        """A real store where another run reuses one blob the moment gc has listed it."""

        reused: str | None = None

        def listing(self):  # type: ignore[no-untyped-def]
            yield from super().listing()
            if self.reused is not None:
                self.refresh(self.reused)  # what store_path does for bytes it finds stored

    with Registry.open(db_url) as registry:
        store = BusyStore(tmp_path / "store")
        registry.use_artifact_store(store)
        (tmp_path / "old.bin").write_bytes(b"left unreferenced long ago, now reused")
        (tmp_path / "gone.bin").write_bytes(b"left unreferenced long ago")
        reused = store_path(store, str(tmp_path / "old.bin")).digest
        gone = store_path(store, str(tmp_path / "gone.bin")).digest
        for digest in (reused, gone):
            _age(Path(store.local_file(digest)), 2 * 3600)
        store.reused = reused
        garbage = registry.collect_garbage()  # default grace: one hour
        assert [d for d, _ in garbage.removable] == [gone]
        assert [d for d, _ in garbage.recent] == [reused]
        assert store.has(reused) and not store.has(gone)
