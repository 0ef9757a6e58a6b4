"""Odd histories: merged branches that each made a version, renamed and deleted cards,
detached HEAD, shallow clones and missing tags, a repository with no commits yet."""

from __future__ import annotations

from pathlib import Path

import pytest

import mreg
from tests.helpers import Cli, assert_error, git
from tests.history.conftest import CARD, History

UNSHALLOW = "git fetch --unshallow --tags"


def _add_untagged(hist: History, content: bytes, message: str) -> str:
    """A new version committed by hand (no version tag), as a merge of branches has it."""
    res = hist.add(content, commit=False)
    return hist.commit([res.card_path, ".gitignore"], message)


@pytest.fixture
def merged(hist: History) -> tuple[History, str, str]:
    """v1..v3 on main; branch feat and main each make a v4; feat is merged into main,
    keeping main's card. Returns (hist, main's v4 commit, feat's v4 commit)."""
    for i in (1, 2, 3):
        _add_untagged(hist, f"v{i}".encode(), f"churn v{i}")
    hist.git("checkout", "-q", "-b", "feat")
    feat4 = _add_untagged(hist, b"feat v4", "feat: churn v4")
    hist.git("checkout", "-q", "main")
    main4 = _add_untagged(hist, b"main v4", "main: churn v4")
    hist.tick()
    hist.git("merge", "-q", "-s", "ours", "-m", "merge feat", "feat")
    return hist, main4, feat4


def test_two_branches_made_v4_log_shows_both(merged: tuple[History, str, str]) -> None:
    hist, main4, feat4 = merged
    entries = mreg.log("churn", repo=hist.root)
    shas = [e.commit.sha for e in entries]
    assert main4 in shas and feat4 in shas
    assert [e.card.version if e.card else None for e in entries] == [4, 4, 3, 2, 1]
    # neither v4 is a metadata update of the other: each made v4 from v3
    assert [e.metadata_only for e in entries] == [False] * 5
    # the merge itself kept main's card: it changed nothing on the first-parent line
    assert hist.sha() not in shas


def test_a_merge_that_took_the_other_branchs_bytes_is_no_metadata_update(
    merged: tuple[History, str, str], cli: Cli
) -> None:
    # Merge feat into main's v4 again, the card conflict resolved by keeping theirs:
    # v4 on both sides, other bytes.
    hist, main4, feat4 = merged
    hist.git("checkout", "-q", "-b", "theirs", main4)
    hist.git("merge", "-q", "--no-commit", "-s", "ours", "feat")
    hist.git("checkout", "-q", "feat", "--", CARD.format("churn"))
    merge = hist.commit([CARD.format("churn")], "merge feat, keeping its churn")
    assert hist.git("rev-list", "--parents", "-1", merge).split() == [merge, main4, feat4]
    entries = mreg.log("churn", repo=hist.root)
    assert [e.commit.sha for e in entries][:1] == [merge]
    assert entries[0].card is not None and entries[0].card.version == 4
    assert not entries[0].metadata_only  # was True: the version was compared, not the oid
    res = cli("log", "churn")
    assert res.exit_code == 0 and "(meta)" not in res.stdout


def test_two_branches_made_v4_ref_takes_the_first_parent_one(
    merged: tuple[History, str, str], cli: Cli
) -> None:
    hist, main4, feat4 = merged
    got = mreg.resolve("churn@v4", repo=hist.root)
    assert got.commit == main4
    res = cli("which", "churn@v4", "--json")
    assert res.exit_code == 0 and res.json["commit"] == main4
    res = cli("tag", "churn@v4")
    assert res.exit_code == 0, res.stderr
    assert hist.sha("churn@v4") == main4
    # from the feature branch, its own v4 is the first-parent one
    hist.git("checkout", "-q", "feat")
    hist.git("tag", "-d", "churn@v4")
    assert mreg.resolve("churn@v4", repo=hist.root).commit == feat4


def test_a_version_only_on_another_branch_is_found(hist: History, cli: Cli) -> None:
    _add_untagged(hist, b"v1", "v1")
    hist.git("checkout", "-q", "-b", "feat")
    feat2 = _add_untagged(hist, b"v2", "v2 on feat")
    hist.git("checkout", "-q", "main")
    assert mreg.resolve("churn@v2", repo=hist.root).commit == feat2
    assert mreg.resolve("churn@feat", repo=hist.root).card.version == 2
    # `log` follows HEAD; --all every branch
    assert [e["version"] for e in cli("log", "churn", "--json").json["entries"]] == [1]
    res = cli("log", "churn", "--all", "--json")
    assert [e["version"] for e in res.json["entries"]] == [2, 1]


def test_a_renamed_card(three: History, cli: Cli) -> None:
    three.git("mv", CARD.format("churn"), CARD.format("churn2"))
    text = three.card_text("churn2").replace("name: churn\n", "name: churn2\n")
    three.commit_card(text, "churn2", "rename churn to churn2")
    old = mreg.log("churn", repo=three.root)
    assert old[0].deleted and old[0].commit.subject == "rename churn to churn2"
    assert [e.card.version for e in old[1:] if e.card] == [3, 2, 2, 1]
    new = mreg.log("churn2", repo=three.root)
    assert [(e.card.version if e.card else None) for e in new] == [3]
    # the old name's versions are still in history; the new name starts at the rename
    assert mreg.resolve("churn@v1", repo=three.root).card.version == 1
    assert_error(
        cli("which", "churn2@v1"), 3, "churn2 has no committed version 1", "versions of churn2: v3"
    )
    assert_error(cli("show", "churn"), 3, "no model named 'churn'", "models: churn2")
    res = cli("diff", "HEAD~1", "HEAD", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["churn"]["model"]["status"] == "removed"
    assert res.json["churn2"]["model"]["status"] == "added"


def test_a_deleted_card(three: History, cli: Cli) -> None:
    three.tick()
    three.git("rm", "-q", CARD.format("churn"))
    three.git("commit", "-q", "-m", "drop churn")
    assert cli("log", "churn", "--json").json["entries"][0]["deleted"] is True
    assert cli("show", "churn@v2", "--json").json["version"] == 2
    assert cli("show", "churn@HEAD~1", "--json").json["version"] == 3
    assert_error(cli("show", "churn@HEAD"), 3, "no model named 'churn' at HEAD")
    assert_error(cli("show", "churn"), 3, "no model named 'churn'")
    res = cli("diff", "HEAD~1", "HEAD", "--json")
    assert res.json["churn"]["model"] == {"old": "v3", "new": None, "status": "removed"}


def test_detached_head(three: History, cli: Cli) -> None:
    three.git("checkout", "-q", "--detach", "HEAD~1")
    res = cli("log", "churn", "--json")
    assert res.exit_code == 0, res.stderr
    assert [e["version"] for e in res.json["entries"]] == [2, 2, 1]
    assert cli("which", "churn@v3", "--json").json["commit"] == three.sha("main")
    for tag in three.git("tag").split():
        three.git("tag", "-d", tag)
    # v3 is not in the history of HEAD, but on a branch
    assert cli("which", "churn@v3", "--json").json["commit"] == three.sha("main")
    assert cli("which", "churn@v1", "--json").json["commit"] == three.sha("HEAD~2")
    res = cli("diff", "HEAD", "main", "--json")
    assert res.json["churn"]["version"] == {"old": 2, "new": 3, "diff": 1}
    res = cli("diff")
    assert res.exit_code == 0
    assert "no changes" in res.stderr


# ------------------------------------------------------------- no commits yet


def test_a_repository_with_no_commits(hist: History, cli: Cli) -> None:
    assert_error(cli("log", "churn"), 3, "no model named 'churn'")
    assert_error(cli("which", "churn@v1"), 3, "no model named 'churn'")
    assert_error(
        cli("diff", "HEAD~1"), 3, "unknown revision 'HEAD~1': the repository has no commits yet",
        "commit first",
    )  # fmt: skip
    assert cli("stages").exit_code == 0
    hist.add(b"x", commit=False, metrics={"auc": 0.5})
    res = cli("log", "churn")
    assert res.exit_code == 0 and "no committed versions yet" in res.stderr
    res = cli("diff", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["churn"]["model"]["status"] == "added"
    assert res.json["churn"]["metrics"]["auc"] == {"old": None, "new": 0.5}
    assert_error(cli("which", "churn@v1"), 3, "churn has no committed version 1")
    assert_error(cli("show", "churn@HEAD"), 3, "no commits yet")
    assert_error(cli("tag", "churn"), 3, "churn has no committed version 1")
    assert_error(cli("promote", "churn", "production"), 3, "churn has no committed version 1")
    assert_error(cli("demote", "churn", "production"), 3, "churn has no version in stage")
    assert_error(cli("which", "churn#production"), 3, "churn has no version in stage")
    res = cli("which", "churn", "--json")
    assert res.exit_code == 0 and res.json["commit"] is None and res.json["version"] == 1


# --------------------------------------------------- shallow clones, missing tags


@pytest.fixture
def origin(three: History, cli: Cli) -> History:
    """`three` with churn v2 promoted to production."""
    three.tick()
    assert cli("promote", "churn@v2", "production").exit_code == 0
    return three


def _clone(origin: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Path:
    dest = tmp_path / "clone"
    git(tmp_path, "clone", "-q", *args, f"file://{origin.root}", str(dest))
    monkeypatch.chdir(dest)
    return dest


def test_shallow_clone(
    origin: History, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = _clone(origin, tmp_path, monkeypatch, "--depth", "1")
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    assert_error(cli("which", "churn@v1"), 3, "churn has no committed version 1", UNSHALLOW)
    assert_error(cli("show", "churn@HEAD~2"), 3, "unknown revision 'HEAD~2'", UNSHALLOW)
    assert_error(cli("diff", "HEAD~1", "HEAD"), 3, "unknown revision 'HEAD~1'", UNSHALLOW)
    assert_error(
        cli("which", "churn#production"), 3, "churn has no version in stage 'production'", UNSHALLOW
    )
    # what the clone has still works
    assert cli("which", "churn@HEAD", "--json").json["version"] == 3
    res = cli("log", "churn", "--json")
    assert res.exit_code == 0
    assert [e["version"] for e in res.json["entries"]] == [3]
    assert UNSHALLOW in res.stderr  # the log says it may be incomplete
    git(clone, "fetch", "-q", "--unshallow", "--tags")
    assert cli("which", "churn@v1", "--json").json["version"] == 1
    assert cli("which", "churn#production", "--json").json["version"] == 2
    assert cli("log", "churn").stderr == ""


def test_shallow_clone_stages_and_which_say_tags_may_be_missing(
    origin: History, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin.tick()
    assert cli("promote", "churn@v3", "staging").exit_code == 0  # on HEAD: fetched
    clone = _clone(origin, tmp_path, monkeypatch, "--depth", "1")
    note = f"this clone is shallow, stage tags may be missing: {UNSHALLOW}"
    # production's tag (on v2, not fetched) was left out without a word
    res = cli("stages", "--json")
    assert res.exit_code == 0 and [r["stage"] for r in res.json["stages"]] == ["staging"]
    assert note in res.stderr
    res = cli("stages")
    assert res.exit_code == 0 and note in res.stderr
    res = cli("which", "churn#staging")
    assert res.exit_code == 0 and "version: 3" in res.stdout and note in res.stderr
    assert_error(
        cli("which", "churn#production"),
        3,
        "churn has no version in stage 'production'",
        f"stages of churn: staging; or, in this shallow clone: {UNSHALLOW}",
    )
    assert cli("which", "churn@HEAD").stderr == ""  # no stage asked for
    git(clone, "fetch", "-q", "--unshallow", "--tags")
    res = cli("stages", "--json")
    assert [r["stage"] for r in res.json["stages"]] == ["production", "staging"]
    assert res.stderr == "" and cli("which", "churn#staging").stderr == ""


def test_clone_without_tags(
    origin: History, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = _clone(origin, tmp_path, monkeypatch, "--no-tags")
    assert git(clone, "tag") == ""
    assert_error(
        cli("which", "churn#production"), 3, "churn has no version in stage 'production'", UNSHALLOW
    )
    res = cli("stages", "churn")
    assert res.exit_code == 0 and res.stdout == ""
    assert "no stages assigned yet" in res.stderr
    # versions are still found through history
    assert cli("which", "churn@v2", "--json").json["commit"] == origin.sha("HEAD~2")
    git(clone, "fetch", "-q", "--tags")
    assert cli("which", "churn#production", "--json").json["version"] == 2


def test_lightweight_stage_tag_is_ignored(origin: History, cli: Cli) -> None:
    origin.git("tag", "churn#production#9", origin.sha("HEAD"))  # v3, lightweight
    res = cli("which", "churn#production", "--json")
    assert res.json["version"] == 2
    res = cli("stages", "--json")
    assert [r["tag"] for r in res.json["stages"]] == ["churn#production#1"]
    origin.tick()
    res = cli("promote", "churn@v1", "staging", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["tag"] == "churn#staging#2"
    assert cli("which", "churn#production", "--json").json["version"] == 2


def test_a_stashed_card_is_no_version(three: History, cli: Cli) -> None:
    three.add(b"four", metrics={"auc": 0.99}, commit=False)
    three.tick()
    three.git("stash", "-q")
    assert "version: 3" in three.card_text()
    res = cli("log", "churn", "--all", "--json")
    assert [e["version"] for e in res.json["entries"]] == [3, 2, 2, 1]
    assert_error(cli("which", "churn@v4"), 3, "churn has no committed version 4", "v1, v2, v3")


def test_show_a_card_that_is_invalid_at_an_old_commit(three: History, cli: Cli) -> None:
    good = three.card_text()
    three.commit_card(good.replace("version: 3", "version: 0"), message="broken")
    three.commit_card(good, message="fixed")
    assert_error(
        cli("show", "churn@HEAD~1"),
        3,
        ".mreg/models/churn.yaml at HEAD~1: version: must be an integer >= 1, not 0",
    )
    # the versions around it are still found
    assert cli("which", "churn@v3", "--json").json["commit"] == three.sha("HEAD~2")
