"""S3 settings from the standard AWS places, as the AWS CLI and SDKs read them: environment
variables first, then the named profile (`AWS_PROFILE`, else `default`) in the shared
credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`) and the config
file (`AWS_CONFIG_FILE`, else `~/.aws/config`).

obstore reads the environment variables itself but no profile; this fills in, from the
profile, only what the environment leaves unset: keys, session token, region, endpoint_url.
Profiles that get their keys elsewhere (role_arn, sso_*, credential_process) are not followed:
the SDKs' machinery for them is what boto3 is, and we do not depend on it.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path

from modeltrail.core.errors import ConfigError

# obstore option -> the profile's key. Keys and token come as one set: from the environment
# when it has keys, else from the profile.
_CREDENTIALS = {
    "access_key_id": "aws_access_key_id",
    "secret_access_key": "aws_secret_access_key",
    "session_token": "aws_session_token",
}
_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
# obstore option -> (environment variables that already set it, the profile's key)
_SETTINGS = {
    "region": (("AWS_REGION", "AWS_DEFAULT_REGION"), "region"),
    "endpoint": (("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"), "endpoint_url"),
}
_ELSEWHERE = (
    "role_arn",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "web_identity_token_file",
)


def _read(path: Path) -> configparser.ConfigParser | None:
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the AWS file {path}: {exc.strerror or exc}") from None
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"the AWS file {path} cannot be parsed: {first}") from None
    return parser


def profile_values(environ: Mapping[str, str], home: Path) -> dict[str, str]:
    """The profile's settings, keyed by the profile file's own names (`region`, …)."""
    explicit = environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE")
    name = explicit or "default"
    credentials_path = Path(
        environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials"
    ).expanduser()
    config_path = Path(environ.get("AWS_CONFIG_FILE") or home / ".aws" / "config").expanduser()
    found: dict[str, str] = {}
    seen = False
    # The config file names a profile `[profile NAME]` (`[default]` for the default one);
    # the credentials file plainly `[NAME]`, and its values win, as in the SDKs.
    config = _read(config_path)
    if config is not None:
        for section in (f"profile {name}", name) if name != "default" else ("default",):
            if config.has_section(section):
                found.update(config.items(section))
                seen = True
                break
    credentials = _read(credentials_path)
    if credentials is not None and credentials.has_section(name):
        found.update(credentials.items(name))
        seen = True
    if explicit and not seen:
        raise ConfigError(
            f"AWS_PROFILE {name!r}: no such profile in {credentials_path} or {config_path}",
            hint="check the name, or AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE",
        )
    if explicit and "aws_access_key_id" not in found:
        elsewhere = [key for key in _ELSEWHERE if key in found]
        if elsewhere:
            raise ConfigError(
                f"AWS_PROFILE {name!r} gets its keys through {elsewhere[0]}, which modeltrail "
                "does not follow",
                hint="export AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (e.g. from "
                "`aws configure export-credentials --format env`)",
            )
    return found


def s3_options(
    environ: Mapping[str, str] | None = None, home: Path | None = None
) -> dict[str, str]:
    """obstore S3 options the profile supplies and the environment does not."""
    env = os.environ if environ is None else environ
    values = profile_values(env, Path.home() if home is None else home)
    options: dict[str, str] = {}
    if not any(env.get(v) for v in _CREDENTIAL_VARIABLES):
        for option, key in _CREDENTIALS.items():
            if values.get(key):
                options[option] = values[key].strip()
    for option, (variables, key) in _SETTINGS.items():
        if any(env.get(v) for v in variables):
            continue  # obstore reads it from the environment
        if values.get(key):
            options[option] = values[key].strip()
    return options


def endpoint(environ: Mapping[str, str], options: Mapping[str, str]) -> str | None:
    """The S3 endpoint in use, wherever it was set (None: AWS's own)."""
    for variable in _SETTINGS["endpoint"][0]:
        if environ.get(variable):
            return environ[variable]
    return options.get("endpoint")
