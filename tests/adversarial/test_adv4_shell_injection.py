"""Item 4: no shell injection through `reproduce --write`. Control characters are refused at
registration; a record that holds them anyway (written by an older release, or edited in
the database) still yields a verify-data.sh that runs no injected command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from bot_fixtures import draft
from sqlalchemy import text

from modeltrail.core.errors import UsageError
from modeltrail.core.lifecycle.reproduce import build_recipe
from modeltrail.core.records import Artifact, CodeState, DataSnapshot, VersionDraft
from modeltrail.core.registry.writer import Registry

INJECTED = "x\ntouch pwned\n"


@pytest.mark.parametrize(
    "hostile",
    [
        VersionDraft("m", data=(DataSnapshot(INJECTED, "d.csv", "file", "a" * 64, 1, 1),)),
        VersionDraft("m", data=(DataSnapshot("train", "d.csv\n;id", "file", "a" * 64, 1, 1),)),
        VersionDraft("m", artifacts=(Artifact("model", "s3://b/k\r\nrm -rf /", None, None),)),
        VersionDraft("m", tags={"ci.run_url": "https://ci/1\x1b[2J"}),
        VersionDraft(
            "m", code=CodeState("/r", "abc123; touch pwned", "main", None, False, (), None)
        ),
    ],
)
def test_item4_control_characters_and_non_hex_commits_are_refused(
    registry: Registry, hostile: VersionDraft
) -> None:
    with pytest.raises(UsageError):
        registry.register(hostile, actor="a")
    assert registry.list_models() == []


def test_item4_verify_data_sh_never_runs_what_a_stored_field_holds(
    registry: Registry, tmp_path: Path
) -> None:
    registry.register(draft(0.9), actor="a")
    with registry.engine.begin() as conn:  # what an older release could have stored
        conn.execute(
            text("UPDATE data_snapshots SET role = :r, digest = :d"),
            {"r": INJECTED, "d": "$(touch pwned2)"},
        )
        conn.execute(text("UPDATE versions SET code_commit = :c"), {"c": "main\ntouch pwned3"})
    recipe = build_recipe(registry.load("fraud", "1.0.0"))
    work = tmp_path / "work"
    work.mkdir()
    script = work / "verify-data.sh"
    script.write_text(recipe.verify_script)
    subprocess.run(["sh", str(script)], cwd=work, capture_output=True, timeout=30)
    assert sorted(p.name for p in work.iterdir()) == ["verify-data.sh"]
    assert recipe.checkout_command is None  # a commit that is not hex is not checked out
    assert "\\x0a" in recipe.verify_script
