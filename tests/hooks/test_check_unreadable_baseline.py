"""`mreg check` with a baseline card that exists but cannot be read (a newer mreg's
schema, conflict markers): exit 3 naming the card, never a silent skip. End to end
through the installed console script."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_error, git
from tests.hooks.conftest import add_churn, append_gates, mreg

CARD = Path(".mreg/models/churn.yaml")


def commit_broken_baseline(root: Path, how: str) -> None:
    """Commit churn v1 (auc 0.9), then a baseline card this mreg cannot read, then put
    the readable card back in the work tree with auc dropped to 0.5."""
    add_churn(root, "auc=0.9")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "v1")
    good = (root / CARD).read_text(encoding="utf-8")
    if how == "newer-schema":
        broken = good.replace("schema: 1\n", "schema: 2\n")
        assert broken != good
    else:  # a card committed with conflict markers in it
        broken = "<<<<<<< ours\n" + good + "=======\n" + good + ">>>>>>> theirs\n"
    (root / CARD).write_text(broken, encoding="utf-8")
    git(root, "commit", "-q", "-am", "a card this mreg cannot read")
    (root / CARD).write_text(good, encoding="utf-8")
    add_churn(root, "auc=0.5")


@pytest.mark.parametrize(
    ("how", "reason", "hint"),
    [
        ("newer-schema", "schema 2 is newer than this mreg knows", "pip install -U mreg"),
        ("conflict-markers", ".mreg/models/churn.yaml at HEAD", "mreg check --baseline REV"),
    ],
)
def test_an_unreadable_baseline_card_is_exit_3_not_a_skip(
    repo: Path, how: str, reason: str, hint: str
) -> None:
    commit_broken_baseline(repo, how)
    append_gates(repo, "checks:\n  churn:\n    auc: {max_drop: 0.01}\n")
    res = mreg(repo, "check")
    assert_error(res, 3, "cannot check 'churn' against HEAD: the baseline card is unreadable")
    assert reason in res.lines[0]
    assert hint in res.lines[1]
    assert res.stdout == ""
    js = mreg(repo, "check", "--json")
    assert js.exit_code == 3 and js.stdout == ""
    assert js.error_json["error"]["code"] == "invalid-card"
    # Against a revision whose card is readable, the breach is found.
    res = mreg(repo, "check", "--baseline", "HEAD~1", "--json")
    assert res.exit_code == 1, res.stderr
    assert res.json["results"][0]["message"] == "dropped by 0.4 (at most 0.01)"


def test_an_unreadable_baseline_card_does_not_stop_absolute_rules(repo: Path) -> None:
    commit_broken_baseline(repo, "newer-schema")
    append_gates(repo, "checks:\n  churn:\n    auc: {min: 0.6}\n")  # needs no baseline
    res = mreg(repo, "check", "--json")
    assert res.exit_code == 1, res.stderr
    assert res.json["results"][0]["message"] == "below the minimum 0.6"


def test_a_missing_baseline_card_is_still_a_skip(repo: Path) -> None:
    git(repo, "commit", "-q", "--allow-empty", "-m", "no cards yet")
    add_churn(repo, "auc=0.5")
    append_gates(repo, "checks:\n  churn:\n    auc: {max_drop: 0.01}\n")
    res = mreg(repo, "check", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["results"][0]["message"] == "no baseline value"
