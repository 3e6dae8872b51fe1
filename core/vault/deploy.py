"""What to deploy after a stage move: the version now in production, its artifacts' digests,
and the exact command that fetches those bytes. Pure; the CLI prints it and the rollback's
channel report carries it."""

from __future__ import annotations

from typing import Any

from modeltrail.core.records import VersionRecord


def deploy_facts(record: VersionRecord, stage: str = "production") -> dict[str, Any]:
    stored = [a for a in record.artifacts if a.stored]
    return {
        "version": record.version,
        "artifacts": [
            {"name": a.name, "sha256": a.digest, "stored": a.stored} for a in record.artifacts
        ],
        "pull": f"modeltrail pull {record.model}@{stage} DIR" if stored else None,
    }


def deploy_lines(facts: dict[str, Any]) -> list[str]:
    lines = []
    for artifact in facts["artifacts"]:
        kept = "" if artifact["stored"] else " (referenced, not stored)"
        lines.append(f"  {artifact['name']}  sha256 {artifact['sha256'] or '-'}{kept}")
    if facts["pull"]:
        lines.append(f"deploy these bytes: {facts['pull']}")
    elif not facts["artifacts"]:
        lines.append("no artifacts recorded for this version")
    return lines
