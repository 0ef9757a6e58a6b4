"""Small file-system helpers: atomic writes and containment checks.

Layer: bottom (stdlib only).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from mreg.errors import InvalidPath


def atomic_write(path: Path, data: bytes, fsync: bool = True) -> None:
    """Write data to a temp file in path's folder, fsync it, then rename over path."""
    from mreg.store import storage_error

    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
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


def fsync_dir(folder: Path) -> None:
    """Make a rename in folder durable (best effort: not every OS allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def is_within(path: Path, root: Path) -> bool:
    """True when path (already absolute) is root or lies below it."""
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def safe_join(root: Path, relpath: str, what: str = "path") -> Path:
    """root/relpath for an untrusted relative path that must stay inside root.

    Refuses absolute paths, `..`, and any existing symlink on the way that leads
    outside root (the final component may be a link only if it stays inside).
    """
    from mreg.hashing import check_relpath

    try:
        check_relpath(relpath, what)
    except ValueError as exc:
        raise InvalidPath(str(exc), hint="the card or manifest was edited by hand?") from None
    root = root.resolve()
    target = root.joinpath(*relpath.split("/"))
    # Resolve what exists of the path: a symlinked folder on the way must not escape.
    if not is_within(target.resolve(), root):
        raise InvalidPath(f"{what} {relpath!r} leads outside the repository through a symlink")
    return target
