"""End to end: the installed `mreg` console script, run through subprocess."""

from __future__ import annotations

import json

import pytest

from tests.helpers import assert_error, run_mreg, write
from tests.history.conftest import History

pytestmark = pytest.mark.e2e


def test_history_workflow_through_the_console_script(hist: History) -> None:
    root = hist.root
    hist.add(b"one", metrics={"auc": 0.8}, params={"lr": 0.1})
    write(root / "out" / "model.pkl", b"two")
    hist.tick()
    res = run_mreg(root, "add", "churn", "out/model.pkl", "-m", "auc=0.9", "--commit")
    assert res.exit_code == 0, res.stderr
    assert hist.git("tag").split() == ["churn@v1", "churn@v2"]

    res = run_mreg(root, "diff", "churn@v1", "churn@v2", "--json", "--exit-code")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["churn"]["metrics"]["auc"]["old"] == 0.8
    assert doc["churn"]["version"] == {"old": 1, "new": 2, "diff": 1}

    res = run_mreg(root, "diff", "HEAD~1", "HEAD", "--md")
    assert res.exit_code == 0
    assert "\x1b[" not in res.stdout  # piped: no colour
    assert res.stdout.splitlines()[0] == "| Model | Kind | Key | HEAD~1 | HEAD | Change |"

    hist.tick()
    res = run_mreg(root, "promote", "churn@v1", "production", "-M", "rollback")
    assert res.exit_code == 0, res.stderr
    assert hist.git("cat-file", "-t", "refs/tags/churn#production#1").strip() == "tag"
    res = run_mreg(root, "check-ref", "refs/tags/churn#production#1", "--json")
    assert json.loads(res.stdout)["event"] == "assignment"
    assert json.loads(res.stdout)["version"] == 1

    res = run_mreg(root, "checkout", "churn#production")
    assert res.exit_code == 0, res.stderr
    assert (root / "out" / "model.pkl").read_bytes() == b"one"

    res = run_mreg(root / "out", "log", "churn", "--json")  # from a subfolder
    entries = json.loads(res.stdout)["entries"]
    assert [(e["version"], e["stages"]) for e in entries] == [(2, []), (1, ["production"])]


def test_bad_refs_through_the_console_script(three: History) -> None:
    root = three.root
    assert_error(
        run_mreg(root, "which", "churn@v9"),
        3,
        "churn has no committed version 9",
        "versions of churn: v1, v2, v3",
    )
    assert_error(run_mreg(root, "diff", "nosuch", "HEAD"), 3, "unknown revision 'nosuch'")
    assert_error(
        run_mreg(root, "promote", "churn@v1", "Prod"), 3, "invalid stage name 'Prod'", "[a-z0-9]"
    )
    res = run_mreg(root, "which", "churn#production", "--json")
    assert res.exit_code == 3 and res.stdout == ""
    assert json.loads(res.stderr)["error"]["code"] == "model-not-found"
    res = run_mreg(root, "log", "churn", "-n", "-2")
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    res = run_mreg(root, "log", "churn", "-n", "0")  # no rows asked, none shown: as git log
    assert (res.exit_code, res.stdout, res.stderr) == (0, "", "")
