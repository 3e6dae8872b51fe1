from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modeltrail.core.capture.git import capture_code, git_user, strip_credentials
from modeltrail.core.capture.git_history import code_history


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:token@github.com/x/y.git", "https://github.com/x/y.git"),
        ("https://ghp_abc123@github.com/x/y.git", "https://github.com/x/y.git"),
        ("https://github.com/x/y.git", "https://github.com/x/y.git"),
        ("git@github.com:x/y.git", "git@github.com:x/y.git"),
        ("ssh://git@host:2222/x/y.git", "ssh://git@host:2222/x/y.git"),
        ("ssh://git:hunter2@host/x/y.git", "ssh://git@host/x/y.git"),
        ("https://u:p@host:8443/x?ref=main", "https://host:8443/x?ref=main"),
        ("https://host/x.git?private_token=abc&ref=main", "https://host/x.git?ref=main"),
        ("https://host/x?password=p&access_token=t", "https://host/x"),
        ("https://host/x?X-Amz-Signature=s&v=1#frag", "https://host/x?v=1#frag"),
        ("/srv/git/project.git", "/srv/git/project.git"),
        ("file:///srv/git/project.git", "file:///srv/git/project.git"),
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


def test_clean_repo(capture_repo: Path, capture_git) -> None:
    capture_git(capture_repo, "remote", "add", "origin", "https://bot:s3cret@example.com/ml/x.git")
    head = capture_git(capture_repo, "rev-parse", "HEAD").strip()

    state = capture_code(capture_repo)

    assert state is not None
    assert state.repo_root == str(capture_repo)
    assert state.commit == head and len(head) == 40
    assert state.branch == "main"
    assert state.remote_url == "https://example.com/ml/x.git"
    assert state.dirty is False
    assert state.dirty_files == ()
    assert state.diff_digest is None


def test_subdirectory_finds_the_repository(capture_repo: Path) -> None:
    sub = capture_repo / "src" / "pkg"
    sub.mkdir(parents=True)
    state = capture_code(sub)
    assert state is not None and state.repo_root == str(capture_repo)


def test_first_remote_when_no_origin(capture_repo: Path, capture_git) -> None:
    capture_git(capture_repo, "remote", "add", "upstream", "git@example.com:ml/x.git")
    state = capture_code(capture_repo)
    assert state is not None and state.remote_url == "git@example.com:ml/x.git"


def test_dirty_states_and_digest(capture_repo: Path, capture_git) -> None:
    digests = []

    (capture_repo / "train.py").write_text("print('changed')\n")  # modified, unstaged
    state = capture_code(capture_repo)
    assert state is not None and state.dirty
    assert state.dirty_files == ("train.py",)
    digests.append(state.diff_digest)

    (capture_repo / "train.py").write_text("print('changed again')\n")  # same file, new content
    state = capture_code(capture_repo)
    assert state is not None and state.dirty_files == ("train.py",)
    digests.append(state.diff_digest)

    capture_git(capture_repo, "add", "train.py")  # staged only
    state = capture_code(capture_repo)
    assert state is not None and state.dirty and state.dirty_files == ("train.py",)
    assert state.diff_digest == digests[-1]  # staged or not, it is the same change vs HEAD

    (capture_repo / "notes").mkdir()
    (capture_repo / "notes" / "idea.md").write_text("try lr=0.1\n")  # untracked
    (capture_repo / "debug.log").write_text("ignored\n")  # ignored: not dirt
    state = capture_code(capture_repo)
    assert state is not None
    assert state.dirty_files == ("notes/idea.md", "train.py")
    digests.append(state.diff_digest)

    (capture_repo / "notes" / "idea.md").write_text("try lr=0.2\n")  # untracked content only
    state = capture_code(capture_repo)
    assert state is not None
    digests.append(state.diff_digest)

    assert all(d is not None and len(d) == 64 for d in digests)
    assert len(set(digests)) == len(digests)


def test_digest_ignores_diff_config(capture_repo: Path, capture_git) -> None:
    (capture_repo / "train.py").write_text("print('changed')\n")
    (capture_repo / "moved.py").write_text("print('train')\n")
    plain = capture_code(capture_repo)
    for key, value in [
        ("diff.noprefix", "true"),
        ("diff.algorithm", "histogram"),
        ("diff.context", "10"),
        ("diff.renames", "copies"),
        ("color.ui", "always"),
    ]:
        capture_git(capture_repo, "config", key, value)
    configured = capture_code(capture_repo)
    assert plain is not None and configured is not None
    assert configured.diff_digest == plain.diff_digest


def test_large_untracked_file_counts_by_stat(capture_repo: Path) -> None:
    big = capture_repo / "dump.bin"
    with open(big, "wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse: cheap to make
    first = capture_code(capture_repo)
    os.utime(big, ns=(1_600_000_000 * 10**9, 1_600_000_000 * 10**9))
    second = capture_code(capture_repo)
    assert first is not None and second is not None
    assert first.dirty_files == ("dump.bin",)
    assert first.diff_digest != second.diff_digest


def test_untracked_only_is_dirty(capture_repo: Path) -> None:
    (capture_repo / "new.py").write_text("x = 1\n")
    state = capture_code(capture_repo)
    assert state is not None and state.dirty and state.dirty_files == ("new.py",)
    assert state.diff_digest is not None


def test_outside_git_is_none(tmp_path: Path, capture_git_env) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert capture_code(plain) is None
    assert capture_code(tmp_path / "does-not-exist") is None


def test_repository_without_commits_is_none(tmp_path: Path, capture_git) -> None:
    capture_git(tmp_path, "init", "-q")
    assert capture_code(tmp_path) is None


def test_detached_head_has_no_branch(capture_repo: Path, capture_git) -> None:
    head = capture_git(capture_repo, "rev-parse", "HEAD").strip()
    capture_git(capture_repo, "checkout", "-q", "--detach", head)
    state = capture_code(capture_repo)
    assert state is not None and state.branch is None and state.commit == head


def test_no_git_executable_is_none(capture_repo: Path) -> None:
    # A fresh interpreter whose PATH holds no git.
    code = "from modeltrail.core.capture.git import capture_code, git_user;" + (
        f"print(capture_code({str(capture_repo)!r}), git_user())"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_PYTHON")}
    env["PATH"] = str(capture_repo / "no-bin")
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None None"


def test_capture_twice_gives_the_same_state(capture_repo: Path) -> None:
    # Speed is measured in bench/, not asserted here.
    assert capture_code(capture_repo) == capture_code(capture_repo)


def _commit(repo: Path, capture_git, name: str, text: str, message: str) -> str:
    (repo / name).write_text(text)
    capture_git(repo, "add", name)
    capture_git(repo, "commit", "-q", "-m", message)
    return capture_git(repo, "rev-parse", "HEAD").strip()


def test_code_history_between_commits(capture_repo: Path, capture_git) -> None:
    old = capture_git(capture_repo, "rev-parse", "HEAD").strip()
    shas = [
        _commit(capture_repo, capture_git, f"f{i}.py", f"x = {i}\n", f"change {i}")
        for i in range(5)
    ]

    history = code_history(str(capture_repo), old, shas[-1], limit=3)

    assert history.reachable
    assert history.total_commits == 5
    assert [c.sha for c in history.commits] == shas[::-1][:3]
    assert [c.subject for c in history.commits] == ["change 4", "change 3", "change 2"]
    assert history.commits[0].author == "Ada Lovelace"
    assert history.commits[0].date.tzinfo is not None
    assert history.commits[0].date.utcoffset() == dt.timedelta(0)
    assert abs(history.commits[0].date - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert history.files_changed == tuple(f"f{i}.py" for i in range(5))
    assert history.total_files_changed == 5
    assert (history.old_commit, history.new_commit) == (old, shas[-1])


def test_code_history_same_commit_and_short_shas(capture_repo: Path, capture_git) -> None:
    head = capture_git(capture_repo, "rev-parse", "HEAD").strip()
    history = code_history(str(capture_repo), head[:8], head[:8])
    assert history.reachable and history.total_commits == 0 and history.commits == ()


def test_code_history_unknown_commit(capture_repo: Path, capture_git, tmp_path: Path) -> None:
    head = capture_git(capture_repo, "rev-parse", "HEAD").strip()
    for old, new in [("0" * 40, head), (head, "f" * 40), ("--all", head), (head, "")]:
        history = code_history(str(capture_repo), old, new)
        assert history.reachable is False
        assert history.commits == () and history.files_changed == ()
    assert code_history(str(tmp_path / "nowhere"), head, head).reachable is False


def test_code_history_names_what_is_not_a_commit_here(capture_repo: Path, capture_git) -> None:
    # git is started on the ids as recorded; a side that is no commit (unknown, or a tree's
    # id) is named in `missing`, the other is not.
    head = capture_git(capture_repo, "rev-parse", "HEAD").strip()
    tree = capture_git(capture_repo, "rev-parse", "HEAD^{tree}").strip()
    for old, new, missing in [("0" * 40, head, ("0" * 40,)), (tree, head, (tree,))]:
        history = code_history(str(capture_repo), old, new)
        assert history.reachable is False and history.missing == missing


def test_code_history_ten_thousand_commits_is_fast(tmp_path: Path, capture_git) -> None:
    repo = tmp_path / "big"
    repo.mkdir()
    capture_git(repo, "init", "-q", "-b", "main")
    n = 10_000
    stream = []
    for i in range(n + 1):
        content = f"{i}\n"
        stream.append(
            f"commit refs/heads/main\nmark :{i + 1}\n"
            f"committer Ada <ada@example.com> {1_700_000_000 + i} +0000\n"
            f"data {len(f'c{i}')}\nc{i}\n"
            + (f"from :{i}\n" if i else "")
            # Files change in the first 300 commits only, which keeps the import quick.
            + (f"M 644 inline f{i}.txt\ndata {len(content)}\n{content}\n" if i <= 300 else "")
        )
    capture_git(repo, "fast-import", "--quiet", input="".join(stream))
    old = capture_git(repo, "rev-parse", "main~10000").strip()
    new = capture_git(repo, "rev-parse", "main").strip()

    history = code_history(str(repo), old, new)  # < 2 s: see bench/bench_diff.py

    assert history.total_commits == n
    assert len(history.commits) == 50 and history.commits[0].subject == f"c{n}"
    assert history.commits[0].date == dt.datetime.fromtimestamp(1_700_000_000 + n, dt.UTC)
    assert history.total_files_changed == 300 and len(history.files_changed) == 200


def test_git_user(capture_repo: Path, capture_git) -> None:
    assert git_user(capture_repo) == "Ada Lovelace <ada@example.com>"
    capture_git(capture_repo, "config", "user.name", "Grace Hopper")
    assert git_user(capture_repo) == "Grace Hopper <ada@example.com>"


def test_git_user_email_only(tmp_path: Path, capture_git_env: Path) -> None:
    capture_git_env.write_text("[user]\n\temail = ci@example.com\n")
    assert git_user(tmp_path) == "ci@example.com"
    capture_git_env.write_text("")
    assert git_user(tmp_path) is None


def test_code_history_counts_a_rename_once_like_git_diff_stat(
    capture_repo: Path, capture_git
) -> None:
    """Issue 13, item 17: a renamed file is one changed file (and says it was renamed)."""
    body = "".join(f"line {i}\n" for i in range(40))
    old = _commit(capture_repo, capture_git, "features.py", body, "add features")
    capture_git(capture_repo, "mv", "features.py", "featurize.py")
    (capture_repo / "featurize.py").write_text(body + "line 40\n")
    capture_git(capture_repo, "add", "-A")
    capture_git(capture_repo, "commit", "-q", "-m", "rename features")
    new = capture_git(capture_repo, "rev-parse", "HEAD").strip()

    history = code_history(str(capture_repo), old, new)

    stat = capture_git(capture_repo, "diff", "--stat", "-M", old, new)
    assert "1 file changed" in stat
    assert history.total_files_changed == 1
    assert history.renamed == 1
    assert history.files_changed == ("featurize.py",)


def test_a_commit_missing_from_a_shallow_clone_is_named(
    capture_repo: Path, capture_git, tmp_path: Path
) -> None:
    """Issue 13, item 19: the report says which commit this clone lacks, not just "unrelated"."""
    old = _commit(capture_repo, capture_git, "a.py", "a = 1\n", "one")
    _commit(capture_repo, capture_git, "a.py", "a = 2\n", "two")
    new = _commit(capture_repo, capture_git, "a.py", "a = 3\n", "three")
    shallow = tmp_path / "shallow"
    capture_git(tmp_path, "clone", "-q", "--depth", "1", f"file://{capture_repo}", str(shallow))

    history = code_history(str(shallow), old, new)

    assert history.reachable is False
    assert history.missing == (old,)

    from modeltrail.core.records import CodeState, VersionDraft
    from modeltrail.core.registry.compare import compare
    from modeltrail.core.registry.writer import Registry
    from modeltrail.templates.render import render

    with Registry.open(f"sqlite:///{tmp_path / 'r.db'}") as registry:
        for commit in (old, new):
            code = CodeState(str(shallow), commit, "main", None, False)
            registry.register(VersionDraft("m", code=code), actor="ana")
        diff = compare(registry, "m", "1.0.0", "1.0.1")
    assert diff.code is not None and diff.code.missing_commits == (old,)
    text = render("diff.txt.j2", "text", diff=diff, summary=None)
    assert f"commit {old[:7]} is not in this clone (shallow?)" in text


def test_an_untracked_file_swapped_for_a_pipe_after_git_status_is_not_waited_on(
    capture_repo: Path, tmp_path: Path
) -> None:
    # git lists only regular files; the adversary swaps one for a named pipe between
    # `git status` and the read of its content (here: a `git` first on PATH that does it
    # right after the real status). A plain open() of the pipe would wait for a writer.
    (capture_repo / "swap.txt").write_text("regular when git looked\n")
    real_git = subprocess.run(
        ["sh", "-c", "command -v git"], capture_output=True, text=True, check=True
    ).stdout.strip()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'"{real_git}" "$@"; code=$?\n'
        'case " $* " in *" status "*)\n'
        f'  rm -f "{capture_repo}/swap.txt" && mkfifo "{capture_repo}/swap.txt";;\n'
        "esac\n"
        "exit $code\n"
    )
    wrapper.chmod(0o755)
    code = (
        "from modeltrail.core.capture.git import capture_code;"
        f"s = capture_code({str(capture_repo)!r});"
        "print(s.dirty, s.dirty_files, s.diff_digest is not None)"
    )
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True ('swap.txt',) True"
    assert (capture_repo / "swap.txt").is_fifo()  # the swap did happen before the read
