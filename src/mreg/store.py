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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from mreg.errors import BlobCorrupt, BlobMissing, StorageError
from mreg.fsutil import write_all
from mreg.hashing import ALGO, copy_hashing, hash_file, is_oid, oid_hex, oid_of_bytes

READ_ONLY = 0o444
# has_many lists a fan-out folder when it wants at least _LIST_FROM oids from it, and reads
# at most _LIST_PER_OID entries per oid wanted (an entry listed costs far less than a stat).
_LIST_FROM = 4
_LIST_PER_OID = 8
_fchmod = getattr(os, "fchmod", None)
_CREATE = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)
_AT = len(ALGO) + 1  # in an oid, "sha256:" and then the fan-out folder's two digits


def _oid_parts(oid: str) -> tuple[str, str]:
    hexdigest = oid_hex(oid)
    return hexdigest[:2], hexdigest[2:]


def _open_new(tmp: str, mode: int) -> int:
    """Create temp file tmp (it must not exist) for writing; partial/ is made on demand,
    not per blob."""
    try:
        return os.open(tmp, _CREATE, mode)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(tmp), exist_ok=True)
        return os.open(tmp, _CREATE, mode)


def _discard(tmp: str) -> None:
    """Remove a temp file, read-only or not (Windows refuses to delete a read-only one)."""
    try:
        os.unlink(tmp)
    except PermissionError:
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o600)
            os.unlink(tmp)
    except OSError:
        pass


def storage_error(exc: OSError, where: Path | str) -> StorageError:
    """Turn an OSError from a write into a clear, one-line StorageError."""
    if exc.errno == errno.ENOSPC:
        return StorageError(f"no space left on device writing {where}", hint="free disk space")
    if exc.errno == errno.EDQUOT:
        return StorageError(f"disk quota exceeded writing {where}", hint="free disk space")
    if exc.errno == errno.EROFS:
        return StorageError(
            f"permission denied writing {where}: the file system is read-only",
            hint="remount it read-write (for the cache: or point cache.dir in"
            " .mreg/config.yaml elsewhere)",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return StorageError(
            f"permission denied writing {where}",
            hint="check the permissions of that folder (for the cache: cache.dir in"
            " .mreg/config.yaml says where it is)",
        )
    return StorageError(f"cannot write {where}: {exc.strerror or exc}")


class Store:
    """A blob store rooted at a folder. Methods are safe to call from several threads."""

    def __init__(self, root: Path, fsync: bool = False) -> None:
        self.root = root
        self.fsync = fsync
        # Temp names: pid + a token of this Store + a counter, unique without a getrandom
        # per blob (thousands of small files).
        self._token = os.urandom(8).hex()  # not uuid: importing it costs ~3 ms
        self._names = itertools.count()
        self._umask_hides: bool | None = None  # see _create_read_only

    @property
    def partial_dir(self) -> Path:
        return self.root / "partial"

    def blob_path(self, oid: str) -> Path:
        return Path(self._blob_str(oid))

    def blob_str(self, oid: str) -> str:
        """blob_path as a str: for per-blob loops, where pathlib costs more than storing
        a 1 KiB file."""
        return self._blob_str(oid)

    def _blob_str(self, oid: str) -> str:
        head, tail = _oid_parts(oid)
        return f"{os.fspath(self.root)}/{ALGO}/{head}/{tail}"

    def _blob_str_of_digest(self, oid: str) -> str:
        """_blob_str of an oid this process computed (well-formed: not checked again)."""
        return f"{os.fspath(self.root)}/{ALGO}/{oid[_AT : _AT + 2]}/{oid[_AT + 2 :]}"

    def has(self, oid: str) -> bool:
        return os.path.isfile(self._blob_str(oid))

    def has_many(self, oids: Iterable[str]) -> set[str]:
        """The oids among `oids` that are stored: has() of each, for many at once.

        Where several are wanted from one fan-out folder, one listing of it answers for
        them all instead of a stat each. A listing is read only so far: past a few
        entries per oid wanted (a big shared cache) the rest are asked one by one, so it
        never costs much more than has() of each.
        """
        oids = list(oids)
        if not all(map(is_oid, oids)):
            for oid in oids:
                oid_hex(oid)  # raises ValueError for the first malformed one, as has()
        wanted: dict[str, dict[str, str]] = {}
        for oid in oids:
            wanted.setdefault(oid[_AT : _AT + 2], {})[oid[_AT + 2 :]] = oid
        base = f"{os.fspath(self.root)}/{ALGO}"
        found: set[str] = set()
        for head, tails in wanted.items():
            folder = f"{base}/{head}"
            if len(tails) >= _LIST_FROM:
                try:
                    with os.scandir(folder) as listing:
                        for entry in itertools.islice(listing, _LIST_PER_OID * len(tails)):
                            hit = tails.get(entry.name)
                            if hit is not None and entry.is_file():  # as has(): follows links
                                found.add(hit)
                        if next(listing, None) is None:
                            continue  # listed whole: the others are not there
                except FileNotFoundError:
                    continue  # no such fan-out folder: none of them is stored
                except OSError:
                    pass  # cannot list it (permissions): ask for each
            found.update(
                oid
                for tail, oid in tails.items()
                if oid not in found and os.path.isfile(f"{folder}/{tail}")
            )
        return found

    @staticmethod
    def fanout_heads(oids: Iterable[str]) -> str:
        """The fan-out folders that oids live in, as their two-digit names joined."""
        return "".join(sorted({oid[_AT : _AT + 2] for oid in oids}))

    def fanout_stats(self, heads: str) -> list[os.stat_result] | None:
        """The stat of each fan-out folder fanout_heads named (a blob added to or removed
        from a folder changes its mtime); None when one of them is missing."""
        base = f"{os.fspath(self.root)}/{ALGO}"
        try:
            return [os.stat(f"{base}/{heads[i : i + 2]}") for i in range(0, len(heads), 2)]
        except OSError:
            return None

    def size(self, oid: str) -> int:
        """Bytes of a stored blob (0 when it is not stored)."""
        try:
            return os.stat(self._blob_str(oid)).st_size
        except OSError:
            return 0

    def _temp_name(self) -> str:
        return f"{os.fspath(self.root)}/partial/{os.getpid()}-{self._token}-{next(self._names)}.tmp"

    def _create_read_only(self, tmp: str) -> int:
        """A new temp file, open for writing though created read-only: the fd keeps the
        access it was opened with, and no chmod is needed before the rename. Unless the
        umask takes bits of READ_ONLY away (a blob is 0o444 whatever the umask): the
        first file tells, and from then on each gets a chmod."""
        fd = _open_new(tmp, READ_ONLY)
        try:
            if self._umask_hides is None:
                self._umask_hides = os.fstat(fd).st_mode & 0o777 != READ_ONLY
            if self._umask_hides and _fchmod is not None:
                _fchmod(fd, READ_ONLY)
        except OSError:
            os.close(fd)
            raise
        return fd

    def _temp(self) -> tuple[BinaryIO, Path]:
        tmp = self._temp_name()
        try:
            return os.fdopen(_open_new(tmp, 0o666), "wb", buffering=0), Path(tmp)
        except OSError as exc:
            raise storage_error(exc, self.partial_dir) from None

    def _finish(self, out: BinaryIO) -> bool:
        """Before a temp file is closed: fsync it if configured, and make it read-only
        through the open file (no path lookup) where the system can: True if so."""
        if self.fsync:
            os.fsync(out.fileno())
        if _fchmod is None:  # pragma: no cover - Windows before Python 3.13
            return False
        _fchmod(out.fileno(), READ_ONLY)
        return True

    def _commit(
        self,
        tmp: Path | str,
        oid: str,
        absent: bool = False,
        read_only: bool = False,
        final: str | None = None,
    ) -> None:
        """Move a fully written temp file to its final name, read-only.

        `read_only`: the caller made it so already (_finish). `absent`: the caller has
        just found the blob missing at `final`, so it is not looked for again (if it came
        meanwhile, the rename puts the same bytes in its place).
        """
        if final is None:
            final = self._blob_str(oid)
        try:
            if not absent and os.path.isfile(final):
                os.unlink(tmp)  # someone stored the same bytes already
                return
            if not read_only:
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
                read_only = self._finish(out)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if exc.filename is None and exc.errno in (errno.ENOSPC, errno.EACCES, errno.EDQUOT):
                raise storage_error(exc, self.root) from None
            raise
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._commit(tmp, oid, read_only=read_only)
        return oid, size

    def put_file(self, path: Path) -> tuple[str, int]:
        """Store a file's bytes (one read pass, hashing while writing)."""
        with open(path, "rb", buffering=0) as src:
            return self.put_stream(src)

    def put_bytes(self, data: bytes) -> str:
        """Store a small in-memory blob (a manifest, a small file) unless already present."""
        oid = oid_of_bytes(data)
        final = self._blob_str_of_digest(oid)
        if os.path.isfile(final):  # has(oid)
            return oid
        # Plain os calls on str paths: per small blob, a file object (and its fstat), a
        # Path and a chmod cost more than writing the bytes (a folder of 10,000 files).
        tmp = self._temp_name()
        try:
            fd = self._create_read_only(tmp)
            try:
                write_all(fd, data)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException as exc:  # Ctrl-C too: no temp file left behind
            _discard(tmp)
            if isinstance(exc, OSError):
                raise storage_error(exc, self.root) from None
            raise
        self._commit(tmp, oid, absent=True, read_only=True, final=final)
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
