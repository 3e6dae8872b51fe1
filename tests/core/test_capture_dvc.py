from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from modeltrail.core.capture.data import snapshot_data
from modeltrail.core.capture.dvc import DvcEntry, parse_dvc_file, parse_dvc_lock, parse_dvc_yaml
from modeltrail.core.errors import CaptureError, DataPathError

DIR_MD5 = "3863d0e317dee0a55c4e59d2ec0eef33.dir"
FILE_MD5 = "a304afb96060aad90176268345e10355"

DVC_LOCK = f"""\
schema: '2.0'
stages:
  prepare:
    cmd: python src/prepare.py data/raw.xml
    deps:
    - path: data/raw.xml
      hash: md5
      md5: {FILE_MD5}
      size: 14445097
    - path: src/prepare.py
      hash: md5
      md5: f09ea0c15980b43010257ccb9f0055e2
      size: 1576
    params:
      params.yaml:
        prepare.seed: 20170428
        prepare.split: 0.2
    outs:
    - path: data/prepared
      hash: md5
      md5: {DIR_MD5}
      size: 8437363
      nfiles: 2
  train:
    cmd:
    - python src/train.py data/features model.pkl
    - echo done
    deps:
    - path: data/prepared
      hash: md5
      md5: {DIR_MD5}
      size: 8437363
      nfiles: 2
    outs:
    - path: model.pkl
      hash: md5
      md5: 0b5b0c7a1c6a4e0b7b8ea49b0a1c9d11
      size: 1202
"""

OLD_DVC_LOCK = f"""\
train:
  cmd: python train.py
  deps:
  - path: data/train.csv
    md5: {FILE_MD5}
  outs:
  - path: model.pkl
    md5: 0b5b0c7a1c6a4e0b7b8ea49b0a1c9d11
"""

DVC_FILE = f"""\
outs:
- md5: {DIR_MD5}
  size: 1234
  nfiles: 3
  hash: md5
  path: images
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps:
    - data/prepared
    params:
    - train.lr
    - train.epochs
    - custom.yaml:
      - model.depth
    outs:
    - model.pkl
    metrics:
    - metrics.json:
        cache: false
plots:
- plots/roc.json
metrics:
- eval/summary.json
"""


def test_parse_dvc_lock() -> None:
    lock = parse_dvc_lock(DVC_LOCK)
    assert lock.schema == "2.0"
    assert [s.name for s in lock.stages] == ["prepare", "train"]
    prepare, train = lock.stages
    assert prepare.cmd == ("python src/prepare.py data/raw.xml",)
    assert train.cmd == ("python src/train.py data/features model.pkl", "echo done")
    assert prepare.deps[0] == DvcEntry(
        path="data/raw.xml", md5=FILE_MD5, size=14445097, nfiles=None, is_dir=False
    )
    assert prepare.outs == (
        DvcEntry(path="data/prepared", md5=DIR_MD5, size=8437363, nfiles=2, is_dir=True),
    )
    assert prepare.params == {"params.yaml": {"prepare.seed": 20170428, "prepare.split": 0.2}}
    assert train.params == {}
    assert [(s.name, kind, e.path) for s, kind, e in lock.entries()][:2] == [
        ("prepare", "outs", "data/prepared"),
        ("train", "outs", "model.pkl"),
    ]


def test_parse_old_dvc_lock_without_schema() -> None:
    lock = parse_dvc_lock(OLD_DVC_LOCK)
    assert lock.schema is None
    (train,) = lock.stages
    assert train.deps == (DvcEntry(path="data/train.csv", md5=FILE_MD5),)


def test_parse_dvc_file() -> None:
    parsed = parse_dvc_file(DVC_FILE)
    assert parsed.outs == (DvcEntry(path="images", md5=DIR_MD5, size=1234, nfiles=3, is_dir=True),)
    legacy = parse_dvc_file(f"md5: 8f2c\nouts:\n- md5: {FILE_MD5}\n  path: train.csv\n")
    assert legacy.outs[0].md5 == FILE_MD5 and not legacy.outs[0].is_dir


def test_parse_dvc_yaml() -> None:
    parsed = parse_dvc_yaml(DVC_YAML)
    (train,) = parsed.stages
    assert train.deps == ("data/prepared",)
    assert train.outs == ("model.pkl",)
    assert train.metrics == ("metrics.json",)
    assert train.params == {
        "params.yaml": ("train.lr", "train.epochs"),
        "custom.yaml": ("model.depth",),
    }
    assert parsed.metrics == ("eval/summary.json",)
    assert parsed.metric_files == ("eval/summary.json", "metrics.json")


@pytest.mark.parametrize(
    ("parse", "text", "source"),
    [
        (parse_dvc_lock, "stages: [unclosed", "dvc.lock"),
        (parse_dvc_lock, "- just\n- a list\n", "dvc.lock"),
        (parse_dvc_lock, "schema: '2.0'\nstages:\n  s:\n    outs: {path: x}\n", "dvc.lock"),
        (parse_dvc_lock, "stages:\n  s:\n    outs:\n    - md5: abc\n", "dvc.lock"),
        (parse_dvc_lock, "stages:\n  s:\n    outs:\n    - {path: x, size: big}\n", "dvc.lock"),
        (parse_dvc_file, "outs: []\n", "data.dvc"),
        (parse_dvc_file, "outs: [\n", "data.dvc"),
        (parse_dvc_yaml, "stages:\n  s: [1, 2]\n", "dvc.yaml"),
    ],
)
def test_malformed_files_raise_capture_error_naming_the_file(parse, text, source) -> None:
    with pytest.raises(CaptureError) as info:
        parse(text, source=source)
    assert source in str(info.value)


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".dvc").mkdir(parents=True)
    return root


def test_dvc_file_with_data_present(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "data" / "images").mkdir(parents=True)
    (root / "data" / "images" / "cat.png").write_bytes(b"meow")
    (root / "data" / "images.dvc").write_text(DVC_FILE)

    snap = snapshot_data("train", "data/images", base_dir=str(root))

    assert snap.kind == "directory" and snap.digest is not None and snap.file_count == 1
    assert snap.dvc_md5 == DIR_MD5
    assert snap.dvc_source == "data/images.dvc"


def test_dvc_file_with_data_not_pulled(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "data").mkdir()
    (root / "data" / "images.dvc").write_text(DVC_FILE)

    snap = snapshot_data("train", "data/images", base_dir=str(root))

    assert (snap.kind, snap.digest, snap.size, snap.file_count) == ("directory", None, 1234, 3)
    assert (snap.dvc_md5, snap.dvc_source) == (DIR_MD5, "data/images.dvc")


def test_dvc_lock_entries_present_and_absent(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "dvc.lock").write_text(DVC_LOCK)
    (root / "data").mkdir()
    (root / "data" / "raw.xml").write_bytes(b"<xml/>")

    # Looked up from a parent directory's dvc.lock, as a dep, with the data present.
    raw = snapshot_data("raw", "data/raw.xml", base_dir=str(root))
    assert raw.kind == "file" and raw.digest == hashlib.sha256(b"<xml/>").hexdigest()
    assert (raw.dvc_md5, raw.dvc_source) == (FILE_MD5, "dvc.lock")

    # A `.dir` out whose data was never pulled: the DVC record stands in.
    prepared = snapshot_data("train", "data/prepared", base_dir=str(root))
    assert (prepared.kind, prepared.digest, prepared.size, prepared.file_count) == (
        "directory",
        None,
        8437363,
        2,
    )
    assert (prepared.dvc_md5, prepared.dvc_source) == (DIR_MD5, "dvc.lock")

    model = snapshot_data("model", "model.pkl", base_dir=str(root))
    assert (model.kind, model.digest, model.size, model.file_count) == ("file", None, 1202, 1)

    # Relative paths are stored as given, even from a subdirectory.
    sub = snapshot_data("raw", "raw.xml", base_dir=str(root / "data"))
    assert sub.path == "raw.xml" and sub.dvc_md5 == FILE_MD5


def test_dvc_lock_in_subdirectory_and_untracked_paths(tmp_path: Path) -> None:
    root = _project(tmp_path)
    pipeline = root / "pipelines" / "fraud"
    pipeline.mkdir(parents=True)
    (pipeline / "dvc.lock").write_text(OLD_DVC_LOCK)
    (pipeline / "data").mkdir()
    (pipeline / "data" / "train.csv").write_bytes(b"a\n")
    (root / "other.csv").write_bytes(b"b\n")

    tracked = snapshot_data("train", "pipelines/fraud/data/train.csv", base_dir=str(root))
    assert tracked.dvc_md5 == FILE_MD5
    assert tracked.dvc_source == "pipelines/fraud/dvc.lock"

    untracked = snapshot_data("other", "other.csv", base_dir=str(root))
    assert (untracked.dvc_md5, untracked.dvc_source) == (None, None)

    with pytest.raises(DataPathError, match=r"missing\.csv"):
        snapshot_data("other", "missing.csv", base_dir=str(root))


def test_broken_dvc_lock_is_reported_not_ignored(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "dvc.lock").write_text("stages: [unclosed")
    (root / "x.csv").write_bytes(b"x")
    with pytest.raises(CaptureError, match=r"dvc\.lock"):
        snapshot_data("train", "x.csv", base_dir=str(root))
