"""Item 8 (and duplicate keys from item 9): hostile files are refused at once with one clear
line and an exit code, and nothing is registered: YAML anchor bombs, FIFOs, /dev/zero, oversized
files, too many keys, deep nesting, binary garbage, a key twice. Every reader of files goes
through the one guarded loader (core/safe_files.py): params/metrics files of `register`, the
DVC project's params.yaml, dvc.yaml, dvc.lock, metrics and `.dvc` files (`register --dvc` and
`track(dvc=True)`), `.env` and `*_FILE` settings, and MLflow's environment files."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from dvc_projects import dvc_project

from modeltrail.bot.cli.main import main
from modeltrail.core.errors import FileLimitError, ModeltrailError
from modeltrail.core.registry.writer import Registry
from modeltrail.core.tracking import track

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


# -- every other reader of files: DVC projects, track(), settings, MLflow -------------------

SMALL_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(  # a million values
    f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcde", "bcdef", strict=True)
)
DEEP = "a: " + "[" * 300 + "]" * 300 + "\n"


def _hostile(path: Path, kind: str) -> None:
    """Turn `path` into a hostile file of `kind`."""
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "bomb":
        path.write_text(SMALL_BOMB)
    elif kind == "deep":
        path.write_text(DEEP)
    elif kind == "garbage":
        path.write_bytes(b"\x00\xff\xfe\x9c garbage \x00" * 50)
    elif kind == "big":
        path.write_text("a: " + "x" * 5000 + "\n")  # over MODELTRAIL_PARAMS_MAX_BYTES=4000


def _within(seconds: float, work: Callable[[], object]) -> object:
    """`work()`'s result, failing (not hanging the suite) when it blocks on a pipe or keeps
    reading a device past `seconds`."""
    box: list[object] = []
    thread = threading.Thread(target=lambda: box.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still reading after {seconds} s (a pipe or a device?)"
    return box[0]


DVC_FILES = ["params.yaml", "dvc.lock", "dvc.yaml", "train_metrics.json", "data/raw.csv.dvc"]
KINDS = ["fifo", "dev-zero", "bomb", "deep", "garbage", "big"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", DVC_FILES)
def test_item8_hostile_dvc_files_are_refused_by_register(
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    kind: str,
) -> None:
    project = dvc_project("pipeline", tmp_path / "project", commit=False)
    _hostile(project / name, kind)
    monkeypatch.chdir(project)
    monkeypatch.setenv("MODELTRAIL_PARAMS_MAX_BYTES", "4000")
    code, output = _within(20, lambda: _register(db_url, capsys, "--dvc"))  # type: ignore[misc]
    assert code in (1, 2), output  # 2: over a limit; 1: a DVC file that does not parse
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) <= 2 and "Traceback" not in output, output  # the error and its hint
    assert name.rsplit("/", 1)[-1] in output, output
    with Registry.open(db_url) as registry:
        assert registry.list_models() == []


@pytest.mark.parametrize("kind", ["fifo", "bomb", "deep"])
def test_item8_track_with_dvc_refuses_hostile_files_and_registers_nothing(
    db_url: str, tmp_path: Path, kind: str
) -> None:
    project = dvc_project("pipeline", tmp_path / "project", commit=False)
    _hostile(project / "params.yaml", kind)

    def run() -> BaseException | None:
        try:
            with track("fraud", dvc=True, base_dir=project, database_url=db_url):
                pass
        except ModeltrailError as exc:
            return exc
        return None

    error = _within(20, run)
    assert isinstance(error, FileLimitError), error
    assert "params.yaml" in str(error)
    with Registry.open(db_url) as registry:
        assert registry.list_models() == []


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "big"])
def test_item8_settings_files_are_refused_at_once(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    secret = tmp_path / "database_url"
    _hostile(secret, kind)
    if kind == "big":
        secret.write_text("x" * (2 * 1024 * 1024))  # a settings file over 1 MiB
    monkeypatch.setenv("MODELTRAIL_DATABASE_URL_FILE", str(secret))
    code = _within(20, lambda: main(["list"]))
    err = capsys.readouterr().err
    assert code == 2 and "MODELTRAIL_DATABASE_URL_FILE" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err

    monkeypatch.delenv("MODELTRAIL_DATABASE_URL_FILE")
    monkeypatch.chdir(tmp_path)
    _hostile(tmp_path / ".env", kind)
    if kind == "big":
        (tmp_path / ".env").write_text("A=" + "x" * (2 * 1024 * 1024) + "\n")
    code = _within(20, lambda: main(["list"]))
    err = capsys.readouterr().err
    assert code == 2 and ".env" in err and "Traceback" not in err, err


def test_item8_hostile_mlflow_environment_files_are_not_imported(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A logged model whose python_env.yaml is an anchor bomb or nested too deep, or whose
    requirements.txt is over the size limit: that version is skipped with one line naming the
    file; the clean version next to it is imported."""
    from mlflow_store import client_for, log_training_run, quiet_mlflow, register_version
    from mlflow_store import require_mlflow as _require_mlflow

    _require_mlflow()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MODELTRAIL_PARAMS_MAX_BYTES", "4000")
    files = [
        {"python_env": SMALL_BOMB},
        {"python_env": DEEP},
        {"requirements": "numpy==2.0.1\n" + "# padding\n" * 500},
        {},  # a clean one
    ]
    with quiet_mlflow():
        client = client_for(uri)
        experiment = client.create_experiment("hostile")
        for env in files:
            run_id = log_training_run(
                client,
                experiment,
                tmp_path,
                lr=0.1,
                losses=[0.5],
                auc=0.8,
                dataset_digest="ab",
                **env,
            )
            register_version(client, "fraud", run_id)
        code = _within(
            60, lambda: main(["--db", db_url, "import", "mlflow", "--tracking-uri", uri])
        )
    out, err = capsys.readouterr()
    assert code == 3, out + err  # the exit code is the number of versions skipped
    skipped = [line for line in (out + err).splitlines() if line.startswith("warning: skipped")]
    assert len(skipped) == 3 and "Traceback" not in out + err, out + err
    assert "python_env.yaml expands to" in skipped[0]
    assert "python_env.yaml is nested too deeply" in skipped[1]
    assert "requirements.txt" in skipped[2] and "over the limit of 4000" in skipped[2]
    with Registry.open(db_url) as registry:
        assert len(registry.list_versions("fraud")) == 1


def test_item8_hostile_values_and_tables_are_refused(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `--param` value nested thousands deep; a monitored batch that is a pipe; a CSV whose
    unbalanced quote would swallow the rest of the file into one record."""
    code, output = _register(db_url, capsys, "--param", "x=" + "[" * 5000 + "]" * 5000)
    assert code == 2 and "nested too deeply" in output and "Traceback" not in output, output

    train = tmp_path / "train.csv"
    train.write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(50)))
    code, output = _register(db_url, capsys, "--data", f"train={train}", "--version", "1.0.0")
    assert code == 0, output
    pipe = tmp_path / "batch.csv"
    os.mkfifo(pipe)
    args = ["--db", db_url, "monitor", "data", "fraud", str(pipe), "--version", "1.0.0"]
    code = _within(20, lambda: main(args))
    out, err = capsys.readouterr()
    assert code == 2 and "not a regular file" in err and "Traceback" not in out + err, out + err

    quoted = tmp_path / "quoted.csv"
    quoted.write_text('a,b\n"1,' + "x" * 100 + "\n" + ("2,3\n" * 300_000))
    with pytest.raises(ModeltrailError, match="unbalanced quote"):
        with track("fraud-2", database_url=db_url) as run:
            run.log_data("train", quoted, profile=True)
    # No line breaks at all: refused after one bounded read, not read into memory whole.
    one_line = tmp_path / "one-line.csv"
    one_line.write_text("1," * 3_000_000)
    with pytest.raises(ModeltrailError, match="no line breaks"):
        with track("fraud-3", database_url=db_url) as run:
            run.log_data("train", one_line, profile=True)
    with Registry.open(db_url) as registry:
        assert [m.name for m in registry.list_models()] == ["fraud"]
