"""References: NAME, NAME@vN, NAME@REV, NAME#STAGE, parsed (pure) and resolved against
a real history (mreg.resolve, show, checkout, which)."""

from __future__ import annotations

from pathlib import Path

import pytest

import mreg
from mreg.errors import GitError, InvalidName, ModelNotFound
from mreg.history import Resolved
from mreg.refs import Ref, parse_ref
from tests.helpers import Cli, assert_error, snapshot
from tests.history.conftest import History


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("churn", Ref("churn")),
        ("churn@v3", Ref("churn", version=3)),
        ("churn@v12", Ref("churn", version=12)),
        ("churn@main", Ref("churn", rev="main")),
        ("churn@HEAD~2", Ref("churn", rev="HEAD~2")),
        ("churn@1a2b3c", Ref("churn", rev="1a2b3c")),
        ("churn@v0", Ref("churn", rev="v0")),  # no version 0: a revision named v0
        ("churn@feature/x", Ref("churn", rev="feature/x")),
        ("churn#production", Ref("churn", stage="production")),
        ("vision/resnet50@v2", Ref("vision/resnet50", version=2)),
        ("vision/resnet50#staging", Ref("vision/resnet50", stage="staging")),
    ],
)
def test_parse_ref(text: str, ref: Ref) -> None:
    assert parse_ref(text) == ref
    assert str(parse_ref(text)) == text
    assert parse_ref(text).is_worktree == (text == "churn")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Churn", "invalid model name 'Churn'"),
        ("churn@", "nothing after '@'"),
        ("@v1", "model name is empty"),
        ("churn#", "invalid stage name ''"),
        ("churn#Production", "invalid stage name 'Production'"),
        ("churn#production#3", "invalid stage name 'production#3'"),
        ("churn#-x", "invalid stage name '-x'"),
        ("../churn@v1", "'..'"),
    ],
)
def test_parse_ref_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidName, match=message.replace("(", r"\(")) as info:
        parse_ref(text)
    assert info.value.exit_code == 3


# ------------------------------------------------------------------ resolving (API)


def test_resolve_each_kind_of_ref(three: History) -> None:
    root = three.root
    v1, v2, v2meta, v3 = three.git("rev-list", "--reverse", "HEAD").split()
    assert mreg.resolve("churn@v1", repo=root).commit == v1
    got = mreg.resolve("churn@v2", repo=root)
    assert isinstance(got, Resolved)
    # the commit where version 2 was first committed, not its metadata update
    assert (got.commit, got.card.version, got.card.metrics["auc"]) == (v2, 2, 0.9)
    assert mreg.resolve("churn@v3", repo=root).commit == v3
    assert mreg.resolve("churn@HEAD~1", repo=root).commit == v2meta
    assert mreg.resolve("churn@HEAD~1", repo=root).card.metrics["auc"] == 0.91
    assert mreg.resolve("churn@main", repo=root).commit == v3
    assert mreg.resolve(f"churn@{v1[:7]}", repo=root).card.version == 1
    work = mreg.resolve("churn", repo=root)
    assert (work.commit, work.card.version, work.stage) == (None, 3, None)


def test_version_found_through_history_without_tags(three: History) -> None:
    for tag in three.git("tag").split():
        three.git("tag", "-d", tag)
    v1, v2 = three.git("rev-list", "--reverse", "HEAD").split()[:2]
    assert mreg.resolve("churn@v1", repo=three.root).commit == v1
    assert mreg.resolve("churn@v2", repo=three.root).commit == v2


def test_a_version_tag_is_used_when_present(three: History) -> None:
    v2meta = three.sha("HEAD~1")
    three.git("tag", "-d", "churn@v2")
    three.git("tag", "-a", "-m", "by hand", "churn@v2", v2meta)
    got = mreg.resolve("churn@v2", repo=three.root)
    assert got.commit == v2meta and got.card.metrics["auc"] == 0.91


def test_a_version_tag_on_a_commit_of_another_version_is_not_trusted(three: History) -> None:
    three.git("tag", "-d", "churn@v2")
    three.git("tag", "churn@v2", three.sha("HEAD"))  # points at v3: wrong
    assert mreg.resolve("churn@v2", repo=three.root).commit == three.sha("HEAD~2")


def test_resolve_a_stage(three: History, cli: Cli) -> None:
    three.tick()
    assert cli("promote", "churn@v2", "production").exit_code == 0
    got = mreg.resolve("churn#production", repo=three.root)
    assert (got.commit, got.card.version, got.stage) == (three.sha("HEAD~2"), 2, "production")


@pytest.mark.parametrize(
    ("ref", "error", "message", "hint"),
    [
        ("nosuch", ModelNotFound, "no model named 'nosuch'", "models: churn"),
        ("nosuch@v1", ModelNotFound, "no model named 'nosuch'", "models: churn"),
        ("nosuch@HEAD", ModelNotFound, "no model named 'nosuch' at HEAD", "models at HEAD: churn"),
        ("nosuch#production", ModelNotFound, "no model named 'nosuch'", "models: churn"),
        ("churn@v9", ModelNotFound, "churn has no committed version 9", "v1, v2, v3"),
        ("churn@nosuch", GitError, "unknown revision 'nosuch'", "git log"),
        ("churn@HEAD~9", GitError, "unknown revision 'HEAD~9'", "git log"),
        ("churn#production", ModelNotFound, "churn has no version in stage 'production'", None),
    ],
)
def test_resolve_errors_name_what_exists(
    three: History, ref: str, error: type[Exception], message: str, hint: str | None
) -> None:
    with pytest.raises(error) as info:
        mreg.resolve(ref, repo=three.root)
    exc = info.value
    assert isinstance(exc, mreg.MregError)
    assert exc.exit_code == 3
    assert message in exc.message
    if hint is not None:
        assert exc.hint is not None and hint in exc.hint


def test_unknown_stage_names_the_stages_there_are(three: History, cli: Cli) -> None:
    three.tick()
    cli("promote", "churn@v1", "staging")
    with pytest.raises(ModelNotFound) as info:
        mreg.resolve("churn#production", repo=three.root)
    assert info.value.hint == "stages of churn: staging"


def test_a_model_with_no_stage_tags_hints_at_fetching_tags(three: History) -> None:
    with pytest.raises(ModelNotFound) as info:
        mreg.resolve("churn#production", repo=three.root)
    assert info.value.hint is not None
    assert "mreg promote churn@vN production" in info.value.hint
    assert "git fetch --unshallow --tags" in info.value.hint


# ------------------------------------------------------------------ refs in the CLI


def test_show_takes_every_kind_of_ref(three: History, cli: Cli) -> None:
    for ref, version, auc in [
        ("churn", 3, 0.95),
        ("churn@v1", 1, 0.8),
        ("churn@v2", 2, 0.9),
        ("churn@HEAD~1", 2, 0.91),
        ("churn@main", 3, 0.95),
    ]:
        res = cli("show", ref, "--json")
        assert res.exit_code == 0, res.stderr
        assert (res.json["version"], res.json["metrics"]["auc"]) == (version, auc), ref
    res = cli("show", "churn@v1")
    assert res.exit_code == 0 and "version: 1" in res.stdout and res.stderr == ""


def test_show_unknown_version_exits_3_naming_the_versions(three: History, cli: Cli) -> None:
    assert_error(
        cli("show", "churn@v7"),
        3,
        "churn has no committed version 7",
        "versions of churn: v1, v2, v3",
    )


def test_checkout_an_old_version_puts_its_bytes_in_the_work_tree(three: History, cli: Cli) -> None:
    model = three.root / "out" / "model.pkl"
    assert model.read_bytes() == b"three"
    res = cli("checkout", "churn@v1")
    assert res.exit_code == 0, res.stderr
    assert model.read_bytes() == b"one"
    # the card in the work tree is untouched: status shows the artifact as modified
    assert "version: 3" in three.card_text()
    assert cli("checkout", "churn@v2").exit_code == 0
    assert model.read_bytes() == b"two"
    assert cli("checkout", "churn").exit_code == 0
    assert model.read_bytes() == b"three"


def test_checkout_a_stage(three: History, cli: Cli) -> None:
    three.tick()
    cli("promote", "churn@v1", "production")
    assert cli("checkout", "churn#production").exit_code == 0
    assert (three.root / "out" / "model.pkl").read_bytes() == b"one"


def test_resolving_never_touches_the_work_tree(three: History, cli: Cli) -> None:
    before = snapshot(three.root)
    status = three.git("status", "--porcelain")
    for ref in ("churn@v1", "churn@HEAD~2", "churn@v2"):
        assert cli("which", ref).exit_code == 0
        assert cli("show", ref).exit_code == 0
    assert snapshot(three.root) == before
    assert three.git("status", "--porcelain") == status


def test_refs_of_a_nested_model_name(hist: History, cli: Cli) -> None:
    hist.add(b"a", "vision/resnet50", path="models/resnet")
    hist.add(b"b", "vision/resnet50", path="models/resnet")
    assert hist.git("tag").split() == ["vision/resnet50@v1", "vision/resnet50@v2"]
    assert mreg.resolve("vision/resnet50@v1", repo=hist.root).commit == hist.sha("HEAD~1")
    hist.tick()
    assert cli("promote", "vision/resnet50@v1", "production").exit_code == 0
    res = cli("which", "vision/resnet50#production", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["version"] == 1


def test_resolve_from_a_subfolder(three: History, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = three.root / "out"
    monkeypatch.chdir(sub)
    assert mreg.resolve("churn@v1").card.version == 1
    assert mreg.resolve("churn@v1", repo=Path("..")).card.version == 1
