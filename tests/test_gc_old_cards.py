"""A card an older mreg wrote and committed may be refused by today's stricter rules (a
metric given dotted and nested, an empty key, a name holding `..`, an artifact path with a
segment git takes for `.git`). gc (cache and remote) and push --all-versions still count
the blobs its `artifact` section names, so that the version can be mended and checked out
later; only a card whose artifact cannot be read either is skipped. A work-tree card that
does not parse still stops gc (tests/test_gc_safety.py). At the end, card.artifact_only,
which reads that section, on its own."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import assert_error, blob_path, git, run_mreg, sha, write

CARD = Path(".mreg") / "models" / "m.yaml"
DOTTED_AND_NESTED = "metrics:\n  loss.train: 0.2\n  loss:\n    train: 0.3\n"


def _ok(repo: Path, *args: str) -> str:
    done = run_mreg(repo, *args)
    assert done.exit_code == 0, (args, done.stderr)
    return done.stdout


def _start(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "mreg init")


def _append(text: str) -> Callable[[Path], None]:
    def edit(repo: Path) -> None:
        card = repo / CARD
        card.write_text(card.read_text() + text)

    return edit


def _name_with_dots(repo: Path) -> None:
    card = repo / CARD
    text = card.read_text().replace("name: m\n", "name: v1..x\n")
    card.unlink()
    write(card.parent / "v1..x.yaml", text)


def _git_like_path(repo: Path) -> None:
    card = repo / CARD
    card.write_text(card.read_text().replace("path: out/m.bin", "path: out/.GIT/m.bin"))


OLD_CARDS = {
    "dotted and nested metric": _append(DOTTED_AND_NESTED),
    "empty key": _append("metrics:\n  '': 0.5\n"),
    "name holding ..": _name_with_dots,
    "artifact path with a .git-like segment": _git_like_path,
}


def _old_card_on_a_branch(repo: Path, edit: Callable[[Path], None], data: bytes) -> str:
    """Register out/m.bin with a real `mreg add` on branch `old`, edit the card as an
    older mreg could have written it, commit; back on main (which never had the model),
    the work-tree file deleted. Returns the blob's oid."""
    _start(repo)
    git(repo, "checkout", "-qb", "old")
    write(repo / "out" / "m.bin", data)
    _ok(repo, "add", "m", "out/m.bin")
    edit(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a card an older mreg wrote")
    git(repo, "checkout", "-q", "main")
    (repo / "out" / "m.bin").unlink()
    return sha(data)


def _would_remove(repo: Path, *args: str) -> list[str]:
    done = run_mreg(repo, "gc", "--dry-run", "--json", *args)
    assert done.exit_code == 0, done.stderr
    return [r["oid"] for r in done.json["removed"]]


@pytest.mark.parametrize("edit", OLD_CARDS.values(), ids=list(OLD_CARDS))
def test_gc_keeps_the_blob_of_a_committed_card_refused_today(
    repo: Path, edit: Callable[[Path], None]
) -> None:
    oid = _old_card_on_a_branch(repo, edit, b"old model bytes")
    assert _would_remove(repo) == []
    _ok(repo, "gc")
    assert blob_path(repo, oid).is_file()


def test_the_kept_version_checks_out_once_its_card_is_mended(repo: Path) -> None:
    oid = _old_card_on_a_branch(repo, _append(DOTTED_AND_NESTED), b"old model bytes")
    write(repo / "out" / "stray.bin", b"nothing refers to me")
    _ok(repo, "add", "stray", "out/stray.bin")
    (repo / ".mreg" / "models" / "stray.yaml").unlink()
    (repo / ".gitignore").unlink()  # main had none: `git checkout old` brings its own
    assert _would_remove(repo) == [sha(b"nothing refers to me")]  # gc still collects
    _ok(repo, "gc")
    git(repo, "checkout", "-q", "old")
    card = repo / CARD
    card.write_text(card.read_text().replace(DOTTED_AND_NESTED, "metrics:\n  loss.train: 0.2\n"))
    _ok(repo, "checkout", "m")
    assert (repo / "out" / "m.bin").read_bytes() == b"old model bytes"
    assert blob_path(repo, oid).is_file()


def test_gc_keeps_a_refused_folder_cards_manifest_and_files(repo: Path) -> None:
    _start(repo)
    git(repo, "checkout", "-qb", "old")
    write(repo / "out" / "d" / "a.bin", b"file a")
    write(repo / "out" / "d" / "sub" / "b.bin", b"file b")
    _ok(repo, "add", "m", "out/d")
    tree = json.loads(_ok(repo, "which", "m", "--json"))["oid"]
    _append(DOTTED_AND_NESTED)(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a card an older mreg wrote")
    git(repo, "checkout", "-q", "main")
    shutil.rmtree(repo / "out" / "d")
    assert _would_remove(repo) == []
    _ok(repo, "gc")
    assert blob_path(repo, tree).is_file()
    assert blob_path(repo, sha(b"file a")).is_file()
    assert blob_path(repo, sha(b"file b")).is_file()


def test_gc_on_a_remote_keeps_the_blob_too(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    _ok(repo, "remote", "add", "store", str(store), "-d")
    _start(repo)
    git(repo, "checkout", "-qb", "old")
    write(repo / "out" / "m.bin", b"pushed model")
    _ok(repo, "add", "m", "out/m.bin")
    _ok(repo, "push")
    _append(DOTTED_AND_NESTED)(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a card an older mreg wrote")
    git(repo, "checkout", "-q", "main")
    hexdigest = sha(b"pushed model").split(":", 1)[1]
    on_remote = store / "sha256" / hexdigest[:2] / hexdigest[2:]  # the cache's layout
    assert on_remote.is_file()
    assert _would_remove(repo, "-r", "store") == []
    _ok(repo, "gc", "-r", "store", "--force")
    assert on_remote.is_file()


def test_push_all_versions_pushes_a_refused_older_version(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    _ok(repo, "remote", "add", "store", str(store), "-d")
    _start(repo)
    write(repo / "out" / "m.bin", b"version one")
    _ok(repo, "add", "m", "out/m.bin")
    good = (repo / CARD).read_text()
    _append(DOTTED_AND_NESTED)(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1, as an older mreg wrote it")
    (repo / CARD).write_text(good)  # mended, then a new version
    write(repo / "out" / "m.bin", b"version two")
    _ok(repo, "add", "m", "out/m.bin")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v2")
    done = run_mreg(repo, "push", "--all-versions", "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json["models"] == ["m v1", "m v2"]
    assert done.json["transferred"] == 2


def test_a_committed_card_whose_artifact_cannot_be_read_is_still_skipped(repo: Path) -> None:
    def break_oid(repo: Path) -> None:
        card = repo / CARD
        card.write_text(card.read_text().replace("oid: sha256:", "oid: sha257:"))

    oid = _old_card_on_a_branch(repo, break_oid, b"unknowable")
    assert _would_remove(repo) == [oid]  # nothing tells which blobs it needs
    _ok(repo, "gc")
    assert not blob_path(repo, oid).exists()


def test_a_work_tree_card_refused_today_still_stops_gc(repo: Path) -> None:
    _start(repo)
    write(repo / "out" / "m.bin", b"in the work tree")
    _ok(repo, "add", "m", "out/m.bin")
    _append(DOTTED_AND_NESTED)(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a card an older mreg wrote")
    done = run_mreg(repo, "gc")
    assert_error(done, 3, "cannot tell which blobs a card needs", hint="mend the card")
    assert blob_path(repo, sha(b"in the work tree")).is_file()


OID = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("artifact", "version", "expected"),
    [
        (
            f"{{path: out/m.bin, oid: '{OID}', kind: dir, size: 7, files: 2}}",
            "3",
            ("out/m.bin", 3, 7, 2),
        ),
        (f"{{path: out/.GIT/m.bin, oid: '{OID}', kind: file}}", "one", ("", 0, 0, 1)),
        (f"{{path: .mreg/cache/x, oid: '{OID}', kind: file, size: -1}}", "0", ("", 0, 0, 1)),
        (f"{{oid: '{OID}', kind: file, size: true, files: x}}", "2", ("", 2, 0, 1)),
    ],
)
def test_artifact_only_reads_what_it_can(
    artifact: str, version: str, expected: tuple[str, int, int, int]
) -> None:
    from mreg.card import artifact_only

    text = f"schema: 1\nname: A..B\nversion: {version}\nartifact: {artifact}\nmetrics: {{'': 1}}\n"
    card = artifact_only(text, "m", source="m.yaml")
    assert card.name == "m" and card.artifact.oid == OID
    got = (card.artifact.path, card.version, card.artifact.size, card.artifact.files)
    assert got == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("artifact: [", "invalid YAML"),
        ("- a list", "artifact: missing"),
        ("artifact: out/m.bin", "artifact: missing or not a mapping"),
        ("artifact: {oid: sha256:ab, kind: file}", "artifact.oid"),
        (f"artifact: {{oid: '{OID}', kind: blob}}", "artifact.kind"),
    ],
)
def test_artifact_only_refuses_what_tells_no_blob(text: str, reason: str) -> None:
    from mreg.card import artifact_only
    from mreg.errors import InvalidCard

    with pytest.raises(InvalidCard) as info:
        artifact_only(text, "m", source="m.yaml")
    assert info.value.message.startswith("m.yaml: ") and reason in info.value.message
