"""The wheel a user installs, built from this tree and installed into a fresh virtual
environment, as the Dockerfile does: what it contains, and the commands it puts on PATH.

Nothing is downloaded: the wheel is built with this environment's setuptools, installed with
`--no-deps --no-index`, and the fresh environment borrows this one's third-party libraries
through a path file (which adds their folder without running its path files, so this
checkout's editable install stays out).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from dockerfile_steps import env, exec_form, final_stage, healthcheck_command

ROOT = Path(__file__).parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
BUILD_LEFTOVERS = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
    ".hypothesis", ".modeltrail", "modeltrail-demo", "out",
)  # fmt: skip

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, capture_output=True, text=True, cwd=cwd, timeout=120, env=_env(self)
        )


def _env(installed: Installed) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{installed.bin}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    # A copy, so the build's own leftovers (build/, *.egg-info) never land in the checkout;
    # links stay links, as in a clone.
    shutil.copytree(ROOT, source, symlinks=True, ignore=BUILD_LEFTOVERS)
    dist = base / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--wheel-dir", str(dist), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("modeltrail-*.whl")
    venv = base / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    purelib = venv / "lib" / version / "site-packages"
    (purelib / "borrowed-libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return Installed(wheel, venv)


def test_the_wheel_holds_the_packages_licence_markers_and_shipped_files(
    installed: Installed,
) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for expected in (
        "modeltrail/__init__.py",
        "modeltrail/__main__.py",
        "modeltrail/py.typed",
        "modeltrail/files/manifest.yml",
        "modeltrail/files/.env.example",
        "modeltrail/files/examples/github-actions/register-model.yml",
        "modeltrail/core/config.py",
        "modeltrail/bot/cli/main.py",
        "modeltrail/templates/diff.md.j2",
        "modeltrail/core/store/migrations/script.py.mako",
        f"modeltrail-{VERSION}.dist-info/licenses/LICENSE",
    ):
        assert expected in names, expected
    assert not [n for n in names if n.startswith("modeltrail/bot/_toplevel")]
    assert not [n for n in names if "/tests/" in n or n.startswith(("tests/", "bench/"))]
    metadata = zipfile.ZipFile(installed.wheel).read(f"modeltrail-{VERSION}.dist-info/METADATA")
    text = metadata.decode()
    assert "License-Expression: Apache-2.0" in text
    assert "Classifier: Typing :: Typed" in text
    unconditional = [
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert not [
        r for r in unconditional if r.startswith(("slack", "openai", "matplotlib", "psycopg"))
    ]


def test_every_module_and_template_of_the_checkout_is_in_the_wheel(installed: Installed) -> None:
    """An editable install finds a sub-package missing from pyproject.toml through its parent;
    a wheel leaves it out. So compare the wheel with the checkout, file by file."""
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    expected = {
        f"modeltrail/{path.relative_to(ROOT).as_posix()}"
        for folder in ("core", "bot", "templates")
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and "_toplevel" not in path.parts
        and path.suffix in (".py", ".j2", ".mako", ".txt")
    }
    assert len(expected) > 100
    assert sorted(expected - names) == []


def test_the_installed_files_are_the_ones_in_the_repository(
    installed: Installed, tmp_path: Path
) -> None:
    where = installed.run(
        "python", "-c", "import modeltrail; print(modeltrail.__file__)", cwd=tmp_path
    )
    assert Path(where.stdout.strip()).is_relative_to(installed.venv)  # not this checkout
    manifest = installed.run("modeltrail", "slack", "manifest", cwd=tmp_path)
    assert manifest.returncode == 0, manifest.stderr
    assert manifest.stdout == (ROOT / "manifest.yml").read_text()
    env = installed.run("modeltrail", "files", ".env.example", cwd=tmp_path)
    assert env.stdout == (ROOT / ".env.example").read_text()
    workflow = "examples/github-actions/register-model.yml"
    installed.run("modeltrail", "files", workflow, "--out", "wf.yml", cwd=tmp_path)
    assert (tmp_path / "wf.yml").read_text() == (ROOT / workflow).read_text()


def test_version_and_python_dash_m(installed: Installed, tmp_path: Path) -> None:
    for command in (("modeltrail", "--version"), ("python", "-m", "modeltrail", "--version")):
        result = installed.run(*command, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"modeltrail {VERSION}\n"
    attribute = installed.run(
        "python", "-c", "import modeltrail; print(modeltrail.__version__)", cwd=tmp_path
    )
    assert attribute.stdout.strip() == VERSION


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_from_the_wheel_as_the_image_runs_it(
    installed: Installed, db_url: str, tmp_path: Path
) -> None:
    """The final stage's environment and entry point, the database URL from a secret file as
    compose.yaml passes it, and the image's own HEALTHCHECK command."""
    final = final_stage()
    port = free_port()
    secret = tmp_path / "database_url"
    secret.write_text(db_url + "\n")
    environ = _env(installed)
    environ.update({k: v for k, v in env(final).items() if k.startswith("MODELTRAIL_")})
    # loopback here; the image listens on 0.0.0.0 inside its own network namespace
    environ.update(
        MODELTRAIL_HTTP_HOST="127.0.0.1",
        MODELTRAIL_HTTP_PORT=str(port),
        MODELTRAIL_DATABASE_URL_FILE=str(secret),
    )
    (entrypoint,) = [s.arguments for s in final if s.keyword == "ENTRYPOINT"]
    command = exec_form(entrypoint)
    command[0] = str(installed.bin / command[0])
    check = healthcheck_command(final)
    server = subprocess.Popen(
        command, cwd=tmp_path, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.communicate(timeout=10)
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not answer /healthz in 90 s"
            time.sleep(0.2)
        healthy = subprocess.run(check, env=environ, capture_output=True, timeout=30)
        assert healthy.returncode == 0, healthy.stderr
        metrics = httpx.get(f"{base}/metrics", timeout=5)
        assert "modeltrail_database_up 1.0" in metrics.text
        assert 'modeltrail_outbox_events{status="dead"} 0.0' in metrics.text
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0, err.decode()[-2000:]
    assert not out.strip()  # with JSON logs, everything goes to the log
    entries = [json.loads(line) for line in err.decode().splitlines() if line.strip()]
    messages = [e["message"] for e in entries]
    assert f"modeltrail serving on http://127.0.0.1:{port} (/healthz, /metrics)" in messages
    assert "stopping…" in messages
    assert db_url not in err.decode()  # the secret file's content is never logged
    # The healthcheck fails once serve is gone: it checks something.
    down = subprocess.run(check, env=environ, capture_output=True, timeout=30)
    assert down.returncode != 0
