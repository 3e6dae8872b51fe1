"""The software and hardware a model was trained with."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from modeltrail.core.records import Environment

_NAME_RUN = re.compile(r"[-_.]+")
_GPU_TIMEOUT_S = 3.0


def normalise_name(name: str) -> str:
    """PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become one `-`."""
    return _NAME_RUN.sub("-", name).lower()


def environment_fingerprint(fields: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON (sorted keys, no spaces, UTF-8) of an environment's
    fields (python, platform, machine, CPU, GPUs, packages)."""
    plain = {**fields, "gpus": list(fields["gpus"]), "packages": dict(fields["packages"])}
    canonical = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def environment_from_parts(
    *,
    python_version: str,
    python_implementation: str = "CPython",
    platform: str = "",
    machine: str = "",
    cpu_model: str | None = None,
    cpu_count: int | None = None,
    gpus: Iterable[str] = (),
    packages: Mapping[str, str] | None = None,
) -> Environment:
    """Build an Environment from known values (tests, imports from other tools): names are
    normalised, packages sorted and the fingerprint computed as capture does."""
    pkgs = {normalise_name(k): v for k, v in (packages or {}).items()}
    pkgs = dict(sorted(pkgs.items()))
    fields: dict[str, Any] = {
        "python_version": python_version,
        "python_implementation": python_implementation,
        "platform": platform,
        "machine": machine,
        "cpu_model": cpu_model,
        "cpu_count": cpu_count,
        "gpus": tuple(gpus),
        "packages": pkgs,
    }
    return Environment(**fields, fingerprint=environment_fingerprint(fields))


def cpu_model_from_cpuinfo(text: str) -> str | None:
    """The first `model name` (x86) or `Model`/`Hardware`/`Processor` (ARM) of /proc/cpuinfo."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if sep and value and key not in found:
            found[key] = value
    for key in ("model name", "model", "hardware", "processor"):
        value = found.get(key)
        if value and not value.isdigit():  # "processor : 0" is an index, not a name
            return value
    return None


def _cpu_model() -> str | None:
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                model = cpu_model_from_cpuinfo(f.read())
        except OSError:
            model = None
        if model:
            return model
    return platform.processor() or None


def _gpus() -> tuple[str, ...]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return ()
    try:
        result = subprocess.run(
            [exe, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=_GPU_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        # A hung or broken driver must not stop a training run from being recorded.
        return ()
    if result.returncode != 0:
        return ()
    return tuple(line.strip() for line in result.stdout.splitlines() if line.strip())


def _metadata_name_version(text: str) -> tuple[str | None, str | None]:
    """Name and Version from the header block of a METADATA/PKG-INFO file.

    Parsing only the headers avoids building an email.Message from a long description, which
    is most of the cost of `dist.metadata` when there are hundreds of distributions.
    """
    name = version = None
    for line in text.splitlines():
        if not line:
            break  # end of headers
        if line.startswith("Name:") and name is None:
            name = line[5:].strip()
        elif line.startswith("Version:") and version is None:
            version = line[8:].strip()
        if name and version:
            break
    return name, version


def installed_packages() -> dict[str, str]:
    """Every distribution importable from sys.path: normalised name -> version, sorted.

    When a name is installed twice, the first on sys.path wins, as it does for imports.
    """
    packages: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
        if not text:
            continue
        name, version = _metadata_name_version(text)
        if not name:
            continue
        packages.setdefault(normalise_name(name), version or "")
    return dict(sorted(packages.items()))


@functools.cache
def capture_environment() -> Environment:
    """This process's environment, captured once per process.

    The result is shared between callers; treat `packages` as read-only. After installing
    packages in-process, call `capture_environment.cache_clear()`.
    """
    return environment_from_parts(
        python_version=platform.python_version(),
        python_implementation=platform.python_implementation(),
        platform=platform.platform(),
        machine=platform.machine(),
        cpu_model=_cpu_model(),
        cpu_count=os.cpu_count(),
        gpus=_gpus(),
        packages=installed_packages(),
    )
