"""mreg.checkout: artifacts back into the work tree, by link type, digests checked,
never clobbering what the cache cannot give back, never writing outside the repo."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
from pathlib import Path

import pytest

import mreg
from mreg import registry
from mreg.card import Card
from mreg.checkout import checkout_card
from mreg.errors import (
    BlobCorrupt,
    BlobMissing,
    InvalidCard,
    InvalidManifest,
    InvalidPath,
    StorageError,
    WorktreeConflict,
)
from mreg.forkshare import ITEM_BYTES_MAX
from mreg.project import Project
from mreg.status import status
from tests.helpers import (
    HELPER_POSSIBLE,
    HELPER_PREAMBLE,
    HELPER_SKIP_REASON,
    blob_path,
    card_yaml,
    run_helper_script,
    sha,
    snapshot,
    write,
)


def _set_links(repo: Path, *links: str) -> None:
    write(repo / ".mreg" / "config.yaml", f"cache:\n  link: [{', '.join(links)}]\n")


def _add(repo: Path, name: str, path: str) -> Card:
    with Project.open(repo) as proj:
        return registry.add(proj, name, Path(path)).card


def _checkout(repo: Path, card: Card, force: bool = False) -> str:
    with Project.open(repo) as proj:
        return checkout_card(proj, card, force=force).action


def _worktree(repo: Path, name: str) -> str | None:
    with Project.open(repo) as proj:
        return {s.name: s.worktree for s in status(proj)}[name]


def _corrupt(path: Path, data: bytes = b"rotten") -> None:
    path.chmod(0o644)
    path.write_bytes(data)


# ---------------------------------------------------------------------------- files


def test_file_checkout_cycle(repo: Path) -> None:
    model = write(repo / "out" / "model.pkl", b"v1")
    v1 = _add(repo, "churn", "out/model.pkl")
    model.unlink()
    model.parent.rmdir()
    assert _checkout(repo, v1) == "created"
    assert model.read_bytes() == b"v1"
    assert os.stat(model).st_ino != os.stat(blob_path(repo, v1.artifact.oid)).st_ino
    assert os.access(model, os.W_OK) or os.geteuid() == 0
    assert stat.S_IMODE(model.stat().st_mode) & 0o200  # a copy is the user's to edit
    assert _checkout(repo, v1) == "unchanged"

    write(model, b"v2")
    v2 = _add(repo, "churn", "out/model.pkl")
    # v2's bytes are in the cache: going back to v1 loses nothing, no --force needed.
    assert _checkout(repo, v1) == "updated"
    assert model.read_bytes() == b"v1"
    assert _checkout(repo, v2) == "updated"
    assert model.read_bytes() == b"v2"


def test_modified_file_is_not_clobbered_without_force(repo: Path) -> None:
    model = write(repo / "m.bin", b"registered")
    card = _add(repo, "m", "m.bin")
    write(model, b"precious local edit")
    assert _checkout(repo, card) == "conflict"
    assert model.read_bytes() == b"precious local edit"
    with pytest.raises(
        WorktreeConflict, match=re.escape("not overwritten, changes not in the cache: m.bin")
    ):
        mreg.checkout()
    assert model.read_bytes() == b"precious local edit"
    assert _checkout(repo, card, force=True) == "updated"
    assert model.read_bytes() == b"registered"


def test_a_folder_where_a_file_should_be(repo: Path) -> None:
    model = write(repo / "m.bin", b"x")
    card = _add(repo, "m", "m.bin")
    model.unlink()
    write(repo / "m.bin" / "inner.txt", "mine")
    assert _checkout(repo, card) == "conflict"
    assert (repo / "m.bin" / "inner.txt").read_text() == "mine"
    assert _checkout(repo, card, force=True) == "updated"
    assert model.read_bytes() == b"x"


# ---------------------------------------------------------------------------- folders


def _make_dir(repo: Path) -> Path:
    ck = repo / "ck"
    write(ck / "weights.bin", b"w" * 50)
    write(ck / "sub" / "config.json", "{}")
    write(ck / "run.sh", "#!/bin/sh\n")
    (ck / "run.sh").chmod(0o755)
    return ck


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_dir_checkout_cycle(repo: Path) -> None:
    ck = _make_dir(repo)
    v1_files = _files(ck)
    v1 = _add(repo, "vision/net", "ck")
    write(ck / "weights.bin", b"W" * 50)
    write(ck / "extra.bin", b"new file")
    (ck / "sub" / "config.json").unlink()
    v2 = _add(repo, "vision/net", "ck")
    assert _checkout(repo, v1) == "updated"
    assert _files(ck) == v1_files
    assert not (ck / "extra.bin").exists()  # not in v1; its bytes are safe in the cache
    assert os.stat(ck / "run.sh").st_mode & stat.S_IXUSR
    assert not os.stat(ck / "weights.bin").st_mode & stat.S_IXUSR
    assert _checkout(repo, v1) == "unchanged"
    assert _checkout(repo, v2) == "updated"
    assert not (ck / "sub").exists()  # emptied folders go too
    shutil.rmtree(ck)
    assert _checkout(repo, v2) == "created"
    assert _worktree(repo, "vision/net") == "ok"


def test_dir_with_an_unregistered_file_is_a_conflict(repo: Path) -> None:
    ck = _make_dir(repo)
    card = _add(repo, "net", "ck")
    write(ck / "notes.txt", "mine, not in any version")
    write(ck / "weights.bin", b"edited")
    assert _checkout(repo, card) == "conflict"
    assert (ck / "notes.txt").read_text() == "mine, not in any version"
    assert (ck / "weights.bin").read_bytes() == b"edited"
    with Project.open(repo) as proj:
        result = checkout_card(proj, card)
    assert result.conflicts == ["ck/notes.txt", "ck/weights.bin"]
    assert _checkout(repo, card, force=True) == "updated"
    assert not (ck / "notes.txt").exists()
    assert (ck / "weights.bin").read_bytes() == b"w" * 50


# ---------------------------------------------------------------------------- link types


@pytest.mark.parametrize("link", ["hardlink", "symlink", "copy", "reflink"])
def test_link_types(repo: Path, link: str) -> None:
    model = write(repo / "m.bin", b"file model")
    ck = _make_dir(repo)
    file_card = _add(repo, "m", "m.bin")
    dir_card = _add(repo, "net", "ck")
    model.unlink()
    shutil.rmtree(ck)
    _set_links(repo, link, "copy")
    blob = blob_path(repo, file_card.artifact.oid)
    assert _checkout(repo, file_card) == "created"
    assert _checkout(repo, dir_card) == "created"
    assert model.read_bytes() == b"file model"
    if link == "hardlink":
        assert os.stat(model).st_ino == os.stat(blob).st_ino
        assert stat.S_IMODE(os.stat(model).st_mode) == 0o444  # linked files are read-only
    elif link == "symlink":
        assert model.is_symlink() and model.resolve() == blob.resolve()
    else:
        assert not model.is_symlink()
        assert os.stat(model).st_ino != os.stat(blob).st_ino
    # An executable file keeps its mode whatever the link type.
    assert os.stat(ck / "run.sh").st_mode & stat.S_IXUSR
    # What checkout made, status and checkout see as clean ...
    assert _worktree(repo, "m") == "ok"
    assert _worktree(repo, "net") == "ok"
    assert _checkout(repo, file_card) == "unchanged"
    assert _checkout(repo, dir_card) == "unchanged"
    # ... and a new version can be registered from it.
    write(repo / "ck" / "more.bin", b"more")
    assert _add(repo, "net", "ck").version == 2
    # Going back replaces the links in place.
    assert _checkout(repo, dir_card) == "updated"
    assert not (ck / "more.bin").exists()
    assert _worktree(repo, "net") == "modified"  # the card says v2; the work tree has v1


def test_no_link_type_works(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = write(repo / "m.bin", b"x")
    card = _add(repo, "m", "m.bin")
    model.unlink()
    _set_links(repo, "hardlink")

    def cross_device(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    with pytest.raises(StorageError, match="none of the link types"):
        _checkout(repo, card)
    assert list(repo.glob(".m.bin*")) == [] and not model.exists()


# ---------------------------------------------------------------------------- integrity


def test_corrupt_blob_leaves_the_work_tree_alone(repo: Path) -> None:
    model = write(repo / "m.bin", b"v1")
    v1 = _add(repo, "m", "m.bin")
    write(model, b"v2")
    _add(repo, "m", "m.bin")  # v2's bytes are in the work tree and the cache
    _corrupt(blob_path(repo, v1.artifact.oid))
    before = snapshot(repo)
    with pytest.raises(BlobCorrupt) as info:
        _checkout(repo, v1)
    assert info.value.message.startswith("m v1: ")
    assert v1.artifact.oid in info.value.message
    assert info.value.exit_code == 4
    assert model.read_bytes() == b"v2"
    assert snapshot(repo) == before  # no temp file left beside it either


def test_missing_blob(repo: Path) -> None:
    model = write(repo / "m.bin", b"v1")
    card = _add(repo, "m", "m.bin")
    blob_path(repo, card.artifact.oid).unlink()
    write(model, b"local")
    with pytest.raises(BlobMissing) as info:
        _checkout(repo, card, force=True)
    assert info.value.message == f"m v1: blob {card.artifact.oid} is not in the cache"
    assert info.value.hint is not None and "mreg add" in info.value.hint
    assert model.read_bytes() == b"local"


def test_dir_with_a_missing_or_corrupt_file_blob(repo: Path) -> None:
    ck = _make_dir(repo)
    card = _add(repo, "net", "ck")
    weights = sha(b"w" * 50)
    write(ck / "weights.bin", b"local edit")
    _corrupt(blob_path(repo, weights))
    with pytest.raises(BlobCorrupt, match=f"net v1: blob {weights}"):
        _checkout(repo, card, force=True)
    assert (ck / "weights.bin").read_bytes() == b"local edit"
    blob_path(repo, weights).unlink()
    with pytest.raises(BlobMissing, match=rf"net v1: blob {weights} \(weights.bin\)"):
        _checkout(repo, card, force=True)
    assert (ck / "weights.bin").read_bytes() == b"local edit"


# ---------------------------------------------------------------------------- untrusted cards


def test_a_symlinked_folder_leading_out_is_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    write(repo / "real" / "m.bin", b"x")
    card = _add(repo, "m", "real/m.bin")
    os.symlink(outside, repo / "out")
    card.artifact.path = "out/m.bin"  # as if a hostile commit changed the card and the link
    with pytest.raises(InvalidPath, match="leads outside the repository through a symlink"):
        _checkout(repo, card, force=True)
    assert list(outside.iterdir()) == []


def test_a_symlinked_artifact_leading_out_is_replaced_not_written_through(
    repo: Path, tmp_path: Path
) -> None:
    victim = write(tmp_path / "victim.txt", b"do not touch")
    write(repo / "m.bin", b"x")
    card = _add(repo, "m", "m.bin")
    (repo / "m.bin").unlink()
    os.symlink(victim, repo / "m.bin")
    assert _checkout(repo, card) == "conflict"
    assert (repo / "m.bin").is_symlink()
    assert _checkout(repo, card, force=True) == "updated"
    assert not (repo / "m.bin").is_symlink()
    assert (repo / "m.bin").read_bytes() == b"x"
    assert victim.read_bytes() == b"do not touch"


def test_symlinks_into_a_shared_cache_outside_the_repo(repo: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared-cache"
    write(repo / ".mreg" / "config.yaml", f"cache:\n  dir: {shared}\n  link: [symlink]\n")
    model = write(repo / "m.bin", b"v1")
    ck = _make_dir(repo)
    file_card = _add(repo, "m", "m.bin")
    dir_card = _add(repo, "net", "ck")
    assert (shared / "sha256").is_dir() and not (repo / ".mreg" / "cache").exists()
    model.unlink()
    shutil.rmtree(ck)
    assert _checkout(repo, file_card) == "created"
    assert _checkout(repo, dir_card) == "created"
    assert model.is_symlink() and model.resolve().is_relative_to(shared)
    assert _worktree(repo, "m") == "ok" and _worktree(repo, "net") == "ok"
    assert _checkout(repo, file_card) == "unchanged"
    write(ck / "more.bin", b"more")
    assert _add(repo, "net", "ck").version == 2
    assert _checkout(repo, dir_card) == "updated"
    assert not (ck / "more.bin").exists()


def test_manifest_with_a_path_leading_out(repo: Path, tmp_path: Path) -> None:
    evil = json.dumps(
        {
            "schema": 1,
            "files": [{"path": "../../escape.txt", "oid": sha(b"x"), "size": 1, "exec": False}],
        },
        separators=(",", ":"),
    ).encode()
    with Project.open(repo) as proj:
        proj.store.put_bytes(b"x")
        oid = proj.store.put_bytes(evil)
    write(repo / ".mreg" / "models" / "evil.yaml", card_yaml("evil", "ck", oid, kind="dir"))
    with pytest.raises(
        InvalidManifest, match=re.escape("evil v1: manifest path '../../escape.txt'")
    ):
        mreg.checkout(["evil"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]
    assert not (repo / "ck").exists()


@pytest.mark.parametrize("path", ["/tmp/evil.bin", "../evil.bin", "a/../../evil.bin"])
def test_card_with_an_unsafe_path_is_refused(repo: Path, tmp_path: Path, path: str) -> None:
    write(repo / "m.bin", b"x")
    oid = _add(repo, "m", "m.bin").artifact.oid
    write(repo / ".mreg" / "models" / "m.yaml", card_yaml("m", path, oid))
    with pytest.raises(InvalidCard, match=re.escape("artifact.path")):
        mreg.checkout(["m"])
    with pytest.raises(
        InvalidCard, match=r"not checked out: \.mreg/models/m\.yaml: artifact\.path"
    ):
        mreg.checkout()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]
    assert not (repo.parent / "evil.bin").exists()


def test_checkout_all_still_does_the_good_cards(repo: Path) -> None:
    model = write(repo / "good.bin", b"good")
    _add(repo, "good", "good.bin")
    model.unlink()
    write(repo / ".mreg" / "models" / "bad.yaml", "schema: 1\nname: [\n")
    with pytest.raises(InvalidCard, match=r"\.mreg/models/bad\.yaml: invalid YAML"):
        mreg.checkout()
    assert model.read_bytes() == b"good"


# ------------------------------------------------------- known-good blobs (no re-hash)

BIG = 2 * 1024 * 1024  # above statecache.KNOWN_MIN


def _known(repo: Path, oid: str) -> bool:
    with Project.open(repo) as proj:
        return proj.state.blob_known(oid, os.stat(blob_path(repo, oid)))


@pytest.mark.parametrize("link", ["copy", "hardlink", "symlink"])
def test_a_blob_add_wrote_is_checked_out_without_rehashing(
    repo: Path, link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    checkout = importlib.import_module("mreg.checkout")  # `mreg.checkout` is the API function
    _set_links(repo, link)
    data = os.urandom(BIG)
    model = write(repo / "m.bin", data)
    card = _add(repo, "m", "m.bin")
    assert _known(repo, card.artifact.oid)
    model.unlink()

    def no_hashing(*args: object) -> object:
        raise AssertionError("a known-good blob was hashed again")

    monkeypatch.setattr(checkout, "hash_file", no_hashing)
    monkeypatch.setattr(checkout, "copy_hashing", no_hashing)
    assert _checkout(repo, card) == "created"
    assert model.read_bytes() == data
    if link == "hardlink":
        assert model.stat().st_ino == blob_path(repo, card.artifact.oid).stat().st_ino


def test_a_blob_changed_after_add_is_hashed_and_refused(repo: Path) -> None:
    model = write(repo / "m.bin", os.urandom(BIG))
    card = _add(repo, "m", "m.bin")
    model.unlink()
    blob = blob_path(repo, card.artifact.oid)
    _corrupt(blob, os.urandom(BIG))  # a write changes the mtime: no longer known
    assert not _known(repo, card.artifact.oid)
    with pytest.raises(BlobCorrupt):
        _checkout(repo, card)
    assert not model.exists()


def test_a_blob_add_did_not_write_is_not_trusted(repo: Path) -> None:
    # Bad bytes under the right name before the add: add keeps the existing blob
    # (content-addressed, never rewritten), so it must not vouch for it.
    data = os.urandom(BIG)
    model = write(repo / "m.bin", data)
    blob = blob_path(repo, sha(data))
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(os.urandom(BIG))
    os.utime(blob, ns=(1_000_000_000, 1_000_000_000))
    card = _add(repo, "m", "m.bin")
    assert not _known(repo, card.artifact.oid)
    model.unlink()
    with pytest.raises(BlobCorrupt):
        _checkout(repo, card)


def test_a_checked_blob_is_remembered(repo: Path) -> None:
    model = write(repo / "m.bin", os.urandom(BIG))
    card = _add(repo, "m", "m.bin")
    with Project.open(repo) as proj:  # forget what add recorded
        proj.state._connect().execute("DELETE FROM blobs")
    assert not _known(repo, card.artifact.oid)
    model.unlink()
    assert _checkout(repo, card) == "created"  # hashed on the way out ...
    assert _known(repo, card.artifact.oid)  # ... and remembered


def test_pull_vouches_for_the_blobs_it_downloaded(repo: Path, tmp_path: Path) -> None:
    # fetch hashes each blob as it streams in; pull's checkout then need not hash it again.
    from tests.helpers import run_mreg

    data = os.urandom(BIG)
    model = write(repo / "m.bin", data)
    card = _add(repo, "m", "m.bin")
    remote = tmp_path / "remote"
    assert run_mreg(repo, "remote", "add", "origin", str(remote), "-d").exit_code == 0
    assert run_mreg(repo, "push").exit_code == 0
    blob = blob_path(repo, card.artifact.oid)
    blob.chmod(0o644)
    blob.unlink()
    model.unlink()
    with Project.open(repo) as proj:  # the old blob's record
        proj.state._connect().execute("DELETE FROM blobs")
    fetched = run_mreg(repo, "fetch")
    assert fetched.exit_code == 0, fetched.stderr
    assert _known(repo, card.artifact.oid)  # before any checkout looked at it
    assert not model.exists()
    assert run_mreg(repo, "pull").exit_code == 0
    assert model.read_bytes() == data


def test_a_refused_reflink_is_tried_once_per_folder(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    checkout_mod = importlib.import_module("mreg.checkout")  # mreg.checkout is also a function
    ck = repo / "ck"
    for i in range(20):
        write(ck / f"f{i:02d}.bin", f"file {i}")
    card = _add(repo, "net", "ck")
    want = _files(ck)
    shutil.rmtree(ck)
    _set_links(repo, "reflink", "copy")
    tried: list[str] = []

    def refuse(src: str, tmp: Path) -> None:
        tried.append(src)
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(checkout_mod, "_reflink", refuse)
    assert _checkout(repo, card) == "created"
    assert _files(ck) == want
    assert len(tried) == 1  # not once per file


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_copied_files_follow_the_umask(repo: Path, mask: int) -> None:
    ck = _make_dir(repo)
    card = _add(repo, "net", "ck")
    shutil.rmtree(ck)
    _set_links(repo, "copy")
    old = os.umask(mask)
    try:
        assert _checkout(repo, card) == "created"
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(ck / "run.sh").st_mode) == 0o777 & ~mask
    assert stat.S_IMODE(os.stat(ck / "weights.bin").st_mode) == 0o666 & ~mask
    assert _worktree(repo, "net") == "ok"


# ------------------------------------------------- many small files: the helper process

_HELPER_CHECKOUT = (
    HELPER_PREAMBLE
    + """
import json, sys
from pathlib import Path
import mreg.checkout
from mreg import registry
from mreg.errors import MregError
from mreg.project import Project

checkout = sys.modules["mreg.checkout"]  # mreg.checkout is also the API's function
repo, mode = Path(sys.argv[1]), sys.argv[2]
real_place = checkout._place

def place(store, oid, dest, *args, **kw):
    if mode == "child half-writes" and os.getpid() != parent:
        with open(dest, "wb") as f:
            f.write(b"half")
        raise OSError("the helper's disk is gone")
    if mode == "parent fails" and os.getpid() == parent:  # while the helper runs
        raise RuntimeError("the parent fails")
    return real_place(store, oid, dest, *args, **kw)

checkout._place = place
with Project.open(repo) as proj:
    try:
        action, error = checkout.checkout_card(proj, registry.load_card(proj, "ck")).action, None
    except (MregError, RuntimeError) as exc:
        action, error = None, str(exc)
children = leftover_children()
print(json.dumps({
    "action": action, "error": error, "helper": started, "redone": redone, "children": children
}))
"""
)


def _checkout_with_helper(repo: Path, mode: str) -> dict[str, object]:
    got: dict[str, object] = run_helper_script(_HELPER_CHECKOUT, str(repo), mode)
    return got


def _many_small_files(repo: Path) -> dict[str, bytes]:
    files = {f"d{i % 3}/f{i:02d}.bin": b"file %d" % i for i in range(40)}
    files["big.bin"] = os.urandom(ITEM_BYTES_MAX + 1)  # placed by the parent
    for name, data in files.items():
        write(repo / "ck" / name, data)
    (repo / "ck" / "d1" / "f04.bin").chmod(0o755)
    _add(repo, "ck", "ck")
    shutil.rmtree(repo / "ck")
    return files


def _tree(folder: Path) -> dict[str, tuple[bytes, bool]]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), os.access(p, os.X_OK))
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
@pytest.mark.parametrize("mode", ["ok", "child half-writes"])
def test_a_helper_process_places_half_of_many_small_files(repo: Path, mode: str) -> None:
    files = _many_small_files(repo)
    got = _checkout_with_helper(repo, mode)
    assert got["helper"] == [True] and got["error"] is None and got["children"] == []
    assert got["redone"] == ([20] if mode == "child half-writes" else [0])
    tree = _tree(repo / "ck")
    assert {k: v[0] for k, v in tree.items()} == files  # nothing half-written is left
    assert [k for k, v in tree.items() if v[1]] == ["d1/f04.bin"]
    assert [p.name for p in repo.iterdir() if p.name.startswith("mreg-")] == []


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
def test_a_failing_parent_stops_its_helper_and_leaves_no_folder(repo: Path) -> None:
    _many_small_files(repo)
    got = _checkout_with_helper(repo, "parent fails")
    assert got["helper"] == [True] and got["error"] == "the parent fails"
    assert got["children"] == []  # reaped
    assert sorted(p.name for p in repo.iterdir() if not p.name.startswith(".")) == []


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
def test_a_corrupt_blob_met_by_the_helper_fails_the_checkout_whole(repo: Path) -> None:
    files = _many_small_files(repo)
    small = sorted(name for name, data in files.items() if len(data) <= ITEM_BYTES_MAX)
    theirs = small[1::2]  # the helper's share: every other one, in manifest order
    _corrupt(blob_path(repo, sha(files[theirs[0]])))
    got = _checkout_with_helper(repo, "ok")
    assert got["helper"] == [True] and got["children"] == []
    assert got["redone"] == [1]  # the helper failed on it; the parent met it again
    assert "corrupt" in str(got["error"])
    assert not (repo / "ck").exists()
    assert sorted(p.name for p in repo.iterdir() if not p.name.startswith(".")) == []
