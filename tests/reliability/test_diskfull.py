"""Campaign 4: full disks and read-only file systems, for real.

Small tmpfs mounts are filled while `add` and `checkout` write; read-only bind mounts
stand for a cache or folder mreg may not write (as root, chmod would not stop a write).
Each case wants a one-line error (exit 3), nothing half-written, the card unchanged, no
temp file left, and the space given back. The mounts are undone at teardown; on a
machine that does not allow mounting, these tests skip (the in-process fault injection
of tests/test_bad_input.py and tests/test_store.py still covers the error paths).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.helpers import git, write
from tests.reliability.conftest import fill
from tests.reliability.support import (
    MIB,
    STATS,
    CacheChecker,
    Payload,
    card_texts,
    dir_digests,
    leftovers,
    oid_of,
    oid_of_file,
    partials,
    run,
    write_bytes,
)

Mount = Callable[..., Path]


def _free(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def _refused(res: object, *words: str) -> str:
    rc, stderr = res.exit_code, res.stderr  # type: ignore[attr-defined]
    assert rc == 3, (rc, stderr)
    lines = stderr.splitlines()
    assert lines[0].startswith("mreg: error: ") and "Traceback" not in stderr, stderr
    for word in words:
        assert word in stderr, (word, stderr)
    return stderr


def _commit(root: Path, message: str) -> None:
    git(root, "add", "-A", *[p for p in (".mreg", ".gitignore") if (root / p).exists()])
    git(root, "commit", "-q", "-m", message)


def _repo(root: Path, cache: Path | None = None) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q")
    run(root, "init")
    if cache is not None:
        write(root / ".mreg" / "config.local.yaml", f"cache:\n  dir: {cache}\n")
    _commit(root, "init")
    return root


def test_the_cache_fills_up_during_add(tmp_path: Path, mounts: Mount) -> None:
    cache = mounts(tmp_path / "cache", size_mib=8)
    root = _repo(tmp_path / "repo", cache)
    payload = Payload(16 * MIB, "full-cache")
    art = root / "out" / "model.bin"
    write_bytes(art, payload.variant(0)[: 1 * MIB])
    run(root, "add", "churn", "out/model.bin")
    _commit(root, "churn v1")
    before, free = card_texts(root), _free(cache)

    write_bytes(art, payload.variant(1))  # 16 MiB into 7 free
    _refused(run(root, "add", "churn", "out/model.bin", ok=False), "no space left")

    assert card_texts(root) == before, "the card changed"
    assert partials(cache) == [] and leftovers(root) == []
    CacheChecker(cache).check()
    assert _free(cache) >= free, "the half-written blob still takes space"
    write_bytes(art, payload.variant(2)[: 2 * MIB])  # one that fits goes in
    run(root, "add", "churn", "out/model.bin")
    assert oid_of(payload.variant(2)[: 2 * MIB]) in CacheChecker(cache).check()
    STATS["disk: cache full during add"]["cases"] += 1


def test_the_work_tree_fills_up_during_checkout(tmp_path: Path, mounts: Mount) -> None:
    fs = mounts(tmp_path / "fs", size_mib=40)
    root = _repo(fs / "repo", tmp_path / "cache")
    payload = Payload(12 * MIB, "full-worktree")
    art = root / "out" / "model.bin"
    net = root / "out" / "net"
    small = payload.variant(1)[:MIB]
    write_bytes(art, small)
    for i in range(3):
        write_bytes(net / f"part{i}.bin", payload.variant(10 + i)[:MIB])
    run(root, "add", "churn", "out/model.bin")
    run(root, "add", "net", "out/net")
    _commit(root, "v1")
    net_v1 = dir_digests(net)
    write_bytes(art, payload.variant(2))
    for i in range(3):
        write_bytes(net / f"part{i}.bin", payload.variant(20 + i)[: 4 * MIB])
    run(root, "add", "churn", "out/model.bin")
    run(root, "add", "net", "out/net")
    _commit(root, "v2")
    run(root, "checkout", "churn@v1", "net@v1")
    filler = fill(fs, leave=6 * MIB)
    try:
        cards = card_texts(root)
        _refused(run(root, "checkout", "churn@v2", ok=False), "no space left")
        assert oid_of_file(art) == oid_of(small), "the artifact was half replaced"
        stderr = _refused(run(root, "checkout", "net@v2", ok=False), "no space left")
        assert ".tmp" not in stderr and "out/net/part" in stderr, "names a temp path"
        assert dir_digests(net) == net_v1, "the folder is a mix of versions"
        assert card_texts(root) == cards and leftovers(root) == []
    finally:
        filler.unlink()
    run(root, "checkout", "churn@v2", "net@v2")
    assert oid_of_file(art) == oid_of(payload.variant(2))
    STATS["disk: work tree full during checkout"]["cases"] += 2


def test_a_full_disk_never_leaves_a_half_card(tmp_path: Path, mounts: Mount) -> None:
    fs = mounts(tmp_path / "fs", size_mib=8)
    root = _repo(fs / "repo", tmp_path / "cache")
    art = root / "out" / "model.bin"
    write_bytes(art, b"v1")
    run(root, "add", "churn", "out/model.bin", "-d", "first")
    _commit(root, "v1")
    write_bytes(art, b"v2")
    before = card_texts(root)
    gitignore = (root / ".gitignore").read_bytes()
    # Room for git's index.lock, none for a card of 300 kB: only the card write fails.
    params = write(tmp_path / "params.yaml", "notes: " + "x" * 300_000 + "\n")
    filler = fill(fs, leave=64 * 1024)
    try:
        stderr = _refused(
            run(root, "add", "churn", "out/model.bin", "--params", str(params), ok=False),
            "no space left",
        )
        assert "churn.yaml" in stderr, stderr
        assert card_texts(root) == before, "the card changed on a full disk"
        assert (root / ".gitignore").read_bytes() == gitignore
        assert leftovers(root) == []
    finally:
        filler.unlink()
    run(root, "add", "churn", "out/model.bin")
    STATS["disk: card on a full disk"]["cases"] += 1


def test_a_read_only_cache(mrepo: Path, mounts: Mount) -> None:
    root = mrepo
    art = root / "out" / "model.bin"
    write_bytes(art, b"v1")
    run(root, "add", "churn", "out/model.bin")
    _commit(root, "v1")
    cache = mounts(root / ".mreg" / "cache", bind_ro=True)
    before = card_texts(root)
    write_bytes(art, b"v2")
    _refused(run(root, "add", "churn", "out/model.bin", ok=False), "read-only")
    assert card_texts(root) == before
    # Reading from a read-only cache works: checkout, verify.
    art.unlink()
    run(root, "checkout", "churn")
    assert art.read_bytes() == b"v1"
    run(root, "verify")
    assert oid_of(b"v2") not in CacheChecker(cache).check()
    STATS["disk: read-only cache"]["cases"] += 1


def test_a_read_only_work_tree_folder(mrepo: Path, mounts: Mount) -> None:
    root = mrepo
    art = root / "out" / "model.bin"
    write_bytes(art, b"v1")
    run(root, "add", "churn", "out/model.bin")
    _commit(root, "v1")
    write_bytes(art, b"v2")
    run(root, "add", "churn", "out/model.bin")
    _commit(root, "v2")
    mounts(root / "out", bind_ro=True)
    _refused(run(root, "checkout", "churn@v1", ok=False), "read-only")
    assert art.read_bytes() == b"v2"
    assert leftovers(root) == []
    STATS["disk: read-only work tree"]["cases"] += 1


def test_a_read_only_models_folder(mrepo: Path, mounts: Mount) -> None:
    root = mrepo
    art = root / "out" / "model.bin"
    write_bytes(art, b"v1")
    run(root, "add", "churn", "out/model.bin")
    _commit(root, "v1")
    mounts(root / ".mreg" / "models", bind_ro=True)
    before = card_texts(root)
    write_bytes(art, b"v2")
    _refused(run(root, "add", "churn", "out/model.bin", ok=False), "read-only")
    assert card_texts(root) == before
    STATS["disk: read-only models folder"]["cases"] += 1
