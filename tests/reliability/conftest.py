"""Fixtures of the reliability campaigns: a `reliability` marker on every test here,
repositories driven through the console script, tmpfs mounts, and a summary of trials.

The marker lets `make reliability` select the campaigns (`-m reliability`) at full scale
(`MREG_RELIABILITY_TRIALS=40`); the default run executes the same tests at a small scale.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import git
from tests.reliability import support

# The remote suite's real servers (moto, sshd) and its environment, for campaign 5.
from tests.remote.servers import moto_server, remote_env, sshd

__all__ = ["moto_server", "remote_env", "sshd"]

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "reliability: ISSUE 7 campaigns (kills, concurrency, hostile input, full disks);"
        " scaled by MREG_RELIABILITY_TRIALS",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.reliability)


def pytest_terminal_summary(terminalreporter: object) -> None:
    if not support.STATS:
        return
    write = terminalreporter.write_line  # type: ignore[attr-defined]
    write(
        f"reliability campaigns (seed {support.SEED}, {support.TRIALS} trials per command,"
        f" {support.EXAMPLES} examples per property):"
    )
    for campaign, counts in sorted(support.STATS.items()):
        write(f"  {campaign}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))


@pytest.fixture
def mrepo(tmp_path: Path) -> Path:
    """A git work tree with `mreg init` committed (the console script did it)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    support.run(root, "init")
    git(root, "add", ".mreg")
    git(root, "commit", "-q", "-m", "mreg init")
    return root


def _mount(*args: str) -> bool:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    return done.returncode == 0


def _umount(path: Path) -> None:
    done = subprocess.run(["umount", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, text=True)


@pytest.fixture
def mounts() -> Iterator[Callable[..., Path]]:
    """`mounts(path, size_mib)` mounts a tmpfs of that size at path (created);
    `mounts(path, bind_ro=True)` makes path a read-only bind mount of itself.
    Skips the test when this machine does not let us mount; unmounts at teardown."""
    done: list[Path] = []

    def mount(path: Path, size_mib: int | None = None, bind_ro: bool = False) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        if bind_ro:
            ok = _mount("--bind", str(path), str(path))
            if ok:
                done.append(path)
                ok = _mount("-o", "remount,bind,ro", str(path))
        else:
            ok = _mount("-t", "tmpfs", "-o", f"size={size_mib}m,mode=0755", "tmpfs", str(path))
            if ok:
                done.append(path)
        if not ok:
            pytest.skip("cannot mount here (not root, or no CAP_SYS_ADMIN)")
        return path

    try:
        yield mount
    finally:
        for path in reversed(done):
            _umount(path)


def fill(folder: Path, leave: int = 0) -> Path:
    """Write a filler file into folder until its file system has `leave` bytes free."""
    filler = folder / f"filler-{uuid.uuid4().hex[:8]}"
    chunk = b"\0" * (1 << 20)
    with open(filler, "wb", buffering=0) as f:
        while True:
            st = os.statvfs(folder)
            free = st.f_bavail * st.f_frsize
            if free <= leave:
                break
            try:
                f.write(chunk[: max(1, min(len(chunk), free - leave))])
            except OSError:
                break
    with contextlib.suppress(OSError):
        os.sync()
    return filler
