"""The Dockerfile and compose.yaml, read as Docker reads them (no Docker engine runs on this
machine kind; tests/e2e/test_installed_wheel.py follows the same steps without one)."""

from __future__ import annotations

import re
import tomllib

import yaml
from dockerfile_steps import ROOT, env, exec_form, final_stage, healthcheck_command, instructions

SETTINGS = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def test_the_image_is_slim_and_runs_modeltrail_serve_as_a_user_that_is_not_root() -> None:
    final = final_stage()
    base = final[0].arguments
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base), base
    users = [s.arguments for s in final if s.keyword == "USER"]
    assert users, "the final stage runs as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    (useradd,) = [s.arguments for s in final if s.keyword == "RUN" and "useradd" in s.arguments]
    assert f"--uid {user}" in useradd
    (entrypoint,) = [s.arguments for s in final if s.keyword == "ENTRYPOINT"]
    assert exec_form(entrypoint) == ["modeltrail", "serve"]
    # only the finished environment crosses over from the build stage
    copies = [s.arguments for s in final if s.keyword == "COPY"]
    assert copies == ["--from=build /opt/modeltrail /opt/modeltrail"]


def test_it_listens_beyond_the_container_and_checks_its_health_on_the_same_port() -> None:
    final = final_stage()
    values = env(final)
    assert values["MODELTRAIL_HTTP_HOST"] == "0.0.0.0"  # 127.0.0.1 is unreachable from outside
    (exposed,) = [s.arguments for s in final if s.keyword == "EXPOSE"]
    assert exposed == values["MODELTRAIL_HTTP_PORT"] == "3000"
    assert values["MODELTRAIL_LOG_FORMAT"] == "json"
    assert {k for k in values if k.startswith("MODELTRAIL_")} <= SETTINGS
    check = healthcheck_command(final)
    assert check[0] == "python" and "/healthz" in check[-1]
    assert "MODELTRAIL_HTTP_PORT" in check[-1]


def test_the_build_installs_the_wheel_with_extras_that_exist() -> None:
    runs = " ".join(s.arguments for s in instructions() if s.keyword == "RUN")
    installed = re.findall(r"modeltrail-\*\.whl\)\[([a-z,-]+)\]", runs)
    assert installed == ["all"]
    assert set(installed[0].split(",")) <= set(EXTRAS)


def test_secrets_and_local_state_stay_out_of_the_build_context() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", "secrets/", ".git", ".venv", ".modeltrail"} <= ignored
    assert "secrets/" in (ROOT / ".gitignore").read_text().splitlines()


def test_compose_runs_serve_on_postgres_once_the_database_is_healthy() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    db, app = compose["services"]["db"], compose["services"]["modeltrail"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert app["build"] == "."
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["ports"] == ["3000:3000"]
    # compose's environment wins over its env_file, a copy of .env.example (127.0.0.1)
    assert app["env_file"] == [{"path": ".env", "required": False}]
    assert app["environment"]["MODELTRAIL_HTTP_HOST"] == "0.0.0.0"
    assert app["environment"]["MODELTRAIL_HTTP_PORT"] == "3000"
    # a team's server answers the read API from more than one process (issue 17's budget)
    from modeltrail.core.config import parse_workers

    assert parse_workers(app["environment"]["MODELTRAIL_HTTP_WORKERS"]) == 2
    assert set(app["environment"]) <= SETTINGS | {f"{s}_FILE" for s in SETTINGS}
    assert any("/var/lib/postgresql/data" in v for v in db["volumes"])


def test_compose_passes_secrets_as_files_through_the_file_settings() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    declared = compose["secrets"]
    for service in compose["services"].values():
        mounted = set(service.get("secrets", []))
        assert mounted <= set(declared)
        for name, value in service["environment"].items():
            if not name.endswith("_FILE"):
                continue
            secret = value.removeprefix("/run/secrets/")
            assert value == f"/run/secrets/{secret}" and secret in mounted, name
            if service is compose["services"]["modeltrail"]:
                assert name.removesuffix("_FILE") in SETTINGS, name
    assert compose["services"]["modeltrail"]["environment"]["MODELTRAIL_DATABASE_URL_FILE"] == (
        "/run/secrets/database_url"
    )
    for secret in declared.values():
        assert secret["file"].startswith("./secrets/")
