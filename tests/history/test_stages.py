"""Version tags (`mreg tag`, `add --commit`) and stages (`promote`, `demote`, `stages`)."""

from __future__ import annotations

import pytest

from tests.helpers import Cli, assert_error
from tests.history.conftest import History


def _tag_type(hist: History, tag: str) -> str:
    return hist.git("cat-file", "-t", f"refs/tags/{tag}").strip()


def _tag_message(hist: History, tag: str) -> str:
    return hist.git("tag", "-l", "--format=%(contents:subject)", tag).strip()


# ------------------------------------------------------------------ version tags


def test_add_commit_tags_each_new_version_annotated(three: History) -> None:
    assert three.git("tag").split() == ["churn@v1", "churn@v2", "churn@v3"]
    shas = three.git("rev-list", "--reverse", "HEAD").split()
    for tag, sha in zip(
        ["churn@v1", "churn@v2", "churn@v3"], [shas[0], shas[1], shas[3]], strict=True
    ):
        assert _tag_type(three, tag) == "tag"
        assert three.sha(tag) == sha
    assert _tag_message(three, "churn@v2") == "mreg: churn v2"


def test_tag_a_version_on_the_commit_of_that_version(three: History, cli: Cli) -> None:
    for tag in three.git("tag").split():
        three.git("tag", "-d", tag)
    three.tick()
    res = cli("tag", "churn@v2")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    assert "tagged churn@v2 -> churn v2" in res.stderr
    assert "git push origin churn@v2" in res.stderr
    assert three.sha("churn@v2") == three.sha("HEAD~2")  # first commit of v2
    assert _tag_type(three, "churn@v2") == "tag"
    res = cli("tag", "churn", "--json")  # the work tree's version, 3
    assert res.exit_code == 0, res.stderr
    assert res.json == {
        "tag": "churn@v3",
        "name": "churn",
        "version": 3,
        "commit": three.sha(),
        "stage": None,
        "created": True,
    }
    res = cli("tag", "churn@HEAD~3", "--json")
    assert res.json["tag"] == "churn@v1" and res.json["commit"] == three.sha("HEAD~3")


def test_tag_that_exists_on_the_same_commit_is_fine(three: History, cli: Cli) -> None:
    res = cli("tag", "churn@v1", "--json")
    assert res.exit_code == 0 and res.json["created"] is False
    res = cli("tag", "churn@v1")
    assert res.exit_code == 0 and "already tagged churn@v1" in res.stderr


def test_tag_existing_on_another_commit_is_an_error_not_an_overwrite(
    three: History, cli: Cli
) -> None:
    three.git("tag", "-d", "churn@v2")
    three.git("tag", "-a", "-m", "wrong", "churn@v2", three.sha("HEAD~3"))  # on v1
    wrong = three.sha("churn@v2")
    res = cli("tag", "churn@v2")
    assert_error(res, 3, "tag churn@v2 already exists on commit " + wrong[:12], "git show churn@v2")
    assert three.sha("churn@v2") == wrong


def test_add_commit_with_a_conflicting_version_tag(hist: History, cli: Cli) -> None:
    hist.add(b"one")
    hist.git("tag", "-a", "-m", "squatter", "churn@v2", "HEAD")
    squat = hist.sha("churn@v2")
    head = hist.sha("HEAD")
    card = (hist.root / ".mreg" / "models" / "churn.yaml").read_bytes()
    hist.tick()
    (hist.root / "out" / "model.pkl").write_bytes(b"two")
    res = cli("add", "churn", "out/model.pkl", "--commit")
    assert res.exit_code == 3 and "Traceback" not in res.stderr
    assert "tag churn@v2 already exists" in res.stderr
    assert "nothing was registered" in res.stderr
    assert hist.sha("churn@v2") == squat  # never moved
    assert hist.sha("HEAD") == head  # checked before committing
    assert (hist.root / ".mreg" / "models" / "churn.yaml").read_bytes() == card


@pytest.mark.parametrize(
    ("ref", "message", "hint"),
    [
        ("churn@v9", "churn has no committed version 9", "versions of churn: v1, v2, v3"),
        ("nosuch", "no model named 'nosuch'", "models: churn"),
        ("nosuch@v1", "no model named 'nosuch'", "models: churn"),
        ("churn@nosuch", "unknown revision 'nosuch'", "git log"),
    ],
)
def test_tag_bad_refs(three: History, cli: Cli, ref: str, message: str, hint: str) -> None:
    assert_error(cli("tag", ref), 3, message, hint)


def test_tag_an_uncommitted_version(three: History, cli: Cli) -> None:
    three.add(b"four", commit=False)
    assert_error(cli("tag", "churn"), 3, "churn has no committed version 4", "v1, v2, v3")


# ------------------------------------------------------------------------ stages


def test_promote_creates_annotated_stage_tags_counting_up(three: History, cli: Cli) -> None:
    when = three.tick()
    res = cli("promote", "churn@v3", "production", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json == {
        "tag": "churn#production#1",
        "name": "churn",
        "version": 3,
        "commit": three.sha(),
        "stage": "production",
        "created": True,
    }
    assert _tag_type(three, "churn#production#1") == "tag"
    assert _tag_message(three, "churn#production#1") == "mreg: promote churn v3 to production"
    staged = three.tick()
    res = cli("promote", "churn@v1", "staging", "-M", "passed offline eval")
    assert res.exit_code == 0, res.stderr
    assert "promoted to staging: churn#staging#2 -> churn v1" in res.stderr
    assert _tag_message(three, "churn#staging#2") == "passed offline eval"
    assert three.sha("churn#staging#2") == three.sha("HEAD~3")
    three.tick()
    res = cli("promote", "churn@v2", "production", "--json")
    assert res.json["tag"] == "churn#production#3"
    assert res.json["commit"] == three.sha("HEAD~2")
    res = cli("stages", "--json")
    assert res.exit_code == 0
    rows = {(r["name"], r["stage"]): r for r in res.json["stages"]}
    assert set(rows) == {("churn", "production"), ("churn", "staging")}
    assert rows[("churn", "production")]["version"] == 2
    assert rows[("churn", "production")]["tag"] == "churn#production#3"
    assert rows[("churn", "staging")]["version"] == 1
    assert rows[("churn", "staging")]["by"] == "Test User <test@example.com>"
    assert rows[("churn", "staging")]["at"] == staged
    assert rows[("churn", "production")]["at"] > when
    assert rows[("churn", "staging")]["message"] == "passed offline eval"


def test_stage_dates_are_the_tag_dates(three: History, cli: Cli) -> None:
    when = three.tick()
    cli("promote", "churn@v3", "production")
    row = cli("stages", "churn", "--json").json["stages"][0]
    assert row["at"] == when
    res = cli("stages")
    assert res.exit_code == 0
    line = next(ln for ln in res.stdout.splitlines() if "production" in ln)
    assert line.split()[:4] == ["churn", "production", "v3", "assigned"]
    assert when[:10] + " " + when[11:19] in line and "Test User" in line


def test_promote_other_kinds_of_ref(three: History, cli: Cli) -> None:
    three.tick()
    assert cli("promote", "churn", "staging").exit_code == 0  # the work tree's version
    three.tick()
    res = cli("promote", "churn#staging", "production", "--json")
    assert res.json["version"] == 3 and res.json["tag"] == "churn#production#2"
    three.tick()
    res = cli("promote", "churn@HEAD~1", "canary", "--json")
    assert res.json["version"] == 2 and res.json["commit"] == three.sha("HEAD~2")


def test_counters_are_per_model(three: History, cli: Cli) -> None:
    three.add(b"o", "other", path="out/other.bin")
    three.tick()
    cli("promote", "churn@v1", "production")
    three.tick()
    cli("promote", "churn@v2", "production")
    three.tick()
    res = cli("promote", "other@v1", "production", "--json")
    assert res.json["tag"] == "other#production#1"
    res = cli("stages", "--json")
    assert [(r["name"], r["version"]) for r in res.json["stages"]] == [
        ("churn", 2),
        ("other", 1),
    ]
    res = cli("stages", "other", "--json")
    assert [r["name"] for r in res.json["stages"]] == ["other"]


def test_demote(three: History, cli: Cli) -> None:
    three.tick()
    cli("promote", "churn@v2", "production")
    three.tick()
    cli("promote", "churn@v1", "staging")
    three.tick()
    res = cli("demote", "churn", "production", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["tag"] == "churn#production!#3"
    assert res.json["version"] == 2 and res.json["commit"] == three.sha("HEAD~2")
    assert _tag_type(three, "churn#production!#3") == "tag"
    assert_error(
        cli("which", "churn#production"),
        3,
        "churn has no version in stage 'production'",
        "stages of churn: staging",
    )
    res = cli("stages", "--json")
    assert [r["stage"] for r in res.json["stages"]] == ["staging"]
    res = cli("stages", "churn", "--history", "--json")
    events = [(r["tag"], r["assigned"], r["version"]) for r in res.json["stages"]]
    assert sorted(events) == sorted(
        [
            ("churn#production#1", True, 2),
            ("churn#production!#3", False, 2),
            ("churn#staging#2", True, 1),
        ]
    )
    table = cli("stages", "churn", "--history")
    assert "removed" in table.stdout and "churn#production!#3" in table.stdout
    # demoting again: nothing is in the stage
    assert_error(
        cli("demote", "churn", "production"),
        3,
        "churn has no version in stage 'production'",
        "mreg stages churn",
    )
    three.tick()
    res = cli("promote", "churn@v3", "production", "--json")
    assert res.json["tag"] == "churn#production#4"
    assert cli("which", "churn#production", "--json").json["version"] == 3


def test_stages_markdown_and_empty(three: History, cli: Cli) -> None:
    res = cli("stages")
    assert res.exit_code == 0 and res.stdout == ""
    assert "no stages assigned yet" in res.stderr
    assert cli("stages", "--json").json == {"stages": []}
    three.tick()
    cli("promote", "churn@v3", "production")
    res = cli("stages", "--md")
    lines = res.stdout.splitlines()
    assert lines[0] == "| Model | Stage | Version | Event | At | By | Tag |"
    assert lines[2].startswith("| churn | production | v3 | assigned |")


@pytest.mark.parametrize("stage", ["Production", "prod#1", "-x", "_x", "a b", "prod!", "", "x/y"])
def test_promote_refuses_bad_stage_names(three: History, cli: Cli, stage: str) -> None:
    assert_error(
        cli("promote", "--", "churn@v3", stage),
        3,
        f"invalid stage name {stage!r}",
        "stage names match [a-z0-9][a-z0-9_-]*",
    )
    assert "#" not in three.git("tag")


def test_promote_refuses_a_stage_name_too_long_for_a_tag(three: History, cli: Cli) -> None:
    # Was git-error "cannot lock ref ... File name too long".
    for stage in ("a" * 33, "a" * 300):
        assert_error(
            cli("promote", "churn@v3", stage),
            3,
            "stage name is longer than 32 characters",
            "at most 32 characters",
        )
    assert "#" not in three.git("tag")


def test_the_longest_stage_fits_the_longest_model_name(hist: History, cli: Cli) -> None:
    name = "m" * 200
    hist.add(b"one", name=name)
    stage = "s" * 32
    hist.tick()
    res = cli("promote", f"{name}@v1", stage, "--json")
    assert res.exit_code == 0, res.stderr
    hist.tick()
    res = cli("demote", name, stage, "--json")  # a tag name one longer: `!`
    assert res.exit_code == 0, res.stderr
    assert (res.json["tag"], res.json["version"]) == (f"{name}#{stage}!#2", 1)


def test_a_longer_stage_tagged_by_hand_is_read_and_cleared(three: History, cli: Cli) -> None:
    stage = "s" * 60  # GTO or a hand-made tag may hold a longer stage name
    three.git("tag", "-a", "-m", "by hand", f"churn#{stage}#7", three.sha("HEAD~1"))
    assert cli("which", f"churn#{stage}", "--json").json["version"] == 2
    three.tick()
    res = cli("demote", "churn", stage, "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["tag"] == f"churn#{stage}!#8"


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (["promote", "nosuch@v1", "production"], "no model named 'nosuch'", "models: churn"),
        (["promote", "churn@v9", "production"], "churn has no committed version 9", "v1, v2, v3"),
        (["promote", "churn#staging", "production"], "no version in stage 'staging'", None),
        (["promote", "churn@v1", "production", "-M", " "], "the tag message is empty", None),
        (["demote", "nosuch", "production"], "no model named 'nosuch'", "models: churn"),
        (["demote", "churn", "Production"], "invalid stage name 'Production'", "[a-z0-9]"),
        (["demote", "Churn", "production"], "invalid model name 'Churn'", "lower-case"),
        (["stages", "nosuch"], "no model named 'nosuch'", "models: churn"),
        (["stages", "Bad"], "invalid model name 'Bad'", "lower-case"),
    ],
)
def test_stage_commands_bad_input(
    three: History, cli: Cli, args: list[str], message: str, hint: str | None
) -> None:
    res = cli(*args)
    if hint is None:
        assert res.exit_code == 3 and "Traceback" not in res.stderr
        assert res.lines[0].startswith("mreg: error: ") and message in res.lines[0]
    else:
        assert_error(res, 3, message, hint)
    assert "#" not in three.git("tag")


def test_stages_of_a_model_deleted_from_the_work_tree(three: History, cli: Cli) -> None:
    three.tick()
    cli("promote", "churn@v2", "production")
    three.tick()
    three.git("rm", "-q", ".mreg/models/churn.yaml")
    three.git("commit", "-q", "-m", "drop churn")
    res = cli("stages", "churn", "--json")
    assert res.exit_code == 0 and res.json["stages"][0]["version"] == 2
    assert cli("which", "churn#production", "--json").json["version"] == 2


def test_demote_a_stage_whose_card_is_broken_at_that_commit(hist: History, cli: Cli) -> None:
    from tests.helpers import card_yaml

    hist.commit_card(card_yaml(version=1).replace("version: 1", "version: one"), message="bad")
    hist.tick()
    hist.git("tag", "-a", "-m", "by hand", "churn#production#1", "HEAD")
    hist.tick()
    res = cli("demote", "churn", "production", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["tag"] == "churn#production!#2"
    assert res.json["version"] is None  # was 0: absent values are null
    assert_error(cli("which", "churn#production"), 3, "churn has no version in stage 'production'")


def test_demote_a_stage_tagged_by_hand_on_a_commit_without_the_card(
    hist: History, cli: Cli
) -> None:
    hist.commit_card("", name="other", message="before churn")
    hist.add(b"one")
    hist.git("tag", "-a", "-m", "by hand", "churn#pre#30", "HEAD~1")
    assert cli("stages", "--json").json["stages"][0]["version"] is None
    hist.tick()
    res = cli("demote", "churn", "pre", "--json")
    assert res.exit_code == 0, res.stderr
    assert (res.json["tag"], res.json["version"]) == ("churn#pre!#31", None)
    assert res.json["commit"] == hist.sha("HEAD~1")
    hist.git("tag", "-a", "-m", "by hand", "churn#pre#40", "HEAD~1")
    res = cli("demote", "churn", "pre")
    assert res.exit_code == 0, res.stderr
    # Was "-> churn v0": no version is named when the commit has no card.
    assert res.lines[0] == f"removed pre: churn#pre!#41 -> churn ({hist.sha('HEAD~1')[:12]})"
