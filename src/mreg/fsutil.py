"""Small file-system helpers: atomic writes and containment checks.

Layer: bottom (stdlib only).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Callable
from pathlib import Path

from mreg.errors import InvalidPath


def atomic_write(path: Path, data: bytes, fsync: bool = True) -> None:
    """Write data to a temp file in path's folder, fsync it, then rename over path."""
    from mreg.store import storage_error

    tmp = temp_beside(path)
    remove_stale_temps(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise storage_error(exc, path) from None
    if fsync:
        fsync_dir(path.parent)


# A temp file (or folder) beside its destination: `.NAME.[mreg-]PID-HEX.tmp`. The pid lets
# a later run tell what a writer that died (SIGKILL, power cut) left from what a live one
# is still writing; the leading dot keeps it out of globs.
_TEMP_RE = re.compile(r"^\..+\.(?:mreg-)?([0-9]+)-[0-9a-f]{8,32}\.tmp\Z")


def temp_beside(path: Path, tag: str = "") -> Path:
    """A fresh temp name in path's folder, recognisable by `remove_stale_temps`."""
    return path.with_name(f".{path.name}.{tag}{os.getpid()}-{os.urandom(6).hex()}.tmp")


def _writer_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows, os.kill would end the process
        return True
    if not 0 < pid < 2**31:  # not a pid (os.kill would overflow): not ours to remove
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def _stale_temp(name: str) -> bool:
    m = _TEMP_RE.match(name)
    return m is not None and not _writer_alive(int(m.group(1)))


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            import shutil  # not at the top: it costs every command ~3 ms (bz2, lzma)

            shutil.rmtree(path)
        else:
            path.unlink()


def remove_stale_temps(path: Path) -> None:
    """Remove the temp files beside path that writers which died left behind."""
    prefix = f".{path.name}."
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and _stale_temp(name):
            _remove(path.parent / name)


def is_git_name(name: str) -> bool:
    """A file or folder name that is git's own `.git`, in any letter case (what git takes
    for it on a case-insensitive file system): never part of a model, never touched."""
    return len(name) == 4 and name.lower() == ".git"


def holds_git(folder: Path) -> bool:
    """True when a `.git` (is_git_name) is anywhere below folder: a nested repository."""
    for _here, dirs, files in os.walk(folder):
        if any(is_git_name(n) for n in dirs) or any(is_git_name(n) for n in files):
            return True
    return False


def remove_stale_temps_in(folder: Path) -> None:
    """Remove dead writers' temp files anywhere below folder (symlinks not followed),
    but not in a `.git` (any letter case): mreg never writes there, git does."""
    for here, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not is_git_name(d)]
        for name in files:
            if _stale_temp(name):
                _remove(Path(here) / name)
        for name in list(dirs):
            if _stale_temp(name):
                _remove(Path(here) / name)
                dirs.remove(name)


def fsync_dir(folder: Path) -> None:
    """Make a rename in folder durable (best effort: not every OS allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def gitignore_pattern(rel: str) -> str:
    """`/rel` as a .gitignore pattern that matches rel alone: glob characters escaped,
    and trailing spaces, which git would strip. rel must hold no backslash and no line
    break (a .gitignore line cannot name those)."""
    body = re.sub(r"([*?\[])", r"\\\1", rel.rstrip(" "))
    return "/" + body + "\\ " * (len(rel) - len(rel.rstrip(" ")))


def is_within(path: Path, root: Path) -> bool:
    """True when path (already absolute) is root or lies below it."""
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def safe_join(root: Path, relpath: str, what: str = "path", last_link_ok: bool = False) -> Path:
    """root/relpath for an untrusted relative path that must stay inside root.

    Refuses absolute paths, `..`, and any existing symlink on the way that leads
    outside root. The final component may be a link only if it stays inside, unless
    `last_link_ok`: for callers that replace it by a rename (which replaces the link,
    not what it points to), such as checkout replacing a link into a shared cache.
    """
    from mreg.hashing import check_relpath

    try:
        check_relpath(relpath, what)
    except ValueError as exc:
        raise InvalidPath(str(exc), hint="the card or manifest was edited by hand?") from None
    root = root.resolve()
    target = root.joinpath(*relpath.split("/"))
    # Resolve what exists of the path: a symlinked folder on the way must not escape.
    if not is_within((target.parent if last_link_ok else target).resolve(), root):
        raise InvalidPath(f"{what} {relpath!r} leads outside the repository through a symlink")
    return target


# Bytes per kernel copy step (progress moves at least this much).
_STEP = 4 * 1024 * 1024  # = hashing.CHUNK
# errnos that say "no kernel copy between these two files": fall back to the next way.
_NO_KERNEL_COPY = (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF)


# Bytes per write() call at most. With 2 MiB or larger writes, some 1 GiB copies spent
# 1 to 3 s in the kernel instead of 0.35 s (probably allocating large page-cache folios;
# benchmarks/write_sizes.py, docs/concepts.md "Writing blobs"); 512 KiB writes stay steady.
WRITE_MAX = 512 * 1024


def write_all(fd: int, data: bytes | memoryview) -> None:
    """os.write until every byte of data is written (WRITE_MAX at a time)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[:WRITE_MAX]) :]


def kernel_copy(fin: int, fout: int, add: Callable[[int], None] | None = None) -> int:
    """Copy the open file fin to fout from their positions, in the kernel where it can
    (copy_file_range, else sendfile, else plain reads); the bytes copied. add(n) hears of
    each step."""
    total = 0
    ways: list[tuple[Callable[[], int], tuple[int, ...]]] = []
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None:
        ways.append((lambda: copy_range(fin, fout, _STEP), _NO_KERNEL_COPY))
    ways.append((lambda: os.sendfile(fout, fin, None, _STEP), (*_NO_KERNEL_COPY, errno.ENOTSOCK)))
    for step, refused in ways:
        while True:
            try:
                n = step()
            except OSError as exc:
                if exc.errno not in refused or total:  # refused before any byte: next way
                    raise
                break
            if not n:
                return total
            total += n
            if add is not None:
                add(n)
    while data := os.read(fin, _STEP):
        write_all(fout, data)
        total += len(data)
        if add is not None:
            add(len(data))
    return total
