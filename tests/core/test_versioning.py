from __future__ import annotations

import pytest

from modeltrail.core.errors import InvalidVersionError, ModeltrailError, UsageError
from modeltrail.core.versioning import SemVer, is_version, sort_versions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.1.5", SemVer(2, 1, 5)),
        ("v2.1.5", SemVer(2, 1, 5)),
        ("  v2.1.5\n", SemVer(2, 1, 5)),
        ("0.0.0", SemVer(0, 0, 0)),
        ("10.20.300", SemVer(10, 20, 300)),
    ],
)
def test_parse_accepts_plain_and_v_prefixed_versions(text: str, expected: SemVer) -> None:
    assert SemVer.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "2",
        "2.1",
        "2.1.5.1",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "-1.2.3",
        "1.-2.3",
        "2.1.5-rc1",
        "2.1.5+build7",
        "V2.1.5",
        "vv2.1.5",
        "v 2.1.5",
        "2..5",
        "2.1.x",
        "２.1.5",  # full-width digit
        "2.1.5 2",
    ],
)
def test_parse_rejects_anything_else(text: str) -> None:
    with pytest.raises(InvalidVersionError) as caught:
        SemVer.parse(text)
    assert caught.value.text == text
    assert isinstance(caught.value, ModeltrailError)
    assert not is_version(text)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(InvalidVersionError):
        SemVer.parse(2.1)  # type: ignore[arg-type]


def test_constructor_rejects_negative_parts() -> None:
    with pytest.raises(InvalidVersionError):
        SemVer(1, -1, 0)


def test_str_round_trips_without_prefix() -> None:
    assert str(SemVer.parse("v2.1.5")) == "2.1.5"
    assert SemVer.parse(str(SemVer(3, 0, 12))) == SemVer(3, 0, 12)


def test_ordering_is_numeric() -> None:
    assert SemVer.parse("2.10.0") > SemVer.parse("2.9.0")
    assert SemVer.parse("1.0.10") > SemVer.parse("1.0.9")
    assert SemVer.parse("10.0.0") > SemVer.parse("9.99.99")
    assert SemVer.parse("v1.2.3") == SemVer.parse("1.2.3")
    assert max(SemVer.parse(t) for t in ("0.9.0", "0.10.0", "0.2.0")) == SemVer(0, 10, 0)


def test_bump_resets_lower_parts() -> None:
    version = SemVer(2, 1, 5)
    assert version.bump("major") == SemVer(3, 0, 0)
    assert version.bump("minor") == SemVer(2, 2, 0)
    assert version.bump("patch") == SemVer(2, 1, 6)
    assert version.next_patch() == SemVer(2, 1, 6)


def test_bump_rejects_unknown_kind() -> None:
    with pytest.raises(UsageError):
        SemVer(1, 0, 0).bump("huge")  # type: ignore[arg-type]


def test_sort_versions_keeps_spelling_and_orders_numerically() -> None:
    given = ["2.10.0", "v2.9.0", "1.0.0", "2.9.10", "0.1.0"]
    assert sort_versions(given) == ["0.1.0", "1.0.0", "v2.9.0", "2.9.10", "2.10.0"]
    assert sort_versions(given, reverse=True)[0] == "2.10.0"
    assert sort_versions([]) == []


def test_sort_versions_rejects_bad_entries() -> None:
    with pytest.raises(InvalidVersionError):
        sort_versions(["1.0.0", "latest"])
