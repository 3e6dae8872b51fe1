"""The registry tools that trace lineage backwards: which versions (of any model) used a
dataset, by its digest, or were trained from a git commit.
"""

from __future__ import annotations

import re
from typing import Any

from modeltrail.core.errors import UsageError
from modeltrail.core.registry.tool_base import MATCH_CAP, ToolBase, find_model_id
from modeltrail.core.serialize import iso
from modeltrail.core.versioning import SemVer

_HEX = re.compile(r"^[0-9a-f]{4,64}$")


class LineageTools(ToolBase):
    """A mixin of `RegistryTools`: versions found by dataset digest or git commit."""

    def versions_using_data(self, digest: str, model: str | None = None) -> dict[str, Any]:
        from sqlalchemy import and_, or_, select

        from modeltrail.core.store import schema

        prefix = _hex_prefix(digest, "digest")
        ds, v, mo = schema.data_snapshots, schema.versions, schema.models
        query = (
            select(
                mo.c.name,
                v.c.version,
                v.c.stage,
                v.c.created_at,
                v.c.actor,
                ds.c.role,
                ds.c.path,
                ds.c.digest,
                ds.c.dvc_md5,
            )
            .join(v, v.c.id == ds.c.version_id)
            .join(mo, mo.c.id == v.c.model_id)
            # an index range scan on the sha256; a DVC md5 ("<hex>" or "<hex>.dir") the same way
            .where(
                or_(
                    and_(ds.c.digest >= prefix, ds.c.digest < prefix + "g"),
                    and_(ds.c.dvc_md5 >= prefix, ds.c.dvc_md5 < prefix + "g"),
                )
            )
        )
        rows = self._matches(query, model, mo)
        return {
            "digest": prefix,
            "model": model,
            "total": len(rows),
            "matches": [
                {
                    **_match(r),
                    "role": r.role,
                    "path": r.path,
                    "digest": r.digest,
                    "dvc_md5": r.dvc_md5,
                }
                for r in rows[:MATCH_CAP]
            ],
        }

    def versions_at_commit(self, commit: str, model: str | None = None) -> dict[str, Any]:
        from sqlalchemy import select

        from modeltrail.core.store import schema

        prefix = _hex_prefix(commit, "commit")
        v, mo = schema.versions, schema.models
        query = (
            select(
                mo.c.name,
                v.c.version,
                v.c.stage,
                v.c.created_at,
                v.c.actor,
                v.c.code_commit,
                v.c.code_branch,
                v.c.code_dirty,
            )
            .join(mo, mo.c.id == v.c.model_id)
            .where(v.c.code_commit >= prefix, v.c.code_commit < prefix + "g")
        )
        rows = self._matches(query, model, mo)
        return {
            "commit": prefix,
            "model": model,
            "total": len(rows),
            "matches": [
                {
                    **_match(r),
                    "commit": r.code_commit,
                    "branch": r.code_branch,
                    "dirty": r.code_dirty,
                }
                for r in rows[:MATCH_CAP]
            ],
        }

    # -- internals -----------------------------------------------------------------------------

    def _matches(self, query: Any, model: str | None, mo: Any) -> list[Any]:
        with self.registry.engine.connect() as conn:
            if model is not None:
                find_model_id(conn, model)
                query = query.where(mo.c.name == model)
            rows = conn.execute(query.limit(1000)).all()
        rows.sort(key=lambda r: (r.name, *(-p for p in _semver(r.version))))
        return rows


def _match(row: Any) -> dict[str, Any]:
    """The version fields every lookup match carries."""
    return {
        "model": row.name,
        "version": row.version,
        "stage": row.stage,
        "created_at": iso(row.created_at),
        "actor": row.actor,
    }


def _semver(text: str) -> tuple[int, int, int]:
    parsed = SemVer.parse(text)
    return parsed.major, parsed.minor, parsed.patch


def _hex_prefix(value: str, what: str) -> str:
    text = value.strip().lower()
    for prefix in ("sha256:", "sha:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if not _HEX.match(text):
        raise UsageError(
            f"{value!r} is not a {what} (or the start of one)",
            hint="give at least 4 hexadecimal characters",
        )
    return text
