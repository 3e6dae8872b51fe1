"""`register --artifact/--artifact-ref`, `pull`, `verify`, `gc` and their bad input, through the
CLI's entry point on real files, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modeltrail.bot.cli.main import main


@pytest.fixture
def cli(db_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MODELTRAIL_ARTIFACT_STORE", f"file://{tmp_path / 'store'}")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", db_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def register(cli, *args: str) -> tuple[int, str, str]:
    return cli("register", "fraud", "--no-git", "--no-env", *args)


def test_register_pull_verify(cli, tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"weights")
    (tmp_path / "train.csv").write_text("x\n1\n")
    code, _, err = register(cli, "--artifact", "model.bin", "--data", "train=train.csv")
    assert code == 0, err
    code, out, err = cli("pull", "fraud@latest", "out", "--json")
    assert code == 0, err
    pulled = json.loads(out)
    assert [f["path"] for f in pulled["files"]] == ["model.bin"]
    assert (tmp_path / "out" / "model.bin").read_bytes() == b"weights"
    code, out, _ = cli("verify", "fraud")
    assert code == 0 and "artifact model.bin: ok" in out and "data train: ok" in out
    (tmp_path / "train.csv").write_text("x\n2\n")  # a silent data change
    code, out, _ = cli("verify", "fraud", "--json")
    assert code == 1
    data = {c["name"]: c for c in json.loads(out)["checks"]}
    assert data["train"]["status"] == "changed"
    assert data["train"]["expected"] != data["train"]["found"]
    (tmp_path / "train.csv").unlink()
    code, out, _ = cli("verify", "fraud")
    assert code == 1 and "data train: missing" in out
    code, _, err = cli("pull", "fraud", "out")
    assert code == 2 and "out is not empty" in err and "Traceback" not in err


def test_bad_input_is_one_line_and_registers_nothing(cli, tmp_path: Path) -> None:
    code, _, err = register(cli, "--artifact", "missing.bin")
    assert code == 1 and "artifact not found" in err and "Traceback" not in err
    (tmp_path / "m.bin").write_bytes(b"x")
    (tmp_path / "store").write_text("a file, not a folder")  # the store cannot be written
    code, _, err = register(cli, "--artifact", "m.bin")
    assert code == 1 and "artifact store" in err and len(err.strip().splitlines()) <= 2
    code, out, _ = cli("list", "--json")
    assert json.loads(out) == []


def test_referenced_artifacts_and_gc(cli, tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(b"x" * 100)
    code, _, err = register(cli, "--artifact-ref", "big=m.bin")
    assert code == 0, err
    code, out, _ = cli("show", "fraud")
    assert "referenced, not stored" in out
    code, out, _ = cli("gc", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["blobs"] == []
    code, _, err = register(cli, "--artifact", "m.bin")
    assert code == 0, err
    code, out, _ = cli("gc", "--json")
    assert json.loads(out)["blobs"] == []  # referenced by 1.0.1: kept


def test_gc_keeps_recent_blobs_of_a_registration_that_did_not_commit(cli, tmp_path: Path) -> None:
    (tmp_path / "good.bin").write_bytes(b"stored before the registration failed")
    code, _, err = register(cli, "--artifact", "good.bin", "--artifact", "missing.bin")
    assert code == 1 and "artifact not found" in err  # good.bin is in the store, unreferenced
    code, out, _ = cli("gc", "--dry-run")
    assert code == 0 and "would remove 0 unreferenced blobs" in out and "kept (recent" in out
    code, out, _ = cli("gc", "--json")
    report = json.loads(out)
    assert report["blobs"] == [] and len(report["kept_recent"]) == 1
    code, out, _ = cli("gc", "--grace", "0", "--json")
    assert [b["sha256"] for b in json.loads(out)["blobs"]] == [report["kept_recent"][0]["sha256"]]
    code, _, err = cli("gc", "--grace", "soon")
    assert code == 2 and "'soon' is not a duration" in err and "Traceback" not in err
