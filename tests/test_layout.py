"""The house rules of DESIGN.md §1, read from the code with `ast`: no import circles between
modules, modules small enough to read, CLI command modules that share only `cli.common`, the
diff engine pure, and nothing importing the web server back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"core": "modeltrail.core", "bot": "modeltrail.bot", "templates": "modeltrail.templates"}
MIGRATIONS = ROOT / "core" / "store" / "migrations" / "versions"
MAX_LINES = 550  # "~500": a module past this is split by what it holds


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            if MIGRATIONS in path.parents:
                continue
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module of ours that `name` imports, at the top or inside functions alike."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    base = name if is_package else name.rsplit(".", 1)[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                stem = ".".join([*parts[: len(parts) - node.level + 1], node.module or ""])
                stem = stem.rstrip(".")
            else:
                stem = node.module or ""
            targets.add(stem)
            targets.update(f"{stem}.{alias.name}" for alias in node.names)
    deps = {t for t in targets if t in MODULES and t != name}
    # A package re-exporting its own children is its public surface, not a circle.
    return {d for d in deps if not (is_package and d.startswith(name + "."))}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_walk_sees_the_packages() -> None:
    # A walk that found nothing would pass every rule below.
    assert "modeltrail.core.registry.writer" in MODULES
    assert "modeltrail.bot.cli.common" in MODULES
    assert "modeltrail.core.store.engine" in GRAPH["modeltrail.core.registry.writer"]


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    planted = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(planted) == [["a", "b", "c"]]


def test_no_import_circles() -> None:
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name: str) -> None:
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines"


def test_command_modules_import_only_the_shared_helpers() -> None:
    cli = "modeltrail.bot.cli."
    shared = (cli + "main", cli + "common", cli + "catalogue", cli + "__main__")
    for name, deps in GRAPH.items():
        if not name.startswith(cli) or name in shared:
            continue
        others = {d for d in deps if d.startswith(cli) and d != cli + "common"}
        assert not others, f"{name} imports {sorted(others)}"
    # the group module never imports a command module back (the command table it is built on
    # names them as strings, imported when a command runs)
    assert {d for d in GRAPH[cli + "common"] if d.startswith(cli)} <= {cli + "catalogue"}
    assert not {d for d in GRAPH[cli + "catalogue"] if d.startswith(cli)}


def test_the_diff_engine_is_pure() -> None:
    for name, deps in GRAPH.items():
        if name.startswith("modeltrail.core.diff"):
            leaks = {
                d
                for d in deps
                if d.startswith(("modeltrail.core.registry", "modeltrail.core.store"))
            }
            assert not leaks, f"{name} imports {sorted(leaks)}"


def test_the_core_knows_nothing_of_the_bot() -> None:
    for name, deps in GRAPH.items():
        if name.startswith("modeltrail.core"):
            assert not {d for d in deps if d.startswith("modeltrail.bot")}, name


def test_nothing_imports_the_server_back() -> None:
    server = "modeltrail.bot.web.server"
    importers = {n for n, deps in GRAPH.items() if server in deps}
    assert importers <= {"modeltrail.bot.cli.serve", "modeltrail.bot.web"}, importers
