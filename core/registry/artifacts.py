"""The registry's side of the artifact store: which store it uses, pulling a version's bytes
(through a local cache keyed by digest), verifying a version, and collecting unreferenced blobs.

A mixin of `Registry`. The store and the cache are opened on first use, so a registry that
never touches artifacts never imports an object-storage client.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from modeltrail.core.config import Settings
from modeltrail.core.registry.reading import ReadingMixin
from modeltrail.core.store import schema

if TYPE_CHECKING:
    from modeltrail.core.records import Artifact, VersionRecord
    from modeltrail.core.vault.blobs import BlobStore
    from modeltrail.core.vault.vault import Check, PulledFile


@dataclass(frozen=True)
class PullResult:
    path: str
    files: tuple[PulledFile, ...]
    not_stored: tuple[str, ...]


class ArtifactsMixin(ReadingMixin):
    settings: Settings | None = None
    _store: BlobStore | None = None

    if TYPE_CHECKING:

        def resolve(self, ref: str) -> VersionRecord: ...

    def artifact_store(self) -> BlobStore:
        if self._store is None:
            from modeltrail.core.vault.open import open_store

            url = self.engine.url.render_as_string(hide_password=False)
            self._store = open_store(self.settings or Settings(), url)
        return self._store

    def use_artifact_store(self, store: BlobStore) -> None:
        """Point this registry at another store (tests, tools that copy between stores)."""
        self._store = store

    def _cache(self) -> BlobStore | None:
        """A local copy of remote blobs, keyed by digest (none for a local store)."""
        from modeltrail.core.vault.local import LocalStore

        store = self.artifact_store()
        if isinstance(store, LocalStore):
            return None
        from modeltrail.core.capture.statcache import default_cache_path

        settings = self.settings or Settings()
        base = Path(settings.cache_dir) if settings.cache_dir else default_cache_path().parent
        return LocalStore(base / "blobs")

    def pull(
        self, version: VersionRecord | str, target: str | os.PathLike[str], *, force: bool = False
    ) -> str:
        """Write a version's stored artifacts into `target`, each verified; returns the path."""
        return self.pull_files(version, target, force=force).path

    def pull_files(
        self, version: VersionRecord | str, target: str | os.PathLike[str], *, force: bool = False
    ) -> PullResult:
        from modeltrail.core.vault.cached import CachedStore
        from modeltrail.core.vault.vault import pull

        record = self.resolve(version) if isinstance(version, str) else version
        store = self.artifact_store()
        cache = self._cache()
        source = CachedStore(store, cache) if cache is not None else store
        files, skipped = pull(source, record.artifacts, target, force=force)
        return PullResult(str(Path(target)), tuple(files), tuple(skipped))

    def verify_artifacts(self, record: VersionRecord) -> list[Check]:
        from modeltrail.core.vault.vault import verify_artifact

        store = self.artifact_store()
        return [verify_artifact(store, a) for a in record.artifacts]

    def stored_artifacts(self) -> list[Artifact]:
        """Every stored artifact of every version, whatever its stage."""
        from modeltrail.core.records import Artifact

        a = schema.artifacts
        query = select(a.c.name, a.c.uri, a.c.digest, a.c.size, a.c.stored, a.c.kind).where(
            a.c.stored.is_(True)
        )
        with self._read() as conn:
            return [Artifact(*row) for row in conn.execute(query)]

    def collect_garbage(self, *, dry_run: bool = False) -> list[tuple[str, int]]:
        """Remove (or with `dry_run` only list) the blobs no version references."""
        from modeltrail.core.vault.vault import collect_garbage, referenced_blobs

        store = self.artifact_store()
        keep = referenced_blobs(store, self.stored_artifacts())
        garbage = collect_garbage(store, keep)
        if not dry_run:
            for digest, _ in garbage:
                store.delete(digest)
        return garbage
