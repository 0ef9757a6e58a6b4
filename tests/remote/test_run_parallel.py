"""transfer.run_parallel: the same error rules with one job (inline) as with a pool."""

from __future__ import annotations

import pytest

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
