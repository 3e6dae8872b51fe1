"""Hyperparameter flattening and canonical values: pure functions, no database."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

from modeltrail.core.errors import InvalidParamError
from modeltrail.core.params import (
    MAX_KEY_LENGTH,
    decode_value,
    encode_value,
    flatten_params,
    parse_cli_value,
)


def test_nested_mappings_flatten_to_dotted_keys() -> None:
    params = {
        "optimizer": {"name": "adam", "lr": 0.01, "schedule": {"warmup": 100}},
        "epochs": 10,
    }
    assert flatten_params(params) == {
        "optimizer.name": "adam",
        "optimizer.lr": 0.01,
        "optimizer.schedule.warmup": 100,
        "epochs": 10,
    }


def test_json_types_are_kept_exactly() -> None:
    flat = flatten_params(
        {"i": 3, "f": 1.0, "b": False, "s": "x", "n": None, "l": [1, 2.5, "a", None, True]}
    )
    assert flat == {
        "i": 3,
        "f": 1.0,
        "b": False,
        "s": "x",
        "n": None,
        "l": [1, 2.5, "a", None, True],
    }
    assert type(flat["i"]) is int
    assert type(flat["f"]) is float
    assert type(flat["b"]) is bool
    assert [type(v) for v in flat["l"]] == [int, float, str, type(None), bool]


def test_prefix_is_prepended() -> None:
    assert flatten_params({"lr": 0.1}, prefix="opt.") == {"opt.lr": 0.1}


def test_empty_nested_mapping_is_recorded_as_empty() -> None:
    assert flatten_params({"augment": {}, "seed": 1}) == {"augment": {}, "seed": 1}
    assert flatten_params({"a": {"b": {}}}) == {"a.b": {}}
    assert flatten_params({}) == {}


def test_mapping_subclasses_are_flattened() -> None:
    assert flatten_params(OrderedDict(a=OrderedDict(b=1))) == {"a.b": 1}


@pytest.mark.parametrize(
    "params",
    [
        {"optimizer.lr": 0.1, "optimizer": {"lr": 0.2}},
        {"optimizer": {"lr": 0.2}, "optimizer.lr": 0.1},
    ],
)
def test_dotted_and_nested_spelling_of_one_key_clash(params: dict[str, object]) -> None:
    with pytest.raises(InvalidParamError, match=r"'optimizer\.lr' is given twice"):
        flatten_params(params)


def test_numpy_scalars_become_plain_python() -> None:
    flat = flatten_params(
        {
            "i": np.int64(7),
            "u": np.uint8(3),
            "f32": np.float32(0.5),
            "f64": np.float64(0.25),
            "b": np.bool_(True),
            "zero_d": np.array(2.0),
            "in_list": [np.int32(1), np.float64(1.5)],
        }
    )
    assert flat == {
        "i": 7,
        "u": 3,
        "f32": 0.5,
        "f64": 0.25,
        "b": True,
        "zero_d": 2.0,
        "in_list": [1, 1.5],
    }
    assert type(flat["i"]) is int
    assert type(flat["u"]) is int
    assert type(flat["f32"]) is float
    assert type(flat["f64"]) is float
    assert type(flat["b"]) is bool
    assert [type(v) for v in flat["in_list"]] == [int, float]
    # Plain values encode as JSON without any help.
    encode_value(flat)


def test_numpy_arrays_with_a_shape_are_rejected() -> None:
    with pytest.raises(InvalidParamError, match="'weights'.*ndarray"):
        flatten_params({"weights": np.array([1.0, 2.0])})


def test_tuples_become_lists_at_any_depth() -> None:
    flat = flatten_params({"betas": (0.9, 0.999), "grid": ((1, 2), [3, (4,)])})
    assert flat == {"betas": [0.9, 0.999], "grid": [[1, 2], [3, [4]]]}


def test_mappings_inside_lists_are_kept_whole() -> None:
    flat = flatten_params({"layers": [{"units": 64, "dropout": (0.1, 0.2)}, {"units": 32}]})
    assert flat == {"layers": [{"units": 64, "dropout": [0.1, 0.2]}, {"units": 32}]}


def test_bad_value_inside_a_listed_mapping_names_its_path() -> None:
    with pytest.raises(InvalidParamError, match=r"'layers\.act'"):
        flatten_params({"layers": [{"act": object()}]})
    with pytest.raises(InvalidParamError, match="keys must be strings"):
        flatten_params({"layers": [{1: "x"}]})


@pytest.mark.parametrize(
    "bad", [math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf")]
)
def test_non_finite_params_are_rejected_naming_the_key(bad: float) -> None:
    with pytest.raises(InvalidParamError, match=r"'optimizer\.lr'.*JSON cannot hold"):
        flatten_params({"optimizer": {"lr": bad}})


def test_non_finite_inside_a_list_is_rejected() -> None:
    with pytest.raises(InvalidParamError, match="'grid'"):
        flatten_params({"grid": [0.1, math.nan]})


@pytest.mark.parametrize("value", [object(), {1, 2}, b"bytes", 1j, lambda: 0])
def test_values_json_cannot_hold_are_rejected_naming_the_key(value: object) -> None:
    with pytest.raises(InvalidParamError, match=r"param 'model\.fn' has a value of type") as info:
        flatten_params({"model": {"fn": value}})
    assert info.value.hint and "numbers, strings" in info.value.hint


@pytest.mark.parametrize("key", ["", 3, None])
def test_keys_must_be_non_empty_strings(key: object) -> None:
    with pytest.raises(InvalidParamError, match="non-empty string"):
        flatten_params({key: 1})  # type: ignore[dict-item]


def test_params_must_be_a_mapping() -> None:
    with pytest.raises(InvalidParamError, match="must be a mapping.*list"):
        flatten_params([("a", 1)])  # type: ignore[arg-type]


def test_overlong_keys_are_rejected() -> None:
    flatten_params({"k" * MAX_KEY_LENGTH: 1})
    with pytest.raises(InvalidParamError, match="longer than"):
        flatten_params({"a": {"k" * MAX_KEY_LENGTH: 1}})


def test_encoding_is_canonical_and_round_trips() -> None:
    value = {"b": [1, 2.0, None], "a": "é"}
    text = encode_value(value)
    assert text == '{"a":"é","b":[1,2.0,null]}'
    assert decode_value(text) == value
    assert type(decode_value(encode_value(1.0))) is float
    assert type(decode_value(encode_value(1))) is int


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1", 0.1),
        ("3", 3),
        ("-2", -2),
        ("1e-3", 0.001),
        ("true", True),
        ("false", False),
        ("null", None),
        ("[1, 2]", [1, 2]),
        ('{"a": 1}', {"a": 1}),
        ('"quoted"', "quoted"),
        ("adam", "adam"),
        ("", ""),
        ("True", "True"),
        ("1.2.3", "1.2.3"),
        ("[1, 2", "[1, 2"),
    ],
)
def test_parse_cli_value(text: str, expected: object) -> None:
    parsed = parse_cli_value(text)
    assert parsed == expected
    assert type(parsed) is type(expected)


def _nested(depth: int, leaf: object) -> object:
    value = leaf
    for _ in range(depth):
        value = {"k": value}
    return value


def test_params_nested_past_the_limit_are_one_error_not_a_recursion_error() -> None:
    assert flatten_params({"p": _nested(90, 1)})  # deep but ordinary: fine
    with pytest.raises(InvalidParamError, match="nested more than 100 levels"):
        flatten_params({"p": _nested(5_000, 1)})
    deep_list: object = 1
    for _ in range(5_000):
        deep_list = [deep_list]
    with pytest.raises(InvalidParamError, match="nested more than 100 levels"):
        flatten_params({"p": deep_list})


def test_a_mapping_that_contains_itself_is_refused() -> None:
    loop: dict[str, object] = {}
    loop["self"] = loop
    with pytest.raises(InvalidParamError, match="contains itself"):
        flatten_params({"p": loop})
    in_list: dict[str, object] = {}
    in_list["items"] = [in_list]
    with pytest.raises(InvalidParamError, match="contains itself"):
        flatten_params(in_list)
