"""mreg.lockfile: the writers' lock is an flock that other processes (and filelock, which
older mreg versions used) respect, with a timeout."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import filelock
import pytest

from mreg import lockfile

HOLD = (
    "import sys, time\n"
    "from mreg import lockfile\n"
    "release = lockfile.acquire(sys.argv[1], 5)\n"
    "print('held', flush=True)\n"
    "sys.stdin.readline()\n"
    "release()\n"
)


def test_acquire_release_and_again(tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    release = lockfile.acquire(path, 0)
    release()
    lockfile.acquire(path, 0)()  # free again


def test_another_process_waits_then_times_out(tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        started = time.monotonic()
        with pytest.raises(lockfile.LockTimeout):
            lockfile.acquire(path, 0.3)
        assert time.monotonic() - started >= 0.3
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(10) == 0
        lockfile.acquire(path, 5)()  # released: ours now
    finally:
        holder.kill()


def test_filelock_and_lockfile_exclude_each_other(tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    theirs = filelock.FileLock(path, timeout=0)
    theirs.acquire()
    try:
        with pytest.raises(lockfile.LockTimeout):
            lockfile.acquire(path, 0.1)
    finally:
        theirs.release()
    release = lockfile.acquire(path, 0)
    try:
        with pytest.raises(filelock.Timeout):
            filelock.FileLock(path, timeout=0.1).acquire()
    finally:
        release()
