"""A forked helper process that takes every other item of a long list of small jobs.

Layer: bottom (stdlib only). Many small files (adding a folder of 10,000, pushing it to
a folder remote) cost per-file Python and system calls, which threads only fight over
(the GIL); a second process halves them on two cores. `ForkShare(items, work)` forks a
child that runs `work(item)` on every other item and answers one line per item through
a pipe: `+` and what work returned (a str without a newline), or `-` when work raised.
The parent does `mine` meanwhile, then `finish` takes in the child's answers:

    with ForkShare(small_items, work) as share:   # leaving on an error kills the child
        for item in share.mine: do(item)
        ...                                        # anything else meanwhile
        share.finish(absorb, redo=do)              # absorb(item, answer), or redo(item)

The child uses nothing but what `work` touches and the pipe, and leaves with os._exit:
no clean-up of what it shares with the parent (a sqlite connection, the writers'
lock). Whatever goes wrong in it, the parent redoes those items itself, so errors are
raised by the parent as without a helper. There is no helper (`mine` is every item)
off Linux, with fewer than two usable cores, with MREG_PROCESSES=1, or when the process
runs any other thread, Python's or native (a training script's OpenMP pool): a fork
copies only the calling thread, so a lock another one held would stay held.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
# Items from which a helper is worth its fork (about 1 ms, plus the pipe).
FORK_FROM = 2000
# Files or blobs larger than this stay with the caller: they cost bytes, not per-file
# calls, so a second process gains nothing on them, and the helper's answers (and so a
# progress bar) come only when it is done.
ITEM_BYTES_MAX = 1024 * 1024


def may_fork() -> bool:
    """Whether a helper process is safe and worth it here (see the module's doc)."""
    if not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2:
        return False
    if os.environ.get("MREG_PROCESSES", "") == "1":
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:  # no /proc: no way to tell
        return False


class ForkShare(Generic[T]):
    """Every other item of `items` done by a forked helper running `work`, when
    there are at least FORK_FROM and may_fork(); `mine` are the items left to the caller.

    Use it as a context manager, which kills the helper when the caller fails, and
    call finish() (or results()) once the caller's share is done.
    """

    def __init__(self, items: list[T], work: Callable[[T], str]) -> None:
        self.mine = items
        self.theirs: list[T] = []
        self.pid: int | None = None
        self._fd = -1
        if len(items) >= FORK_FROM and may_fork() and self._start(items[1::2], work):
            self.mine, self.theirs = items[0::2], items[1::2]

    def _start(self, share: list[T], work: Callable[[T], str]) -> bool:
        """Fork the helper on share; False when the system would not."""
        import signal

        try:
            r, w = os.pipe()
        except OSError:
            return False
        # Ctrl-C is held off across the fork, so that the child cannot be interrupted
        # before its `try`: unwinding the parent's stack there would run the parent's
        # clean-up (unlock the writers' lock, which the child shares) in the child.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(r)
            os.close(w)
            return False
        if pid == 0:  # the child
            code = 1
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                os.close(r)
                lines = []
                for item in share:
                    try:
                        lines.append(f"+{work(item)}\n")
                    except Exception:  # the parent redoes it and reports the error
                        lines.append("-\n")
                view = memoryview("".join(lines).encode("utf-8", "surrogateescape"))
                while view:
                    view = view[os.write(w, view) :]
                code = 0
            finally:
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(w)
        self.pid, self._fd = pid, r
        return True

    def __enter__(self) -> ForkShare[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()  # nothing to do once results() has reaped the helper

    def finish(self, absorb: Callable[[T, str], None], redo: Callable[[T], None]) -> None:
        """Wait for the helper, then absorb(item, answer) for each item it did, and
        redo(item) for each it could not: the caller does that one, errors and all."""
        for item, answer in self.results():
            if answer is None:
                redo(item)
            else:
                absorb(item, answer)

    def results(self) -> list[tuple[T, str | None]]:
        """Wait for the helper: each of its items with what work returned, or None where
        the caller must do the item itself (work raised, or the helper failed)."""
        if self.pid is None:
            return []
        chunks = []
        try:
            while chunk := os.read(self._fd, 1 << 16):
                chunks.append(chunk)
        except BaseException:  # interrupted: stop the child before waiting for it
            self.kill()
            raise
        os.close(self._fd)
        self._fd = -1
        try:
            _, status = os.waitpid(self.pid, 0)
            failed = os.waitstatus_to_exitcode(status) != 0
        except ChildProcessError:  # SIGCHLD ignored, or reaped by someone else:
            failed = False  # whole, well-formed answers below still count
        self.pid = None
        lines = b"".join(chunks).decode("utf-8", "surrogateescape").split("\n")
        if failed or len(lines) != len(self.theirs) + 1 or lines[-1] != "":
            return [(item, None) for item in self.theirs]
        return [
            (item, line[1:] if line[:1] == "+" else None)
            for item, line in zip(self.theirs, lines, strict=False)
        ]

    def kill(self) -> None:
        """Stop the helper (the caller is failing or interrupted) and reap it."""
        if self.pid is None:
            return
        import signal

        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        with contextlib.suppress(OSError):  # ChildProcessError: reaped already
            os.waitpid(self.pid, 0)
        self.pid = None
