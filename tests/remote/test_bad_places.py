"""Places mreg must not write to, end to end through the installed `mreg` console script:
`get -o` at the repository, its .git or .mreg, the current or home folder (even with
--force), --force on a folder for a single file; remote URLs that name no folder, a ~user
that does not exist, a folder in git's view; a folder remote that is not there (verify,
status --remote); a malformed -o KEY=VALUE; a push whose damage is in the local cache; a
read-only folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tests.helpers import assert_error, blob_path, git, run_mreg, snapshot
from tests.remote.servers import make_models

pytestmark = pytest.mark.e2e

NO_USER = "~mreg-no-such-user-4711"


@pytest.fixture
def models(repo: Path) -> Path:
    """repo with a committed file model (churn) and folder model (enc), no remote."""
    make_models(repo)
    assert run_mreg(repo, "add", "churn", "out/model.pkl").exit_code == 0
    assert run_mreg(repo, "add", "enc", "enc").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "models")
    return repo


def everything(root: Path) -> dict[str, tuple[str, int]]:
    """snapshot() of root, .git included (the repository must survive whole)."""
    return {**snapshot(root), **{f".git/{k}": v for k, v in snapshot(root / ".git").items()}}


# ----------------------------------------------------------------------------- get -o


@pytest.mark.parametrize(
    "output",
    ["", "  ", ".", "..", "sub/..", ".git", ".git/objects", ".mreg", ".mreg/cache", "HOME"],
)
def test_get_never_writes_over_the_repository(models: Path, output: str) -> None:
    (models / "sub").mkdir()
    before = everything(models)
    if output == "HOME":
        output = os.environ["HOME"]
    for model in ("churn", "enc"):
        res = run_mreg(models, "get", model, "-o", output, "--force")
        assert_error(res, 3, "-o", "-o")
    assert everything(models) == before
    assert run_mreg(models, "status").exit_code == 0


def test_get_never_writes_into_mreg_or_git(models: Path) -> None:
    res = run_mreg(models, "get", "churn", "-o", ".mreg/models/new.yaml")
    assert_error(res, 3, f"would write into or over {models / '.mreg'}", "-o model.pkl")
    assert not (models / ".mreg" / "models" / "new.yaml").exists()
    # -C: the repository is not the current folder of the shell, it still is kept.
    res = run_mreg(models.parent, "-C", str(models), "get", "enc", "-o", str(models), "-f")
    assert_error(res, 3, f"would replace the repository {models}")
    assert (models / ".git").is_dir()


def test_get_repo_never_writes_over_the_repository_it_reads(models: Path, tmp_path: Path) -> None:
    """--repo on this machine: the repository read from is kept like the current one,
    also when mreg runs outside any work tree."""
    outside = tmp_path / "outside"
    outside.mkdir()
    before = everything(models)
    for url in (str(models), f"file://{models}"):
        for output in (str(models), str(models / ".mreg"), str(models / ".git" / "x")):
            res = run_mreg(outside, "get", "churn", "--repo", url, "-o", output, "--force")
            assert_error(res, 3, f"-o {output} would", "-o")
    assert everything(models) == before


def test_get_force_replaces_a_file_or_a_folder_with_a_folder(models: Path, tmp_path: Path) -> None:
    target = tmp_path / "deploy"
    (target / "keep").mkdir(parents=True)
    (target / "keep" / "notes.txt").write_text("mine")
    # A single file never replaces a folder, with or without --force.
    assert_error(run_mreg(models, "get", "churn", "-o", str(target)), 3, "already exists")
    res = run_mreg(models, "get", "churn", "-o", str(target), "--force")
    assert_error(res, 3, "is a folder and churn v1 is a single file", f"-o {target}/model.pkl")
    assert (target / "keep" / "notes.txt").read_text() == "mine"
    # A folder replaces a folder (redeploying a folder model), whole.
    assert run_mreg(models, "get", "enc", "-o", str(target), "--force").exit_code == 0
    assert snapshot(target) == snapshot(models / "enc")
    # A file replaces a file, and a folder a file.
    model = tmp_path / "model.pkl"
    model.write_bytes(b"old")
    assert run_mreg(models, "get", "churn", "-o", str(model), "-f").exit_code == 0
    assert model.read_bytes() == (models / "out" / "model.pkl").read_bytes()
    assert run_mreg(models, "get", "enc", "-o", str(model), "-f").exit_code == 0
    assert snapshot(model) == snapshot(models / "enc")
    assert not list(tmp_path.glob(".*.mreg-*.tmp"))


# ---------------------------------------------------------------------------- remotes


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "remote URL '' names no folder"),
        ("   ", "remote URL '   ' names no folder"),
        ("file://", "remote URL 'file://' names no folder"),
        (f"{NO_USER}/store", f"cannot expand '{NO_USER}'"),
        (f"file://{NO_USER}/store", f"cannot expand '{NO_USER}'"),
        (".", "is the repository's top folder"),
        (".mreg/store", "is inside .mreg/"),
        ("store", "is inside the work tree and git does not ignore it"),
        ("/", "remote folder / is the file system's root"),
        ("//", "remote folder / is the file system's root"),
        ("/..", "remote folder / is the file system's root"),
        ("file:///", "remote folder / is the file system's root"),
        ("file:////", "remote folder / is the file system's root"),
        ("file:///tmp/..", "remote folder / is the file system's root"),
    ],
)
def test_remote_add_refuses_a_url_that_names_no_usable_folder(
    models: Path, url: str, message: str
) -> None:
    config = (models / ".mreg" / "config.yaml").read_bytes()
    assert_error(run_mreg(models, "remote", "add", "r", url), 3, message, "folder")
    assert (models / ".mreg" / "config.yaml").read_bytes() == config
    # Written by hand, it is refused where it is used: nothing lands in the repository.
    with (models / ".mreg" / "config.yaml").open("a") as f:
        f.write(f"remotes:\n  r:\n    url: '{url}'\n")
    res = run_mreg(models, "push", "-r", "r")
    assert res.exit_code == 3, (res.exit_code, res.stderr)
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert git(models, "status", "--porcelain", "--untracked-files=all") == " M .mreg/config.yaml\n"


def test_a_symlink_to_the_root_is_the_root(models: Path, tmp_path: Path) -> None:
    link = tmp_path / "root-link"
    link.symlink_to("/")
    config = (models / ".mreg" / "config.yaml").read_bytes()
    res = run_mreg(models, "remote", "add", "r", f"file://{link}")
    assert_error(res, 3, f"remote folder {link} is the file system's root (/)", "folder")
    assert (models / ".mreg" / "config.yaml").read_bytes() == config


def test_a_folder_remote_git_ignores_is_fine(models: Path) -> None:
    (models / ".gitignore").write_text("/store/\n")
    assert run_mreg(models, "remote", "add", "r", "store").exit_code == 0
    assert run_mreg(models, "push", "-r", "r").exit_code == 0
    assert (models / "store" / "sha256").is_dir()


def test_the_hint_for_a_folder_remote_in_the_tree_ignores_exactly_it(models: Path) -> None:
    """The suggested .gitignore line is escaped: `[v2]` is no glob in it."""
    import shlex

    res = run_mreg(models, "remote", "add", "r", "store [v2]")
    assert res.exit_code == 3 and "git does not ignore it" in res.stderr
    command = res.stderr.split("git-ignore it first: ", 1)[1].strip()
    echo, quoted, redirect, target = shlex.split(command, posix=False)[:4]
    assert (echo, redirect, target) == ("echo", ">>", ".gitignore")
    line = shlex.split(quoted)[0]
    assert line == "/store \\[v2]/"
    with open(models / ".gitignore", "a") as f:
        f.write(line + "\n")
    (models / "store v").mkdir()
    (models / "store v" / "other.txt").write_text("not ignored")
    assert run_mreg(models, "remote", "add", "r", "store [v2]").exit_code == 0
    assert run_mreg(models, "push", "-r", "r").exit_code == 0
    status = git(models, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert [row for row in status if "store" in row] == ['?? "store v/other.txt"']


def test_a_malformed_option_is_a_usage_error(models: Path, tmp_path: Path) -> None:
    for option in ("novalue", "a..b=1", "=1"):
        res = run_mreg(models, "remote", "add", "o", str(tmp_path / "s"), "-o", option)
        assert res.exit_code == 2, res.stderr
        assert f"Error: Invalid value for --option: {option!r} is not KEY=VALUE" in res.stderr
        assert "Usage: mreg remote add" in res.stderr


def test_verify_of_a_folder_remote_that_is_not_there(models: Path, tmp_path: Path) -> None:
    nowhere = tmp_path / "no-such-folder" / "store"
    assert run_mreg(models, "remote", "add", "gone", str(nowhere)).exit_code == 0
    res = run_mreg(models, "verify", "-r", "gone")
    assert_error(res, 5, f"folder {nowhere} does not exist", "fix the URL")
    assert res.stdout == ""
    assert not nowhere.exists()


def test_status_remote_of_a_folder_remote_that_is_not_there(models: Path, tmp_path: Path) -> None:
    """status --remote says what verify -r says (exit 5), not "missing" for every model:
    a folder that is not there means a wrong URL, or a remote never pushed to."""
    nowhere = tmp_path / "no-such-folder" / "store"
    assert run_mreg(models, "remote", "add", "gone", str(nowhere), "-d").exit_code == 0
    before = everything(models)
    message = f"remote gone ({nowhere}): folder {nowhere} does not exist"
    status = ["status", "--remote"]
    for args in (status, [*status, "--json"], ["verify", "-r", "gone"]):
        res = run_mreg(models, *args)
        if "--json" in args:
            assert res.exit_code == 5 and res.stdout == "", (res.exit_code, res.stderr)
            error = res.error_json["error"]
            assert (error["code"], error["message"], error["exit_code"]) == (
                "remote-not-found",
                message,
                5,
            )
            assert "push to it first" in error["hint"]
        else:
            assert_error(res, 5, message, "push to it first")
            assert res.stdout == ""
    assert everything(models) == before
    assert not nowhere.exists()
    # With no models at all, the remote is still checked (it was not: exit 0).
    for card in (models / ".mreg" / "models").glob("*.yaml"):
        card.unlink()
    assert_error(run_mreg(models, *status), 5, message, "push to it first")
    git(models, "checkout", "--", ".mreg/models")
    # Once the folder is there (empty), the models are simply not on it yet.
    nowhere.mkdir(parents=True)
    res = run_mreg(models, "status", "--remote", "--json")
    assert res.exit_code == 0, res.stderr
    assert {m["name"]: m["remote"] for m in res.json["models"]} == {
        "churn": "missing",
        "enc": "missing",
    }


def test_push_of_a_blob_corrupt_in_the_cache_blames_the_cache(models: Path, tmp_path: Path) -> None:
    oid = run_mreg(models, "which", "churn", "--json").json["oid"]
    path = blob_path(models, oid)
    path.chmod(0o644)
    path.write_bytes(b"bit rot")
    assert run_mreg(models, "remote", "add", "r2", str(tmp_path / "r2")).exit_code == 0
    res = run_mreg(models, "push", "-r", "r2")
    assert res.exit_code == 4, res.stderr
    error, hint = res.lines[-2:]  # after the summary, which lists the corrupt blob
    assert error == (
        "mreg: error: push: 1 blob(s) of churn v1 are corrupt in the local cache (their bytes"
        " do not match their digest), so not pushed"
    )
    assert hint.startswith("hint: mreg fetch --repair churn@v1 -r REMOTE downloads them again")
    assert "-r r2" not in res.stderr and "(remote r2)" not in res.stderr
    assert not (tmp_path / "r2" / "sha256" / oid[7:9] / oid[9:]).exists()


def test_push_to_a_read_only_folder_says_it_refused(models: Path, tmp_path: Path) -> None:
    """A folder remote on a read-only file system (a bind mount made read-only; skipped
    where this process may not mount) is remote-auth, exit 5, "access denied" with the
    folder hint: the folder exists, so "does the folder exist?" sent users the wrong way."""
    source, store = tmp_path / "ro-source", tmp_path / "ro"
    source.mkdir()
    store.mkdir()
    made = subprocess.run(["mount", "--bind", str(source), str(store)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {made.stderr.decode().strip()}")
    try:
        remount = ["mount", "-o", "remount,bind,ro", str(store)]
        if subprocess.run(remount, capture_output=True).returncode != 0:
            pytest.skip("cannot make a bind mount read-only here")
        assert run_mreg(models, "remote", "add", "nas", str(store), "-d").exit_code == 0
        res = run_mreg(models, "push")
        assert_error(res, 5, "remote nas", "file system is writable")
        assert "access denied while" in res.lines[0] and "Read-only file system" in res.lines[0]
        res = run_mreg(models, "push", "--json")
        assert res.exit_code == 5 and res.error_json["error"]["code"] == "remote-auth"
    finally:
        subprocess.run(["umount", str(store)], check=True)
