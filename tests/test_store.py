"""mreg.store: the content-addressed blob store (put, has, open, verify, iterate, faults)."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mreg import hashing, store
from mreg.errors import BlobCorrupt, BlobMissing, StorageError
from mreg.store import Store
from tests.helpers import sha


@pytest.fixture
def cache(tmp_path: Path) -> Store:
    return Store(tmp_path / "cache")


def _leftovers(s: Store) -> list[Path]:
    return sorted(s.partial_dir.iterdir()) if s.partial_dir.is_dir() else []


def test_layout_is_two_character_fan_out(cache: Store) -> None:
    oid = cache.put_bytes(b"hello")
    hexdigest = hashlib.sha256(b"hello").hexdigest()
    assert oid == "sha256:" + hexdigest
    path = cache.root / "sha256" / hexdigest[:2] / hexdigest[2:]
    assert cache.blob_path(oid) == path
    assert path.read_bytes() == b"hello"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert _leftovers(cache) == []


@given(data=st.binary(max_size=200))
def test_put_bytes_then_read_round_trip(cache: Store, data: bytes) -> None:
    oid = cache.put_bytes(data)
    assert oid == "sha256:" + hashlib.sha256(data).hexdigest()
    assert cache.has(oid)
    assert cache.read_bytes(oid) == data
    with cache.open(oid) as f:
        assert f.read() == data


@given(data=st.binary(max_size=100))
def test_put_stream_round_trip_across_chunks(
    cache: Store, monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    monkeypatch.setattr(hashing, "CHUNK", 8)
    oid, size = cache.put_stream(io.BytesIO(data))
    assert (oid, size) == ("sha256:" + hashlib.sha256(data).hexdigest(), len(data))
    assert cache.read_bytes(oid) == data
    assert _leftovers(cache) == []


def test_put_file(cache: Store, tmp_path: Path) -> None:
    src = tmp_path / "model.bin"
    src.write_bytes(b"\x00\x01" * 1000)
    oid, size = cache.put_file(src)
    assert (oid, size) == (sha(src.read_bytes()), 2000)
    assert cache.verify(oid)


def test_an_existing_blob_is_not_written_again(cache: Store) -> None:
    oid = cache.put_bytes(b"same bytes")
    before = os.stat(cache.blob_path(oid))
    assert cache.put_bytes(b"same bytes") == oid
    assert cache.put_stream(io.BytesIO(b"same bytes")) == (oid, 10)
    after = os.stat(cache.blob_path(oid))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert _leftovers(cache) == []


def test_missing_blob(cache: Store) -> None:
    oid = sha(b"never stored")
    assert not cache.has(oid)
    assert not cache.verify(oid)
    with pytest.raises(BlobMissing, match="not in the cache"):
        cache.open(oid)


def test_corrupt_blob_is_detected(cache: Store) -> None:
    oid = cache.put_bytes(b"good")
    path = cache.blob_path(oid)
    path.chmod(0o644)
    path.write_bytes(b"evil")
    assert cache.has(oid)
    assert not cache.verify(oid)
    with pytest.raises(BlobCorrupt, match="corrupt"):
        cache.read_bytes(oid)


def test_iterate_and_remove(cache: Store) -> None:
    oids = sorted(cache.put_bytes(bytes([i])) for i in range(5))
    # Stray files in the store are not blobs.
    (cache.root / "sha256" / "zz").mkdir()
    (cache.root / "sha256" / oids[0][7:9] / "short").write_bytes(b"")
    assert sorted(cache) == oids
    cache.remove(oids[0])
    cache.remove(oids[0])  # idempotent
    assert sorted(cache) == oids[1:]


def test_empty_store_iterates_nothing(cache: Store) -> None:
    assert list(cache) == []


# ---------------------------------------------------------------------------- faults
# Tests run as root in CI, where a read-only folder does not stop writes: the faults
# below are injected by monkeypatching os.replace / open / the copy in mreg.store.


def _no_final_blob(s: Store, data: bytes) -> None:
    assert not s.has(sha(data))
    assert _leftovers(s) == []


def test_no_space_while_writing_a_stream(cache: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(src: Any, dst: Any, depth: int = 4) -> tuple[str, int]:
        dst.write(src.read(3))  # part of it went out, then the disk filled up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "copy_hashing", full_disk)
    with pytest.raises(StorageError, match="no space left on device") as info:
        cache.put_stream(io.BytesIO(b"model bytes"))
    assert info.value.hint == "free disk space"
    _no_final_blob(cache, b"model bytes")


def test_no_space_at_rename(cache: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def replace(src: Any, dst: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.os, "replace", replace)
    with pytest.raises(StorageError, match="no space left"):
        cache.put_bytes(b"model bytes")
    with pytest.raises(StorageError, match="no space left"):
        cache.put_stream(io.BytesIO(b"model bytes"))
    _no_final_blob(cache, b"model bytes")


def test_permission_denied_creating_the_temp_file(
    cache: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = open

    def deny(path: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        if "x" in mode:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, mode, *args, **kw)

    real_os_open = os.open

    def deny_os(path: Any, flags: int, *args: Any, **kw: Any) -> int:
        if flags & os.O_EXCL:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_os_open(path, flags, *args, **kw)

    monkeypatch.setattr("builtins.open", deny)  # put_stream's temp file
    monkeypatch.setattr(os, "open", deny_os)  # put_bytes' (plain os calls)
    for put in (cache.put_bytes, lambda data: cache.put_stream(io.BytesIO(data))):
        with pytest.raises(StorageError, match="permission denied") as info:
            put(b"model bytes")
        assert "cache.dir" in (info.value.hint or "")
        _no_final_blob(cache, b"model bytes")


def test_permission_denied_when_writing(cache: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    class Denied(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            raise OSError(errno.EACCES, "Permission denied")

    real_temp = cache._temp

    def temp() -> tuple[Any, Path]:
        out, tmp = real_temp()
        out.close()
        return Denied(), tmp

    real_write = os.write

    def write(fd: int, data: Any) -> int:
        if fd > 2:  # put_bytes writes its temp file with os.write
            raise OSError(errno.EACCES, "Permission denied")
        return real_write(fd, data)

    monkeypatch.setattr(cache, "_temp", temp)
    monkeypatch.setattr(os, "write", write)
    with pytest.raises(StorageError, match="permission denied"):
        cache.put_bytes(b"abc")
    with pytest.raises(StorageError, match="permission denied"):
        cache.put_stream(io.BytesIO(b"abc"))
    _no_final_blob(cache, b"abc")
    assert not list((cache.root / "partial").iterdir())  # no temp file left behind


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_read_only_cache_folder(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    root.mkdir()
    root.chmod(0o555)
    try:
        with pytest.raises(StorageError, match="permission denied"):
            Store(root).put_bytes(b"abc")
    finally:
        root.chmod(0o755)
    assert not Store(root).has(sha(b"abc"))


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o277])
def test_blobs_are_0444_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        store_ = Store(tmp_path / "cache")
        small = [store_.put_bytes(b"small %d" % i) for i in range(3)]
        big = store_.put_stream(io.BytesIO(os.urandom(5 * 1024 * 1024)))[0]
    finally:
        os.umask(old)
    for oid in [*small, big]:
        assert stat.S_IMODE(store_.blob_path(oid).stat().st_mode) == 0o444
