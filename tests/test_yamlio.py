"""mreg.yamlio: the safe loader (tags, duplicates, bombs), the dumper, k=v scalars."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mreg import yamlio
from mreg.yamlio import YamlError, dump, load, parse_scalar


def test_load_plain_document() -> None:
    assert load("a: 1\nb: [x, 2.5]\nc: {d: true}\n") == {"a": 1, "b": ["x", 2.5], "c": {"d": True}}
    assert load("") is None
    assert load(b"k: v\n") == {"k": "v"}


def test_timestamps_stay_strings() -> None:
    assert load("at: 2026-11-27T16:02:11Z\nday: 2026-11-27\n") == {
        "at": "2026-11-27T16:02:11Z",
        "day": "2026-11-27",
    }


@pytest.mark.parametrize(
    "text",
    [
        "!!python/object:os.system {}\n",
        "x: !!python/object/apply:os.system ['echo pwned']\n",
        "x: !!python/name:os.system\n",
        "x: !custom 1\n",
    ],
)
def test_tags_are_refused(text: str) -> None:
    with pytest.raises(YamlError, match="constructor"):
        load(text)


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(YamlError, match="line 2: duplicate key 'a'"):
        load("a: 1\na: 2\n")


def test_unhashable_key_is_refused() -> None:
    with pytest.raises(YamlError, match="unhashable key"):
        load("? [a, b]\n: 1\n")


def test_alias_bomb_is_refused() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        name = chr(ord("a") + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(YamlError, match="too large"):
        load("\n".join(lines) + "\n")


def test_deep_nesting_is_refused() -> None:
    depth = yamlio.MAX_DEPTH + 5
    with pytest.raises(YamlError, match="nesting deeper"):
        load("[" * depth + "]" * depth)


def test_not_utf8_is_refused() -> None:
    with pytest.raises(YamlError, match="not UTF-8"):
        load(b"a: \xff\n")


def test_malformed_yaml_is_one_line() -> None:
    with pytest.raises(YamlError) as info:
        load("a: [\n")
    assert "\n" not in str(info.value)


def test_dump_keeps_order_and_unicode() -> None:
    text = dump({"z": 1, "a": "ünïcødé ✓", "m": {"y": None, "b": [1, 2]}})
    assert text == "z: 1\na: ünïcødé ✓\nm:\n  y: null\n  b:\n  - 1\n  - 2\n"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.9", 0.9),
        ("3", 3),
        ("-2", -2),
        ("1e-3", 0.001),
        ("2.5E+2", 250.0),
        ("1e3", 1000.0),
        ("true", True),
        ("false", False),
        ("null", None),
        ("adam", "adam"),
        ("", ""),
        ("2026-01-02", "2026-01-02"),
        ("a b", "a b"),
        ("[1, 2]", [1, 2]),
        ("{a: 1}", {"a": 1}),
        ("1e999", "1e999"),
        ("x: [", "x: ["),
    ],
)
def test_parse_scalar(text: str, value: Any) -> None:
    got = parse_scalar(text)
    assert got == value
    assert type(got) is type(value)


def test_parse_scalar_nan() -> None:
    assert math.isnan(parse_scalar(".nan"))


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
_docs = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(), inner)),
    max_leaves=20,
)


@given(_docs)
def test_dump_load_round_trip(doc: Any) -> None:
    assert load(dump(doc)) == doc


@given(st.text())
def test_strings_that_look_like_numbers_stay_strings(text: str) -> None:
    assert load(dump({"k": text})) == {"k": text}
