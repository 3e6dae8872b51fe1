from __future__ import annotations

import dataclasses
import importlib.metadata
import platform

import pytest

from modeltrail.core.capture.environment import (
    capture_environment,
    cpu_model_from_cpuinfo,
    environment_from_parts,
    normalise_name,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SQLAlchemy", "sqlalchemy"),
        ("typing_extensions", "typing-extensions"),
        ("zope.interface", "zope-interface"),
        ("Foo.-_Bar", "foo-bar"),
    ],
)
def test_normalise_name(name: str, expected: str) -> None:
    assert normalise_name(name) == expected


def test_capture_environment() -> None:
    capture_environment.cache_clear()
    env = capture_environment()

    assert env.python_version == platform.python_version()
    assert env.python_implementation == platform.python_implementation()
    assert env.platform and env.machine
    assert env.cpu_count is None or env.cpu_count >= 1
    assert isinstance(env.gpus, tuple)
    assert env.packages["sqlalchemy"] == importlib.metadata.version("sqlalchemy")
    assert "gitpython" in env.packages and "pyyaml" in env.packages
    assert list(env.packages) == sorted(env.packages)
    assert all(name == normalise_name(name) for name in env.packages)
    assert len(env.fingerprint) == 64


def test_cached_per_process_and_fingerprint_stable() -> None:
    capture_environment.cache_clear()
    first = capture_environment()
    assert capture_environment() is first
    capture_environment.cache_clear()
    second = capture_environment()
    assert second is not first
    assert second == first
    assert second.fingerprint == first.fingerprint


def test_fingerprint_covers_every_field() -> None:
    base = environment_from_parts(
        python_version="3.11.7",
        platform="Linux-6.1",
        machine="x86_64",
        cpu_model="AMD EPYC",
        cpu_count=2,
        gpus=("NVIDIA A100",),
        packages={"NumPy": "1.26.4", "scikit_learn": "1.4.0"},
    )
    assert base.packages == {"numpy": "1.26.4", "scikit-learn": "1.4.0"}
    assert base == environment_from_parts(
        python_version="3.11.7",
        platform="Linux-6.1",
        machine="x86_64",
        cpu_model="AMD EPYC",
        cpu_count=2,
        gpus=["NVIDIA A100"],
        packages={"scikit-learn": "1.4.0", "numpy": "1.26.4"},
    )
    changes = {
        "python_version": "3.12.1",
        "python_implementation": "PyPy",
        "platform": "Linux-6.2",
        "machine": "aarch64",
        "cpu_model": None,
        "cpu_count": 4,
        "gpus": (),
        "packages": {"numpy": "2.0.0", "scikit-learn": "1.4.0"},
    }
    fields = {
        f.name: getattr(base, f.name) for f in dataclasses.fields(base) if f.name != "fingerprint"
    }
    for key, value in changes.items():
        changed = environment_from_parts(**{**fields, key: value})
        assert changed.fingerprint != base.fingerprint, key


def test_cpu_model_from_cpuinfo() -> None:
    x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 49\nmodel name\t: AMD EPYC 7B12\n"
    assert cpu_model_from_cpuinfo(x86) == "AMD EPYC 7B12"
    arm = "processor\t: 0\nBogoMIPS\t: 50.00\n\nHardware\t: BCM2835\nModel\t: Raspberry Pi 4\n"
    assert cpu_model_from_cpuinfo(arm) == "Raspberry Pi 4"
    assert cpu_model_from_cpuinfo("processor\t: 0\n") is None
    assert cpu_model_from_cpuinfo("") is None


def test_capture_is_cached_per_process() -> None:
    capture_environment.cache_clear()
    assert capture_environment() is capture_environment()
