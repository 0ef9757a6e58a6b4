"""The card merge driver: real `git merge`s of two branches, and merge_cards itself."""

from __future__ import annotations

from pathlib import Path

from mreg import card as card_mod
from mreg.merge import merge_cards
from tests.helpers import card_yaml, git, sha, write
from tests.hooks.conftest import add_model, commit_all, inproc, ok, run


def card_text(root: Path) -> str:
    return (root / ".mreg" / "models" / "churn.yaml").read_text()


def load(root: Path) -> card_mod.Card:
    return card_mod.loads(card_text(root))


def branch(root: Path, name: str) -> None:
    git(root, "checkout", "-q", "-b", name)


def test_description_and_metrics_merge_cleanly(mrepo: Path) -> None:
    branch(mrepo, "metrics")
    ok(inproc(mrepo, "add", "churn", "out/churn.pkl", "-m", "auc=0.95", "-m", "f1=0.8"))
    ok(commit_all(mrepo, "re-evaluated"))
    git(mrepo, "checkout", "-q", "main")
    ok(inproc(mrepo, "add", "churn", "out/churn.pkl", "-d", "Churn, gradient boosted"))
    ok(commit_all(mrepo, "described"))
    res = run(mrepo, "git", "merge", "-q", "--no-edit", "metrics")
    assert res.exit_code == 0, res.stderr
    merged = load(mrepo)
    assert merged.description == "Churn, gradient boosted"
    assert merged.metrics == {"auc": 0.95, "f1": 0.8}
    assert merged.version == 1
    assert "<<<<<<<" not in card_text(mrepo)


def test_two_new_artifacts_leave_a_conflict_showing_both(mrepo: Path) -> None:
    branch(mrepo, "theirs")
    add_model(mrepo, "churn", "model-theirs", "auc=0.93")
    ok(commit_all(mrepo, "theirs v2"))
    git(mrepo, "checkout", "-q", "main")
    add_model(mrepo, "churn", "model-ours", "auc=0.91", "f1=0.7")
    ok(commit_all(mrepo, "ours v2"))
    res = run(mrepo, "git", "merge", "--no-edit", "theirs")
    assert res.exit_code == 1
    assert "CONFLICT" in res.stdout
    assert "conflict in artifact" in res.stderr and "keep one" in res.stderr
    text = card_text(mrepo)
    ours_oid = sha(b"model-ours").split(":")[1][:12]
    theirs_oid = sha(b"model-theirs").split(":")[1][:12]
    assert f"<<<<<<< ours: v2 {ours_oid} auc=0.91 f1=0.7\n" in text
    assert f">>>>>>> theirs: v2 {theirs_oid} auc=0.93\n" in text
    assert git(mrepo, "diff", "--name-only", "--diff-filter=U").split() == [
        ".mreg/models/churn.yaml"
    ]
    # Taking one side leaves a valid card.
    ours = text.split("<<<<<<< ", 1)[1].split("\n", 1)[1].split("=======\n")[0]
    assert card_mod.loads(ours).artifact.oid == sha(b"model-ours")


def test_new_version_on_one_side_wins_the_version_block(mrepo: Path) -> None:
    branch(mrepo, "v2")
    add_model(mrepo, "churn", "model-two", "auc=0.92")
    ok(commit_all(mrepo, "v2"))
    git(mrepo, "checkout", "-q", "main")
    ok(inproc(mrepo, "add", "churn", "out/churn.pkl", "-m", "auc=0.5", "-d", "described"))
    ok(commit_all(mrepo, "v1 re-evaluated, described"))
    res = run(mrepo, "git", "merge", "-q", "--no-edit", "v2")
    assert res.exit_code == 0, res.stderr
    merged = load(mrepo)
    assert (merged.version, merged.metrics, merged.description) == (2, {"auc": 0.92}, "described")
    assert "ours' edits to the metadata of v1 (metrics.auc)" in res.stderr


def _doc(**extra: object) -> bytes:
    text = card_yaml(oid=sha(b"x"))
    for key, value in extra.items():
        text += f"{key}: {value}\n"
    return text.encode()


def test_merge_cards_key_by_key() -> None:
    base = _doc(labels="{team: a, tier: 1}", metrics="{loss: {train: 1, test: 2}}")
    ours = _doc(labels="{team: b, tier: 1}", metrics="{loss: {train: 1, test: 2}}")
    theirs = _doc(labels="{team: a}", metrics="{loss: {train: 0.5, test: 2}}")
    res = merge_cards(base, ours, theirs, "c.yaml")
    assert res is not None and res.clean
    got = card_mod.loads(res.text)
    assert got.labels == {"team": "b"}  # tier removed on theirs, team changed on ours
    assert got.metrics == {"loss": {"train": 0.5, "test": 2}}
    # Both changed one label differently: a conflict with both sides in full.
    res = merge_cards(base, _doc(labels="{team: b}"), _doc(labels="{team: c}"), "c.yaml")
    assert res is not None and res.conflicts == ["labels.team"]
    # Added on both sides, no base (git passes an empty file).
    res = merge_cards(b"", _doc(), _doc(), "c.yaml")
    assert res is not None and res.clean


def test_merge_cards_falls_back_to_a_text_merge(tmp_path: Path) -> None:
    assert merge_cards(b"", b"name: [", _doc(), "c.yaml") is None
    base = write(tmp_path / "o", "a\nb\nc\nd\ne\n")
    ours = write(tmp_path / "a", "a\nB\nc\nd\ne\n")
    theirs = write(tmp_path / "b", "a\nb\nc\nd\nE\n")
    res = run(tmp_path, "mreg", "merge-driver", str(base), str(ours), str(theirs), "x.yaml")
    assert res.exit_code == 0, res.stderr
    assert ours.read_text() == "a\nB\nc\nd\nE\n"
    assert "text merge" in res.stderr
