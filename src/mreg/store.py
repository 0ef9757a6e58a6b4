"""The content-addressed blob store (the cache): put, has, open, verify, iterate, remove.

Layer: storage, above hashing. Blobs live at `<root>/sha256/ab/cdef...` (two-character
fan-out), read-only. Every write goes to a temporary file under `<root>/partial/` (same
file system), is hashed while written, and is renamed to the digest of what was written:
a reader never sees half a blob, and a crash leaves only a temp file that `gc` removes.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from mreg.errors import BlobCorrupt, BlobMissing, StorageError
from mreg.hashing import ALGO, copy_hashing, hash_file, oid_hex, oid_of_bytes

READ_ONLY = 0o444


def _oid_parts(oid: str) -> tuple[str, str]:
    hexdigest = oid_hex(oid)
    return hexdigest[:2], hexdigest[2:]


def storage_error(exc: OSError, where: Path | str) -> StorageError:
    """Turn an OSError from a write into a clear, one-line StorageError."""
    if exc.errno == errno.ENOSPC:
        return StorageError(f"no space left on device writing {where}", hint="free disk space")
    if exc.errno == errno.EDQUOT:
        return StorageError(f"disk quota exceeded writing {where}", hint="free disk space")
    if exc.errno == errno.EROFS:
        return StorageError(
            f"permission denied writing {where}: the file system is read-only",
            hint="remount it read-write, or point cache.dir in .mreg/config.yaml elsewhere",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return StorageError(
            f"permission denied writing {where}",
            hint="check the permissions of the cache folder (cache.dir in .mreg/config.yaml)",
        )
    return StorageError(f"cannot write {where}: {exc.strerror or exc}")


class Store:
    """A blob store rooted at a folder. Methods are safe to call from several threads."""

    def __init__(self, root: Path, fsync: bool = False) -> None:
        self.root = root
        self.fsync = fsync
        # Temp names: pid + a token of this Store + a counter, unique without a getrandom
        # per blob (thousands of small files).
        self._token = uuid.uuid4().hex[:16]
        self._names = itertools.count()

    @property
    def partial_dir(self) -> Path:
        return self.root / "partial"

    def blob_path(self, oid: str) -> Path:
        return Path(self._blob_str(oid))

    def _blob_str(self, oid: str) -> str:
        # Plain strings on the per-blob paths: pathlib costs more than storing a 1 KiB file.
        head, tail = _oid_parts(oid)
        return f"{os.fspath(self.root)}/{ALGO}/{head}/{tail}"

    def has(self, oid: str) -> bool:
        return os.path.isfile(self._blob_str(oid))

    def size(self, oid: str) -> int:
        """Bytes of a stored blob (0 when it is not stored)."""
        try:
            return os.stat(self._blob_str(oid)).st_size
        except OSError:
            return 0

    def _temp(self) -> tuple[BinaryIO, Path]:
        partial = os.path.join(self.root, "partial")
        tmp = f"{partial}/{os.getpid()}-{self._token}-{next(self._names)}.tmp"
        try:
            try:
                return open(tmp, "xb", buffering=0), Path(tmp)
            except FileNotFoundError:  # no partial/ yet: made on demand, not per blob
                os.makedirs(partial, exist_ok=True)
                return open(tmp, "xb", buffering=0), Path(tmp)
        except OSError as exc:
            raise storage_error(exc, self.partial_dir) from None

    def _commit(self, tmp: Path, oid: str) -> None:
        """Move a fully written temp file to its final name, read-only."""
        final = self._blob_str(oid)
        try:
            if os.path.isfile(final):
                os.unlink(tmp)  # someone stored the same bytes already
                return
            os.chmod(tmp, READ_ONLY)
            try:
                os.replace(tmp, final)
            except FileNotFoundError:  # a new fan-out folder: made on demand, not per blob
                os.makedirs(os.path.dirname(final), exist_ok=True)
                os.replace(tmp, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise storage_error(exc, final) from None

    def put_stream(self, src: BinaryIO) -> tuple[str, int]:
        """Store everything readable from src; return (oid, size) of what was written."""
        out, tmp = self._temp()
        try:
            with out:
                oid, size = copy_hashing(src, out)
                if self.fsync:
                    os.fsync(out.fileno())
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if exc.filename is None and exc.errno in (errno.ENOSPC, errno.EACCES, errno.EDQUOT):
                raise storage_error(exc, self.root) from None
            raise
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self._commit(tmp, oid)
        return oid, size

    def put_file(self, path: Path) -> tuple[str, int]:
        """Store a file's bytes (one read pass, hashing while writing)."""
        with open(path, "rb", buffering=0) as src:
            return self.put_stream(src)

    def put_bytes(self, data: bytes) -> str:
        """Store a small in-memory blob (a manifest, a small file) unless already present."""
        oid = oid_of_bytes(data)
        if self.has(oid):
            return oid
        out, tmp = self._temp()
        try:
            with out:
                out.write(data)
                if self.fsync:
                    os.fsync(out.fileno())
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise storage_error(exc, self.root) from None
        self._commit(tmp, oid)
        return oid

    def open(self, oid: str) -> BinaryIO:
        """Open a blob for reading; BlobMissing if absent."""
        try:
            return open(self.blob_path(oid), "rb", buffering=0)
        except FileNotFoundError:
            raise BlobMissing(
                f"blob {oid} is not in the cache", hint="mreg pull, or mreg add again"
            ) from None

    def read_bytes(self, oid: str) -> bytes:
        """Read a small blob whole and check its digest (manifests)."""
        with self.open(oid) as f:
            data = f.read()
        if oid_of_bytes(data) != oid:
            raise BlobCorrupt(f"blob {oid} in the cache is corrupt", hint="mreg verify")
        return data

    def verify(self, oid: str) -> bool:
        """Re-hash a stored blob: True if present and intact."""
        try:
            return hash_file(self.blob_path(oid))[0] == oid
        except OSError:
            return False

    def __iter__(self) -> Iterator[str]:
        """Every oid stored (by file name; `verify` checks the bytes)."""
        base = self.root / ALGO
        if not base.is_dir():
            return
        for head in sorted(os.listdir(base)):
            if len(head) != 2 or not (base / head).is_dir():
                continue
            for tail in sorted(os.listdir(base / head)):
                oid = f"{ALGO}:{head}{tail}"
                if len(tail) == 62:
                    yield oid

    def remove(self, oid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.blob_path(oid).unlink()
