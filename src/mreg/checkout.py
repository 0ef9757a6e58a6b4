"""Put artifacts from the cache into the work tree, by the configured link types.

Layer: core, above store/artifact. Every file is first written beside its destination
under a temporary name and its digest checked; only then is it renamed into place, so a
missing or corrupt blob leaves the work tree as it was. A folder is built whole beside
its destination and swapped in by one atomic rename (on Linux), so an interrupted
checkout leaves the old folder or the new one, never a mix. A work-tree file whose bytes are
not in the cache is never replaced without `force`: nothing the cache cannot give back
is destroyed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat as stat_mod
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mreg.artifact import hash_artifact, scan_dir
from mreg.card import KIND_DIR, Card
from mreg.errors import (
    BlobCorrupt,
    BlobMissing,
    InvalidArgument,
    InvalidCard,
    InvalidPath,
    MregError,
    StorageError,
    WorktreeConflict,
)
from mreg.forkshare import ITEM_BYTES_MAX, ForkShare
from mreg.fsutil import (
    holds_git,
    is_git_name,
    kernel_copy,
    remove_stale_temps,
    remove_stale_temps_in,
    safe_join,
    temp_beside,
    write_all,
)
from mreg.hashing import Entry, copy_hashing, hash_file, oid_of_bytes, parse_manifest
from mreg.project import Project
from mreg.statecache import KNOWN_MIN, StateCache
from mreg.store import Store, storage_error

FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_WRITE_NEW = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
)
# errnos that mean "this link type is not possible here": try the next one.
_UNSUPPORTED = {
    errno.EXDEV,
    errno.EOPNOTSUPP,
    errno.ENOTTY,
    errno.EINVAL,
    errno.EPERM,
    errno.ENOSYS,
    errno.EMLINK,
    errno.EBADF,
}


@dataclass
class CheckoutResult:
    """Per model: 'unchanged', 'updated', 'created' or 'conflict'."""

    name: str
    path: str
    action: str
    conflicts: list[str] = field(default_factory=list)


def one_version_each(cards: list[Card], refs: list[str]) -> list[tuple[Card, str]]:
    """The cards of REFs to check out, each model once, with the ref that named it. Two
    refs of one model that name other bytes are refused (InvalidArgument): the work tree
    holds one version, and the last would silently win; two that name the same bytes at
    the same path count once."""
    chosen: dict[str, tuple[Card, str]] = {}
    for card, ref in zip(cards, refs, strict=True):
        if card.name not in chosen:
            chosen[card.name] = (card, ref)
            continue
        first, first_ref = chosen[card.name]
        if (first.artifact.oid, first.artifact.path) != (card.artifact.oid, card.artifact.path):
            raise InvalidArgument(
                f"{first_ref} and {ref} are two versions of {card.name}: the work tree holds one",
                hint=f"check out one of them; mreg get {ref} -o PATH writes another elsewhere",
            )
    return list(chosen.values())


def raise_for(results: list[CheckoutResult], broken: list[str]) -> None:
    """After checking out what could be: fail for cards that could not be read (their
    errors in `broken`), then for conflicts left alone. Both are exit 3."""
    if broken:
        raise InvalidCard(
            f"not checked out: {'; '.join(broken)}",
            hint="fix or delete the card by hand, then run mreg checkout again",
        )
    conflicts = [p for r in results if r.action == "conflict" for p in r.conflicts]
    if conflicts:
        raise WorktreeConflict(
            f"not overwritten, changes not in the cache: {', '.join(conflicts)}",
            hint="mreg add them to keep them, or mreg checkout --force to discard them",
        )


def _tmp_beside(dest: Path) -> Path:
    return temp_beside(dest, "mreg-")


def _reflink(src: str, tmp: Path) -> None:
    import fcntl

    with open(src, "rb") as s, open(tmp, "xb") as d:
        try:
            fcntl.ioctl(d.fileno(), FICLONE, s.fileno())
        except OSError:
            d.close()
            tmp.unlink()
            raise


def _copy(src: str, tmp: Path) -> None:
    """Copy src to the new file tmp in the kernel, without hashing."""
    with open(src, "rb", buffering=0) as s, open(tmp, "xb", buffering=0) as d:
        kernel_copy(s.fileno(), d.fileno())


# Blobs up to this size are copied by _copy_small: read whole, hashed, written once.
SMALL_COPY = 256 * 1024


def _copy_small(blob: str, dest: Path, executable: bool) -> str:
    """Copy a small blob to the new file dest (made with its final mode, so no chmod
    follows); the digest of the bytes written. For folders of thousands of small files
    the syscalls are the cost: open, read, open, write, close, close."""
    fin = os.open(blob, _READ)
    try:
        data = os.read(fin, SMALL_COPY + 1)
        while len(data) <= SMALL_COPY:  # a short read, or the blob grew: read to the end
            more = os.read(fin, SMALL_COPY + 1 - len(data))
            if not more:
                break
            data += more
    finally:
        os.close(fin)
    fout = os.open(dest, _WRITE_NEW, 0o777 if executable else 0o666)  # umask applies
    try:
        write_all(fout, data)
    finally:
        os.close(fout)
    return oid_of_bytes(data)


def _place(
    store: Store,
    oid: str,
    dest: Path,
    links: list[str],
    executable: bool,
    state: StateCache | None = None,
    staged: bool = False,
    unsupported: set[str] | None = None,
) -> None:
    """Write blob `oid` to dest with the first link type that works, digest checked
    (unless `state` knows the blob as hashed by mreg and unchanged since).

    unsupported: link types this file system refused; shared by the calls of one
    folder's checkout, so that 10,000 files do not each try (and fail) a reflink.

    staged: dest is in a folder this checkout is building (its parent exists, nothing
    else writes there, and the whole folder goes on an error), so the file is written
    at its name directly instead of through a temp file and a rename.
    """
    blob = store.blob_str(oid)  # a str: pathlib costs more than a small file's copy
    try:
        before = os.stat(blob)
    except OSError:
        before = None
    if before is None or not stat_mod.S_ISREG(before.st_mode):
        raise BlobMissing(f"blob {oid} is not in the cache")
    known = state is not None and state.blob_known(oid, before)
    if not staged:
        dest.parent.mkdir(parents=True, exist_ok=True)
    mode = (0o777 if executable else 0o666) & ~_umask()
    if executable:
        # A hard or symbolic link shares the blob's mode (read-only, not executable).
        links = [k for k in links if k not in ("hardlink", "symlink")] or ["copy"]
    if unsupported:
        links = [k for k in links if k not in unsupported] or ["copy"]
    for kind in links:
        tmp = dest if staged else _tmp_beside(dest)
        try:
            got = oid
            if kind == "copy" and before.st_size <= SMALL_COPY:
                got = _copy_small(blob, tmp, executable)
            elif kind == "copy":
                if known:
                    _copy(blob, tmp)
                else:
                    with open(blob, "rb", buffering=0) as s, open(tmp, "xb", buffering=0) as d:
                        got = copy_hashing(s, d)[0]
            elif kind == "reflink":
                _reflink(blob, tmp)
                if not known:
                    got = hash_file(tmp)[0]
            else:
                if not known:
                    got = hash_file(blob)[0]
                if kind == "hardlink":
                    os.link(blob, tmp)
                else:
                    os.symlink(os.path.realpath(blob), tmp)
            if got != oid:
                raise BlobCorrupt(
                    f"blob {oid} in the cache is corrupt (its bytes hash to {got})",
                    hint="mreg fetch --repair NAME, or mreg add the model again",
                )
            if kind == "reflink" or (kind == "copy" and before.st_size > SMALL_COPY):
                os.chmod(tmp, mode)
            if tmp is not dest:
                os.replace(tmp, dest)
            if state is not None and not known and before.st_size >= KNOWN_MIN:
                _remember(state, oid, blob, before)
            return
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if exc.errno in _UNSUPPORTED and kind != "copy":
                if unsupported is not None:
                    unsupported.add(kind)
                continue
            raise storage_error(exc, dest) from None
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    raise StorageError(f"none of the link types {links} works for {dest}", hint="add copy")


def _remember(state: StateCache, oid: str, blob: str, before: os.stat_result) -> None:
    """Record blob as known-good if its stat did not change while it was hashed."""
    try:
        after = os.stat(blob)
    except OSError:
        return
    if (after.st_dev, after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_dev,
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    ):
        state.record_blobs([(oid, after)])


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _need_blobs(store: Store, card: Card) -> list[Entry] | None:
    """The manifest of a dir artifact (None for a file); raise if any blob is missing."""
    oid = card.artifact.oid
    try:
        if card.artifact.kind != KIND_DIR:
            if not store.has(oid):
                raise BlobMissing(f"blob {oid} is not in the cache")
            return None
        entries = parse_manifest(store.read_bytes(oid))
        stored = store.has_many(e.oid for e in entries)
        for e in entries:
            if e.oid not in stored:
                raise BlobMissing(f"blob {e.oid} ({e.path}) is not in the cache")
        return entries
    except BlobMissing as exc:
        if exc.hint is None:
            exc.hint = "mreg pull, or register the model again with mreg add"
        raise


def _refuse_blocked_parent(root: Path, dest: Path) -> None:
    """Something other than a folder where a folder above dest must be: even --force
    does not remove it, since it is not the model's (a link to a folder is safe_join's
    to judge)."""
    for parent in reversed(dest.relative_to(root).parents[:-1]):
        here = root / parent
        if os.path.lexists(here) and not here.is_dir():
            raise WorktreeConflict(
                f"{parent.as_posix()} is a file, where the folder of {dest.relative_to(root)} goes",
                hint=f"move {parent.as_posix()} away, then check out again",
            )


def checkout_card(project: Project, card: Card, force: bool = False) -> CheckoutResult:
    """Make the work tree hold `card`'s artifact. Conflicts are reported, not raised;
    errors (a missing or corrupt blob, an unsafe path) name the model and version."""
    try:
        rel = card.artifact.path
        dest = safe_join(project.root, rel, "artifact.path", last_link_ok=True)
        store = project.store
        entries = _need_blobs(store, card)
        _refuse_blocked_parent(project.root, dest)
        # What a killed checkout left: its temp files must not count as changes.
        remove_stale_temps(dest)
        if dest.is_dir() and not dest.is_symlink():
            remove_stale_temps_in(dest)
        exists = os.path.lexists(dest)
        if entries is None:
            return _checkout_file(project, card, dest, exists, force)
        return _checkout_dir(project, card, entries, dest, exists, force)
    except MregError as exc:
        exc.message = f"{card.name} v{card.version}: {exc.message}"
        exc.args = (exc.message,)
        if isinstance(exc, BlobCorrupt):
            ref = f"{card.name}@v{card.version}"
            exc.hint = f"mreg fetch --repair {ref} (from a remote), or mreg add the model again"
        raise


def _checkout_file(
    project: Project, card: Card, dest: Path, exists: bool, force: bool
) -> CheckoutResult:
    rel = card.artifact.path
    store = project.store
    if exists:
        if (dest.is_file() and not dest.is_symlink()) or _links_to_blob(dest, store):
            current = hash_artifact(dest, rel, project.state).oid
            if current == card.artifact.oid:
                return CheckoutResult(card.name, rel, "unchanged")
            if not force and not store.has(current):
                return CheckoutResult(card.name, rel, "conflict", [rel])
        elif not force:
            return CheckoutResult(card.name, rel, "conflict", [rel])
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
    _place(store, card.artifact.oid, dest, project.config.link, False, project.state)
    return CheckoutResult(card.name, rel, "updated" if exists else "created")


def _links_to_blob(path: Path, store: Store) -> bool:
    """A symlink into the cache (made by the symlink link type)."""
    if not path.is_symlink():
        return False
    try:
        return path.resolve().is_relative_to(store.root.resolve()) and path.is_file()
    except OSError:
        return False


def _checkout_dir(
    project: Project,
    card: Card,
    entries: list[Entry],
    dest: Path,
    exists: bool,
    force: bool,
) -> CheckoutResult:
    rel = card.artifact.path
    store = project.store
    want = {e.path: e for e in entries}
    have: dict[str, str] = {}
    conflicts: list[str] = []
    # A nested repository's .git is not the model's (add leaves it out): the folder is
    # then updated in place, around it, since a swap would leave it in the old folder.
    nested_git = exists
    if exists and not (dest.is_dir() and not dest.is_symlink()):
        if not force and not (dest.is_file() and store.has(hash_file(dest)[0])):
            return CheckoutResult(card.name, rel, "conflict", [rel])
        _remove(dest)
        exists = False
    if exists:
        links_into = store.root.resolve()
        try:
            # Without its files first: an unchanged folder answers from its fingerprint.
            info = hash_artifact(dest, rel, project.state, links_into=links_into, entries=False)
            if info.oid != card.artifact.oid and len(info.entries) != info.files:
                info = hash_artifact(dest, rel, project.state, links_into=links_into)
        except InvalidPath:
            if not force:
                return CheckoutResult(card.name, rel, "conflict", [rel])
            info = None
        if info is not None:
            if info.oid == card.artifact.oid:
                return CheckoutResult(card.name, rel, "unchanged")
            have = {e.path: e.oid for e in info.entries}
            nested_git = bool(info.skipped)
        for path, oid in have.items():
            if (path not in want or want[path].oid != oid) and not store.has(oid):
                conflicts.append(f"{rel}/{path}")
        if conflicts and not force:
            return CheckoutResult(card.name, rel, "conflict", sorted(conflicts))
    if not (exists and nested_git) and _swap_in(
        store, project.config.link, entries, dest, have, project.state
    ):
        return CheckoutResult(card.name, rel, "updated" if exists else "created")
    # In place: no atomic exchange here (not Linux, or a mount point), or a nested .git.
    targets = [(e, safe_join(dest, e.path, "manifest path", last_link_ok=True)) for e in entries]
    for e, target in targets:  # before anything changes
        if target.is_dir() and not target.is_symlink() and holds_git(target):
            raise WorktreeConflict(
                f"{rel}/{e.path} holds a git repository (a .git below it), where"
                f" {card.name} v{card.version} has a file; mreg never removes one",
                hint=f"move {rel}/{e.path} away, then rerun the checkout",
            )
    try:
        _update_in_place(project, targets, want, have, dest)
    except OSError as exc:  # a file that cannot be removed or written: exit 3, not 70
        raise storage_error(exc, dest) from None
    return CheckoutResult(card.name, rel, "updated" if exists else "created")


def _update_in_place(
    project: Project,
    targets: list[tuple[Entry, Path]],
    want: dict[str, Entry],
    have: dict[str, str],
    dest: Path,
) -> None:
    """Write the files of `targets` into dest where they differ, then remove what the
    manifest does not list (its bytes are in the cache, or --force) and empty folders."""
    store = project.store
    dest.mkdir(parents=True, exist_ok=True)
    unsupported: set[str] = set()
    for e, target in targets:
        if have.get(e.path) == e.oid and _mode_ok(target, e.exec):
            continue
        _clear_file_parents(dest, target)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        _place(store, e.oid, target, project.config.link, e.exec, project.state, False, unsupported)
    for f in scan_dir_loose(dest):
        if f not in want:
            with contextlib.suppress(FileNotFoundError):
                _remove(dest.joinpath(*f.split("/")))
    _prune_empty(dest)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h
# errnos of renameat2 that mean "not here": fall back to updating the folder in place.
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBUSY, errno.EXDEV}


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False when
    this system or file system cannot."""
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _NO_EXCHANGE:
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(
    store: Store,
    links: list[str],
    entries: list[Entry],
    dest: Path,
    have: dict[str, str],
    state: StateCache | None = None,
) -> bool:
    """Build the new folder beside dest, then swap it in with one atomic rename, so that
    a kill leaves the old folder or the new one, never a mix. Files that stay the same
    are hard-linked from the old folder. False (nothing changed) when the swap is not
    possible here; the caller then updates the folder in place."""
    if not sys.platform.startswith("linux") and os.path.lexists(dest):
        return False
    stage = temp_beside(dest, "mreg-")
    try:
        stage.mkdir(parents=True)
        # stage is a new folder of ours and manifest paths are checked relative paths
        # (parse_manifest: no `..`, no file that is also a folder), so joining cannot
        # leave it: no per-file symlink resolution (safe_join) is needed in here.
        made: set[str] = set()
        todo: list[tuple[Entry, Path]] = []
        for e in entries:
            target = stage.joinpath(*e.path.split("/"))
            parent = e.path.rpartition("/")[0]
            if parent and parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(parent)
            if have.get(e.path) == e.oid:
                current = dest.joinpath(*e.path.split("/"))
                if _mode_ok(current, e.exec):
                    try:
                        os.link(current, target, follow_symlinks=False)
                        continue
                    except OSError:
                        pass  # no hard links here: copy it from the cache
            todo.append((e, target))
        _place_staged(store, links, todo, state)
        if not os.path.lexists(dest):
            os.rename(stage, dest)
            return True
        if not _exchange(stage, dest):
            _remove_quietly(stage)
            return False
    except OSError as exc:
        _remove_quietly(stage)
        raise storage_error(exc, dest) from None
    except MregError as exc:  # name the file the user knows, not the temp folder
        _remove_quietly(stage)
        exc.message = exc.message.replace(str(stage), str(dest))
        exc.args = (exc.message,)
        raise
    except BaseException:
        _remove_quietly(stage)
        raise
    _remove_quietly(stage)  # the old folder, now
    return True


def _place_staged(
    store: Store, links: list[str], todo: list[tuple[Entry, Path]], state: StateCache | None
) -> None:
    """_place each (entry, target) into the folder being built. Many small files: a
    helper process may place every other one (mreg.forkshare); what it could not place,
    this process places again, errors and all."""
    unsupported: set[str] = set()

    def place(item: tuple[Entry, Path]) -> None:
        e, target = item
        _place(store, e.oid, target, links, e.exec, state, staged=True, unsupported=unsupported)

    def place_there(item: tuple[Entry, Path]) -> str:
        e, target = item  # small blobs only: no state cache (sqlite) in the helper
        _place(store, e.oid, target, links, e.exec, None, staged=True, unsupported=unsupported)
        return ""

    def place_again(item: tuple[Entry, Path]) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(item[1])  # what the helper may have left half-written
        place(item)

    with ForkShare([t for t in todo if t[0].size <= ITEM_BYTES_MAX], place_there) as share:
        for item in share.mine:
            place(item)
        for item in todo:
            if item[0].size > ITEM_BYTES_MAX:
                place(item)
        share.finish(lambda item, _answer: None, redo=place_again)


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        _remove(path)


def _mode_ok(path: Path, executable: bool) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if stat_mod.S_ISLNK(st.st_mode):
        return True
    return bool(st.st_mode & stat_mod.S_IXUSR) == executable


def _clear_file_parents(top: Path, target: Path) -> None:
    """Remove a file (or link) below top that stands where one of target's folders must
    be: the old version's file, whose bytes were found in the cache (or --force)."""
    here = top
    for part in target.relative_to(top).parts[:-1]:
        here = here / part
        if os.path.lexists(here) and not (here.is_dir() and not here.is_symlink()):
            here.unlink()
            return  # nothing below it exists yet


def scan_dir_loose(folder: Path) -> list[str]:
    """Every non-folder below folder (links and special files included), POSIX relative;
    not a `.git` (any letter case) or what is below it, which is never the model's."""
    out: list[str] = []
    for here, dirs, files in os.walk(folder):
        base = Path(here).relative_to(folder).as_posix()
        prefix = "" if base == "." else f"{base}/"
        dirs[:] = [d for d in dirs if not is_git_name(d)]
        out.extend(f"{prefix}{name}" for name in files if not is_git_name(name))
        out.extend(f"{prefix}{d}" for d in dirs if (Path(here) / d).is_symlink())
    return out


def _prune_empty(folder: Path) -> None:
    """Remove the empty folders below folder (deepest first), not inside a `.git`."""
    walked = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not is_git_name(d)]
        walked.append((here, dirs, files))
    for here, _dirs, _files in sorted(walked, key=lambda t: -len(t[0])):
        if Path(here) != folder:
            with contextlib.suppress(OSError):
                os.rmdir(here)


__all__ = ["CheckoutResult", "checkout_card", "raise_for", "scan_dir"]
