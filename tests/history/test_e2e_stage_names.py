"""End to end: a stage name in a ref that mreg could never assign, through the console script.

Stage names are `[a-z0-9][a-z0-9_-]*` and at most MAX_STAGE characters when `promote`
assigns them; a longer one is read only while a tag made outside mreg (by hand, by GTO)
assigns it. Otherwise it is an invalid name, and no hint may suggest a promote that would
be refused.
"""

from __future__ import annotations

import pytest

from mreg.names import MAX_STAGE
from tests.helpers import assert_error, run_mreg
from tests.history.conftest import History

pytestmark = pytest.mark.e2e

LONG = "a" * 300
HINT = f"stage names match [a-z0-9][a-z0-9_-]*, at most {MAX_STAGE} characters"


@pytest.mark.parametrize("stage", [LONG, "a" * (MAX_STAGE + 1)], ids=["300", "33"])
def test_which_refuses_a_stage_name_too_long_to_assign(three: History, stage: str) -> None:
    # Was model-not-found with "hint: assign one: mreg promote churn@vN aaa…", which
    # promote then refused.
    root = three.root
    res = run_mreg(root, "which", f"churn#{stage}")
    assert_error(res, 3, f"invalid stage name: {len(stage)} characters", HINT)
    assert "promote" not in res.stderr
    res = run_mreg(root, "which", f"churn#{stage}", "--json")
    assert (res.exit_code, res.stdout) == (3, "")
    assert res.error_json["error"]["code"] == "invalid-name"
    assert "promote" not in res.stderr


def test_every_ref_taker_refuses_it_with_a_stage_assigned(three: History) -> None:
    root = three.root
    three.tick()
    assert run_mreg(root, "promote", "churn@v1", "production").exit_code == 0
    message = f"invalid stage name: {len(LONG)} characters"
    for args in (
        ["which", f"churn#{LONG}"],
        ["show", f"churn#{LONG}"],
        ["checkout", f"churn#{LONG}"],
        ["promote", f"churn#{LONG}", "staging"],
        ["diff", f"churn#{LONG}", "churn"],
        ["diff", "churn", f"churn#{LONG}"],
        ["demote", "churn", LONG],  # (it said "has no version in stage")
    ):
        res = run_mreg(root, *args)
        assert_error(res, 3, message, HINT)
    assert three.git("tag", "-l", "churn#*").split() == ["churn#production#1"]
    # The stage that can be assigned still resolves.
    assert run_mreg(root, "which", "churn#production", "--json").json["version"] == 1


def test_a_longer_stage_assigned_by_hand_is_read_until_cleared(three: History) -> None:
    root = three.root
    stage = "s" * 60
    three.git("tag", "-a", "-m", "by hand", f"churn#{stage}#7", three.sha("HEAD~1"))
    res = run_mreg(root, "which", f"churn#{stage}", "--json")
    assert res.exit_code == 0, res.stderr
    assert (res.json["version"], res.json["stage"]) == (2, stage)
    three.tick()
    assert run_mreg(root, "demote", "churn", stage).exit_code == 0
    res = run_mreg(root, "which", f"churn#{stage}")
    assert_error(res, 3, "invalid stage name: 60 characters", HINT)
    assert "promote" not in res.stderr
