"""`-j N` larger than the open-file limit allows: push, fetch and get run as many
threads as `ulimit -n` leaves room for (transfer.fd_room) instead of failing with exit 70
"Too many open files"."""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

import pytest
from tests.helpers import git, mreg_script, run_mreg, write

from mreg import transfer

pytestmark = pytest.mark.e2e

LIMIT = 64


def _run_limited(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))

    return subprocess.run(
        [str(mreg_script()), *args], cwd=cwd, capture_output=True, text=True, preexec_fn=lower
    )


def test_jobs_beyond_the_open_file_limit_still_transfer(repo: Path) -> None:
    for i in range(600):
        write(repo / "d" / f"f{i:04d}", f"file {i}\n")
    assert run_mreg(repo, "add", "dm", "d").exit_code == 0
    assert run_mreg(repo, "remote", "add", "o", str(repo.parent / "store"), "-d").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "dm")

    done = _run_limited(repo, "push", "-j", "1000")
    assert done.returncode == 0, done.stderr
    assert "push o: 601 pushed" in done.stderr
    assert run_mreg(repo, "verify", "-r", "o").exit_code == 0

    clone = repo.parent / "clone"
    git(repo.parent, "clone", "-q", str(repo), str(clone))
    done = _run_limited(clone, "pull", "-j", "1000")
    assert done.returncode == 0, done.stderr
    assert (clone / "d" / "f0599").read_text() == "file 599\n"
    done = _run_limited(clone, "get", "dm", "-o", str(repo.parent / "out"), "-j", "1000")
    assert done.returncode == 0, done.stderr
    assert len(list((repo.parent / "out").iterdir())) == 600


def test_fd_room_follows_the_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, hard))
        room = transfer.fd_room()
        assert 1 <= room <= (LIMIT - transfer.FDS_SPARE) // transfer.FDS_PER_JOB
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
