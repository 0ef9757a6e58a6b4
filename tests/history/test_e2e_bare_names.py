"""End to end: a bare model name as one side of `mreg diff`, through the console script.

Beside a model ref (`churn@v1`, `churn#production`) a bare `churn` is the model's work-tree
card on either side, as it is for every other command that takes a ref; with no model ref
on either side, A and B are git revisions, as in `git diff`.
"""

from __future__ import annotations

import pytest

from tests.helpers import assert_error, run_mreg
from tests.history.conftest import History

pytestmark = pytest.mark.e2e

HINT = "mreg diff churn@main churn@v1"


def test_a_bare_name_left_of_a_model_ref_is_the_work_tree_card(three: History) -> None:
    # Was: "cannot compare revision 'churn' with model reference 'churn@v1'".
    root = three.root
    res = run_mreg(root, "diff", "churn", "churn@v1", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["churn"]["version"] == {"old": 3, "new": 1, "diff": -2}
    mirror = run_mreg(root, "diff", "churn@v1", "churn", "--json").json
    assert mirror["churn"]["version"] == {"old": 1, "new": 3, "diff": 2}
    assert set(res.json["churn"]) == set(mirror["churn"])
    res = run_mreg(root, "diff", "churn", "churn@v1", "--md")
    assert res.stdout.splitlines()[0] == "| Model | Kind | Key | churn | churn@v1 | Change |"
    assert res.stderr == ""

    three.tick()
    assert run_mreg(root, "promote", "churn@v2", "production").exit_code == 0
    res = run_mreg(root, "diff", "churn", "churn#production", "--json", "--exit-code")
    assert res.exit_code == 1, res.stderr
    assert res.json["churn"]["version"] == {"old": 3, "new": 2, "diff": -1}
    assert_error(
        run_mreg(root, "diff", "churn", "churn@v1", "-n", "churn"),
        3,
        "--name picks models between two revisions",
        "mreg diff churn@v1 churn@v2",
    )


def test_a_name_that_is_also_a_branch(three: History) -> None:
    root = three.root
    three.git("branch", "churn", "HEAD~1")  # churn v2 with the metadata-only update
    # Beside a model ref: the model's work-tree card, on either side, and a note says so.
    for args, old, new in (
        (("churn", "churn@v1"), 3, 1),
        (("churn@v1", "churn"), 1, 3),
    ):
        res = run_mreg(root, "diff", *args, "--json")
        assert res.exit_code == 0, res.stderr
        assert res.json["churn"]["version"] == {"old": old, "new": new, "diff": new - old}
        assert res.stderr.splitlines() == [
            "note: 'churn' is also a git revision; beside a model ref it is churn's "
            "work-tree card (for the card at that revision: churn@churn)"
        ]
    # The card on that branch, spelled as a ref.
    res = run_mreg(root, "diff", "churn@churn", "churn@v1", "--json")
    assert res.json["churn"]["version"] == {"old": 2, "new": 1, "diff": -1}
    # No model ref on either side: revisions, as git reads them.
    res = run_mreg(root, "diff", "churn", "main", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["churn"]["version"] == {"old": 2, "new": 3, "diff": 1}
    assert res.stderr == ""


def test_a_bare_revision_or_unknown_name_beside_a_model_ref(three: History) -> None:
    root = three.root
    # `main` is a branch and no model: a revision, which cannot be compared with a ref.
    assert_error(
        run_mreg(root, "diff", "main", "churn@v1"),
        3,
        "cannot compare revision 'main' with model reference 'churn@v1'",
        HINT,
    )
    assert_error(
        run_mreg(root, "diff", "churn@v1", "main"),
        3,
        "cannot compare model reference 'churn@v1' with revision 'main'",
        "mreg diff churn@v1 churn@main",
    )
    res = run_mreg(root, "diff", "main", "churn@v1", "--json")
    assert res.exit_code == 3 and res.stdout == ""
    assert res.error_json["error"]["code"] == "invalid-argument"
    for args in (("nosuch", "churn@v1"), ("churn@v1", "nosuch")):
        assert_error(run_mreg(root, "diff", *args), 3, "no model named 'nosuch'", "models: churn")


def test_a_model_name_alone_is_a_revision_and_the_hint_says_how_to_compare(
    three: History,
) -> None:
    root = three.root
    for args in (("churn",), ("churn", "HEAD"), ("HEAD", "churn")):
        assert_error(
            run_mreg(root, "diff", *args),
            3,
            "unknown revision 'churn'",
            "churn is a model, not a git revision: mreg diff churn@HEAD churn",
        )
