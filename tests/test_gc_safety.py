"""`mreg gc` stops where it cannot tell what a card needs, rather than delete its blobs:
a work-tree or staged card that does not parse, a work-tree folder whose manifest is
missing. --force (for a shared cache or a remote) does not change that. An older
version's missing manifest (a clone that fetched the current ones) is a warning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mreg.card import Card
from mreg.project import Project
from tests.helpers import assert_error, blob_path, cache_blobs, git, run_mreg, sha, write


def _add(repo: Path, name: str, path: str, *extra: str) -> None:
    done = run_mreg(repo, "add", name, path, *extra)
    assert done.exit_code == 0, done.stderr


def _break_version(repo: Path, name: str) -> Path:
    card = repo / ".mreg" / "models" / f"{name}.yaml"
    text = card.read_text()
    assert "\nversion: 1\n" in text
    card.write_text(text.replace("\nversion: 1\n", "\nversion: one\n"))
    return card


def test_a_work_tree_card_that_does_not_parse_stops_gc(repo: Path) -> None:
    write(repo / "out" / "p.bin", b"precious model")
    _add(repo, "pm", "out/p.bin")
    card = _break_version(repo, "pm")
    blob = blob_path(repo, sha(b"precious model"))
    for args in (("gc",), ("gc", "-n")):
        done = run_mreg(repo, *args)
        assert_error(done, 3, "cannot tell which blobs a card needs: .mreg/models/pm.yaml")
        assert "version" in done.lines[0] and "mend the card" in done.lines[1]
    assert blob.is_file()
    # Mended, the model checks out again: nothing was lost.
    card.write_text(card.read_text().replace("\nversion: one\n", "\nversion: 1\n"))
    (repo / "out" / "p.bin").unlink()
    assert run_mreg(repo, "checkout", "pm").exit_code == 0
    assert (repo / "out" / "p.bin").read_bytes() == b"precious model"


def test_a_staged_card_that_does_not_parse_stops_gc_too(repo: Path) -> None:
    write(repo / "out" / "p.bin", b"staged model")
    _add(repo, "pm", "out/p.bin")
    card = _break_version(repo, "pm")
    git(repo, "add", ".mreg/models/pm.yaml")
    card.unlink()  # only the index holds the card now
    done = run_mreg(repo, "gc")
    assert_error(done, 3, "(the staged card)", hint="mend the card")
    assert blob_path(repo, sha(b"staged model")).is_file()


def test_force_does_not_go_on_without_the_broken_card(repo: Path) -> None:
    """--force is for blobs other repositories need (a shared cache.dir, a remote): it
    does not also drop the blobs of a card gc cannot read."""
    write(repo / "out" / "p.bin", b"kept")
    _add(repo, "pm", "out/p.bin")
    _break_version(repo, "pm")
    done = run_mreg(repo, "gc", "--force")
    assert_error(done, 3, "cannot tell which blobs a card needs", hint="mend the card")
    assert blob_path(repo, sha(b"kept")).is_file()


def test_a_broken_card_in_history_only_does_not_stop_gc(repo: Path) -> None:
    write(repo / "out" / "old.bin", b"old model")
    _add(repo, "old", "out/old.bin")
    _break_version(repo, "old")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a broken card, committed")
    git(repo, "rm", "-q", ".mreg/models/old.yaml")
    git(repo, "commit", "-qm", "gone")
    done = run_mreg(repo, "gc")
    assert done.exit_code == 0, done.stderr
    # Its artifact can still be read, so its blob stays (tests/test_gc_old_cards.py).
    assert blob_path(repo, sha(b"old model")).is_file()


def _folder_model(repo: Path) -> tuple[Path, list[Path]]:
    write(repo / "dd" / "a.txt", b"file a")
    write(repo / "dd" / "b.txt", b"file b")
    _add(repo, "dir", "dd", "--commit")
    files = [blob_path(repo, sha(b"file a")), blob_path(repo, sha(b"file b"))]
    oid = next(
        line.split()[1]
        for line in (repo / ".mreg" / "models" / "dir.yaml").read_text().splitlines()
        if line.strip().startswith("oid:")
    )
    return blob_path(repo, oid), files


def test_a_folder_whose_manifest_is_missing_stops_gc_of_the_cache(repo: Path) -> None:
    manifest, files = _folder_model(repo)
    os.chmod(manifest, 0o644)
    manifest.unlink()
    for args in (("gc",), ("gc", "-n"), ("gc", "--force")):
        done = run_mreg(repo, *args)
        assert_error(done, 4, "cannot tell which blobs dir v1 needs: its manifest", "mreg fetch")
        assert "is not in the cache" in done.lines[0]
    assert all(f.is_file() for f in files)
    assert len(cache_blobs(repo)) == 2


def test_an_older_versions_missing_manifest_is_a_warning(repo: Path) -> None:
    """A clone that fetched the current versions only: gc works, and says what it could
    not read; the blobs only that manifest lists are garbage here."""
    manifest, files = _folder_model(repo)
    write(repo / "dd" / "a.txt", b"file a, v2")
    _add(repo, "dir", "dd", "--commit")
    os.chmod(manifest, 0o644)
    manifest.unlink()  # v1's manifest
    done = run_mreg(repo, "gc")
    assert done.exit_code == 0, done.stderr
    assert "dir v1 was not found" in done.stderr
    assert not files[0].exists()  # v1's a.txt: nothing current names it
    assert files[1].is_file()  # b.txt: v2 still holds it
    assert blob_path(repo, sha(b"file a, v2")).is_file()


def test_gc_keeps_what_every_stash_entry_needs_not_only_the_newest(repo: Path) -> None:
    """`git log --all` reaches stash@{0} only; stash@{1} and older are in its reflog."""
    write(repo / "m.pkl", b"one")
    _add(repo, "churn", "m.pkl", "--commit")
    for text in (b"two", b"three"):
        write(repo / "m.pkl", text)
        _add(repo, "churn", "m.pkl")
        git(repo, "stash", "-q")
        assert run_mreg(repo, "checkout", "churn").exit_code == 0
    done = run_mreg(repo, "gc")
    assert done.exit_code == 0, done.stderr
    for text in (b"one", b"two", b"three"):
        assert blob_path(repo, sha(text)).is_file(), text
    git(repo, "stash", "pop", "-q", "stash@{1}")  # the older entry: v2 "two"
    assert run_mreg(repo, "checkout", "churn").exit_code == 0
    assert (repo / "m.pkl").read_bytes() == b"two"


def test_gc_of_a_folder_remote_whose_folder_is_gone_says_so(repo: Path) -> None:
    write(repo / "m.pkl", b"pushed")
    _add(repo, "churn", "m.pkl", "--commit")
    store = repo.parent / "store"
    assert run_mreg(repo, "remote", "add", "origin", str(store), "-d").exit_code == 0
    assert run_mreg(repo, "push").exit_code == 0
    store.rename(repo.parent / "moved")
    for args in (("gc", "-r", "origin", "--force"), ("gc", "-r", "origin", "-n")):
        done = run_mreg(repo, *args)
        assert_error(done, 5, f"{store} does not exist")
    assert not store.exists()  # nothing made there


def test_gc_reads_each_work_tree_card_once(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The work-tree cards gc checks for unreadable manifests are the ones it already
    listed for what is referenced: each card file is read once, not twice."""
    from mreg import registry
    from mreg.gc import referenced_oids

    for name in ("a", "b"):
        write(repo / "out" / f"{name}.bin", name.encode())
        _add(repo, name, f"out/{name}.bin")
    reads: list[str] = []
    real = registry.read_card

    def counting(project: Project, path: Path, name: str) -> Card:
        reads.append(name)
        return real(project, path, name)

    monkeypatch.setattr(registry, "read_card", counting)
    monkeypatch.chdir(repo)
    with Project.open() as proj:
        needs = referenced_oids(proj)
    assert sorted(reads) == ["a", "b"]
    assert {sha(b"a"), sha(b"b")} <= set(needs.files)
