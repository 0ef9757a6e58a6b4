"""`mreg checkout REF...` and `mreg pull REF...` with two refs of one model: the work
tree holds one version, so two that name other bytes are refused before anything is
written (the last used to win silently, and --json claimed two updates); two that name
the same bytes count once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_error, git, run_mreg, write

pytestmark = pytest.mark.e2e


@pytest.fixture
def three(repo: Path) -> Path:
    """churn v1, v2, v3 committed (m.bin holds b"3"), pushed to a folder remote."""
    for v in (b"1", b"2", b"3"):
        write(repo / "m.bin", v)
        assert run_mreg(repo, "add", "churn", "m.bin", "--commit").exit_code == 0
    assert run_mreg(repo, "remote", "add", "o", str(repo.parent / "store"), "-d").exit_code == 0
    assert run_mreg(repo, "push", "--all-versions").exit_code == 0
    git(repo, "add", ".mreg/config.yaml")
    git(repo, "commit", "-qm", "remote")
    return repo


@pytest.mark.parametrize("command", ["checkout", "pull"])
def test_two_versions_of_one_model_are_refused(three: Path, command: str) -> None:
    (three / "m.bin").unlink()
    for refs in (["churn@v1", "churn@v2"], ["churn@v2", "churn"]):
        res = run_mreg(three, command, *refs)
        assert_error(
            res,
            3,
            f"{refs[0]} and {refs[1]} are two versions of churn: the work tree holds one",
            f"mreg get {refs[1]} -o PATH",
        )
        assert not (three / "m.bin").exists()  # nothing written
    res = run_mreg(three, command, "churn@v1", "churn@v2", "--json")
    assert res.exit_code == 3 and res.error_json["error"]["code"] == "invalid-argument"


@pytest.mark.parametrize("command", ["checkout", "pull"])
def test_refs_to_the_same_version_count_once(three: Path, command: str) -> None:
    (three / "m.bin").unlink()
    res = run_mreg(three, command, "churn@v3", "churn", "churn@v3", "--json")
    assert res.exit_code == 0, res.stderr
    assert [(m["name"], m["action"]) for m in res.json["models"]] == [("churn", "created")]
    assert (three / "m.bin").read_bytes() == b"3"
