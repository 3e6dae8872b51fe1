"""Which artifact store a setting names: the default folder, `file://`, or an object store;
and the same store for reading, through the local cache of remote blobs."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from modeltrail.core.config import Settings
from modeltrail.core.errors import ConfigError
from modeltrail.core.vault.blobs import BlobStore

OBJECT_SCHEMES = ("s3", "gs", "az", "abfs", "azure")


def default_location(database_url: str) -> Path:
    """`artifacts/` beside a SQLite registry file; `.modeltrail/artifacts` for any other."""
    prefix = "sqlite:///"
    if database_url.startswith(prefix):
        path = urllib.parse.unquote(database_url[len(prefix) :].split("?", 1)[0])
        if path and path != ":memory:":
            return Path(path).parent / "artifacts"
    return Path(".modeltrail") / "artifacts"


def open_store(settings: Settings, database_url: str | None = None) -> BlobStore:
    """The store `settings.artifact_store` names, else the default beside the registry."""
    from modeltrail.core.vault.local import LocalStore

    url = settings.artifact_store
    if not url:
        return LocalStore(default_location(database_url or settings.resolved_database_url()))
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"MODELTRAIL_ARTIFACT_STORE {url!r}: a file URL has no host")
        return LocalStore(urllib.parse.unquote(parts.path))
    if scheme in OBJECT_SCHEMES:
        from modeltrail.core.extras import require

        require("s3", f"the artifact store {scheme}://")
        from modeltrail.core.vault.remote import ObjectStore

        return ObjectStore.from_url(url)
    if not scheme:
        return LocalStore(url)  # a plain path
    raise ConfigError(
        f"MODELTRAIL_ARTIFACT_STORE {url!r}: unknown scheme {scheme!r}",
        hint="use file:///path, s3://bucket/prefix, gs://bucket/prefix or az://container/prefix",
    )


def for_reading(store: BlobStore, settings: Settings) -> BlobStore:
    """`store` as pulls read it: a remote one through the local cache keyed by digest
    (`$MODELTRAIL_CACHE_DIR/blobs`, else `~/.cache/modeltrail/blobs`), a local one as it is."""
    from modeltrail.core.vault.local import LocalStore

    if isinstance(store, LocalStore):
        return store
    from modeltrail.core.capture.statcache import default_cache_path
    from modeltrail.core.vault.cached import CachedStore

    base = Path(settings.cache_dir) if settings.cache_dir else default_cache_path().parent
    return CachedStore(store, LocalStore(base / "blobs"))
