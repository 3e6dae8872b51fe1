"""The artifact store commands: pull a version's bytes, verify them, collect garbage.
Registered on `common.app`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from modeltrail.bot.cli.common import (
    app,
    load_settings,
    open_reader,
    open_registry,
    print_json,
    say,
)

if TYPE_CHECKING:
    from modeltrail.core.config import Settings
    from modeltrail.core.records import VersionRecord
    from modeltrail.core.vault.blobs import BlobStore


def _resolve(ref: str) -> VersionRecord:
    """Through the stdlib SQLite reader where it serves: a pull starts without SQLAlchemy."""
    reader = open_reader()
    try:
        return reader.resolve(ref)  # type: ignore[no-any-return]
    finally:
        reader.close()


def _store(settings: Settings) -> BlobStore:
    from modeltrail.core.vault.open import open_store

    return open_store(settings, settings.resolved_database_url())


@app.command()
@click.argument("ref", metavar="MODEL[@REF]")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Write into a directory that is not empty.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def pull(ref: str, target: Path, force: bool, as_json: bool) -> None:
    """Write a version's stored artifacts into TARGET, verifying every sha256 while writing.

    REF: `fraud-detector@production`, `fraud-detector/2.1.5`, … (default: latest). On a
    mismatch everything written is removed and the command exits 1 naming the file."""
    from modeltrail.core.vault.open import for_reading
    from modeltrail.core.vault.vault import pull as pull_artifacts

    settings = load_settings()
    record = _resolve(ref)
    store = _store(settings)
    try:
        files, not_stored = pull_artifacts(
            for_reading(store, settings), record.artifacts, target, force=force
        )
    finally:
        store.close()
    if as_json:
        print_json(
            {
                "model": record.model,
                "version": record.version,
                "path": str(target),
                "files": [
                    {"artifact": f.artifact, "path": f.path, "sha256": f.digest, "size": f.size}
                    for f in files
                ],
                "not_stored": list(not_stored),
            }
        )
        return
    say(f"pulled {record.model} {record.version} into {target}: {len(files)} files")
    for f in files:
        say(f"  {f.path}  sha256 {f.digest[:12]}  {f.size} bytes")
    for name in not_stored:
        say(f"  {name}: referenced, not stored (nothing to pull)")


@app.command()
@click.argument("ref", metavar="MODEL[@REF]")
@click.option("--json", "as_json", is_flag=True)
def verify(ref: str, as_json: bool) -> None:
    """Re-hash a version's stored artifacts and the data at its recorded paths.

    Each is ok, changed (old and new digest), missing, or not stored; exit 1 on any change
    or anything missing."""
    from modeltrail.core.capture.statcache import StatCache, default_cache_path
    from modeltrail.core.vault.vault import verify_artifact, verify_data

    settings = load_settings()
    cache_file = (
        Path(settings.cache_dir) / "statcache.db" if settings.cache_dir else default_cache_path()
    )
    record = _resolve(ref)
    store = _store(settings)
    try:
        checks = [verify_artifact(store, a) for a in record.artifacts]
    finally:
        store.close()
    with StatCache(cache_file) as cache:
        checks += [verify_data(snap, cache=cache) for snap in record.data]
    bad = [c for c in checks if c.status in ("changed", "missing")]
    if as_json:
        print_json(
            {
                "model": record.model,
                "version": record.version,
                "ok": not bad,
                "checks": [
                    {
                        "what": c.what,
                        "name": c.name,
                        "status": c.status,
                        "expected": c.expected,
                        "found": c.found,
                        "detail": c.detail,
                    }
                    for c in checks
                ],
            }
        )
    else:
        say(f"{record.model} {record.version}:")
        for c in checks:
            line = f"  {c.what} {c.name}: {c.status}"
            if c.status == "changed":
                line += f" (recorded {c.expected}, now {c.found})"
            if c.detail and c.status != "ok":
                line += f" [{c.detail}]"
            say(line)
    if bad:
        raise SystemExit(1)


@app.command()
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option(
    "--grace",
    default="1h",
    show_default=True,
    metavar="DURATION",
    help="Keep unreferenced blobs stored or reused this recently (90s, 30m, 1h, 0): a "
    "registration under way stores its artifacts before it commits.",
)
@click.option("--json", "as_json", is_flag=True)
def gc(dry_run: bool, grace: str, as_json: bool) -> None:
    """Remove the stored blobs no version references (e.g. left by a crash between storing
    and registering). A blob any version references is never removed, whatever its stage;
    an unreferenced one younger than --grace is kept (recent)."""
    from modeltrail.core.vault.vault import parse_grace

    seconds = parse_grace(grace)
    registry = open_registry()
    try:
        garbage = registry.collect_garbage(dry_run=dry_run, grace=seconds)
    finally:
        registry.close()
    total = sum(size for _, size in garbage.removable)
    if as_json:
        print_json(
            {
                "dry_run": dry_run,
                "grace_seconds": seconds,
                "blobs": [{"sha256": d, "size": s} for d, s in garbage.removable],
                "bytes": total,
                "kept_recent": [{"sha256": d, "size": s} for d, s in garbage.recent],
            }
        )
        return
    verb = "would remove" if dry_run else "removed"
    count = len(garbage.removable)
    say(f"{verb} {count} unreferenced blob{'s' if count != 1 else ''} ({total} bytes)")
    for digest, size in garbage.removable:
        say(f"  {digest}  {size} bytes")
    for digest, size in garbage.recent:
        say(f"  {digest}  {size} bytes  kept (recent: stored within {grace})")
