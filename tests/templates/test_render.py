"""The render module: its filters, and every diff/changelog template on hand-built diffs."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from modeltrail.core.capture.environment import environment_from_parts
from modeltrail.core.diff.engine import VersionDiff, diff_versions
from modeltrail.core.records import (
    Artifact,
    CodeHistory,
    CodeState,
    CommitInfo,
    DataSnapshot,
    Environment,
    Metric,
    MetricSpec,
    VersionRecord,
)
from modeltrail.core.registry.compare import ChangelogEntry
from modeltrail.templates.render import (
    FORMATS,
    md,
    num,
    pct,
    render,
    short,
    signed,
    signed_size,
    size,
    slack,
    value,
)

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
SHA_A = "a1b2c3d" + "0" * 33
SHA_B = "b2c3d4e" + "0" * 33
DIGEST_1 = "1" * 64
DIGEST_2 = "2" * 64
TEMPLATE = {"text": "diff.txt.j2", "md": "diff.md.j2", "html": "diff.html.j2"}
CHANGELOG = {"text": "changelog.txt.j2", "md": "changelog.md.j2", "html": "changelog.html.j2"}
PACKAGES = {"numpy": "1.26.4", "pandas": "2.2.1", "scikit-learn": "1.4.2"}


# -- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "—"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (20, "20"),
        (-7, "-7"),
        (99_999, "99999"),
        (1_200_000, "1,200,000"),
        (0.0, "0"),
        (20.0, "20"),
        (123_456.0, "123,456"),
        (0.912, "0.912"),
        (0.89712345, "0.8971"),
        (1.2e-05, "1.2e-05"),
        (-0.015000000000000013, "-0.015"),
        (math.inf, "inf"),
        (math.nan, "nan"),
        ("text", "text"),
    ],
)
def test_num(given: Any, expected: str) -> None:
    assert num(given) == expected


def test_num_digits() -> None:
    assert num(math.pi, 2) == "3.1"
    assert num(math.pi, 6) == "3.14159"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "—"),
        (0, "0"),
        (0.0, "0"),
        (0.01, "+0.01"),
        (-0.015, "-0.015"),
        (3, "+3"),
        (250_000, "+250,000"),
    ],
)
def test_signed(given: Any, expected: str) -> None:
    assert signed(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "n/a"),
        (math.inf, "n/a"),
        (math.nan, "n/a"),
        (0.0, "+0.0%"),
        (-0.016447368421052645, "-1.6%"),
        (0.022, "+2.2%"),
        (0.99949, "+99.9%"),
        (1.0, "+100%"),
        (-1.0, "-100%"),
        (12.5, "+1,250%"),
    ],
)
def test_pct(given: float | None, expected: str) -> None:
    assert pct(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "—"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 1024**2 + 1, "5.0 MiB"),
        (5 * 1024**3, "5.0 GiB"),
        (3 * 1024**5, "3072.0 TiB"),
        (-2048, "-2.0 KiB"),
    ],
)
def test_size(given: int | None, expected: str) -> None:
    assert size(given) == expected


def test_signed_size() -> None:
    assert [signed_size(v) for v in (None, 0, 4, -2048)] == ["—", "+0 B", "+4 B", "-2.0 KiB"]


def test_md_escapes_what_breaks_a_table_cell() -> None:
    assert md("a|b") == "a\\|b"
    assert md("run `rm`") == "run \\`rm\\`"
    assert md("back\\slash|") == "back\\\\slash\\|"
    assert md("two\nlines\r\n") == "two lines  "
    assert md(0.5) == "0.5"
    cell = f"| {md('x | y')} | {md('z')} |"
    assert len(re.split(r"(?<!\\)\|", cell)) == 4  # still two cells


def test_slack_escapes_control_characters() -> None:
    assert slack("<!channel> & <http://x|y>") == "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
    assert slack("plain") == "plain"


@pytest.mark.parametrize(
    ("given", "length", "expected"),
    [
        (None, 12, "—"),
        ("", 12, "—"),
        (DIGEST_1, 12, "1" * 12),
        (SHA_A, 7, "a1b2c3d"),
        ("md5:" + "f" * 32, 12, "md5:" + "f" * 12),
        ("abc", 12, "abc"),
    ],
)
def test_short(given: str | None, length: int, expected: str) -> None:
    assert short(given, length) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("adam", "adam"),
        ("", ""),
        (0.01, "0.01"),
        (1e-7, "1e-07"),
        (20, "20"),
        (1_000_000, "1,000,000"),
        (True, "true"),
        (None, "null"),
        ([1, 2], "[1, 2]"),
        (["a", "é"], '["a", "é"]'),
        ({"k": 1}, '{"k": 1}'),
    ],
)
def test_value(given: Any, expected: str) -> None:
    assert value(given) == expected


# -- hand-built records and diffs ------------------------------------------------------------


def env(python: str = "3.11.9", **packages: str | None) -> Environment:
    merged: dict[str, str] = dict(PACKAGES)
    for name, version in packages.items():
        name = name.replace("_", "-")
        if version is None:
            merged.pop(name, None)
        else:
            merged[name] = version
    return environment_from_parts(python_version=python, platform="Linux", packages=merged)


def code(commit: str = SHA_A, *, dirty: bool = False, files: tuple[str, ...] = ()) -> CodeState:
    return CodeState(
        repo_root="/src/fraud",
        commit=commit,
        branch="main",
        remote_url=None,
        dirty=dirty,
        dirty_files=files,
        diff_digest="d" * 64 if dirty else None,
    )


def data(digest: str = DIGEST_1, role: str = "train", size: int = 1000) -> DataSnapshot:
    return DataSnapshot(role, f"data/{role}.csv", "file", digest, size, 1)


def record(
    version: str,
    *,
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, Any] | None = None,
    snapshots: tuple[DataSnapshot, ...] | None = None,
    code_state: CodeState | str | None = "default",
    environment: Environment | str | None = "default",
    artifacts: tuple[Artifact, ...] = (),
    tags: Mapping[str, str] | None = None,
    specs: Mapping[str, MetricSpec] | None = None,
    description: str | None = None,
) -> VersionRecord:
    return VersionRecord(
        model="fraud-detector",
        version=version,
        created_at=T0,
        actor="ana@example.com",
        description=description,
        stage="none",
        parent=None,
        params=dict(params if params is not None else {"lr": 0.01, "epochs": 20}),
        metrics={
            name: Metric(name=name, value=v, step=0, timestamp=T0)
            for name, v in (metrics or {}).items()
        },
        data=snapshots if snapshots is not None else (data(),),
        code=code() if code_state == "default" else code_state,  # type: ignore[arg-type]
        environment=env() if environment == "default" else environment,  # type: ignore[arg-type]
        artifacts=artifacts,
        tags=dict(tags or {}),
        metric_specs=dict(specs or {}),
    )


BASE = record("2.1.4", metrics={"auc": 0.912})
HISTORY = CodeHistory(
    old_commit=SHA_A,
    new_commit=SHA_B,
    commits=tuple(
        CommitInfo(sha=sha, author=author, date=T0, subject=subject)
        for sha, author, subject in (
            (SHA_B, "Ana Trainer", "Use the new features"),
            ("c" * 40, "Bea <Reviewer>", "Add <script>alert(1)</script> | cols"),
            ("e" * 40, "Ana Trainer", "Tune lr"),
        )
    ),
    total_commits=3,
    files_changed=("features.py", "train.py"),
    total_files_changed=2,
)


def issue_example() -> VersionDiff:
    new = replace(
        BASE,
        version="2.1.5",
        metrics={"auc": Metric("auc", 0.897, 0, T0)},
        data=(data(DIGEST_2, size=1400),),
        code=code(SHA_B),
        environment=env(pandas="2.2.2", scikit_learn="1.5.0"),
    )
    return diff_versions(BASE, new, HISTORY)


def kitchen_sink() -> VersionDiff:
    """Every section non-empty and several findings."""
    old = record(
        "1.0.0",
        metrics={"auc": 0.90, "loss": 0.30, "old_metric": 1.0},
        params={"lr": 0.01, "sep": "a|b", "note": "<b>bold</b>", "dropped": True},
        snapshots=(data(), data(role="eval")),
        artifacts=(Artifact("model.pkl", "models/model.pkl", DIGEST_1, 10),),
    )
    new = record(
        "1.1.0",
        metrics={"auc": 0.85, "loss": 0.25, "f1": 0.7},
        params={"lr": 0.02, "sep": "c|d", "note": "<script>x</script>", "batch": 64},
        snapshots=(data(DIGEST_2, size=1200), data(role="test")),
        code_state=code(SHA_B, dirty=True, files=("train.py",)),
        environment=env(python="3.12.3", numpy="2.0.0", polars="1.0.0", pandas=None),
        artifacts=(Artifact("model.pkl", "models/model.pkl", DIGEST_2, 12),),
    )
    return diff_versions(old, new, HISTORY)


def render_diff(diff: VersionDiff, fmt: str, summary: str | None = None) -> str:
    return render(TEMPLATE[fmt], fmt, diff=diff, summary=summary)


def headline_of(diff: VersionDiff) -> str:
    return render_diff(diff, "text").splitlines()[0].removeprefix(f"{diff.model} ")


def test_formats() -> None:
    assert FORMATS == ("text", "md", "html")


# -- headlines -------------------------------------------------------------------------------


def test_headline_of_the_issue_example_in_every_format() -> None:
    diff = issue_example()
    headline = (
        "2.1.5 vs 2.1.4: auc 0.912 → 0.897 (-1.6%, regressed); data changed: train; "
        "3 commits; 2 packages upgraded"
    )
    assert render_diff(diff, "text").splitlines()[0] == f"fraud-detector {headline}"
    assert headline in render_diff(diff, "md").splitlines()
    assert f"<p><strong>{headline}</strong></p>" in render_diff(diff, "html")


def moved(version: str, **metrics: float) -> VersionRecord:
    return replace(
        BASE,
        version=version,
        metrics={name: Metric(name, v, 0, T0) for name, v in metrics.items()},
    )


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (
            replace(BASE, version="2.1.5"),
            "2.1.5 vs 2.1.4: metrics within tolerance",
        ),
        (
            moved("2.1.5", auc=0.95, f1=0.7),
            "2.1.5 vs 2.1.4: auc 0.912 → 0.95 (+4.2%, improved); new metric: f1",
        ),
        (
            replace(BASE, version="2.1.5", params={"lr": 0.02, "epochs": 20}),
            "2.1.5 vs 2.1.4: metrics within tolerance; lr 0.01 → 0.02",
        ),
        (
            replace(BASE, version="2.1.5", params={"lr": 0.02, "epochs": 30, "seed": 1}),
            "2.1.5 vs 2.1.4: metrics within tolerance; 3 params changed",
        ),
        (
            replace(BASE, version="2.1.5", code=code(SHA_B)),
            "2.1.5 vs 2.1.4: metrics within tolerance; code a1b2c3d → b2c3d4e",
        ),
        (
            replace(BASE, version="2.1.5", code=code(dirty=True, files=("x.py",))),
            "2.1.5 vs 2.1.4: metrics within tolerance; uncommitted code changes",
        ),
        (
            replace(BASE, version="2.1.5", environment=env(numpy="2.0.0")),
            "2.1.5 vs 2.1.4: metrics within tolerance; numpy 1.26.4 → 2.0.0",
        ),
        (
            replace(BASE, version="2.1.5", environment=env(numpy="1.25.0", pandas="2.0.0")),
            "2.1.5 vs 2.1.4: metrics within tolerance; 2 packages downgraded",
        ),
        (
            replace(BASE, version="2.1.5", data=(data(), data(role="test"))),
            "2.1.5 vs 2.1.4: metrics within tolerance; data added: test",
        ),
    ],
)
def test_headline_examples(new: VersionRecord, expected: str) -> None:
    assert headline_of(diff_versions(BASE, new)) == expected


def test_headline_caps_moved_metrics_at_three() -> None:
    old = moved("1.0.0", auc_a=1.0, auc_b=1.0, auc_c=1.0, auc_d=1.0, auc_e=1.0)
    new = moved("1.0.1", auc_a=2.0, auc_b=2.0, auc_c=2.0, auc_d=2.0, auc_e=2.0)
    assert headline_of(diff_versions(old, new)) == (
        "1.0.1 vs 1.0.0: auc_a 1 → 2 (+100%, improved); auc_b 1 → 2 (+100%, improved); "
        "auc_c 1 → 2 (+100%, improved); 2 more metrics moved"
    )


def test_headline_of_artifact_only_and_git_added_changes() -> None:
    old = record("1.0.0", artifacts=(Artifact("m", "m.pkl", DIGEST_1, 1),))
    new = replace(old, version="1.0.1", artifacts=(Artifact("m", "m.pkl", DIGEST_2, 1),))
    assert headline_of(diff_versions(old, new)) == "1.0.1 vs 1.0.0: 1 artifact changed"
    no_git = replace(old, code=None)
    assert headline_of(diff_versions(no_git, replace(old, version="1.0.1"))) == (
        "1.0.1 vs 1.0.0: git state recorded only on 1.0.1"
    )


# -- empty diffs -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "md", "html"])
def test_an_empty_diff_says_no_changes(fmt: str) -> None:
    old = record("1.0.0")
    diff = diff_versions(old, replace(old, version="1.0.1"))
    assert diff.is_empty
    out = render_diff(diff, fmt)
    assert "1.0.1 vs 1.0.0: no changes" in out
    assert "suggested bump" in out.lower() and "no recipe change" in out
    for heading in ("Findings", "Metrics", "Params", "Data", "Code", "Environment", "Artifacts"):
        assert heading not in out


def test_empty_text_diff_is_two_lines() -> None:
    old = record("1.0.0")
    out = render_diff(diff_versions(old, replace(old, version="1.0.1")), "text")
    assert out == (
        "fraud-detector 1.0.1 vs 1.0.0: no changes\nsuggested bump: patch (no recipe change)\n"
    )


# -- every section in every format -------------------------------------------------------------


def test_text_renders_every_section() -> None:
    out = render_diff(kitchen_sink(), "text")
    lines = out.splitlines()
    headings = [line.split(" (")[0] for line in lines if re.match(r"^[A-Z][a-z]+( \(|$)", line)]
    assert headings == ["Findings", "Metrics", "Params", "Data", "Code", "Environment", "Artifacts"]
    assert lines[1] == (
        "suggested bump: minor (params changed (3 changed, 1 added, 1 removed); "
        "code changed (a1b2c3d → b2c3d4e))"
    )
    for expected in (
        "  CRITICAL metric_regression: auc fell 0.9 → 0.85 (-5.6%), beyond tolerance 0.0009",
        "  WARNING  silent_data_change: data 'train' at data/train.csv has new contents under "
        f"the same path (digest {'1' * 12} → {'2' * 12}; size +200 bytes)",
        "  WARNING  dirty_code: 1.1.0 was trained from uncommitted changes (1 file: train.py)",
        "  WARNING  major_dependency_change: numpy 1.26.4 → 2.0.0 (major version upgrade)",
        "  INFO     python_change: Python 3.11.9 → 3.12.3",
        "Params (3 changed, 1 added, 1 removed, 0 unchanged)",
        "  ~ lr: 0.01 → 0.02 (+0.01, +100%)",
        "  ~ sep: a|b → c|d",
        "  + batch: 64",
        "  - dropped: true",
        f"  ~ train: data/train.csv, sha {'1' * 12} → {'2' * 12}, size +200 B",
        f"  + test: data/test.csv (sha {'1' * 12}, 1000 B)",
        "  - eval: data/eval.csv",
        "  a1b2c3d → b2c3d4e (main): 3 commits, 2 files changed",
        "    b2c3d4e 2024-05-01 Ana Trainer: Use the new features",
        "    ccccccc 2024-05-01 Bea <Reviewer>: Add <script>alert(1)</script> | cols",
        "    files: features.py, train.py",
        "  1.1.0 was trained from uncommitted changes: train.py",
        "  python 3.11.9 → 3.12.3",
        "  ↑ numpy 1.26.4 → 2.0.0 (major)",
        "  + polars 1.0.0",
        "  - pandas 2.2.1",
        f"  ~ model.pkl: sha {'1' * 12} → {'2' * 12}",
    ):
        assert expected in lines, expected
    names = ("auc", "loss", "f1", "old_metric")
    metric_lines = {line.split()[0]: line for line in lines if line.strip().startswith(names)}
    assert metric_lines["auc"].endswith("-5.6%  regressed (maximize)")
    assert metric_lines["loss"].endswith("-16.7%  improved (minimize)")
    assert metric_lines["f1"].endswith("added") and "(new) 0.7" in metric_lines["f1"]
    assert metric_lines["old_metric"].endswith("removed")
    assert "1 (gone)" in metric_lines["old_metric"]


def test_markdown_renders_every_section_and_escapes_table_cells() -> None:
    out = render_diff(kitchen_sink(), "md", summary="A summary | with a pipe")
    assert out.startswith("## fraud-detector 1.1.0 vs 1.0.0\n")
    for heading in ("Findings", "Metrics", "Params", "Data", "Code", "Environment", "Artifacts"):
        assert f"\n### {heading}\n" in out
    assert "> A summary \\| with a pipe" in out
    rows = [line for line in out.splitlines() if line.startswith("|")]
    for row in rows:  # every row of a table has as many cells as its header
        cells = re.split(r"(?<!\\)\|", row)
        assert len(cells) in (8, 6), row  # metrics: 6 columns, params: 4 (+2 empty ends)
    assert "| `sep` | a\\|b | c\\|d |  |" in out
    assert "| `note` | <b>bold</b> | <script>x</script> |  |" in out
    assert "| auc | 0.9 | 0.85 | -0.05 | -5.6% | **regressed** |" in out
    assert "| f1 | — | 0.7 | — | n/a | added |" in out
    assert "- **critical** `metric_regression`: auc fell 0.9 → 0.85 (-5.6%)" in out
    assert "  - `ccccccc` 2024-05-01 Bea <Reviewer>: Add <script>alert(1)</script> \\| cols" in out
    assert "  - files: `features.py`, `train.py`" in out
    assert "- upgraded `numpy` 1.26.4 → 2.0.0 **(major)**" in out
    assert "- 1.1.0 was trained from **uncommitted changes**: `train.py`" in out
    assert f"- `model.pkl` changed: sha `{'1' * 12}` → `{'2' * 12}`" in out


def test_html_renders_every_section_autoescaped() -> None:
    out = render_diff(kitchen_sink(), "html", summary="<img src=x onerror=alert(1)>")
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    for heading in ("Findings", "Metrics", "Params", "Data", "Code", "Environment", "Artifacts"):
        assert f"<h3>{heading}</h3>" in out
    assert "<script>" not in out and "<img" not in out and "<b>bold" not in out
    assert "&lt;script&gt;x&lt;/script&gt;" in out
    assert "&lt;b&gt;bold&lt;/b&gt;" in out
    assert "<blockquote>&lt;img src=x onerror=alert(1)&gt;</blockquote>" in out
    assert "Bea &lt;Reviewer&gt;: Add &lt;script&gt;alert(1)&lt;/script&gt; | cols" in out
    assert "files: features.py, train.py" in out
    assert '<td style="padding:4px 8px;border-bottom:1px solid #ddd;text-align:left">' in out


def test_html_escapes_the_model_name_and_metric_names() -> None:
    old = replace(record("1.0.0", metrics={"<i>auc</i>": 0.9}), model="<b>m</b>")
    new = replace(old, version="1.0.1", metrics={"<i>auc</i>": Metric("<i>auc</i>", 0.8, 0, T0)})
    out = render_diff(diff_versions(old, new), "html")
    assert "<b>m</b>" not in out and "<i>auc</i>" not in out
    assert "<title>&lt;b&gt;m&lt;/b&gt; 1.0.1 vs 1.0.0</title>" in out
    assert "&lt;i&gt;auc&lt;/i&gt; 0.9 → 0.8" in out  # the headline too
    param = replace(old, version="1.0.1", params={"lr": "<script>x</script>", "epochs": 20})
    out = render_diff(diff_versions(old, param), "html")
    assert "<script>" not in out
    assert "; lr 0.01 → &lt;script&gt;x&lt;/script&gt;</strong>" in out


def test_text_and_markdown_are_not_html_escaped() -> None:
    diff = kitchen_sink()
    for fmt in ("text", "md"):
        out = render_diff(diff, fmt)
        assert "&lt;" not in out and "&amp;" not in out
        assert "<script>x</script>" in out


def test_templates_load_from_the_package_not_the_working_directory(tmp_path: Any) -> None:
    (tmp_path / "diff.txt.j2").write_text("hijacked {{ diff.model }}")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "diff.txt.j2").write_text("hijacked")
    assert "hijacked" not in render_diff(issue_example(), "text")


# -- changelog templates ---------------------------------------------------------------------


def changelog_entries() -> list[ChangelogEntry]:
    first = record("1.0.0", metrics={"auc": 0.9}, description="baseline | <first>")
    second = replace(
        first,
        version="1.0.1",
        parent="1.0.0",
        stage="production",
        description="fresh data",
        metrics={"auc": Metric("auc", 0.92, 0, T0)},
        data=(data(DIGEST_2),),
    )
    return [ChangelogEntry(second, diff_versions(first, second)), ChangelogEntry(first, None)]


def test_changelog_in_every_format() -> None:
    entries = changelog_entries()
    text = render(CHANGELOG["text"], "text", model="fraud-detector", entries=entries)
    assert text.splitlines()[:5] == [
        "Changelog: fraud-detector",
        "",
        "1.0.1 (2024-05-01, ana@example.com, production)",
        "  fresh data",
        "  vs 1.0.0: auc 0.9 → 0.92 (+2.2%, improved); data changed: train",
    ]
    assert "  suggested bump: patch (data changed: train)" in text
    assert "  first version: auc 0.9" in text
    assert text.index("1.0.1 (") < text.index("1.0.0 (")

    out = render(CHANGELOG["md"], "md", model="fraud-detector", entries=entries)
    assert out.startswith("# Changelog: fraud-detector\n")
    assert re.findall(r"^## (\S+)", out, re.MULTILINE) == ["1.0.1", "1.0.0"]
    assert "## 1.0.1 — 2024-05-01 (production)" in out
    assert "**vs 1.0.0:** auc 0.9 → 0.92 (+2.2%, improved); data changed: train." in out
    assert "#### Findings" in out and "#### Data" in out
    assert "Registered by ana@example.com: baseline \\| <first>" in out
    assert "First version: auc 0.9." in out

    html = render(CHANGELOG["html"], "html", model="fraud-detector", entries=entries)
    assert re.findall(r"<h2>(\S+) <small>", html) == ["1.0.1", "1.0.0"]
    assert "baseline | &lt;first&gt;" in html
    assert "<p>First version.</p>" in html
    assert "<h3>Data</h3>" in html


def test_changelog_of_no_entries() -> None:
    for fmt in ("text", "md", "html"):
        out = render(CHANGELOG[fmt], fmt, model="m", entries=[])
        assert "Changelog: m" in out
