"""Artifacts in the work tree: hash them (with the hash-state cache) and store them.

Layer: core, above store/hashing/statecache. A file artifact's oid is its blob's oid; a
directory's is the oid of its manifest blob. Large files are hashed and stored by a thread
pool (hashlib and file I/O release the GIL); small files one after another in the calling
thread, in one read each.
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mreg.card import KIND_DIR, KIND_FILE
from mreg.errors import InvalidPath
from mreg.hashing import Entry, check_relpath, hash_file, manifest_bytes, oid_of_bytes
from mreg.statecache import StateCache, now_ns
from mreg.store import Store

SMALL = 1024 * 1024  # files up to this size are read whole: one read, one hash, one write

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ArtifactInfo:
    """What hashing an artifact found: its oid, kind, total size and file count."""

    oid: str
    kind: str
    size: int
    files: int
    entries: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class _File:
    rel: str  # inside the artifact (POSIX); "" for a file artifact
    key: str  # key in the hash-state cache: path relative to the work tree
    path: Path
    st: os.stat_result


def workers() -> int:
    return max(2, min(32, (os.cpu_count() or 1) * 4))


def scan_dir(folder: Path, key_prefix: str, links_into: Path | None = None) -> list[_File]:
    """Every regular file below folder; symlinks and special files are refused.

    With `links_into` (the cache), a symlink into that folder counts as the file it
    points to: that is what the `symlink` link type leaves in the work tree.
    """
    found: list[_File] = []
    stack = [(folder, "")]
    while stack:
        here, rel = stack.pop()
        try:
            entries = list(os.scandir(here))
        except OSError as exc:
            raise InvalidPath(f"cannot read folder {here}: {exc.strerror}") from None
        for entry in entries:
            sub = f"{rel}{entry.name}"
            shown = f"{key_prefix}/{sub}"
            try:  # a name the manifest could not hold fails before anything is stored
                check_relpath(sub, "file name")
            except ValueError as exc:
                raise InvalidPath(
                    f"cannot record {shown!r}: {exc}", hint="rename that file"
                ) from None
            if entry.is_symlink():
                target = Path(entry.path).resolve()
                if (
                    links_into is not None
                    and target.is_file()
                    and target.is_relative_to(links_into)
                ):
                    found.append(_File(sub, shown, Path(entry.path), target.stat()))
                    continue
                raise InvalidPath(
                    f"{shown} is a symlink: directory artifacts may not contain symlinks",
                    hint="replace the link by the file it points to, or remove it",
                )
            if entry.is_dir(follow_symlinks=False):
                stack.append((Path(entry.path), f"{sub}/"))
            elif entry.is_file(follow_symlinks=False):
                found.append(_File(sub, shown, Path(entry.path), entry.stat(follow_symlinks=False)))
            else:
                raise InvalidPath(f"{shown} is not a regular file (a socket, fifo or device)")
    return found


def _hash_one(f: _File, store: Store | None) -> str:
    """Hash a file, storing its bytes when a store is given (one read pass either way)."""
    if f.st.st_size <= SMALL:
        with open(f.path, "rb", buffering=0) as src:
            data = src.read()
        return store.put_bytes(data) if store is not None else oid_of_bytes(data)
    if store is not None:
        return store.put_file(f.path)[0]
    return hash_file(f.path)[0]


def _process(
    files: list[_File],
    state: StateCache,
    store: Store | None,
    progress: Progress | None,
) -> dict[str, str]:
    """key -> oid for every file, from the state cache where it is still valid."""
    started = now_ns()
    known = state.lookup({f.key: f.st for f in files})
    oids: dict[str, str] = {}
    todo: list[_File] = []
    for f in files:
        oid = known.get(f.key)
        if oid is not None and (store is None or store.has(oid)):
            oids[f.key] = oid
            if progress:
                progress(f.st.st_size)
        else:
            todo.append(f)

    def work(f: _File) -> tuple[_File, str]:
        oid = _hash_one(f, store)
        if progress:
            progress(f.st.st_size)
        return f, oid

    # Large files each get a pool thread (and copy_hashing a hasher thread of its own).
    # Small ones go one after another in this thread, meanwhile: their cost is per-file
    # Python and file-system metadata, which more threads only fight over (the GIL, the
    # folders' locks). 10,000 x 1 KiB files: 0.86 s on one thread, 1.5 s on 2 to 8.
    large = [f for f in todo if f.st.st_size > SMALL]
    small = [f for f in todo if f.st.st_size <= SMALL]
    fresh: list[tuple[str, os.stat_result, str]] = []
    if len(large) > 1 or (large and small):
        with ThreadPoolExecutor(max_workers=min(workers(), len(large))) as pool:
            pending = pool.map(work, large)
            results = [work(f) for f in small]
            results += pending
    else:
        results = [work(f) for f in large + small]
    for f, oid in results:
        oids[f.key] = oid
        after = os.stat(f.path)
        # Changed while we read it: the digest is right for what we read, but the stat
        # no longer describes those bytes, so it is not remembered.
        if (after.st_ino, after.st_size, after.st_mtime_ns) == (
            f.st.st_ino,
            f.st.st_size,
            f.st.st_mtime_ns,
        ):
            fresh.append((f.key, after, oid))
    state.record(fresh, started)
    return oids


def hash_artifact(
    path: Path,
    key: str,
    state: StateCache,
    store: Store | None = None,
    progress: Progress | None = None,
    links_into: Path | None = None,
) -> ArtifactInfo:
    """Hash (and with `store`, store) the file or directory at path.

    `key` is path relative to the work tree (POSIX), used in the hash-state cache.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InvalidPath(f"{key} does not exist") from None
    if stat_mod.S_ISREG(st.st_mode):
        f = _File("", key, path, st)
        oid = _process([f], state, store, progress)[key]
        return ArtifactInfo(oid, KIND_FILE, st.st_size, 1)
    if not stat_mod.S_ISDIR(st.st_mode):
        raise InvalidPath(f"{key} is not a regular file or a folder")
    files = scan_dir(path, key, links_into)
    oids = _process(files, state, store, progress)
    entries = tuple(
        Entry(f.rel, oids[f.key], f.st.st_size, bool(f.st.st_mode & stat_mod.S_IXUSR))
        for f in files
    )
    blob = manifest_bytes(entries)
    oid = store.put_bytes(blob) if store is not None else oid_of_bytes(blob)
    return ArtifactInfo(oid, KIND_DIR, sum(e.size for e in entries), len(entries), entries)
