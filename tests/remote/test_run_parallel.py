"""transfer.run_parallel: the same error rules with one job (inline) as with a pool."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import (
    HELPER_POSSIBLE,
    HELPER_PREAMBLE,
    HELPER_SKIP_REASON,
    blob_path,
    cache_blobs,
    run_helper_script,
    run_mreg,
    sha,
    write,
)

from mreg.errors import BlobCorrupt, RemoteError
from mreg.transfer import run_parallel


@pytest.mark.parametrize("jobs", [1, 3])
def test_errors_the_caller_accepts_do_not_stop_the_rest(jobs: int) -> None:
    done: list[int] = []
    seen: list[int] = []

    def fn(i: int) -> None:
        if i % 3 == 0:
            raise BlobCorrupt(f"bad {i}")
        done.append(i)

    def on_error(i: int, err: Exception) -> bool:
        seen.append(i)
        return isinstance(err, BlobCorrupt)

    run_parallel(list(range(10)), fn, jobs, on_error)
    assert sorted(done) == [1, 2, 4, 5, 7, 8]
    assert sorted(seen) == [0, 3, 6, 9]


@pytest.mark.parametrize("jobs", [1, 3])
def test_a_refused_error_is_raised(jobs: int) -> None:
    def fn(i: int) -> None:
        if i == 4:
            raise RemoteError("cannot reach it")

    with pytest.raises(RemoteError, match="cannot reach it"):
        run_parallel(list(range(8)), fn, jobs, lambda _i, _e: False)


@pytest.mark.parametrize("jobs", [1, 3])
def test_other_exceptions_propagate(jobs: int) -> None:
    def fn(i: int) -> None:
        if i == 2:
            raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        run_parallel(list(range(5)), fn, jobs, lambda _i, _e: True)


# ------------------------------------ push to a folder remote with a helper process

_TRANSFER = (
    HELPER_PREAMBLE
    + """
import json, sys
from pathlib import Path
from mreg import transfer
from mreg.project import Project

with Project.open(Path(sys.argv[1])) as proj:
    r = getattr(transfer, sys.argv[2])(proj, remote_name="f", jobs=1)  # a helper: one job
print(json.dumps({"helper": started, "sent": r.transferred, "corrupt": sorted(r.corrupt)}))
"""
)


def _transfer_with_helper(repo: Path, verb: str) -> dict[str, Any]:
    """transfer.push or fetch of `repo` to or from its folder remote `f`, in a fresh
    interpreter (a fork needs a process with no other thread), the helper taking half
    from 8 blobs on: whether it started, what was sent and what was corrupt."""
    got: dict[str, Any] = run_helper_script(_TRANSFER, str(repo), verb, cwd=repo)
    return got


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
@pytest.mark.parametrize("damaged", [False, True])
def test_a_push_to_a_folder_shares_its_blobs_with_a_helper(repo: Path, damaged: bool) -> None:
    for i in range(40):
        write(repo / "ck" / f"f{i:02d}.bin", b"file %d" % i)
    assert run_mreg(repo, "add", "ck", "ck").exit_code == 0
    remote = repo.parent / "remote"
    assert run_mreg(repo, "remote", "add", "f", str(remote)).exit_code == 0
    if damaged:  # a cache blob whose bytes no longer match its name: never pushed
        bad = blob_path(repo, sha(b"file 7"))
        bad.chmod(0o644)
        bad.write_bytes(b"file X")
    got = _transfer_with_helper(repo, "push")
    assert got["helper"] == [True]  # the files shared (the manifest goes up after them)
    if damaged:
        assert got["corrupt"] == [sha(b"file 7")] and got["sent"] == 39  # no manifest
        assert not (remote / "sha256" / sha(b"file 7")[7:9] / sha(b"file 7")[9:]).exists()
    else:
        assert got["corrupt"] == [] and got["sent"] == 41
        check = run_mreg(repo, "verify", "-r", "f")
        assert check.exit_code == 0, check.stderr


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
@pytest.mark.parametrize("damaged", [False, True])
def test_a_fetch_from_a_folder_shares_its_blobs_with_a_helper(repo: Path, damaged: bool) -> None:
    files = {f"f{i:02d}.bin": b"file %d" % i for i in range(40)}
    for name, data in files.items():
        write(repo / "ck" / name, data)
    assert run_mreg(repo, "add", "ck", "ck").exit_code == 0
    remote = repo.parent / "remote"
    assert run_mreg(repo, "remote", "add", "f", str(remote)).exit_code == 0
    assert run_mreg(repo, "push", "-r", "f").exit_code == 0
    shutil.rmtree(repo / ".mreg" / "cache")
    if damaged:  # a remote blob whose bytes no longer match its name: never stored
        bad = remote / "sha256" / sha(b"file 7")[7:9] / sha(b"file 7")[9:]
        bad.chmod(0o644)
        bad.write_bytes(b"file X")
    got = _transfer_with_helper(repo, "fetch")
    assert got["helper"] == [True]
    if damaged:
        assert got["corrupt"] == [sha(b"file 7")] and got["sent"] == 40  # 39 files, manifest
        assert not blob_path(repo, sha(b"file 7")).exists()
        assert len(cache_blobs(repo)) == 40
    else:
        assert got["corrupt"] == [] and got["sent"] == 41
        for data in files.values():
            assert blob_path(repo, sha(data)).read_bytes() == data
        check = run_mreg(repo, "verify")
        assert check.exit_code == 0, check.stderr


_TAKES = (
    HELPER_PREAMBLE
    + """
import json
from mreg.transfer import Helper, run_parallel

here, there = [], []
run_parallel(
    list(range(30)),
    here.append,
    1,
    lambda _i, _e: False,
    Helper(lambda i: str(os.getpid()), lambda i, pid: there.append((i, int(pid))), lambda i: i % 3),
)
print(json.dumps({"helper": started, "here": sorted(here), "there": there, "parent": parent}))
"""
)


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
def test_the_helper_gets_only_the_items_it_takes() -> None:
    """Large blobs (over forkshare.ITEM_BYTES_MAX) stay with this process: the helper
    reports only when it is done, so a large one would hold the progress bar still."""
    got = run_helper_script(_TAKES)
    assert got["helper"] == [True]
    taken = [i for i in range(30) if i % 3]
    assert [i for i, _ in got["there"]] == taken[1::2]  # every other one it takes
    assert {pid for _, pid in got["there"]} != {got["parent"]}
    assert got["here"] == sorted(taken[0::2] + [i for i in range(30) if not i % 3])
