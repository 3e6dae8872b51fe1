"""`modeltrail demo`: build a small project, train real versions of a model, show the record.

The demo is a sequence of small steps (`STEPS`), each printing a heading. Every version is a
real `python train.py` run in a real git repository, registered through `track()`, so what
the registry shows is exactly what the tool records for any user:

    1.0.0  baseline                                    (ana)
    1.0.1  params change: learning rate and epochs     (ben)
    1.0.2  data change: relabelled + more train rows   (ana)
    1.0.3  code change: a night-time feature           (ben)
    1.0.4  dependency change: featurekit 1.4 -> 2.0    (chen)  auc drops: clipping by default

The project's files and data come from `demo_project/`. Later steps (change reports,
promotion, rollback, ...) append to `STEPS`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from modeltrail.bot.demo_project import (
    FEATURES_AFTER,
    FEATURES_BEFORE,
    GITIGNORE,
    params_yaml,
    template,
)
from modeltrail.bot.demo_project.data import generate_data, to_csv
from modeltrail.core.config import Settings
from modeltrail.core.errors import ModeltrailError

MODEL = "fraud-detector"
MARKER = ".modeltrail-demo"
TRAIN_TIMEOUT_S = 300

_REGISTERED = re.compile(rf"^registered {MODEL} (\S+)\n(.*)$", re.MULTILINE)
# Variables that would point git at another repository than the demo's.
_GIT_LOCATION_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


class DemoError(ModeltrailError):
    """The demo cannot run here (directory in use, git missing, a training run failed)."""


@dataclass(frozen=True)
class Persona:
    name: str
    email: str  # also the registry actor

    @property
    def actor(self) -> str:
        return self.email


ANA = Persona("Ana Lima", "ana@demo")
BEN = Persona("Ben Okafor", "ben@demo")
CHEN = Persona("Chen Wei", "chen@demo")


@dataclass
class Demo:
    """What the steps share: where the project is, which registry, where to print."""

    directory: Path
    database_url: str
    default_database: bool
    console: Console
    versions: list[str] = field(default_factory=list)

    def git(self, *args: str, persona: Persona | None = None) -> str:
        return _run_git(self.directory, args, persona)

    def write(self, relative: str, text: str) -> None:
        path = self.directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def commit(self, persona: Persona, message: str, *paths: str) -> None:
        self.git("add", "--", *paths)
        self.git("commit", "-q", "--no-verify", "-m", message, persona=persona)
        self.console.print(f"  [dim]{escape(persona.actor)} commits:[/] {escape(message)}")

    def train(self, persona: Persona, message: str) -> str:
        """Run train.py as `persona`; return the version it registered."""
        env = _clean_env()
        env.update(
            MODELTRAIL_DATABASE_URL=self.database_url,
            MODELTRAIL_ACTOR=persona.actor,
            PYTHONDONTWRITEBYTECODE="1",
        )
        started = time.perf_counter()
        try:
            result = subprocess.run(
                [sys.executable, "train.py", "-m", message],
                cwd=self.directory,
                env=env,
                capture_output=True,
                text=True,
                timeout=TRAIN_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DemoError(f"train.py did not finish within {TRAIN_TIMEOUT_S} s") from None
        if result.returncode != 0:
            err = Console(stderr=True, highlight=False)
            err.print(escape(result.stderr.rstrip()), style="dim")
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise DemoError(
                f"train.py failed (exit {result.returncode}): {last}",
                hint=f"its output is above; the project is in {self.directory}",
            )
        seconds = time.perf_counter() - started
        found = _REGISTERED.search(result.stdout)
        if found is None:
            tail = result.stdout.strip()[-200:]
            raise DemoError(f"train.py did not report the version it registered: {tail!r}")
        version, metrics = found.group(1), found.group(2)
        self.console.print(
            f"  [dim]{escape(persona.actor)} trains:[/] [bold]{MODEL} {version}[/] "
            f"[dim]({seconds:.1f} s)[/]\n    {escape(metrics)}"
        )
        self.versions.append(version)
        return version


Step = Callable[[Demo], None]


# -- the steps -----------------------------------------------------------------------------


def create_project(demo: Demo) -> None:
    demo.git("-c", "init.defaultBranch=main", "init", "-q")
    demo.write(".gitignore", GITIGNORE)
    demo.write("README.md", template("README.md.txt"))
    demo.write("params.yaml", params_yaml(learning_rate=0.05, epochs=100))
    demo.write("train.py", template("train.py.txt"))
    _install_featurekit(demo, "1.4.0")
    data = generate_data()
    demo.write("data/train.csv", to_csv(*data.first_train()))
    demo.write("data/test.csv", to_csv(data.test_x, data.test_y))
    demo.commit(
        ANA,
        "Start fraud-detector: data, params, train.py",
        ".gitignore",
        "README.md",
        "params.yaml",
        "train.py",
        "vendor",
        "data",
    )


def train_baseline(demo: Demo) -> None:
    demo.train(ANA, "baseline: logistic regression, learning rate 0.05 for 100 epochs")


def change_params(demo: Demo) -> None:
    demo.write("params.yaml", params_yaml(learning_rate=0.5, epochs=300))
    demo.commit(BEN, "Raise the learning rate to 0.5 and train 300 epochs", "params.yaml")
    demo.train(BEN, "params: learning rate 0.05 → 0.5, epochs 100 → 300 (baseline underfits)")


def change_data(demo: Demo) -> None:
    data = generate_data()
    demo.write("data/train.csv", to_csv(*data.refreshed_train()))
    demo.commit(
        ANA,
        "Refresh train.csv: relabel late chargebacks, add 1,000 rows",
        "data/train.csv",
    )
    demo.train(ANA, "data: late chargebacks relabelled, 1,000 more training rows")


def change_code(demo: Demo) -> None:
    path = demo.directory / "train.py"
    source = path.read_text(encoding="utf-8")
    if FEATURES_BEFORE not in source:
        raise DemoError("the demo's train.py template no longer has the features() it edits")
    path.write_text(source.replace(FEATURES_BEFORE, FEATURES_AFTER), encoding="utf-8")
    demo.commit(BEN, "Add a night-time feature (22:00-06:00): fraud does not sleep", "train.py")
    demo.train(BEN, "code: new night-time feature")


def upgrade_dependency(demo: Demo) -> None:
    shutil.rmtree(demo.directory / "vendor")
    _install_featurekit(demo, "2.0.0")
    demo.commit(CHEN, "Upgrade featurekit 1.4.0 → 2.0.0", "vendor")
    demo.train(CHEN, "environment: featurekit 1.4.0 → 2.0.0")


def show_versions(demo: Demo) -> None:
    from modeltrail.bot.terminal import record_view, versions_table
    from modeltrail.core.registry.writer import Registry

    with Registry.open(demo.database_url) as registry:
        versions = registry.list_versions(MODEL)
        total = registry.count_versions(MODEL)
        newest = registry.load(MODEL, registry.latest_version(MODEL))
    demo.console.print(versions_table(MODEL, versions, total))
    demo.console.print()
    demo.console.print(record_view(newest))


def set_goals(demo: Demo) -> None:
    """Tolerances say how much movement is noise; without them every wobble is a regression."""
    from modeltrail.core.registry.writer import Registry

    goals = (
        ("auc", "maximize", 0.002),
        ("accuracy", "maximize", 0.002),
        ("f1", "maximize", 0.01),
        ("precision", "maximize", 0.05),
        ("recall", "maximize", 0.02),
        ("loss", "minimize", 0.02),
    )
    with Registry.open(demo.database_url) as registry:
        for name, goal, tolerance in goals:
            registry.set_metric_goal(
                MODEL,
                name,
                goal,
                tolerance,
                actor=ANA.actor,
                reason="team agreement on what counts as a real change",
            )
            demo.console.print(f"  {name}: {goal}, tolerance {tolerance:g}")


def report_changes(demo: Demo) -> None:
    from modeltrail.core.registry.compare import changelog, compare
    from modeltrail.core.registry.writer import Registry
    from modeltrail.templates.render import render

    old, new = demo.versions[-2], demo.versions[-1]
    with Registry.open(demo.database_url) as registry:
        diff = compare(registry, MODEL, old, new, repo=str(demo.directory))
        entries = changelog(registry, MODEL)
    demo.console.print(
        escape(render("diff.txt.j2", "text", diff=diff, summary=None)), soft_wrap=True
    )
    (demo.directory / "CHANGELOG.md").write_text(
        render("changelog.md.j2", "md", model=MODEL, entries=entries), encoding="utf-8"
    )
    demo.console.print(f"  wrote the whole history to {demo.directory / 'CHANGELOG.md'}")


def govern(demo: Demo) -> None:
    from modeltrail.core.registry.governance import PromotionBlocked
    from modeltrail.core.registry.writer import Registry

    v = demo.versions
    say = demo.console.print
    with Registry.open(demo.database_url) as registry:
        registry.promote(MODEL, v[2], actor=ANA.actor, reason="refreshed labels catch more fraud")
        say(f"  ana@demo promotes {v[2]} to production")
        registry.promote(MODEL, v[3], actor=BEN.actor, reason="night-time feature: auc 0.81")
        say(f"  ben@demo promotes {v[3]}: {v[2]} is archived, superseded by {v[3]}")
        try:
            registry.promote(MODEL, v[4], actor=CHEN.actor, reason="featurekit 2.0 upgrade")
        except PromotionBlocked as blocked:
            say(f"  chen@demo tries to promote {v[4]}: [bold red]blocked by the gate[/]")
            for finding in blocked.decision.blocking:
                say(f"    {escape(finding.kind)}: {escape(finding.message)}", soft_wrap=True)
        else:
            raise DemoError(f"the gate let {v[4]} through; the demo expected a regression")
        registry.rollback(
            MODEL, actor=BEN.actor, reason="night feature flags legitimate late-shift traffic"
        )
        say(f"  ben@demo rolls back: {v[3]} archived, {v[2]} in production again")
        registry.set_golden(MODEL, v[2], actor=ANA.actor, reason="stable baseline for reports")
        say(f"  ana@demo marks {v[2]} as the golden version")
        plan = registry.apply_retention(MODEL, keep=1, actor=ANA.actor).plan
        for move in plan.moves:
            say(f"  retention archives {move.version}: {escape(move.reason or '')}")
        result = registry.verify_audit()
        state = registry.model_state(MODEL)
    from modeltrail.core.lifecycle.rules import timeline

    for period in timeline(state):
        until = "now" if period.until is None else period.until.strftime("%H:%M:%S")
        say(
            f"  production: {period.version} {period.since:%H:%M:%S} → {until} "
            f"({escape(period.moved_by)}: {escape(period.reason or '')})",
            soft_wrap=True,
        )
    say(
        f"  audit verify: {result.events_checked} events verified"
        if result.ok
        else f"  [red]audit verify failed: {escape(result.problem or '')}[/]"
    )


STEPS: tuple[tuple[str, Step], ...] = (
    ("A new project: git, data, params, train.py", create_project),
    ("Version 1: the baseline", train_baseline),
    ("Metric goals and tolerances", set_goals),
    ("Version 2: a params change", change_params),
    ("Version 3: a data change", change_data),
    ("Version 4: a code change", change_code),
    ("Version 5: a dependency change", upgrade_dependency),
    ("What the registry recorded", show_versions),
    ("What changed in the newest version", report_changes),
    ("Promotion, the gate, rollback, golden, retention, audit", govern),
)


def run_demo(directory: Path, settings: Settings) -> None:
    """Create the demo project in `directory` and register its versions.

    `directory` must be new, empty or a previous demo (which is replaced). The registry is
    SQLite inside the project unless `settings.database_url` names another one.
    """
    started = time.perf_counter()
    console = _console()
    if shutil.which("git") is None:
        raise DemoError(
            "the demo needs git, which is not on PATH",
            hint="install git (https://git-scm.com) and run `modeltrail demo` again",
        )
    directory = directory.expanduser().absolute()
    database_url, default_database = _database_url(settings, directory)
    if not default_database:
        _check_registry(database_url)  # before anything in `directory` is replaced
    _prepare_directory(directory)
    if default_database:
        (directory / ".modeltrail").mkdir()
    demo = Demo(directory, database_url, default_database, console)

    console.print(f"[bold]modeltrail demo[/] in {escape(str(directory))}", soft_wrap=True)
    for number, (title, step) in enumerate(STEPS, start=1):
        console.print()
        console.rule(f"[bold]{number}. {escape(title)}", align="left")
        step(demo)
    _closing_hint(demo, time.perf_counter() - started)


# -- the project's contents ------------------------------------------------------------------


def _install_featurekit(demo: Demo, version: str) -> None:
    """Lay featurekit out as `pip install --target vendor` would: the package and its
    dist-info, so importlib.metadata (and so modeltrail's environment capture) sees it."""
    demo.write("vendor/featurekit/__init__.py", template(f"featurekit-{version}.py.txt"))
    dist_info = f"vendor/featurekit-{version}.dist-info"
    demo.write(
        f"{dist_info}/METADATA",
        "Metadata-Version: 2.1\n"
        "Name: featurekit\n"
        f"Version: {version}\n"
        "Summary: Small feature-engineering helpers for tabular models\n",
    )
    demo.write(f"{dist_info}/INSTALLER", "pip\n")
    demo.write(f"{dist_info}/top_level.txt", "featurekit\n")


# -- setting up and finishing ------------------------------------------------------------------


def _prepare_directory(directory: Path) -> None:
    """Make `directory` an empty directory marked as ours, or refuse."""
    if directory.exists() and not directory.is_dir():
        raise DemoError(
            f"{directory} exists and is not a directory",
            hint="pass --dir with a new or empty directory",
        )
    if directory.is_dir() and any(directory.iterdir()):
        if not (directory / MARKER).is_file():
            raise DemoError(
                f"{directory} is not empty and is not a previous modeltrail demo",
                hint="pass --dir with a new or empty directory; "
                "a previous demo's directory is replaced",
            )
        for child in directory.iterdir():  # keep the directory itself: it may be the cwd
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text(
        "Made by `modeltrail demo`, which replaces this directory when run here again.\n",
        encoding="utf-8",
    )


def _database_url(settings: Settings, directory: Path) -> tuple[str, bool]:
    """The demo's registry: the configured one, else SQLite inside the project."""
    if not settings.database_url:
        return f"sqlite:///{directory / '.modeltrail' / 'registry.db'}", True
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        return settings.database_url, False  # Registry.open reports it
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise DemoError(
                "the demo needs a registry file that its training runs can share, "
                f"not {settings.database_url!r}",
                hint="use --db sqlite:///path/to/registry.db, or leave --db out",
            )
        # train.py runs inside the project: a relative path must not move with it.
        absolute = url.set(database=str(Path(database).expanduser().absolute()))
        return absolute.render_as_string(hide_password=False), False
    return settings.database_url, False


def _check_registry(database_url: str) -> None:
    """Refuse to mix the demo's versions into a configured registry that has the model
    already; this also creates the schema, so a bad URL fails before anything is done."""
    from modeltrail.core.registry.writer import Registry

    with Registry.open(database_url) as registry:
        if any(m.name == MODEL for m in registry.list_models()):
            raise DemoError(
                f"the configured registry already has a model named {MODEL!r}; "
                "the demo will not add versions to it",
                hint="run the demo without --db / MODELTRAIL_DATABASE_URL, "
                "or point them at a new database",
            )


def _closing_hint(demo: Demo, seconds: float) -> None:
    console = demo.console
    console.print()
    console.rule("[bold]Next", align="left")
    console.print(
        f"Registered {len(demo.versions)} versions of {MODEL} "
        f"({', '.join(demo.versions)}) in {seconds:.1f} s. Explore them:"
    )
    commands = [f"cd {demo.directory}"]
    if demo.default_database:
        commands += [
            f"modeltrail list {MODEL}",
            f"modeltrail show {MODEL} {demo.versions[-2]}",
            "git log --stat",
            'python train.py -m "my change"    # registers the next version',
        ]
    else:
        db = f"modeltrail --db {_redact(demo.database_url)}"
        commands += [f"{db} list {MODEL}", f"{db} show {MODEL} {demo.versions[-2]}"]
        commands.append("git log --stat")
    for command in commands:  # never wrapped, so they can be copied
        console.print(f"  {escape(command)}", soft_wrap=True)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _console() -> Console:
    from modeltrail.bot.terminal import console

    return console()


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}


def _run_git(directory: Path, args: tuple[str, ...], persona: Persona | None) -> str:
    identity: list[str] = []
    if persona is not None:
        # The demo's people author its commits, whatever git identity this machine has.
        identity = [
            "-c",
            f"user.name={persona.name}",
            "-c",
            f"user.email={persona.email}",
            "-c",
            "commit.gpgsign=false",
        ]
    try:
        result = subprocess.run(
            ["git", *identity, *args],
            cwd=directory,
            env=_clean_env(),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise DemoError(f"cannot run git: {exc}") from None
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DemoError(f"`git {' '.join(args[:2])}` failed in {directory}: {detail}")
    return result.stdout
