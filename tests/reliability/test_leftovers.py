"""What an interrupted run leaves, and how the next run deals with it (deterministic
guards for the defects the kill campaign found).

- Temp files of a writer that died (`.NAME.PID-HEX.tmp`, `.NAME.mreg-PID-HEX.tmp`, and a
  folder checkout's staging folder) are removed by the next add or checkout; those of a
  live process are left alone. Before the fix they stayed forever: beside a model file,
  `git status` showed them; inside a folder artifact they made the next checkout report
  a conflict, and the next `add` registered them as part of the model.
- A folder checkout is built beside its destination and swapped in whole: interrupted
  at any file, the folder is still the old version (before: a mix of both).
- `add` never writes a card that mreg cannot read back (before: params nested deeper
  than the reader allows produced a card every later command refused).
- `add --commit` killed between writing the card and committing it: the rerun commits
  and tags the version (before: committed, never tagged).
- A `.lock` file a killed git left is named in the error, with a hint (before: "git add
  failed: remove the file manually to continue.'", naming no file).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mreg import registry
from mreg.hashing import parse_manifest
from mreg.project import Project
from tests.helpers import Cli, git, write
from tests.reliability.support import card_texts, dir_digests, leftovers, oid_of, run

# `mreg.checkout` the attribute is the API function; the module is this:
checkout_mod = importlib.import_module("mreg.checkout")


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _commit(root: Path) -> None:
    git(root, "add", "-A", ".mreg", ".gitignore")
    git(root, "commit", "-q", "-m", "x")


def test_a_dead_writers_temp_files_go_with_the_next_run(mrepo: Path) -> None:
    root = mrepo
    write(root / "out" / "model.bin", b"v1")
    for i in range(3):
        write(root / "out" / "net" / f"part{i}.bin", f"part {i}")
    run(root, "add", "churn", "out/model.bin")
    run(root, "add", "net", "out/net")
    dead, alive = _dead_pid(), os.getpid()
    stale = [
        f".mreg/models/.churn.yaml.{dead}-0123abcd.tmp",  # a card being written
        f"..gitignore.{dead}-0123abcd.tmp",
        f"out/.model.bin.mreg-{dead}-0123456789ab.tmp",  # checkout of a file
        f"out/net/.part1.bin.mreg-{dead}-0123456789ab.tmp",  # in-place folder checkout
        f"out/.net.mreg-{dead}-0123456789ab.tmp/part0.bin",  # a staged folder
    ]
    live = [
        f".mreg/models/.churn.yaml.{alive}-0123abcd.tmp",
        f"out/.model.bin.mreg-{alive}-0123456789ab.tmp",
        "out/.model.bin.mreg-99999999999999999999-0123456789ab.tmp",  # not a pid
        "out/.model.bin.mreg-0-0123456789ab.tmp",
    ]
    for rel in stale + live:
        write(root / rel, b"half written")
    write(root / "out" / "model.bin", b"v2")

    run(root, "add", "churn", "out/model.bin")
    run(root, "add", "net", "out/net")
    run(root, "checkout", "churn", "net")

    names = {e.path for e in parse_manifest(_blob(root, "net"))}
    assert names == {"part0.bin", "part1.bin", "part2.bin"}, "a temp file was registered"
    assert sorted(leftovers(root)) == sorted(live), "stale temp files stayed (or live ones went)"


def _blob(root: Path, name: str) -> bytes:
    with Project.open(root) as project:
        card = registry.load_card(project, name)
        return project.store.read_bytes(card.artifact.oid)


def test_a_stale_temp_inside_a_folder_is_no_conflict(mrepo: Path) -> None:
    root = mrepo
    net = root / "out" / "net"
    write(net / "a.bin", b"a1")
    run(root, "add", "net", "out/net")
    _commit(root)
    write(net / "a.bin", b"a2")
    run(root, "add", "net", "out/net")
    _commit(root)
    write(net / f".a.bin.mreg-{_dead_pid()}-0123456789ab.tmp", b"a half-copied a")
    res = run(root, "checkout", "net@v1", ok=False)
    assert res.exit_code == 0, res.stderr
    assert dir_digests(net) == {"a.bin": oid_of(b"a1")}


@pytest.fixture
def two_folder_versions(repo: Path) -> Path:
    """`net` v1 (a, b, c, sub/d) committed, v2 (a, b changed; c gone; e new) in the card."""
    cli = Cli()
    net = repo / "out" / "net"
    for name, data in {"a": "a1", "b": "b1", "c": "c1", "sub/d": "d1"}.items():
        write(net / name, data)
    assert cli("add", "net", "out/net", "--commit").exit_code == 0
    (net / "c").unlink()
    for name, data in {"a": "a2", "b": "b2", "e": "e2"}.items():
        write(net / name, data)
    assert cli("add", "net", "out/net", "--commit").exit_code == 0
    return repo


@pytest.mark.parametrize("interrupt_at", [1, 2, 3])
def test_an_interrupted_folder_checkout_leaves_the_old_folder(
    two_folder_versions: Path, monkeypatch: pytest.MonkeyPatch, interrupt_at: int
) -> None:
    root = two_folder_versions
    net = root / "out" / "net"
    before = dir_digests(net)
    real_place = checkout_mod._place
    calls = []

    def place(*args: object, **kwargs: object) -> None:
        calls.append(args)
        if len(calls) == interrupt_at:
            raise KeyboardInterrupt  # the process dies here
        real_place(*args, **kwargs)

    monkeypatch.setattr(checkout_mod, "_place", place)
    from mreg.history import resolve
    from mreg.refs import parse_ref

    with Project.open(root) as project:
        card = resolve(project, parse_ref("net@v1")).card
        with pytest.raises(KeyboardInterrupt):
            checkout_mod.checkout_card(project, card)
    assert dir_digests(net) == before, "the folder is a mix of two versions"
    assert leftovers(root) == []
    monkeypatch.setattr(checkout_mod, "_place", real_place)
    with Project.open(root) as project:
        checkout_mod.checkout_card(project, card)
    assert dir_digests(net) == {
        p: oid_of(d.encode()) for p, d in {"a": "a1", "b": "b1", "c": "c1", "sub/d": "d1"}.items()
    }


def test_without_an_atomic_exchange_the_folder_is_updated_in_place(
    two_folder_versions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkout_mod, "_exchange", lambda a, b: False)
    res = Cli()("checkout", "net@v1")
    assert res.exit_code == 0, res.stderr
    net = two_folder_versions / "out" / "net"
    assert sorted(dir_digests(net)) == ["a", "b", "c", "sub/d"]
    assert leftovers(two_folder_versions) == []


def test_unchanged_files_are_linked_not_copied(two_folder_versions: Path) -> None:
    net = two_folder_versions / "out" / "net"
    inode = (net / "sub" / "d").stat().st_ino
    assert Cli()("checkout", "net@v1").exit_code == 0
    assert (net / "sub" / "d").stat().st_ino == inode


def test_add_never_writes_a_card_it_cannot_read(repo: Path) -> None:
    cli = Cli()
    write(repo / "out" / "model.bin", b"v1")
    assert cli("add", "churn", "out/model.bin").exit_code == 0
    before = card_texts(repo)
    deep: dict[str, object] = {"x": 1}
    for _ in range(70):
        deep = {"k": deep}
    for name, doc, why in (
        ("deep", deep, "nested deeper than 64 levels"),  # refused as given (card-spec 15)
        ("long", {"v": list(range(250_000))}, "unreadable"),  # refused as a whole card
    ):
        path = write(repo / f"{name}.json", json.dumps(doc))
        res = cli("add", "churn", "out/model.bin", "--params", str(path))
        assert res.exit_code == 3 and why in res.stderr, res.stderr
        assert card_texts(repo) == before
    res = cli("ls", "--json")
    assert res.exit_code == 0 and "broken" not in res.stdout, res.stdout


def test_a_rerun_of_an_interrupted_add_commit_tags_the_version(repo: Path) -> None:
    """Killed after writing the card, before committing it: the rerun finds the card
    unchanged, commits it, and must still tag the version (before: it never did)."""
    cli = Cli()
    write(repo / "out" / "model.bin", b"v1")
    assert cli("add", "churn", "out/model.bin", "--commit").exit_code == 0
    write(repo / "out" / "model.bin", b"v2")
    assert cli("add", "churn", "out/model.bin").exit_code == 0  # as if killed here
    res = cli("add", "churn", "out/model.bin", "--commit")
    assert res.exit_code == 0, res.stderr
    assert git(repo, "tag", "--list").split() == ["churn@v1", "churn@v2"]
    res = cli("add", "churn", "out/model.bin", "-m", "auc=0.9", "--commit")
    assert res.exit_code == 0, res.stderr  # new metadata, same version: no second tag
    assert git(repo, "tag", "--list").split() == ["churn@v1", "churn@v2"]


def test_a_rerun_of_an_add_commit_killed_before_its_tag_tags_the_version(repo: Path) -> None:
    """Killed after committing the card, before tagging it: the rerun has nothing to
    commit, and must still tag the version, on the commit that holds it."""
    cli = Cli()
    write(repo / "out" / "model.bin", b"v1")
    assert cli("add", "churn", "out/model.bin", "--commit").exit_code == 0
    write(repo / "out" / "model.bin", b"v2")
    assert cli("add", "churn", "out/model.bin").exit_code == 0
    git(repo, "add", ".mreg/models/churn.yaml")
    git(repo, "commit", "-qm", "mreg: churn v2")  # as if killed before `git tag`
    holds_v2 = git(repo, "rev-parse", "HEAD").strip()
    write(repo / "notes.txt", "later work\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-qm", "later work")
    res = cli("add", "churn", "out/model.bin", "--commit", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["tag"] == "churn@v2"
    assert git(repo, "rev-list", "-n1", "churn@v2").strip() == holds_v2
    res = cli("add", "churn", "out/model.bin", "--commit")  # tagged now: nothing to do
    assert res.exit_code == 0, res.stderr
    assert "Tagged" not in res.stderr
    assert git(repo, "tag", "--list").split() == ["churn@v1", "churn@v2"]
    git(repo, "tag", "-d", "churn@v2")
    res = cli("add", "churn", "out/model.bin", "--commit")  # the text says so too
    assert res.exit_code == 0, res.stderr
    assert "Tagged churn@v2 (its commit was already made)" in res.stderr


def test_a_lock_left_by_a_killed_git_is_named_with_a_hint(repo: Path) -> None:
    cli = Cli()
    write(repo / "out" / "model.bin", b"v1")
    (repo / ".git" / "index.lock").write_bytes(b"")  # git was killed mid-write
    res = cli("add", "churn", "out/model.bin", "--commit")
    assert res.exit_code == 3
    first, hint = res.stderr.splitlines()[:2]
    assert "index.lock" in first and "remove the file manually" not in first, first
    assert hint.startswith("hint: ") and ".lock" in hint, hint
    (repo / ".git" / "index.lock").unlink()  # what the hint says
    assert cli("add", "churn", "out/model.bin", "--commit").exit_code == 0
    assert git(repo, "tag", "--list").split() == ["churn@v1"]
