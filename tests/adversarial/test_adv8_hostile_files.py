"""Item 8 (and duplicate keys from item 9): hostile params/metrics files given to
`modeltrail register` are refused at once with one clear line and exit 2 (bad input), and nothing is
registered: YAML anchor bombs, FIFOs, /dev/zero, oversized files, too many keys, a key twice."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from modeltrail.bot.cli.main import main
from modeltrail.core.registry.writer import Registry

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
)


def _register(db_url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--db", db_url, "register", "fraud", "--no-git", "--no-env", *args])
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bomb.yaml", BOMB, "expands to"),
        ("twice.json", '{"lr": 0.1, "lr": 0.2}', "appears twice"),
        ("twice.yaml", "lr: 0.1\nlr: 0.2\n", "appears twice"),
        ("many.json", "{" + ",".join(f'"k{i}": {i}' for i in range(100_001)) + "}", "keys"),
        ("deep.json", "[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("latin1.yaml", b"name: caf\xe9\n", "not UTF-8"),
    ],
)
def test_item8_hostile_params_files_are_refused(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content, expected
) -> None:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, output = _register(db_url, capsys, "--params", str(path))
    assert code == 2, output  # bad input given on the command line
    assert expected in output and "Traceback" not in output
    with Registry.open(db_url) as registry:
        assert registry.list_models() == []


def test_item8_fifos_devices_and_big_files_are_refused_at_once(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    fifo = tmp_path / "params.yaml"
    os.mkfifo(fifo)
    started = time.monotonic()
    code, output = _register(db_url, capsys, "--params", str(fifo))
    assert code == 2 and "not a regular file" in output
    code, output = _register(db_url, capsys, "--metrics", "/dev/zero")
    assert code == 2 and "not a regular file" in output
    assert time.monotonic() - started < 10, "a pipe or a device must be refused at once"
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 2000 + "\n")
    monkeypatch.setenv("MODELTRAIL_PARAMS_MAX_BYTES", "1000")  # overridable by settings
    code, output = _register(db_url, capsys, "--params", str(big))
    assert code == 2 and "over the limit of 1000" in output
