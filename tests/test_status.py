"""mreg.status: per model, work tree vs card vs cache, and card vs HEAD."""

from __future__ import annotations

import os
from pathlib import Path

from mreg import registry
from mreg.project import Project
from mreg.status import ModelStatus, status
from tests.helpers import blob_path, git, sha, write


def _status(repo: Path) -> dict[str, ModelStatus]:
    with Project.open(repo) as proj:
        return {s.name: s for s in status(proj)}


def _add(repo: Path, name: str, path: str, **kw: object) -> None:
    with Project.open(repo) as proj:
        registry.add(proj, name, Path(path), **kw)  # type: ignore[arg-type]


def test_no_models(repo: Path) -> None:
    assert _status(repo) == {}


def test_file_model_states(repo: Path) -> None:
    model = write(repo / "m.bin", b"v1")
    _add(repo, "m", "m.bin")
    st = _status(repo)["m"]
    assert (st.version, st.path, st.oid) == (1, "m.bin", sha(b"v1"))
    assert (st.worktree, st.cache, st.card, st.error) == ("ok", "ok", "new", None)
    assert st.card_path == ".mreg/models/m.yaml"

    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "register m")
    assert _status(repo)["m"].card == "unchanged"

    write(model, b"edited")
    assert _status(repo)["m"].worktree == "modified"
    model.unlink()
    assert _status(repo)["m"].worktree == "missing"

    blob_path(repo, sha(b"v1")).unlink()
    assert _status(repo)["m"].cache == "missing"

    write(model, b"v2")
    _add(repo, "m", "m.bin")
    st = _status(repo)["m"]
    assert (st.version, st.worktree, st.cache, st.card) == (2, "ok", "ok", "modified")


def test_dir_model_states(repo: Path) -> None:
    write(repo / "ck" / "a.bin", b"a")
    write(repo / "ck" / "b.bin", b"b")
    _add(repo, "net", "ck")
    assert _status(repo)["net"].worktree == "ok"
    write(repo / "ck" / "c.bin", b"c")
    assert _status(repo)["net"].worktree == "modified"
    (repo / "ck" / "c.bin").unlink()
    os.symlink("a.bin", repo / "ck" / "link")  # not something a card can describe
    assert _status(repo)["net"].worktree == "modified"
    (repo / "ck" / "link").unlink()
    assert _status(repo)["net"].cache == "ok"
    blob_path(repo, sha(b"b")).unlink()
    assert _status(repo)["net"].cache == "partial"
    card = (repo / ".mreg" / "models" / "net.yaml").read_text()
    manifest = blob_path(repo, next(w for w in card.split() if w.startswith("sha256:")))
    manifest.chmod(0o644)
    manifest.write_bytes(b'{"files": [')  # a manifest that is not one
    assert _status(repo)["net"].cache == "corrupt"


def test_broken_cards_are_listed_with_the_reason(repo: Path) -> None:
    write(repo / "m.bin", b"v1")
    _add(repo, "m", "m.bin")
    write(repo / ".mreg" / "models" / "bad.yaml", "schema: 1\nname: bad\n")
    rows = _status(repo)
    assert rows["m"].worktree == "ok"
    bad = rows["bad"]
    assert bad.error == ".mreg/models/bad.yaml: version: missing"
    assert (bad.version, bad.worktree, bad.cache) == (None, None, None)


def test_a_work_tree_link_leading_out_is_reported(repo: Path, tmp_path: Path) -> None:
    write(repo / "real" / "m.bin", b"x")
    _add(repo, "m", "real/m.bin")
    (repo / "real" / "m.bin").unlink()
    (repo / "real").rmdir()
    outside = tmp_path / "outside"
    write(outside / "m.bin", b"x")
    os.symlink(outside, repo / "real")
    assert _status(repo)["m"].worktree == "invalid-path"
