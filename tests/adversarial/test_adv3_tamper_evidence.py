"""Item 3: tamper evidence that covers the record. Raw SQL edits to the versions and to the
trail, on SQLite and PostgreSQL, are each caught and named (model, version, field); the keyed
chain resists re-hashing; an anchored head catches truncation."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

import pytest
from bot_fixtures import draft
from sqlalchemy import text

from modeltrail.bot.anchor import Destination, HeadAnchor
from modeltrail.bot.cli.main import main
from modeltrail.core.errors import ModeltrailError
from modeltrail.core.lifecycle import audit
from modeltrail.core.records import VersionDraft
from modeltrail.core.registry.writer import Registry

KEY = "k" * 40


@pytest.fixture
def keyed(db_url: str) -> Registry:
    reg = Registry.open(db_url)
    reg.close()
    return Registry(reg.engine, audit_key=KEY)


def _story(reg: Registry) -> None:
    for auc in (0.80, 0.81, 0.82):
        reg.register(draft(auc, tags={"team": "risk"}), actor="trainer")
    reg.promote("fraud", "1.0.1", actor="ada")
    reg.set_golden("fraud", "1.0.0", actor="ada")
    reg.add_note("fraud", "1.0.1", "looks good", actor="ada")
    result = reg.verify_audit()
    assert result.ok, result.problem


def _sql(reg: Registry, statement: str, **params: object) -> None:
    with reg.engine.begin() as conn:
        conn.execute(text(statement), params)


def _version_id(reg: Registry, version: str) -> int:
    with reg.engine.connect() as conn:
        found = conn.execute(text("SELECT id FROM versions WHERE version = :v"), {"v": version})
        return int(found.scalar_one())


EDITS = {
    "metric value": (
        "UPDATE metrics SET value = 0.99 WHERE name = 'auc' AND version_id = :id",
        ("metrics", "metric 'auc' was registered as 0.81"),
    ),
    "data digest": (
        "UPDATE data_snapshots SET digest = :fake WHERE version_id = :id",
        ("data", "data 'train'"),
    ),
    "param": (
        "UPDATE params SET value = '0.5' WHERE key = 'optimizer.lr' AND version_id = :id",
        ("params", ""),
    ),
    "stage": (
        "UPDATE versions SET stage = 'archived' WHERE id = :id",
        ("stage", "the events leave it production"),
    ),
    "golden pointer": ("UPDATE models SET golden_version_id = :id", ("golden", "1.0.0 golden")),
    "deleted note": ("DELETE FROM notes WHERE version_id = :id", ("notes", "1 note")),
    "deleted version": ("DELETE FROM versions WHERE id = :other", ("registration", "gone")),
    "commit": ("UPDATE versions SET code_commit = :fake WHERE id = :id", ("code", "")),
    "environment": (
        "UPDATE environments SET packages = '{}'",
        ("environment", ""),
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_item3_every_edit_of_a_version_is_caught_and_named(keyed: Registry, edit: str) -> None:
    _story(keyed)
    statement, (field, message) = EDITS[edit]
    _sql(
        keyed,
        statement,
        id=_version_id(keyed, "1.0.1"),
        other=_version_id(keyed, "1.0.2"),
        fake="f" * 64,
    )
    result = keyed.verify_audit()
    assert not result.ok
    assert result.differences, result.problem
    first = result.differences[0]
    assert first.model == "fraud" and first.field == field, result.differences
    assert message in first.message, first
    assert result.problem is not None and field in result.problem


def test_item3_edited_and_rehashed_or_forged_events_need_the_key(keyed: Registry) -> None:
    _story(keyed)
    with keyed.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM audit_events WHERE seq = 2")).mappings().one()
    event = audit.StoredEvent(**row)
    forged = audit.StoredEvent(**{**event.__dict__, "actor": "Mallory"})
    # Re-hashed without the key: a plain hash on an event marked keyed, then unmarked.
    _sql(
        keyed,
        "UPDATE audit_events SET actor = 'Mallory', hash = :h WHERE seq = 2",
        h=forged.recomputed_hash(),
    )
    result = keyed.verify_audit()
    assert (result.ok, result.bad_seq) == (False, 2)
    _sql(keyed, "UPDATE audit_events SET keyed = :f WHERE seq = 2", f=False)
    result = keyed.verify_audit()
    assert (result.ok, result.bad_seq) == (False, 2)
    assert "not keyed although earlier events are" in (result.problem or "")


def test_item3_a_wiped_trail_with_versions_present_is_caught(keyed: Registry) -> None:
    _story(keyed)
    _sql(keyed, "DELETE FROM audit_events")
    _sql(keyed, "DELETE FROM audit_head")
    result = keyed.verify_audit()
    assert not result.ok
    assert {d.version for d in result.differences} >= {"1.0.0", "1.0.1", "1.0.2"}
    assert "no register event" in (result.problem or "")


def test_item3_truncation_with_the_head_moved_is_caught_against_the_anchor(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def cli(*args: str) -> tuple[int, str]:
        code = main(["--db", db_url, *args])
        out, err = capsys.readouterr()
        return code, out + err

    with Registry.open(db_url) as reg:
        for _ in range(3):
            reg.register(VersionDraft("churn"), actor="a")
        reg.set_metric_goal("churn", "loss", "minimize", actor="a")
    code, anchored = cli("audit", "head")
    assert code == 0, anchored
    anchored = anchored.strip()
    assert anchored.startswith("4:")
    code, output = cli("audit", "verify", "--expect", anchored)
    assert code == 0, output
    assert "not keyed" in output
    with Registry.open(db_url) as reg:
        with reg.engine.connect() as conn:
            third = conn.execute(text("SELECT hash FROM audit_events WHERE seq = 3")).scalar()
        _sql(reg, "DELETE FROM audit_events WHERE seq = 4")
        _sql(reg, "UPDATE audit_head SET seq = 3, hash = :h", h=third)
        assert reg.verify_audit().ok  # without the anchor nothing shows
    code, output = cli("audit", "verify", "--expect", anchored)
    assert code == 1
    assert "anchored head is event 4 but the chain ends at event 3" in output
    code, output = cli("audit", "verify", "--expect", "nonsense")
    assert code == 2 and "SEQ:HASH" in output


def test_item3_time_never_goes_backwards_along_the_chain(db_url: str) -> None:
    moments = iter(
        dt.datetime(2026, 5, 1, tzinfo=dt.UTC) - dt.timedelta(seconds=s) for s in range(100)
    )
    with Registry.open(db_url, clock=lambda: next(moments)) as reg:
        for _ in range(3):
            reg.register(VersionDraft("late"), actor="skewed")
        events = list(reversed(reg.audit_log()))
        assert [e.created_at for e in events] == sorted(e.created_at for e in events)
        assert reg.verify_audit().ok


def test_item3_the_head_is_anchored_once_a_day(registry: Registry, tmp_path: Path) -> None:
    registry.register(VersionDraft("fraud"), actor="a")
    day = [dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)]
    target = tmp_path / "anchors.txt"
    anchor = HeadAnchor(registry, Destination.parse(str(target)), clock=lambda: day[0])
    assert anchor.run_once() is True
    assert anchor.run_once() is False
    day[0] += dt.timedelta(days=1)
    registry.register(VersionDraft("fraud"), actor="a")
    assert anchor.run_once() is True
    lines = target.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["2026-05-01", "2026-05-02"]
    assert lines[-1].split()[1] == audit.format_head(registry.audit_head())
    slack = HeadAnchor(registry, Destination.parse("slack:#audit"), clock=lambda: day[0])
    assert (slack.run_once(), slack.run_once()) == (True, False)  # one outbox event a day


def test_item3_an_anchor_that_is_a_pipe_is_refused_not_waited_on(
    registry: Registry, tmp_path: Path
) -> None:
    registry.register(VersionDraft("fraud"), actor="a")
    target = tmp_path / "anchors.txt"
    os.mkfifo(target)
    anchor = HeadAnchor(registry, Destination.parse(str(target)))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            anchor.run_once()
        except ModeltrailError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the anchor blocked on a pipe"
    assert len(errors) == 1 and "not a regular file" in str(errors[0])
