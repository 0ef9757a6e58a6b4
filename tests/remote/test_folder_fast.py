"""Folder remotes (file://) move blobs with plain os calls (mreg.folderremote): round
trips through the CLI, corrupt bytes refused both ways, no temp file left behind, and
progress per chunk."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest
from tests.helpers import Cli, cache_blobs, git, modules_imported_by, partial_leftovers, write

from mreg.config import RemoteSpec
from mreg.errors import BlobCorrupt, RemoteNotFound
from mreg.hashing import oid_of_bytes
from mreg.remote import PROGRESS_STEP, Remote
from mreg.store import Store

BIG = 9 * 1024 * 1024 + 123  # several chunks and a tail
SMALL_FILES = 300


def remote_files(root: Path) -> dict[str, bytes]:
    """Blob files on a folder remote: oid -> bytes."""
    base = root / "sha256"
    return {
        f"sha256:{p.parent.name}{p.name}": p.read_bytes() for p in base.glob("*/*") if p.is_file()
    }


def remote_partials(root: Path) -> list[Path]:
    base = root / "partial"
    return sorted(base.iterdir()) if base.is_dir() else []


def cache_oids(root: Path) -> set[str]:
    return {f"sha256:{p.parent.name}{p.name}" for p in cache_blobs(root)}


@pytest.fixture
def folder_repo(repo: Path, cli: Cli, tmp_path: Path) -> tuple[Path, Path]:
    """A repo with a folder model of many small files plus one multi-chunk file, and a
    folder remote as its default; (repo, remote folder)."""
    for i in range(SMALL_FILES):
        write(repo / "many" / f"d{i % 7}" / f"f{i}.bin", os.urandom(1024 + i))
    write(repo / "many" / "big.bin", os.urandom(BIG))
    write(repo / "many" / "empty.txt", b"")
    assert cli("add", "many", "many").exit_code == 0
    dest = tmp_path / "folder-remote"
    res = cli("remote", "add", "origin", str(dest), "-d")
    assert res.exit_code == 0, res.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "models")
    return repo, dest


def clone_of(repo: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(dest))
    return dest


def test_push_pull_round_trip_of_many_small_and_one_big_blob(
    folder_repo: tuple[Path, Path], cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, dest = folder_repo
    res = cli("push")
    assert res.exit_code == 0, res.stderr
    pushed = remote_files(dest)
    assert set(pushed) == cache_oids(repo)
    assert all(oid_of_bytes(data) == oid for oid, data in pushed.items())
    assert not remote_partials(dest)
    assert cli("push").exit_code == 0  # nothing left to do

    clone = clone_of(repo, tmp_path)
    monkeypatch.chdir(clone)
    res = cli("pull", "-j", "3")
    assert res.exit_code == 0, res.stderr
    for p in (repo / "many").rglob("*"):
        if p.is_file():
            assert (clone / p.relative_to(repo)).read_bytes() == p.read_bytes()
    assert cache_oids(clone) == set(pushed)
    assert not partial_leftovers(clone)


def test_folder_transfers_do_not_import_fsspec(
    folder_repo: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, dest = folder_repo
    assert modules_imported_by(repo, ["push"], ("fsspec",)) == []
    assert modules_imported_by(repo, ["push"], ("fsspec",)) == []  # up to date: probes only
    assert remote_files(dest)
    clone = clone_of(repo, tmp_path)
    assert modules_imported_by(clone, ["pull"], ("fsspec",)) == []
    assert (clone / "many" / "big.bin").read_bytes() == (repo / "many" / "big.bin").read_bytes()
    assert modules_imported_by(clone, ["status", "--remote"], ("fsspec",)) == []


def test_tampered_remote_blob_is_refused_on_pull(
    folder_repo: tuple[Path, Path], cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, dest = folder_repo
    assert cli("push").exit_code == 0
    big = oid_of_bytes((repo / "many" / "big.bin").read_bytes())
    small = oid_of_bytes((repo / "many" / "d0" / "f0.bin").read_bytes())
    for oid in (big, small):
        path = dest / "sha256" / oid[7:9] / oid[9:]
        path.chmod(0o644)
        path.write_bytes(path.read_bytes()[:-1] + b"!")  # same size, other bytes

    clone = clone_of(repo, tmp_path)
    monkeypatch.chdir(clone)
    res = cli("pull")
    assert res.exit_code == 4, res.stderr
    assert "did not match their digest" in res.stderr
    assert not {big, small} & cache_oids(clone)
    assert not partial_leftovers(clone)
    assert not (clone / "many").exists()


def test_corrupt_cache_blob_is_refused_on_push(folder_repo: tuple[Path, Path], cli: Cli) -> None:
    repo, dest = folder_repo
    bad = []
    for name in ("big.bin", "d1/f1.bin"):
        oid = oid_of_bytes((repo / "many" / name).read_bytes())
        blob = repo / ".mreg" / "cache" / "sha256" / oid[7:9] / oid[9:]
        blob.chmod(0o644)
        blob.write_bytes(b"rot" + blob.read_bytes()[3:])
        bad.append(oid)
    res = cli("push")
    assert res.exit_code == 4, res.stderr
    assert "are corrupt in the local cache" in res.stderr  # not blamed on the remote
    on_remote = remote_files(dest)
    assert not set(bad) & set(on_remote)
    assert all(oid_of_bytes(data) == oid for oid, data in on_remote.items())
    assert not remote_partials(dest)


# ------------------------------------------------------------------- the Remote itself


@pytest.fixture
def big(tmp_path: Path) -> tuple[Store, str]:
    store = Store(tmp_path / "cache")
    return store, store.put_bytes(os.urandom(BIG))


def folder_remote(tmp_path: Path) -> Remote:
    return Remote(RemoteSpec("origin", str(tmp_path / "store")), tmp_path)


def assert_per_chunk(calls: list[int], total: int = BIG) -> None:
    assert sum(calls) == total
    assert len(calls) >= 2, calls
    assert all(n >= PROGRESS_STEP for n in calls[:-1]), calls


@pytest.mark.parametrize("verify", [True, False])
def test_progress_per_chunk_both_ways(big: tuple[Store, str], tmp_path: Path, verify: bool) -> None:
    store, oid = big
    with folder_remote(tmp_path) as r:
        up: list[int] = []
        assert r.upload(oid, store.blob_path(oid), up.append, verify=verify) == BIG
        assert_per_chunk(up)
        other = Store(tmp_path / "other")
        down: list[int] = []
        assert r.download(oid, other, down.append) == BIG
        assert_per_chunk(down)
        assert other.verify(oid)
        to: list[int] = []
        buf = io.BytesIO(b"old bytes to be replaced")
        assert r.download_to(oid, buf, to.append) == oid
        assert_per_chunk(to)
        assert buf.getvalue() == store.blob_path(oid).read_bytes()
    assert not remote_partials(tmp_path / "store")
    assert not list((tmp_path / "other" / "partial").iterdir())


def test_small_blobs_and_read_bytes(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    data = {n: os.urandom(n) for n in (0, 1, 1024, 1024 * 1024, 1024 * 1024 + 1)}
    oids = {n: store.put_bytes(d) for n, d in data.items()}
    other = Store(tmp_path / "other")
    with folder_remote(tmp_path) as r:
        for n, oid in oids.items():
            calls: list[int] = []
            assert r.upload(oid, store.blob_path(oid), calls.append) == n
            assert sum(calls) == n
            assert r.read_bytes(oid) == data[n]
            assert r.download(oid, other) == n
            assert r.download(oid, other) == 0  # already there
            assert other.blob_path(oid).read_bytes() == data[n]
        assert set(r.list_blobs()) == set(oids.values())
        with pytest.raises(Exception, match="larger than 10 bytes"):
            r.read_bytes(oids[1024], limit=10)
        missing = oid_of_bytes(b"never pushed")
        with pytest.raises(RemoteNotFound):
            r.download(missing, other)
        with pytest.raises(RemoteNotFound):
            r.read_bytes(missing)
    assert not remote_partials(tmp_path / "store")


def test_corrupt_blobs_leave_nothing_behind(big: tuple[Store, str], tmp_path: Path) -> None:
    store, oid = big
    blob = store.blob_path(oid)
    good = blob.read_bytes()
    blob.chmod(0o644)
    blob.write_bytes(b"x" + good[1:])
    with folder_remote(tmp_path) as r:
        with pytest.raises(BlobCorrupt, match="in the cache is corrupt"):
            r.upload(oid, blob)
        assert not (tmp_path / "store" / "sha256" / oid[7:9] / oid[9:]).exists()
        assert not remote_partials(tmp_path / "store")
        # The caller vouches (verify=False): copied as is; download then refuses it.
        assert r.upload(oid, blob, verify=False) == BIG
        other = Store(tmp_path / "other")
        with pytest.raises(BlobCorrupt, match="is corrupt: its bytes hash to"):
            r.download(oid, other)
        assert not other.has(oid)
        assert not list((tmp_path / "other" / "partial").iterdir())


def test_preferred_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mreg.remote import default_jobs

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert folder_remote(tmp_path).preferred_jobs == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert folder_remote(tmp_path).preferred_jobs == 4
    assert Remote(RemoteSpec("o", "memory://x")).preferred_jobs == default_jobs()


def test_access_denied_on_a_folder_remote_points_at_its_permissions(tmp_path: Path) -> None:
    """Not at cloud credentials: root ignores chmod, so the error is built directly."""
    denied = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "store" / "x"))
    err = Remote(RemoteSpec("origin", str(tmp_path / "store")), tmp_path).error(denied, "writing")
    assert err.code == "remote-auth" and err.hint is not None
    assert "folder's permissions" in err.hint and "AWS" not in err.hint
    err = Remote(RemoteSpec("o", "memory://x")).error(denied, "writing")
    assert err.hint is not None and "AWS_*" in err.hint  # other remotes: credentials


_ORPHAN = """
import asyncio, gc, logging, sys
from mreg import remote
if sys.argv[1] == "quiet":
    remote._quiet_orphaned_tasks()

from asyncssh.misc import ConnectionLost

async def write_part():
    raise ConnectionLost("Connection lost")

async def users_own():
    raise ValueError("a training script's own orphaned task")

loop = asyncio.new_event_loop()
tasks = [loop.create_task(write_part()), loop.create_task(users_own())]
loop.run_until_complete(asyncio.sleep(0.01))
del tasks
gc.collect()
loop.close()
logging.getLogger("asyncio").error("another asyncio error")
"""


@pytest.mark.parametrize("quiet", [True, False])
def test_a_lost_connections_orphaned_tasks_print_no_traceback(quiet: bool) -> None:
    """sftp: asyncssh's parallel writes fail after the transfer raised (and mreg said so
    in one line); asyncio would log each one with a traceback when it is collected."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _ORPHAN, "quiet" if quiet else "loud"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "another asyncio error" in done.stderr  # only asyncssh's orphans are dropped
    assert "a training script's own orphaned task" in done.stderr
    assert ("ConnectionLost" in done.stderr) is not quiet
