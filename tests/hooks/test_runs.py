"""The hooks at work: git commit, checkout, merge, rebase, cherry-pick and push run them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mreg.hooks import ZERO_SHA, parse_push_lines
from tests.helpers import blob_path, git, sha, write
from tests.hooks.conftest import add_model, base_env, commit_all, hooks_dir, inproc, mreg, ok, run


def card(root: Path, name: str = "churn") -> Path:
    return root / ".mreg" / "models" / f"{name}.yaml"


def model_bytes(root: Path, name: str = "churn") -> str:
    return (root / "out" / f"{name}.pkl").read_text()


def drop_blob(root: Path, data: str) -> None:
    blob_path(root, sha(data.encode())).unlink()


# ---------------------------------------------------------------------------- pre-commit


def test_pre_commit_passes_a_good_card_and_blocks_a_broken_one(mrepo: Path) -> None:
    add_model(mrepo, "churn", "model-two", "auc=0.91")
    ok(commit_all(mrepo, "churn v2"))
    write(card(mrepo), card(mrepo).read_text().replace("kind: file", "kind: blob"))
    res = commit_all(mrepo, "broken")
    assert res.exit_code == 1
    assert "mreg: pre-commit: churn: .mreg/models/churn.yaml (staged): artifact.kind" in res.stderr
    assert "fix: fix the card, then: git add .mreg/models/churn.yaml" in res.stderr
    assert "Traceback" not in res.stderr
    assert git(mrepo, "log", "-1", "--format=%s").strip() == "churn v2"


def test_pre_commit_reads_the_staged_card_not_the_work_tree(mrepo: Path) -> None:
    good = card(mrepo).read_text()
    write(card(mrepo), good.replace("version: 1", "version: zero"))
    ok(run(mrepo, "git", "add", "-A"))
    write(card(mrepo), good)  # fixed on disk, not staged
    res = run(mrepo, "git", "commit", "-q", "-m", "staged is broken")
    assert res.exit_code == 1 and "(staged): version" in res.stderr
    # The other way round: a good staged card, a broken unstaged edit.
    add_model(mrepo, "churn", "model-two", "auc=0.91")
    ok(run(mrepo, "git", "add", "-A"))
    write(card(mrepo), "garbage: [")
    ok(run(mrepo, "git", "commit", "-q", "-m", "staged is fine"))


def test_pre_commit_honours_the_temporary_index_of_commit_a(mrepo: Path) -> None:
    write(card(mrepo), "name: [")
    res = run(mrepo, "git", "commit", "-q", "-a", "-m", "all")
    assert res.exit_code == 1 and "invalid YAML" in res.stderr


def test_pre_commit_blocks_a_card_whose_blob_is_not_in_the_cache(mrepo: Path) -> None:
    add_model(mrepo, "churn", "model-two", "auc=0.91")
    drop_blob(mrepo, "model-two")
    res = commit_all(mrepo, "v2 without its blob")
    assert res.exit_code == 1
    assert "churn v2: its artifact" in res.stderr and "is not in the cache" in res.stderr
    assert "nor on remote" not in res.stderr  # there is no remote to name
    assert "mreg add churn out/churn.pkl" in res.stderr and "mreg pull churn" in res.stderr


def test_pre_commit_blocks_an_artifact_changed_after_add(mrepo: Path) -> None:
    add_model(mrepo, "churn", "model-two", "auc=0.91")
    write(mrepo / "out" / "churn.pkl", "edited after add")
    res = commit_all(mrepo, "stale")
    assert res.exit_code == 1
    assert "out/churn.pkl in the work tree no longer matches the staged card" in res.stderr
    assert "mreg add churn out/churn.pkl" in res.stderr
    # An artifact that is simply absent is fine (a fresh clone has none).
    (mrepo / "out" / "churn.pkl").unlink()
    ok(run(mrepo, "git", "commit", "-q", "-m", "no work-tree copy"))


def test_skip_hooks_lets_anything_through(mrepo: Path) -> None:
    write(card(mrepo), "name: [")
    ok(run(mrepo, "git", "add", "-A"))
    ok(run(mrepo, "git", "commit", "-q", "-m", "skip", env=base_env(MREG_SKIP_HOOKS="1")))
    res = ok(mreg(mrepo, "hook", "pre-push", "origin", input="x", MREG_SKIP_HOOKS="1"))
    assert res.stderr == ""


def test_fast_path_without_cards_staged(mrepo: Path) -> None:
    write(mrepo / "README.md", "hello\n")
    ok(run(mrepo, "git", "add", "README.md"))
    res = ok(mreg(mrepo, "hook", "pre-commit"))
    assert res.stdout == res.stderr == ""


def test_fast_path_imports_nothing_heavy(mrepo: Path) -> None:
    write(mrepo / "README.md", "hello\n")
    ok(run(mrepo, "git", "add", "README.md"))
    script = Path(sys.executable).parent / "mreg"
    res = run(mrepo, sys.executable, "-X", "importtime", str(script), "hook", "pre-commit")
    assert res.exit_code == 0, res.stderr
    imported = {line.split("|")[-1].strip() for line in res.stderr.splitlines() if "|" in line}
    assert "mreg.hookfast" in imported  # the measurement is real
    for heavy in ("git", "rich", "yaml", "typer", "fsspec", "mreg.cli.app", "mreg.hooks"):
        assert heavy not in imported, f"the fast path imported {heavy}"


def test_shims_when_mreg_is_not_on_path(mrepo: Path) -> None:
    folder = hooks_dir(mrepo)
    bare_env = base_env(PATH="/usr/bin:/bin")
    # No card staged: nothing could go wrong, so nothing is said.
    res = run(mrepo, "sh", str(folder / "pre-commit"), env=bare_env)
    assert res.exit_code == 0 and res.stderr == ""
    add_model(mrepo, "churn", "model-two")
    ok(run(mrepo, "git", "add", "-A"))
    res = run(mrepo, "sh", str(folder / "pre-commit"), env=bare_env)
    assert res.exit_code == 1
    assert "'mreg' is not on PATH" in res.stderr
    assert "the commit is stopped" in res.stderr and "MREG_SKIP_HOOKS=1" in res.stderr
    res = run(mrepo, "sh", str(folder / "pre-push"), "origin", "url", input="", env=bare_env)
    assert res.exit_code == 1 and "the push is stopped" in res.stderr
    res = run(mrepo, "sh", str(folder / "post-checkout"), "a", "b", "1", env=bare_env)
    assert res.exit_code == 0
    assert "'mreg' is not on PATH" in res.stderr and "mreg checkout" in res.stderr
    res = run(mrepo, "sh", str(folder / "post-merge"), "0", env=bare_env)
    assert res.exit_code == 0 and "not updated" in res.stderr


# ---------------------------------------------------------------- post-checkout, post-merge


@pytest.fixture
def two_versions(mrepo: Path) -> Path:
    """main has churn v1 ("model-one"); branch v2 has churn v2 ("model-two")."""
    git(mrepo, "checkout", "-q", "-b", "v2")
    add_model(mrepo, "churn", "model-two", "auc=0.92")
    ok(commit_all(mrepo, "churn v2"))
    return mrepo


def test_branch_checkout_brings_the_artifact_in_line(two_versions: Path) -> None:
    repo = two_versions
    res = ok(run(repo, "git", "checkout", "-q", "main"))
    assert model_bytes(repo) == "model-one"
    assert "churn v1 -> out/churn.pkl" in res.stderr
    ok(run(repo, "git", "checkout", "-q", "v2"))
    assert model_bytes(repo) == "model-two"
    # Detached HEAD is a branch checkout too (third argument 1).
    first = git(repo, "rev-parse", "main").strip()
    ok(run(repo, "git", "checkout", "-q", "--detach", first))
    assert model_bytes(repo) == "model-one"
    # A file checkout (third argument 0) is left to git.
    write(repo / "out" / "churn.pkl", "model-two")
    res = ok(run(repo, "git", "checkout", "--", ".gitignore"))
    assert model_bytes(repo) == "model-two" and res.stderr == ""


def test_missing_blob_is_a_warning_not_a_failed_checkout(two_versions: Path) -> None:
    repo = two_versions
    drop_blob(repo, "model-one")
    res = run(repo, "git", "checkout", "-q", "main")
    assert res.exit_code == 0, res.stderr
    assert git(repo, "branch", "--show-current").strip() == "main"
    assert "not in the cache, so not checked out: churn" in res.stderr
    assert "hint: mreg pull churn" in res.stderr
    assert model_bytes(repo) == "model-two"  # untouched


def test_locally_modified_artifact_is_left_alone(two_versions: Path) -> None:
    repo = two_versions
    write(repo / "out" / "churn.pkl", "my experiment")
    res = run(repo, "git", "checkout", "-q", "main")
    assert res.exit_code == 0
    assert "churn: out/churn.pkl has local changes; left alone" in res.stderr
    assert "mreg checkout churn --force" in res.stderr
    assert model_bytes(repo) == "my experiment"


def test_post_merge_updates_the_artifact(two_versions: Path) -> None:
    repo = two_versions
    ok(run(repo, "git", "checkout", "-q", "main"))
    assert model_bytes(repo) == "model-one"
    res = ok(run(repo, "git", "merge", "-q", "--no-edit", "v2"))
    assert model_bytes(repo) == "model-two"
    assert "churn v2 -> out/churn.pkl" in res.stderr


def test_nothing_happens_during_a_rebase(two_versions: Path) -> None:
    repo = two_versions
    write(repo / "notes.txt", "v2 side\n")
    ok(commit_all(repo, "notes on v2"))
    ok(run(repo, "git", "checkout", "-q", "main"))
    write(repo / "notes.txt", "main side\n")
    ok(commit_all(repo, "notes on main"))
    ok(run(repo, "git", "checkout", "-q", "v2"))
    assert model_bytes(repo) == "model-two"
    res = run(repo, "git", "rebase", "main")
    assert res.exit_code != 0  # stopped on the notes.txt conflict
    assert (repo / ".git" / "rebase-merge").is_dir()
    # git checked out main (card v1) to start the rebase: the hook stayed quiet.
    assert "churn v1 ->" not in res.stderr
    assert model_bytes(repo) == "model-two"
    res = ok(mreg(repo, "hook", "post-checkout", ZERO_SHA, ZERO_SHA, "1"))
    assert res.stderr == "" and model_bytes(repo) == "model-two"
    ok(mreg(repo, "hook", "post-merge", "0"))
    assert model_bytes(repo) == "model-two"
    ok(run(repo, "git", "rebase", "--abort"))


def test_cherry_pick_in_progress_still_checks_the_staged_card(two_versions: Path) -> None:
    repo = two_versions
    ok(run(repo, "git", "checkout", "-q", "main"))
    add_model(repo, "churn", "model-three", "auc=0.95")
    ok(commit_all(repo, "churn v2 on main, other bytes"))
    res = run(repo, "git", "cherry-pick", "v2")
    assert res.exit_code != 0  # both registered new bytes: the merge driver leaves a conflict
    assert (repo / ".git" / "CHERRY_PICK_HEAD").is_file()
    text = card(repo).read_text()
    assert "<<<<<<< ours: v2" in text and ">>>>>>> theirs: v2" in text
    ok(run(repo, "git", "add", "-A"))
    res = run(repo, "git", "commit", "-q", "--no-edit")
    assert res.exit_code == 1
    assert "mreg: pre-commit: churn" in res.stderr and "holds git conflict markers" in res.stderr
    ok(run(repo, "git", "cherry-pick", "--abort"))


# ------------------------------------------------------------------------------- pre-push


@pytest.fixture
def pushable(mrepo: Path, tmp_path: Path) -> Path:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(mrepo, "remote", "add", "origin", str(origin))
    return mrepo


def store_blobs(store: Path) -> set[str]:
    return {p.name for p in store.rglob("*") if p.is_file()}


def test_pre_push_uploads_the_blobs_of_pushed_cards(pushable: Path, tmp_path: Path) -> None:
    repo = pushable
    store = tmp_path / "store"
    ok(mreg(repo, "remote", "add", "store", str(store), "-d"))
    ok(commit_all(repo, "remote"))
    git(repo, "checkout", "-q", "-b", "feat")
    add_model(repo, "churn", "model-two", "auc=0.92")
    ok(commit_all(repo, "churn v2"))
    add_model(repo, "churn", "model-three", "auc=0.93")
    ok(commit_all(repo, "churn v3"))
    res = ok(run(repo, "git", "push", "-q", "origin", "main", "feat"))
    names = store_blobs(store)
    for data in ("model-one", "model-two", "model-three"):
        assert sha(data.encode())[len("sha256:") + 2 :] in names, (data, res.stderr)
    assert "pushed" in res.stderr
    # Pushing again (nothing new): quiet.
    res = ok(run(repo, "git", "push", "-q", "origin", "feat"))
    assert "pushed" not in res.stderr


def test_pre_push_without_a_remote_is_a_note(pushable: Path) -> None:
    res = ok(run(pushable, "git", "push", "-q", "origin", "main"))
    assert "no mreg remote is configured" in res.stderr and "the git push goes on" in res.stderr
    assert git(pushable, "ls-remote", "origin", "main").strip()


def test_pre_push_stops_the_push_when_an_upload_fails(pushable: Path, tmp_path: Path) -> None:
    repo = pushable
    write(tmp_path / "a-file", "not a folder")
    ok(mreg(repo, "remote", "add", "store", str(tmp_path / "a-file" / "store"), "-d"))
    ok(commit_all(repo, "remote"))
    res = run(repo, "git", "push", "-q", "origin", "main")
    assert res.exit_code != 0
    assert "mreg: error: pre-push: the git push is stopped" in res.stderr
    assert git(repo, "ls-remote", "origin", "main").strip() == ""


def test_pre_push_stdin_protocol(pushable: Path, tmp_path: Path) -> None:
    repo = pushable
    store = tmp_path / "store"
    ok(mreg(repo, "remote", "add", "store", str(store), "-d"))
    ok(commit_all(repo, "remote"))
    main_sha = git(repo, "rev-parse", "main").strip()
    # A deletion (local sha all zeros) pushes nothing.
    res = ok(
        mreg(
            repo,
            "hook",
            "pre-push",
            "origin",
            "x",
            input=f"(delete) {ZERO_SHA} refs/heads/gone {main_sha}\n",
        )
    )
    assert store_blobs(store) == set()
    # Several refs, one of them new (remote sha all zeros), one unknown remote sha.
    git(repo, "checkout", "-q", "-b", "feat")
    add_model(repo, "churn", "model-two")
    ok(commit_all(repo, "v2"))
    feat_sha = git(repo, "rev-parse", "feat").strip()
    lines = (
        f"refs/heads/main {main_sha} refs/heads/main {ZERO_SHA}\n"
        f"refs/heads/feat {feat_sha} refs/heads/feat {'1' * 40}\n"
        f"(delete) {ZERO_SHA} refs/heads/old {main_sha}\n"
    )
    res = ok(mreg(repo, "hook", "pre-push", "origin", "x", input=lines))
    assert len(store_blobs(store)) == 2, res.stderr
    parsed = parse_push_lines(lines + "\nmalformed line\n")
    assert [p.deletion for p in parsed] == [False, False, True]
    assert [p.new_ref for p in parsed] == [True, False, False]


def test_pre_push_from_the_pre_commit_framework_reads_its_variables(
    pushable: Path, tmp_path: Path
) -> None:
    """pre-commit gives pre-push hooks no stdin, but PRE_COMMIT_FROM_REF/TO_REF."""
    repo = pushable
    store = tmp_path / "store"
    ok(mreg(repo, "remote", "add", "store", str(store), "-d"))
    ok(commit_all(repo, "remote"))
    head = git(repo, "rev-parse", "HEAD").strip()
    res = ok(
        mreg(
            repo,
            "hook",
            "pre-push",
            "origin",
            "url",
            input="",
            PRE_COMMIT_FROM_REF=ZERO_SHA,
            PRE_COMMIT_TO_REF=head,
        )
    )
    assert len(store_blobs(store)) == 1, res.stderr


@pytest.fixture
def moved(mrepo: Path) -> Path:
    """main has churn at out/churn.pkl; branch `moved` has it at out/moved.pkl."""
    git(mrepo, "checkout", "-q", "-b", "moved")
    git(mrepo, "rm", "-q", "--cached", ".mreg/models/churn.yaml")
    (mrepo / ".mreg" / "models" / "churn.yaml").unlink()
    add_model(mrepo, "churn", "model-moved", path="out/moved.pkl")
    ok(commit_all(mrepo, "churn moved"))
    return mrepo


def _untracked(repo: Path) -> list[str]:
    return git(repo, "ls-files", "--others", "--exclude-standard").split()


def test_an_artifact_the_branch_does_not_name_is_warned_of_on_checkout(moved: Path) -> None:
    """Back on main, out/moved.pkl is no model and main's .gitignore does not cover it:
    `git add -A` would commit its bytes. The hook says so and removes nothing (the commit
    switched from may be one only the reflog knows, whose blobs gc would drop)."""
    repo = moved
    res = ok(run(repo, "git", "checkout", "-q", "main"))
    assert (
        "mreg: warning: out/moved.pkl: churn's artifact at the commit before is no model here,"
        " and .gitignore here does not cover it: git add -A would commit it (move it away or"
        " delete it; churn v2's bytes are in the cache)"
    ) in res.stderr, res.stderr
    assert (repo / "out" / "moved.pkl").read_text() == "model-moved"
    assert model_bytes(repo) == "model-one"
    assert _untracked(repo) == ["out/moved.pkl"]
    res = ok(run(repo, "git", "checkout", "-q", "moved"))  # its .gitignore covers both
    assert "warning" not in res.stderr, res.stderr


def test_no_warning_for_what_git_would_not_take(moved: Path, tmp_path: Path) -> None:
    """Tracked on the branch switched to, ignored there, or beyond a symlink: git add -A
    would not add it, so there is nothing to say (and nothing is ever removed)."""
    repo = moved
    ok(run(repo, "git", "checkout", "-q", "main"))
    for how in ("tracked", "ignored", "symlink"):
        git(repo, "checkout", "-q", "-b", how, "main")
        if how == "tracked":
            git(repo, "add", "-f", "out/moved.pkl")
        elif how == "ignored":
            write(repo / ".gitignore", (repo / ".gitignore").read_text() + "/out/moved.pkl\n")
            git(repo, "add", ".gitignore")
        else:
            outside = tmp_path / "outside"
            outside.mkdir()
            for name in ("moved.pkl", "churn.pkl"):
                (repo / "out" / name).rename(outside / name)
            (repo / "out").rmdir()
            (repo / "out").symlink_to(outside)
            git(repo, "add", "out")
        ok(commit_all(repo, how))
        ok(run(repo, "git", "checkout", "-q", "moved"))
        res = ok(run(repo, "git", "checkout", "-q", how))
        assert "is no model here" not in res.stderr, (how, res.stderr)
        if how == "symlink":
            assert (tmp_path / "outside" / "moved.pkl").exists()
        ok(run(repo, "git", "checkout", "-q", "-f", "main"))


@pytest.mark.parametrize("case", ["tracked file beside it", "glob-like name", "ignored contents"])
def test_the_warning_asks_git_what_it_would_add(mrepo: Path, case: str) -> None:
    """Whether `git add -A` would add something at the old path, asked of git itself
    (ls-files --others --exclude-standard): a folder with one tracked file beside the
    model's, or a name that reads as a glob, still warns; contents the new branch
    ignores do not."""
    repo = mrepo
    path = {"tracked file beside it": "dd", "glob-like name": "m[12].bin"}.get(case, "ee")
    git(repo, "checkout", "-q", "-b", "other")
    if case == "tracked file beside it":
        write(repo / "dd" / "README", "r")
    elif case == "glob-like name":
        write(repo / "m1.bin", "tracked")
    else:
        write(repo / ".gitignore", (repo / ".gitignore").read_text() + "*.bin\n")
    ok(commit_all(repo, "other"))
    git(repo, "checkout", "-q", "main")
    model = repo / path / "w.bin" if path != "m[12].bin" else repo / path
    write(model, "bytes")
    ok(inproc(repo, "add", "m", path))
    ok(commit_all(repo, "m"))
    res = ok(run(repo, "git", "checkout", "-q", "other"))
    would_add = git(repo, "add", "-A", "-n").strip()
    warned = "is no model here" in res.stderr
    assert warned == bool(would_add) == (case != "ignored contents"), (res.stderr, would_add)
