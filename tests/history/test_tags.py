"""mreg.tags: version and stage tag names, parsed and formatted (pure), and the stage
view over a list of tags."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mreg.gitrepo import TagInfo
from mreg.tags import (
    TagEvent,
    current_stages,
    next_counter,
    parse_tag,
    stage_events,
    stage_tag,
    version_tag,
    version_tags,
)

_segment = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,10}", fullmatch=True).filter(
    lambda s: s not in (".", "..") and not s.endswith((".", ".lock"))
)
names = st.lists(_segment, min_size=1, max_size=3).map("/".join)
stages = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,12}", fullmatch=True)
counters = st.integers(min_value=1, max_value=10**9)


@given(names, stages, counters, st.booleans(), st.booleans())
def test_stage_tag_round_trips(
    name: str, stage: str, counter: int, demote: bool, prefixed: bool
) -> None:
    tag = stage_tag(name, stage, counter, demote)
    text = f"refs/tags/{tag}" if prefixed else tag
    kind = "unassignment" if demote else "assignment"
    assert parse_tag(text) == TagEvent(kind, name, stage=stage, counter=counter)


@given(names, counters, st.booleans())
def test_version_tag_round_trips(name: str, version: int, prefixed: bool) -> None:
    tag = version_tag(name, version)
    assert tag == f"{name}@v{version}"
    text = f"refs/tags/{tag}" if prefixed else tag
    assert parse_tag(text) == TagEvent("registration", name, version=version)


def test_tag_formats_are_gtos() -> None:
    assert stage_tag("churn", "production", 3) == "churn#production#3"
    assert stage_tag("churn", "production", 4, demote=True) == "churn#production!#4"
    assert version_tag("vision/resnet50", 2) == "vision/resnet50@v2"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v1.0",
        "churn",
        "churn@v0",  # versions count from 1
        "churn@v01",
        "churn@v",
        "churn@1",
        "churn@v1.0.0",  # GTO semver: not ours
        "Churn@v1",  # not a model name
        "churn#Production#1",  # not a stage name
        "churn#production#0",
        "churn#production",
        "churn#production#",
        "churn#production##1",
        "churn#prod!uction#1",
        "churn#production!!#1",
        "#production#1",
        "@v1",
        "../x@v1",
        "refs/heads/churn@v3",  # a branch, not a tag
        "refs/heads/churn#production#1",
        "refs/remotes/origin/churn@v3",
        "refs/tags/",
        "refs/tags/release-1",
    ],
)
def test_not_mreg_tags(text: str) -> None:
    assert parse_tag(text) is None


def _tag(name: str, commit: str = "c1", annotated: bool = True, date: str = "") -> TagInfo:
    return TagInfo(name, commit, annotated, "Test User <test@example.com>", date, "msg")


def test_stage_events_newest_counter_wins_and_lightweight_tags_are_ignored() -> None:
    tags = [
        _tag("churn@v1", "c1"),
        _tag("churn#production#1", "c1"),
        _tag("churn#staging#2", "c2"),
        _tag("churn#production#3", "c2"),
        _tag("churn#staging!#4", "c2"),
        _tag("churn#production#9", "c9", annotated=False),
        _tag("other#production#1", "o1"),
        _tag("release-1", "c1"),
    ]
    events = stage_events(tags, "churn")
    assert [e.tag for e in events] == [
        "churn#production#1",
        "churn#staging#2",
        "churn#production#3",
        "churn#staging!#4",
    ]
    live = current_stages(events)
    assert set(live) == {("churn", "production")}
    assert live[("churn", "production")].commit == "c2"
    assert [e.name for e in stage_events(tags)] == ["churn"] * 4 + ["other"]


def test_next_counter_is_one_above_the_models_highest() -> None:
    assert next_counter([], "churn") == 1
    tags = [
        _tag("churn#production#1"),
        _tag("churn#staging!#7"),
        _tag("other#production#20"),
        _tag("churn@v12"),
    ]
    assert next_counter(tags, "churn") == 8
    assert next_counter(tags, "other") == 21


def test_next_counter_never_collides_with_a_lightweight_tag() -> None:
    # The lightweight tag does not count as an assignment, but its name is taken.
    tags = [_tag("churn#production#1"), _tag("churn#production#2", annotated=False)]
    assert next_counter(tags, "churn") == 3


def test_counters_compare_as_numbers_not_text() -> None:
    tags = [_tag("churn#production#9", "c9"), _tag("churn#production#10", "c10")]
    assert current_stages(stage_events(tags, "churn"))[("churn", "production")].commit == "c10"
    assert next_counter(tags, "churn") == 11


def test_version_tags_picks_only_version_tags() -> None:
    tags = [
        _tag("churn@v1"),
        _tag("churn#production#1"),
        _tag("v2.0"),
        _tag("x@v3", annotated=False),
    ]
    assert sorted(version_tags(tags)) == ["churn@v1", "x@v3"]
