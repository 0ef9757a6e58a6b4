"""mreg.names: which model and stage names are allowed, and why others are not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mreg.errors import InvalidName
from mreg.names import MAX_NAME, NAME_RE, check_name, check_stage


@pytest.mark.parametrize(
    "name",
    ["churn", "vision/resnet50", "a", "0", "a.b_c-d", "team/x/y.z", "v1.2-rc_3"],
)
def test_valid_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "model name is empty"),
        ("Churn", "invalid model name 'Churn': upper case is not allowed (perhaps 'churn')"),
        ("HEAD", "invalid model name 'HEAD': upper case is not allowed (perhaps 'head')"),
        ("BAD!", "invalid model name 'BAD!': may not hold 'B', 'A', 'D', '!'"),
        ("my model", "invalid model name 'my model': may not hold ' '"),
        ("a..b", "model name 'a..b' may not hold '..'"),
        ("team/x..y", "may not hold '..'"),
        ("../etc", "has a '.' or '..' segment"),
        ("a/../b", "has a '.' or '..' segment"),
        ("a/./b", "has a '.' or '..' segment"),
        ("a//b", "has an empty segment"),
        ("a/", "has an empty segment"),
        ("/abs", "is absolute"),
        ("-x", "must start each segment with a-z or 0-9"),
        ("a/_b", "must start each segment with a-z or 0-9"),
        ("a.", "may not end a segment in '.' or '.lock'"),
        ("x.lock/y", "may not end a segment in '.' or '.lock'"),
        ("a@v1", "may not hold '@'"),
        ("a#prod", "may not hold '#'"),
        ("a\\b", "may not hold '\\\\'"),
        ("ünï", "may not hold 'ü', 'ï'"),
        ("x" * (MAX_NAME + 1), f"longer than {MAX_NAME}"),
    ],
)
def test_invalid_names(name: str, why: str) -> None:
    with pytest.raises(InvalidName) as info:
        check_name(name)
    assert why in info.value.message
    assert info.value.hint is not None and "[a-z0-9]" in info.value.hint
    assert info.value.exit_code == 3


@given(st.text(max_size=30))
def test_anything_accepted_is_a_safe_relative_path(name: str) -> None:
    try:
        check_name(name)
    except InvalidName:
        return
    assert NAME_RE.match(name)
    segments = name.split("/")
    assert all(s and s not in (".", "..") for s in segments)
    assert ".." not in name  # git refuses it in the NAME@vN tag
    assert name == name.lower() and name.isascii()


@pytest.mark.parametrize("stage", ["production", "staging", "canary-2", "a_b"])
def test_valid_stages(stage: str) -> None:
    assert check_stage(stage) == stage


@pytest.mark.parametrize("stage", ["", "Prod", "a.b", "a/b", "-x", "pro duction"])
def test_invalid_stages(stage: str) -> None:
    with pytest.raises(InvalidName, match="invalid stage name"):
        check_stage(stage)
