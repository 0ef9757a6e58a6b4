"""Artifacts in the work tree: hash them (with the hash-state cache) and store them.

Layer: core, above store/hashing/statecache. A file artifact's oid is its blob's oid; a
directory's is the oid of its manifest blob. Large files are hashed and stored by a thread
pool (hashlib and file I/O release the GIL); small files one after another in the calling
thread, in one read each.
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from mreg.card import KIND_DIR, KIND_FILE
from mreg.errors import InvalidPath, MregError
from mreg.forkshare import ITEM_BYTES_MAX, ForkShare
from mreg.fsutil import is_git_name
from mreg.hashing import (
    FIRST_READ,
    MANIFEST_SCHEMA,
    Entry,
    check_relpath,
    first_git_path,
    hash_file,
    is_oid,
    manifest_bytes,
    oid_of_bytes,
    parse_manifest,
)
from mreg.statecache import StateCache, is_racy, is_racy_ns, now_ns
from mreg.store import Store

SMALL = 1024 * 1024  # files up to this size are read whole: one read, one hash, one write
_O_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ArtifactInfo:
    """What hashing an artifact found: its oid, kind, total size and file count."""

    oid: str
    kind: str
    size: int
    files: int
    entries: tuple[Entry, ...] = ()
    skipped: tuple[str, ...] = ()  # `.git` entries of a folder, left out (work-tree paths)


class _File(NamedTuple):
    rel: str  # inside the artifact (POSIX); "" for a file artifact
    key: str  # key in the hash-state cache: path relative to the work tree
    path: str  # where to read it (a plain string: pathlib costs more than a 1 KiB file)
    st: os.stat_result


def workers() -> int:
    return max(2, min(32, (os.cpu_count() or 1) * 4))


def scan_dir(
    folder: Path,
    key_prefix: str,
    links_into: Path | None = None,
    skipped: list[str] | None = None,
) -> list[_File]:
    """Every regular file below folder; symlinks and special files are refused.

    A `.git` (in any letter case: a nested repository's folder, or the file of a
    submodule or linked worktree) is left out with all below it, as git and DVC do; its
    path (`key_prefix/...`) is appended to `skipped`. A name that git would take for
    `.git` on some file system (`git~1`, `.git.`) is refused.
    With `links_into` (the cache), a symlink into that folder counts as the file it
    points to: that is what the `symlink` link type leaves in the work tree.
    Each file's `rel` is a path check_relpath accepts, so it is fit for a manifest.
    """
    found: list[_File] = []
    stack = [(os.fspath(folder), "")]
    while stack:
        here, rel = stack.pop()
        try:
            with os.scandir(here) as listing:
                entries = list(listing)
        except OSError as exc:
            raise InvalidPath(f"cannot read folder {here}: {exc.strerror}") from None
        for entry in entries:
            name = entry.name
            sub = f"{rel}{name}"
            shown = f"{key_prefix}/{sub}"
            if is_git_name(name):
                if skipped is not None:
                    skipped.append(shown)
                continue
            # A name the manifest could not hold fails before anything is stored. A name
            # from the file system is never empty, '.' or '..' and holds no '/' or NUL,
            # so of what check_relpath refuses only a backslash can be in it, and a drive
            # letter at the top (`C:x`): the rest of it need not be checked file by file.
            if "\\" in name or (not rel and name[1:2] == ":"):
                try:
                    check_relpath(sub, "file name")
                except ValueError as exc:
                    raise InvalidPath(
                        f"cannot record {shown!r}: {exc}", hint="rename that file"
                    ) from None
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, f"{sub}/"))
            elif entry.is_file(follow_symlinks=False):
                found.append(_File(sub, shown, entry.path, entry.stat(follow_symlinks=False)))
            elif entry.is_symlink():
                target = Path(entry.path).resolve()
                if (
                    links_into is not None
                    and target.is_file()
                    and target.is_relative_to(links_into)
                ):
                    found.append(_File(sub, shown, entry.path, target.stat()))
                    continue
                raise InvalidPath(
                    f"{shown} is a symlink: directory artifacts may not contain symlinks",
                    hint="replace the link by the file it points to, or remove it",
                )
            else:
                raise InvalidPath(f"{shown} is not a regular file (a socket, fifo or device)")
    rels = [f.rel for f in found]
    try:  # a name that is not UTF-8 (undecodable bytes): no card, manifest or sqlite key
        "".join(rels).encode("utf-8")  # can hold it; one check for all
    except UnicodeEncodeError:
        bad = next(f for f in found if not _is_utf8(f.rel))
        raise InvalidPath(
            f"cannot record {bad.key!r}: its name is not valid UTF-8", hint="rename that file"
        ) from None
    git_like = first_git_path(rels)  # `.git.`, `git~1`: git takes them for `.git`
    if git_like is not None:
        raise InvalidPath(
            f"cannot record {f'{key_prefix}/{git_like}'!r}: git takes a name in it for '.git'",
            hint="rename that file",
        )
    return found


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_Done = tuple[_File, str, bool]  # a file, its oid, and whether its stat held while read


def _read_small(path: str, size: int) -> tuple[bytes, os.stat_result]:
    """A small file's bytes, and its stat once read (from the open file: no path lookup)."""
    fd = os.open(path, _O_READ)
    try:
        data = os.read(fd, size + 1)
        if len(data) != size:  # changed since it was scanned: read on to the end
            chunks = [data]
            while chunk := os.read(fd, max(size, FIRST_READ)):
                chunks.append(chunk)
            data = b"".join(chunks)
        return data, os.fstat(fd)
    finally:
        os.close(fd)


def _hash_one(f: _File, store: Store | None) -> tuple[str, os.stat_result]:
    """Hash a file, storing its bytes when a store is given (one read pass either way).
    Also its stat after the read, to tell whether it changed meanwhile."""
    if f.st.st_size <= SMALL:
        data, after = _read_small(f.path, f.st.st_size)
        return (store.put_bytes(data) if store is not None else oid_of_bytes(data)), after
    if store is not None:
        oid = store.put_file(Path(f.path))[0]
    else:
        oid = hash_file(f.path)[0]
    return oid, os.stat(f.path)


def _process(
    files: list[_File],
    state: StateCache,
    store: Store | None,
    progress: Progress | None,
) -> tuple[dict[str, str], bool]:
    """key -> oid for every file, from the state cache where it is still valid; and
    whether every file's stat now vouches for its oid (none changed while read, none
    racily clean), so that a fingerprint of the stats may stand for them all."""
    started = now_ns()
    known = state.lookup({f.key: f.st for f in files})
    # With a store, a remembered oid counts only if its blob is still there.
    stored = store.has_many(known.values()) if store is not None and known else set()
    oids: dict[str, str] = {}
    todo: list[_File] = []
    for f in files:
        oid = known.get(f.key)
        if oid is not None and (store is None or oid in stored):
            oids[f.key] = oid
            if progress:
                progress(f.st.st_size)
        else:
            todo.append(f)

    def work(f: _File) -> _Done:
        oid, unchanged = _hash_checked(f, store)
        if progress:
            progress(f.st.st_size)
        return f, oid, unchanged

    # Large files each get a pool thread (and copy_hashing a hasher thread of its own).
    # Small ones go one after another in this thread, meanwhile: their cost is per-file
    # Python and file-system metadata, which more threads only fight over (the GIL, the
    # folders' locks). 10,000 x 1 KiB files: 0.86 s on one thread, 1.5 s on 2 to 8.
    # From FORK_FROM of them, a forked helper process takes every other one.
    large = [f for f in todo if f.st.st_size > ITEM_BYTES_MAX]
    results: list[_Done] = []

    def absorb(f: _File, answer: str) -> None:
        oid, _, held = answer.partition(" ")
        if not is_oid(oid):  # not an answer: done here, errors and all
            results.append(work(f))
            return
        results.append((f, oid, held == "1"))
        if progress:
            progress(f.st.st_size)

    with ForkShare(
        [f for f in todo if f.st.st_size <= ITEM_BYTES_MAX],
        lambda f: "{} {:d}".format(*_hash_checked(f, store)),
    ) as share:
        small = share.mine
        if len(large) > 1 or (large and small):
            from concurrent.futures import ThreadPoolExecutor  # not on status's start-up path

            with ThreadPoolExecutor(max_workers=min(workers(), len(large))) as pool:
                pending = pool.map(work, large)
                results += [work(f) for f in small]
                results += pending
        else:
            results += [work(f) for f in large + small]
        share.finish(absorb, redo=lambda f: results.append(work(f)))
    fresh: list[tuple[str, os.stat_result, str]] = []
    for f, oid, unchanged in results:
        oids[f.key] = oid
        # Changed while we read it: the digest is right for what we read, but the stat
        # no longer describes those bytes, so it is not remembered.
        if unchanged:
            fresh.append((f.key, f.st, oid))
    state.record(fresh, started)
    stable = len(fresh) == len(results) and not any(is_racy(st, started) for _, st, _ in fresh)
    return oids, stable


def _hash_checked(f: _File, store: Store | None) -> tuple[str, bool]:
    """_hash_one, and whether the file's stat is the same after the read as before.
    A file gone or unreadable since the scan is InvalidPath (writes to the cache raise
    StorageError, not OSError, for the usual causes)."""
    try:
        oid, after = _hash_one(f, store)
    except FileNotFoundError:
        raise InvalidPath(
            f"{f.key} disappeared while mreg read it; nothing was registered",
            hint="run mreg add again once nothing writes to that folder",
        ) from None
    except OSError as exc:
        raise InvalidPath(
            f"cannot read {f.key}: {exc.strerror or exc}",
            hint="check the file's permissions",
        ) from None
    st = f.st
    return oid, (after.st_ino, after.st_size, after.st_mtime_ns) == (
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
    )


def _fingerprint(files: list[_File]) -> str:
    """One digest of every file's path, inode, size, mtime_ns and exec bit (what the
    state cache trusts for a file, and what the manifest records)."""
    rows = "".join(
        f"{f.rel}\0{f.st.st_ino}\0{f.st.st_size}\0{f.st.st_mtime_ns}\0"
        f"{f.st.st_mode & stat_mod.S_IXUSR}\0"
        for f in files
    )
    return oid_of_bytes(f"manifest-{MANIFEST_SCHEMA}\0{rows}".encode("utf-8", "surrogateescape"))


def _stamp(store: Store, oid: str, heads: str) -> tuple[str, list[int]] | None:
    """What a complete-manifest record trusts, and the mtimes in it (for the racy rule):
    the cache's path, the manifest blob's (inode, size, mtime_ns), and each fan-out
    folder's (inode, mtime_ns). A copy of the cache has other inodes; an edited manifest
    another mtime; a blob added to or removed from a folder moves its mtime. None when
    the manifest blob or a folder is missing."""
    folders = store.fanout_stats(heads)
    try:
        blob = os.stat(store.blob_str(oid))
    except OSError:
        return None
    if folders is None:
        return None
    parts = [os.fspath(store.root), f"{blob.st_ino}:{blob.st_size}:{blob.st_mtime_ns}"]
    parts += [f"{st.st_ino}:{st.st_mtime_ns}" for st in folders]
    return "|".join(parts), [blob.st_mtime_ns, *(st.st_mtime_ns for st in folders)]


def cache_has_all(
    store: Store, state: StateCache, oid: str, entries: Sequence[Entry] | None = None
) -> bool:
    """True when the manifest blob `oid` and every blob it lists are in the cache.

    `entries`: that manifest's files, when the caller has them (not parsed again). A
    manifest found complete before is answered by one stat of each fan-out folder its
    blobs live in: a blob added to or removed from a folder changes its mtime (see
    StateCache.complete_lookup). A complete answer is recorded only when those folders
    were last changed long enough ago that a later change must show (racy clean).
    """
    known = state.complete_lookup(oid)
    if known is not None:
        heads, stamp = known
        now = _stamp(store, oid, heads)
        if now is not None and now[0] == stamp:
            return True
    started = now_ns()
    try:
        if entries is None:
            entries = parse_manifest(store.read_bytes(oid), keep_git=True)  # presence only
        elif not store.has(oid):
            return False
    except MregError:
        return False  # no manifest blob, or a corrupt one
    oids = {e.oid for e in entries}
    heads = store.fanout_heads([oid, *oids])
    stamped = _stamp(store, oid, heads)  # before looking: a later removal must show
    if len(store.has_many(oids)) < len(oids):
        return False
    if stamped is not None and not any(is_racy_ns(t, started) for t in stamped[1]):
        state.complete_record(oid, heads, stamped[0])
    return True


def hash_artifact(
    path: Path,
    key: str,
    state: StateCache,
    store: Store | None = None,
    progress: Progress | None = None,
    links_into: Path | None = None,
    *,
    entries: bool = True,
) -> ArtifactInfo:
    """Hash (and with `store`, store) the file or directory at path.

    `key` is path relative to the work tree (POSIX), used in the hash-state cache.
    `entries=False`: the caller does not need a folder's files (info.entries may be
    empty), so a folder whose files all kept their stats is answered from its
    fingerprint in the state cache, with `store` once every blob is known to be there.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InvalidPath(f"{key} does not exist") from None
    if stat_mod.S_ISREG(st.st_mode):
        f = _File("", key, os.fspath(path), st)
        oid = _process([f], state, store, progress)[0][key]
        return ArtifactInfo(oid, KIND_FILE, st.st_size, 1)
    if not stat_mod.S_ISDIR(st.st_mode):
        raise InvalidPath(f"{key} is not a regular file or a folder")
    skipped: list[str] = []
    files = scan_dir(path, key, links_into, skipped)
    fingerprint = _fingerprint(files)  # of the files recorded: git's own in `.git` do not count
    if not entries:
        hit = state.dir_lookup(key, fingerprint)
        if hit is not None and (store is None or cache_has_all(store, state, hit[0])):
            if progress:
                progress(hit[1])
            return ArtifactInfo(hit[0], KIND_DIR, hit[1], hit[2], skipped=tuple(skipped))
    oids, stable = _process(files, state, store, progress)
    rows = tuple(
        Entry(f.rel, oids[f.key], f.st.st_size, bool(f.st.st_mode & stat_mod.S_IXUSR))
        for f in files
    )
    blob = manifest_bytes(rows, paths_checked=True)  # scan_dir checked them
    oid = store.put_bytes(blob) if store is not None else oid_of_bytes(blob)
    size = sum(e.size for e in rows)
    if stable:
        state.dir_record(key, fingerprint, oid, size, len(rows))
    return ArtifactInfo(oid, KIND_DIR, size, len(rows), rows, tuple(skipped))
