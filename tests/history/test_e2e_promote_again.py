"""End to end: promoting the version a stage already holds is a no-op, through the console
script. No second stage tag (which a CI job on tag pushes would take for a new deployment),
exit 0, and a message that says so; a different version is promoted as before."""

from __future__ import annotations

import pytest

from tests.helpers import run_mreg
from tests.history.conftest import History

pytestmark = pytest.mark.e2e


def _stage_tags(hist: History) -> list[str]:
    return hist.git("tag", "-l", "churn#*", "--sort=creatordate").split()


def test_promoting_the_version_in_the_stage_again_changes_nothing(three: History) -> None:
    root = three.root
    v1 = three.sha("churn@v1")
    three.tick()
    res = run_mreg(root, "promote", "churn@v1", "prod")
    assert res.exit_code == 0, res.stderr
    three.tick()
    res = run_mreg(root, "promote", "churn@v1", "prod")
    assert res.exit_code == 0, res.stderr
    assert (res.stdout, res.lines) == (
        "",
        [f"churn v1 is already in prod (churn#prod#1 on {v1[:12]}): no new tag"],
    )
    res = run_mreg(root, "promote", "churn@v1", "prod", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json == {
        "tag": "churn#prod#1",
        "name": "churn",
        "version": 1,
        "commit": v1,
        "stage": "prod",
        "created": False,
    }
    # Any spelling of that version, and -M too: the message is not recorded.
    res = run_mreg(root, "promote", f"churn@{v1}", "prod", "-M", "again")
    assert res.exit_code == 0, res.stderr
    assert res.lines == [
        f"churn v1 is already in prod (churn#prod#1 on {v1[:12]}): no new tag, "
        "the -M message is not recorded"
    ]
    assert _stage_tags(three) == ["churn#prod#1"]
    assert "again" not in three.git("tag", "-l", "-n9", "churn#prod#1")


def test_another_version_or_a_cleared_stage_is_promoted_as_before(three: History) -> None:
    root = three.root
    for ref, stage in (
        ("churn@v1", "prod"),
        ("churn@v1", "staging"),  # another stage: its own tag
        ("churn", "prod"),  # v3, the work-tree card's version
        ("churn@v3", "prod"),  # no-op
        ("churn@v1", "prod"),  # a rollback
    ):
        three.tick()
        assert run_mreg(root, "promote", ref, stage).exit_code == 0
    three.tick()
    assert run_mreg(root, "demote", "churn", "prod").exit_code == 0
    three.tick()
    res = run_mreg(root, "promote", "churn@v1", "prod", "--json")  # cleared: assign again
    assert res.exit_code == 0, res.stderr
    assert (res.json["tag"], res.json["created"]) == ("churn#prod#6", True)
    assert _stage_tags(three) == [
        "churn#prod#1",
        "churn#staging#2",
        "churn#prod#3",
        "churn#prod#4",
        "churn#prod!#5",
        "churn#prod#6",
    ]
    res = run_mreg(root, "stages", "churn", "--json")
    assert [(s["stage"], s["version"], s["tag"]) for s in res.json["stages"]] == [
        ("prod", 1, "churn#prod#6"),
        ("staging", 1, "churn#staging#2"),
    ]


def test_a_stage_tag_by_hand_on_another_commit_of_that_version_is_moved(three: History) -> None:
    # HEAD~1 is a metadata-only update of v2: the same version, another commit (and card).
    # The no-op is for "nothing would change"; here `which churn#prod` would.
    root = three.root
    three.git("tag", "-a", "-m", "by hand", "churn#prod#1", three.sha("HEAD~1"))
    three.tick()
    res = run_mreg(root, "promote", "churn@v2", "prod", "--json")
    assert res.exit_code == 0, res.stderr
    assert (res.json["tag"], res.json["created"]) == ("churn#prod#2", True)
    assert run_mreg(root, "which", "churn#prod", "--json").json["commit"] == three.sha("churn@v2")
