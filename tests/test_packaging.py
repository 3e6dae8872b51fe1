"""The distribution's metadata: licence, extras, and the README's install commands."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from modeltrail.core.extras import EXTRAS

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


# Distributions whose import name is not their project name.
_IMPORT_NAME = {"websocket_client": "websocket"}


def module_of(requirement: str) -> str:
    name = Requirement(requirement).name.replace("-", "_")
    return _IMPORT_NAME.get(name, name)


def test_the_licence_is_spdx_apache_with_its_text_shipped() -> None:
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    # SPDX expressions and licence classifiers may not be combined (PEP 639)
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]
    (setuptools,) = [r for r in PYPROJECT["build-system"]["requires"] if "setuptools" in r]
    assert Requirement(setuptools).specifier.contains("77") and not Requirement(
        setuptools
    ).specifier.contains("76.9")


def test_each_extra_installs_the_libraries_its_features_check_for() -> None:
    optional = PROJECT["optional-dependencies"]
    for extra, modules in EXTRAS.items():
        assert {module_of(r) for r in optional[extra]} == set(modules), extra
    assert optional["all"] == [f"modeltrail[{','.join(EXTRAS)}]"]


def test_the_core_installs_no_optional_library() -> None:
    core = {module_of(r) for r in PROJECT["dependencies"]}
    optional = {m for modules in EXTRAS.values() for m in modules}
    assert not core & optional
    assert not core & {"mlflow", "mlflow_skinny", "pyarrow"}


def pip_install_targets(command: str) -> list[str]:
    words = shlex.split(command)
    start = words.index("install") + 1
    return [w for w in words[start:] if not w.startswith("-")]


def test_the_readme_commands_and_ci_install_what_they_need() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    demo, tests = re.findall(r"```bash\n(.+?)\n```", section, re.S)
    assert pip_install_targets(demo.split("&&")[1]) == ["."]  # the demo: the core only
    (readme_install,) = [p for p in tests.split("&&") if "pip install" in p]
    (ci_install,) = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if " install " in line and "-e" in line
    ]
    assert pip_install_targets(readme_install) == pip_install_targets(ci_install)
    (target,) = pip_install_targets(ci_install)
    extras = set(re.fullmatch(r"\.\[(.+)\]", target).group(1).split(","))  # type: ignore[union-attr]
    assert {"dev", "all", "mlflow", "mlflow-server"} <= extras
