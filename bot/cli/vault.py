"""The artifact store commands: pull a version's bytes, verify them, collect garbage.
Registered on `common.app`."""

from __future__ import annotations

from pathlib import Path

import click

from modeltrail.bot.cli.common import app, load_settings, open_registry, print_json, say


@app.command()
@click.argument("ref", metavar="MODEL[@REF]")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Write into a directory that is not empty.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def pull(ref: str, target: Path, force: bool, as_json: bool) -> None:
    """Write a version's stored artifacts into TARGET, verifying every sha256 while writing.

    REF: `fraud-detector@production`, `fraud-detector/2.1.5`, … (default: latest). On a
    mismatch everything written is removed and the command exits 1 naming the file."""
    registry = open_registry()
    try:
        record = registry.resolve(ref)
        result = registry.pull_files(record, target, force=force)
    finally:
        registry.close()
    if as_json:
        print_json(
            {
                "model": record.model,
                "version": record.version,
                "path": result.path,
                "files": [
                    {"artifact": f.artifact, "path": f.path, "sha256": f.digest, "size": f.size}
                    for f in result.files
                ],
                "not_stored": list(result.not_stored),
            }
        )
        return
    say(f"pulled {record.model} {record.version} into {result.path}: {len(result.files)} files")
    for f in result.files:
        say(f"  {f.path}  sha256 {f.digest[:12]}  {f.size} bytes")
    for name in result.not_stored:
        say(f"  {name}: referenced, not stored (nothing to pull)")


@app.command()
@click.argument("ref", metavar="MODEL[@REF]")
@click.option("--json", "as_json", is_flag=True)
def verify(ref: str, as_json: bool) -> None:
    """Re-hash a version's stored artifacts and the data at its recorded paths.

    Each is ok, changed (old and new digest), missing, or not stored; exit 1 on any change
    or anything missing."""
    from modeltrail.core.capture.statcache import StatCache, default_cache_path
    from modeltrail.core.vault.vault import verify_data

    settings = load_settings()
    cache_file = (
        Path(settings.cache_dir) / "statcache.db" if settings.cache_dir else default_cache_path()
    )
    registry = open_registry()
    try:
        record = registry.resolve(ref)
        checks = registry.verify_artifacts(record)
        with StatCache(cache_file) as cache:
            checks += [verify_data(snap, cache=cache) for snap in record.data]
    finally:
        registry.close()
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
@click.option("--json", "as_json", is_flag=True)
def gc(dry_run: bool, as_json: bool) -> None:
    """Remove the stored blobs no version references (e.g. left by a crash between storing
    and registering). A blob any version references is never removed, whatever its stage."""
    registry = open_registry()
    try:
        garbage = registry.collect_garbage(dry_run=dry_run)
    finally:
        registry.close()
    total = sum(size for _, size in garbage)
    if as_json:
        print_json(
            {
                "dry_run": dry_run,
                "blobs": [{"sha256": d, "size": s} for d, s in garbage],
                "bytes": total,
            }
        )
        return
    verb = "would remove" if dry_run else "removed"
    say(
        f"{verb} {len(garbage)} unreferenced blob{'s' if len(garbage) != 1 else ''} ({total} bytes)"
    )
    for digest, size in garbage:
        say(f"  {digest}  {size} bytes")
