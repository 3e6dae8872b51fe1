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
    from modeltrail.core.vault.vault import Check, Garbage, PulledFile


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

    def pull(
        self, version: VersionRecord | str, target: str | os.PathLike[str], *, force: bool = False
    ) -> str:
        """Write a version's stored artifacts into `target`, each verified; returns the path."""
        return self.pull_files(version, target, force=force).path

    def pull_files(
        self, version: VersionRecord | str, target: str | os.PathLike[str], *, force: bool = False
    ) -> PullResult:
        from modeltrail.core.vault.open import for_reading
        from modeltrail.core.vault.vault import pull

        record = self.resolve(version) if isinstance(version, str) else version
        source = for_reading(self.artifact_store(), self.settings or Settings())
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

    def collect_garbage(
        self, *, dry_run: bool = False, grace: float | None = None, now: float | None = None
    ) -> Garbage:
        """Remove (or with `dry_run` only list) the blobs no version references, except those
        stored or reused in the last `grace` seconds (default one hour): a registration under
        way stores its artifacts before it commits the version that references them. Old
        temporary files left by a crash go too."""
        import time

        from modeltrail.core.vault.local import LocalStore
        from modeltrail.core.vault.vault import (
            GRACE,
            Garbage,
            collect_garbage,
            referenced_blobs,
        )

        grace = GRACE if grace is None else grace
        cutoff = (time.time() if now is None else now) - grace
        store = self.artifact_store()
        keep = referenced_blobs(store, self.stored_artifacts())
        garbage = collect_garbage(store, keep, cutoff)
        if not dry_run:
            removed, reused = [], list(garbage.recent)
            for digest, size in garbage.removable:
                # Listing a large store takes a while; a registration may have reused the
                # blob (refreshed it, then committed) since it was listed. Asked again
                # just before the delete, that window shrinks from the whole listing to
                # this one call. (A refresh that comes after the delete finds no blob and
                # stores the bytes again.)
                when = store.modified(digest)
                if when is not None and when >= cutoff:
                    reused.append((digest, size))
                    continue
                store.delete(digest)
                removed.append((digest, size))
            garbage = Garbage(tuple(removed), tuple(reused))
            if isinstance(store, LocalStore):
                for temp in store.stray_temporaries(older_than=grace):
                    temp.unlink(missing_ok=True)
        return garbage
