"""fsutil.kernel_copy: copy_file_range, else sendfile, else plain reads; the same bytes
whichever way, and an error after the first byte is raised, not papered over."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from mreg import fsutil


def refuse(err: int) -> Callable[..., int]:
    def fn(*_args: object) -> int:
        raise OSError(err, os.strerror(err))

    return fn


def copy(tmp_path: Path, data: bytes) -> tuple[bytes, list[int]]:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(data)
    steps: list[int] = []
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        n = fsutil.kernel_copy(fin.fileno(), fout.fileno(), steps.append)
    assert n == len(data) == sum(steps)
    return dst.read_bytes(), steps


@pytest.mark.parametrize("refused", [[], ["copy_file_range"], ["copy_file_range", "sendfile"]])
def test_every_way_copies_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: list[str]
) -> None:
    for name in refused:
        monkeypatch.setattr(
            os, name, refuse(errno.EXDEV if name == "copy_file_range" else errno.EINVAL)
        )
    data = os.urandom(3 * 1024 * 1024 + 5)
    got, steps = copy(tmp_path, data)
    assert got == data and len(steps) >= 1


def test_an_error_after_the_first_byte_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.copy_file_range
    calls = []

    def once_then_fail(fin: int, fout: int, count: int) -> int:
        calls.append(count)
        if len(calls) > 1:
            raise OSError(errno.EXDEV, "gone")
        return real(fin, fout, count)

    monkeypatch.setattr(os, "copy_file_range", once_then_fail)
    with pytest.raises(OSError, match="gone"):
        copy(tmp_path, os.urandom(9 * 1024 * 1024))


def test_an_empty_file(tmp_path: Path) -> None:
    assert copy(tmp_path, b"") == (b"", [])
