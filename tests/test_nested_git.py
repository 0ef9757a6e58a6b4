"""A `.git` inside a folder artifact (a `git clone` of a model's repository): left out of
the model, never pushed or checked out; manifests and cards naming a `.git` are refused."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import mreg
from mreg.hashing import oid_of_bytes
from tests.helpers import assert_error, git, run_mreg, snapshot, write

pytestmark = pytest.mark.e2e

HOOK_RAN = "hook-ran"


def _nested_clone(repo: Path, rel: str = "models/hf") -> Path:
    """A model folder that is a git repository of its own, whose config runs a command
    whenever git looks at its work tree (core.fsmonitor), as a hostile one could."""
    folder = repo / rel
    write(folder / "w.bin", b"weights")
    write(folder / "config.json", b"{}")
    git(folder, "init", "-q")
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "model")
    git(folder, "config", "core.fsmonitor", f"touch {repo.parent / HOOK_RAN}; false")
    return folder


def _files(repo: Path) -> dict[str, tuple[str, int]]:
    """Every file of the work tree and .mreg/ but the lock and hash-state database."""
    return {k: v for k, v in snapshot(repo).items() if not k.startswith(".mreg/tmp/")}


def _status(repo: Path) -> dict[str, str]:
    done = run_mreg(repo, "status", "--json")
    assert done.exit_code == 0, done.stderr
    return {m["name"]: m["worktree"] for m in done.json["models"]}


def test_a_nested_repository_is_left_out_of_the_model(repo: Path, tmp_path: Path) -> None:
    """Registered, pushed and pulled into a teammate's clone, the model holds its files
    only: no `.git` reaches the clone, so its config never runs there."""
    store, origin = tmp_path / "store", tmp_path / "origin.git"
    store.mkdir()
    git(tmp_path, "init", "-q", "--bare", str(origin))
    _nested_clone(repo)
    assert run_mreg(repo, "remote", "add", "origin", str(store), "-d").exit_code == 0
    added = run_mreg(repo, "add", "hf", "models/hf", "--json")
    assert added.exit_code == 0, added.stderr
    assert (added.json["files"], added.json["size"]) == (2, len(b"weights") + 2)
    assert added.json["skipped"] == ["models/hf/.git"]
    manifest = (repo / ".mreg" / "cache" / "sha256").rglob("*")
    listed = [
        row["path"]
        for blob in manifest
        if blob.is_file() and blob.read_bytes().startswith(b'{"files"')
        for row in json.loads(blob.read_bytes())["files"]
    ]
    assert sorted(listed) == ["config.json", "w.bin"]
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hf")
    assert run_mreg(repo, "push").exit_code == 0
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "HEAD:main")

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(clone))
    pulled = run_mreg(clone, "pull")
    assert pulled.exit_code == 0, pulled.stderr
    assert sorted(os.listdir(clone / "models" / "hf")) == ["config.json", "w.bin"]
    git(clone, "status")
    assert not (tmp_path / HOOK_RAN).exists()
    assert _status(clone) == {"hf": "ok"}


def test_the_api_reports_what_was_left_out(repo: Path) -> None:
    _nested_clone(repo)
    write(repo / "models" / "hf" / "sub" / ".git", b"gitdir: ../../../.git/modules/sub\n")
    write(repo / "models" / "hf" / "sub" / "x.bin", b"x")
    result = mreg.add("hf", "models/hf")
    assert result.skipped == ["models/hf/.git", "models/hf/sub/.git"]
    assert (result.card.artifact.files, result.card.artifact.size) == (3, len(b"weights{}x"))
    assert mreg.add("hf", "models/hf").skipped == ["models/hf/.git", "models/hf/sub/.git"]
    write(repo / "m.bin", b"a file")
    assert mreg.add("file", "m.bin").skipped == []


def test_status_stays_ok_while_git_works_in_the_nested_repository(repo: Path) -> None:
    """Whatever git does in its `.git` (index rewritten by `git status`, a fetch, a new
    config key), the model is unchanged; a change to a model file still shows."""
    folder = _nested_clone(repo)
    assert run_mreg(repo, "add", "hf", "models/hf").exit_code == 0
    assert _status(repo) == {"hf": "ok"}
    git(folder, "-c", "core.fsmonitor=", "status")
    git(folder, "-c", "core.fsmonitor=", "update-index", "--refresh")
    git(folder, "config", "user.name", "Someone")
    write(folder / ".git" / "objects" / "new", b"an object")
    assert _status(repo) == {"hf": "ok"}
    assert _status(repo) == {"hf": "ok"}  # and again, from the hash-state cache
    write(folder / "w.bin", b"other weights")
    assert _status(repo) == {"hf": "modified"}


def test_any_letter_case_of_git_is_left_out(repo: Path) -> None:
    """`.GIT` is `.git` on a case-insensitive file system, and git refuses it in a tree."""
    write(repo / "ck" / ".GIT" / "config", b"[core]\n")
    write(repo / "ck" / "deep" / ".Git", b"gitdir: elsewhere\n")
    write(repo / "ck" / "a.bin", b"a")
    added = run_mreg(repo, "add", "ck", "ck", "--json")
    assert added.exit_code == 0, added.stderr
    assert added.json["files"] == 1


@pytest.mark.parametrize("name", ["git~1", ".git.", ".git "])
def test_a_name_git_takes_for_git_elsewhere_is_refused(repo: Path, name: str) -> None:
    """On NTFS these are `.git`; mreg cannot hold them, nor leave out what is a model
    file on this system: the user renames it. Nothing is written."""
    write(repo / "ck" / "a.bin", b"a")
    write(repo / "ck" / "sub" / name / "config", b"x")
    before = _files(repo)
    done = run_mreg(repo, "add", "ck", "ck")
    assert_error(done, 3, "git takes a name in it for '.git'", hint="rename that file")
    assert f"ck/sub/{name}/config" in done.lines[0]
    assert _files(repo) == before


def test_a_path_in_a_nested_git_folder_is_refused(repo: Path) -> None:
    _nested_clone(repo)
    before = _files(repo)
    for path in ("models/hf/.git", "models/hf/.git/config"):
        assert_error(
            run_mreg(repo, "add", "m", path),
            3,
            "models/hf/.git, git's own folder",
            hint="mreg add NAME models/hf",
        )
    assert_error(
        run_mreg(repo, "add", "m", ".git/config"), 3, "is inside .git/", hint="outside .git/"
    )
    assert _files(repo) == before


def _blob(store: Path, data: bytes) -> str:
    oid = oid_of_bytes(data)
    write(store / "sha256" / oid[7:9] / oid[9:], data)
    return oid


def test_pull_refuses_a_manifest_that_lists_a_git_path(repo: Path, tmp_path: Path) -> None:
    """A card and manifest crafted on a remote cannot make pull write a `.git` (whose
    config or hooks would run commands) into the work tree."""
    store = tmp_path / "store"
    hook = b"#!/bin/sh\ntouch hook-ran\n"
    rows = [
        {"path": ".git/config", "oid": _blob(store, b"[core]\n"), "size": 7, "exec": False},
        {"path": ".git/hooks/post-checkout", "oid": _blob(store, hook), "size": 26, "exec": True},
        {"path": "w.bin", "oid": _blob(store, b"weights"), "size": 7, "exec": False},
    ]
    manifest = json.dumps({"files": rows, "schema": 1}, separators=(",", ":")).encode()
    card = (
        f"schema: 1\nname: hf\nversion: 1\nartifact:\n  path: models/hf\n"
        f"  oid: '{_blob(store, manifest)}'\n  kind: dir\n  size: 40\n  files: 3\n"
    )
    write(repo / ".mreg" / "models" / "hf.yaml", card)
    assert run_mreg(repo, "remote", "add", "origin", str(store), "-d").exit_code == 0
    done = run_mreg(repo, "pull")
    assert done.exit_code == 3, done.stderr
    assert "has a segment that git takes for '.git'" in done.stderr
    assert not (repo / "models").exists()


def test_a_card_path_with_a_git_segment_is_refused(repo: Path) -> None:
    """`.GIT/hooks/pre-commit` is the repository's own hook on a case-insensitive file
    system; `sub/.git/...` another repository's."""
    write(repo / "m.bin", b"#!/bin/sh\n")
    assert run_mreg(repo, "add", "m", "m.bin").exit_code == 0
    card = repo / ".mreg" / "models" / "m.yaml"
    text = card.read_text()
    for path in (".GIT/hooks/pre-commit", "sub/.git/hooks/pre-commit"):
        card.write_text(text.replace("path: m.bin", f"path: {path}"))
        done = run_mreg(repo, "checkout", "m", "--force")
        assert_error(done, 3, "takes for '.git'")
    assert not (repo / "sub").exists()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


def test_add_leaves_git_own_files_alone(repo: Path) -> None:
    """add clears what a killed checkout left in a model folder (dead writers' temp
    files), but never looks into a `.git`: those files are git's."""
    folder = _nested_clone(repo)
    dead = ".packed-refs.2147483000-0123456789ab.tmp"  # a temp name of a pid that is gone
    write(folder / ".git" / dead, b"git's")
    write(folder / dead, b"a killed checkout's")
    assert run_mreg(repo, "add", "hf", "models/hf").exit_code == 0
    assert (folder / ".git" / dead).read_bytes() == b"git's"
    assert not (folder / dead).exists()


def test_a_repository_where_an_older_mreg_stored_a_git_folder_keeps_working(
    repo: Path, tmp_path: Path
) -> None:
    """A folder registered whole (its .git too) before mreg left .git out: gc, push,
    verify and status still list its blobs; only writing it out is refused, with the hint
    to register the folder again."""
    cache = repo / ".mreg" / "cache"
    rows = [
        {"path": ".git/config", "oid": _blob(cache, b"[core]\n"), "size": 7, "exec": False},
        {"path": "w.bin", "oid": _blob(cache, b"weights"), "size": 7, "exec": False},
    ]
    manifest = json.dumps({"files": rows, "schema": 1}, separators=(",", ":")).encode()
    old = _blob(cache, manifest)
    card = (
        f"schema: 1\nname: hf\nversion: 1\nartifact:\n  path: models/hf\n"
        f"  oid: '{old}'\n  kind: dir\n  size: 14\n  files: 2\n"
    )
    write(repo / ".mreg" / "models" / "hf.yaml", card)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hf v1, by an older mreg")

    assert _status(repo) == {"hf": "missing"}  # the work tree; the cache is no concern
    res = run_mreg(repo, "status", "--json")
    assert res.json["models"][0]["cache"] == "ok", res.json
    assert_error(run_mreg(repo, "checkout", "hf"), 3, "takes for '.git'", "register it again")
    assert not (repo / "models").exists()

    write(repo / "models" / "hf" / "w.bin", b"weights")
    assert run_mreg(repo, "add", "hf", "models/hf", "--commit").exit_code == 0
    res = run_mreg(repo, "gc")
    assert res.exit_code == 0, res.stderr
    for oid in (old, rows[0]["oid"]):  # history still names them
        assert (cache / "sha256" / str(oid)[7:9] / str(oid)[9:]).is_file()
    assert run_mreg(repo, "remote", "add", "o", str(tmp_path / "store"), "-d").exit_code == 0
    res = run_mreg(repo, "push", "--all-versions")
    assert res.exit_code == 0, res.stderr
    assert run_mreg(repo, "verify").exit_code == 0
    assert run_mreg(repo, "verify", "-r", "o").exit_code == 0
    with mreg.open("hf@v1", "w.bin", repo=repo) as f:  # reading it writes nothing out
        assert f.read() == b"weights"


def test_checkout_of_another_version_keeps_the_nested_repository(repo: Path) -> None:
    """add leaves .git out, so checkout must leave it in: the folder is updated in place
    around it (a swap would have left it in the old folder, deleted)."""
    folder = repo / "models" / "hf"
    write(folder / "w.bin", b"weights v1")
    write(folder / "old.txt", b"only in v1")
    git(folder, "init", "-q")
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "v1")
    head = git(folder, "rev-parse", "HEAD").strip()
    assert (folder / ".git" / "refs" / "tags").is_dir()  # empty: must survive pruning
    assert run_mreg(repo, "add", "hf", "models/hf", "--commit").exit_code == 0
    (folder / "old.txt").unlink()
    write(folder / "w.bin", b"weights v2")
    assert run_mreg(repo, "add", "hf", "models/hf", "--commit").exit_code == 0

    for ref, weights in (("hf@v1", b"weights v1"), ("hf", b"weights v2")):
        res = run_mreg(repo, "checkout", ref)
        assert res.exit_code == 0, res.stderr
        assert (folder / "w.bin").read_bytes() == weights
        assert (folder / "old.txt").exists() == (ref == "hf@v1")
        assert git(folder, "rev-parse", "HEAD").strip() == head
        assert (folder / ".git" / "refs" / "tags").is_dir()
    assert _status(repo) == {"hf": "ok"}


def test_add_says_what_it_left_out_when_it_registers(repo: Path) -> None:
    _nested_clone(repo)
    note = "note: left out models/hf/.git: git's own folder (mreg never stores a .git)"
    first = run_mreg(repo, "add", "hf", "models/hf")
    assert first.exit_code == 0 and note in first.stderr.splitlines(), first.stderr
    again = run_mreg(repo, "add", "hf", "models/hf")  # unchanged: nothing to say
    assert again.exit_code == 0 and "left out" not in again.stderr, again.stderr


def _two_versions_in_place(repo: Path, first: dict[str, bytes], second: dict[str, bytes]) -> Path:
    """models/hf, a nested repository (so checkout updates it in place), registered with
    the files `first` (v1), then `second` (v2)."""
    folder = repo / "models" / "hf"
    folder.mkdir(parents=True)
    git(folder, "init", "-q")
    for files in (first, second):
        for p in folder.iterdir():
            if p.name != ".git":
                _remove_tree(p)
        for rel, data in files.items():
            write(folder / rel, data)
        done = run_mreg(repo, "add", "hf", "models/hf", "--commit")
        assert done.exit_code == 0, done.stderr
    return folder


def _remove_tree(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    else:
        p.unlink()


def test_in_place_a_file_becomes_a_folder(repo: Path) -> None:
    """v1 has sub/x.bin, v2 a file `sub`: checking v1 out in place replaces the file by
    the folder (it exited 70 with FileExistsError)."""
    folder = _two_versions_in_place(
        repo, {"w.bin": b"w", "sub/x.bin": b"x"}, {"w.bin": b"w", "sub": b"s"}
    )
    res = run_mreg(repo, "checkout", "hf@v1")
    assert res.exit_code == 0, res.stderr
    assert (folder / "sub" / "x.bin").read_bytes() == b"x"
    assert (folder / ".git").is_dir()
    res = run_mreg(repo, "checkout", "hf")
    assert res.exit_code == 0, res.stderr
    assert (folder / "sub").read_bytes() == b"s"


def test_in_place_a_nested_repository_in_a_subfolder_is_never_removed(repo: Path) -> None:
    """v1 has a file `sub`; now `sub` is a folder holding a repository of its own (left
    out of v2): checking v1 out would remove it, so the checkout stops, changing nothing."""
    folder = _two_versions_in_place(
        repo, {"w.bin": b"w", "sub": b"s"}, {"w.bin": b"w2", "sub/x.bin": b"x"}
    )
    git(folder / "sub", "init", "-q")
    git(folder / "sub", "add", "-A")
    git(folder / "sub", "commit", "-qm", "unpushed work")
    before = snapshot(folder)
    for args in (["checkout", "hf@v1"], ["checkout", "hf@v1", "--force"]):
        assert_error(
            run_mreg(repo, *args),
            3,
            "models/hf/sub holds a git repository (a .git below it), where hf v1 has a file",
            hint="move models/hf/sub away",
        )
        assert snapshot(folder) == before
    assert git(folder / "sub", "log", "--format=%s").strip() == "unpushed work"


def test_in_place_a_file_that_cannot_be_removed_is_a_storage_error(repo: Path) -> None:
    """A folder the checkout may not change (immutable here; a read-only folder for a
    user) is exit 3 naming it, never exit 70 (which, from the hook, failed git checkout)."""
    import subprocess

    folder = _two_versions_in_place(repo, {"a": b"x", "c": b"y"}, {"a/b": b"z", "c": b"y2"})
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not possible here")
    try:
        res = run_mreg(repo, "checkout", "hf@v1")
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert_error(res, 3, str(folder), hint="check the permissions of that folder")
    assert "internal error" not in res.stderr
    assert run_mreg(repo, "checkout", "hf@v1").exit_code == 0  # allowed again: it goes on
    assert (folder / "a").read_bytes() == b"x" and (folder / "c").read_bytes() == b"y"
