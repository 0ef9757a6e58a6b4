"""The writers' lock (`.mreg/tmp/lock`): one mreg process at a time writes the cache and
the cards.

Layer: bottom (stdlib; filelock only where flock is missing). On POSIX it is a plain
`flock` on the file, polled until the timeout: what filelock's UnixFileLock does, so
both interoperate, without importing filelock (~17 ms on every writing command and on
the post-checkout hook). Elsewhere (Windows) filelock does it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

POLL = 0.05  # seconds between attempts, as filelock


class LockTimeout(Exception):
    """The lock was still held by another process when the timeout ran out."""


def acquire(path: str, timeout: float) -> Callable[[], None]:
    """Take the exclusive lock on `path` (made if missing), waiting up to `timeout`
    seconds (0: one attempt); the function that releases it. LockTimeout if another
    process holds it all that time; OSError if the file cannot be opened."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return _acquire_filelock(path, timeout)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockTimeout(path) from None
            time.sleep(POLL)
        except BaseException:
            os.close(fd)
            raise

    def release() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    return release


def _acquire_filelock(path: str, timeout: float) -> Callable[[], None]:  # pragma: no cover
    import filelock

    lock = filelock.FileLock(path, timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LockTimeout(path) from None
    return lock.release
