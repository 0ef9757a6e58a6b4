"""`mreg get -o PATH` without --force never replaces what appears at PATH while it
writes: the check that PATH is free comes before the bytes, so the final move itself
must refuse to clobber (transfer._swap_in with replace=False)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mreg import transfer
from mreg.card import KIND_DIR, KIND_FILE, Artifact, Card
from mreg.errors import InvalidPath
from mreg.hashing import Entry


class _RacingSource:
    """Writes every blob as b"new"; once first called, makes `appear()` happen, as
    another process would between get's check of -o and its rename."""

    def __init__(self, appear: object, entries: list[Entry] | None = None) -> None:
        self.appear = appear
        self.entries = entries or []
        self.calls = 0

    def manifest(self, oid: str) -> list[Entry]:
        return self.entries

    def write(self, oid: str, dest: Path, executable: bool, progress: object) -> int:
        if self.calls == 0:
            self.appear()  # type: ignore[operator]
        self.calls += 1
        dest.write_bytes(b"new")
        return 3


def _card(kind: str) -> Card:
    oid = "sha256:" + "ab" * 32
    return Card(
        name="churn",
        version=1,
        artifact=Artifact(path="m.bin", oid=oid, kind=kind, size=3, files=1),
    )


def test_a_file_that_appears_meanwhile_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "m.bin"
    source = _RacingSource(lambda: out.write_bytes(b"theirs"))
    with pytest.raises(InvalidPath, match="already exists"):
        transfer.get_card(_card(KIND_FILE), out, source)  # type: ignore[arg-type]
    assert out.read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin"]  # no temp left


def test_a_folder_that_fills_meanwhile_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "enc"

    def appear() -> None:
        out.mkdir()
        (out / "theirs.txt").write_bytes(b"theirs")

    entries = [Entry(path="a.bin", oid="sha256:" + "cd" * 32, size=3, exec=False)]
    source = _RacingSource(appear, entries)
    with pytest.raises(InvalidPath, match="already exists"):
        transfer.get_card(_card(KIND_DIR), out, source, jobs=1)  # type: ignore[arg-type]
    assert [p.name for p in out.iterdir()] == ["theirs.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc"]


def test_a_file_that_appears_where_a_folder_goes_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "enc"
    entries = [Entry(path="a.bin", oid="sha256:" + "cd" * 32, size=3, exec=False)]
    source = _RacingSource(lambda: out.write_bytes(b"theirs"), entries)
    with pytest.raises(InvalidPath, match="already exists"):
        transfer.get_card(_card(KIND_DIR), out, source, jobs=1)  # type: ignore[arg-type]
    assert out.read_bytes() == b"theirs"


def test_with_nothing_there_it_is_placed(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "m.bin"
    assert transfer.get_card(_card(KIND_FILE), out, _RacingSource(lambda: None)) == 3  # type: ignore[arg-type]
    assert out.read_bytes() == b"new" and out.stat().st_nlink == 1
    assert [p.name for p in out.parent.iterdir()] == ["m.bin"]
