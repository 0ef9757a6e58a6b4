"""mreg.statecache: what it remembers, and that sqlite trouble only ever means "not cached"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mreg.statecache import DOCS_MAX, KNOWN_MIN, StateCache, now_ns

OID = "sha256:" + "ab" * 32


def _old_file(path: Path, size: int) -> os.stat_result:
    """A file whose mtime is well before now: not racily clean."""
    path.write_bytes(b"x" * size)
    os.utime(path, ns=(now_ns() - 10**10, now_ns() - 10**10))
    return os.stat(path)


def test_every_table_round_trips(tmp_path: Path) -> None:
    state = StateCache(tmp_path / "tmp" / "state.sqlite")
    st = _old_file(tmp_path / "f", 10)
    state.record([("m/f", st, OID)], now_ns())
    assert state.lookup({"m/f": st}) == {"m/f": OID}
    big = _old_file(tmp_path / "big", KNOWN_MIN)
    state.record_blobs([(OID, big), ("sha256:" + "cd" * 32, st)])  # the small one: no row
    assert state.blob_known(OID, big)
    assert not state.blob_known("sha256:" + "cd" * 32, st)
    state.dir_record("ck", "fp", OID, 10, 1)
    assert state.dir_lookup("ck", "fp") == (OID, 10, 1)
    assert state.dir_lookup("ck", "other") is None
    state.complete_record(OID, "heads", "stamp")
    assert state.complete_lookup(OID) == ("heads", "stamp")
    state.doc_record("d1", {"a": [1, 2.5, None, True]})
    assert state.doc_lookup("d1") == (True, {"a": [1, 2.5, None, True]})
    state.doc_record("d2", {1: "a non-string key"})  # JSON would not give it back as is
    assert state.doc_lookup("d2") == (False, None)
    state.close()


def test_a_racily_clean_or_changed_file_is_not_answered(tmp_path: Path) -> None:
    state = StateCache(tmp_path / "state.sqlite")
    fresh = tmp_path / "fresh"
    fresh.write_bytes(b"new")
    state.record([("fresh", os.stat(fresh), OID)], now_ns())  # mtime too close: skipped
    assert state.lookup({"fresh": os.stat(fresh)}) == {}
    st = _old_file(tmp_path / "f", 3)
    state.record([("f", st, OID)], now_ns())
    (tmp_path / "f").write_bytes(b"abc")  # same size, new mtime
    assert state.lookup({"f": os.stat(tmp_path / "f")}) == {}


def test_the_docs_table_keeps_the_newest_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mreg.statecache.DOCS_MAX", 3)
    state = StateCache(tmp_path / "state.sqlite")
    for i in range(5):
        state.doc_record(f"d{i}", {"i": i})
    assert [state.doc_lookup(f"d{i}")[0] for i in range(5)] == [False, False, True, True, True]
    assert DOCS_MAX > 3  # the real bound is untouched


def _write_all_then_find_nothing(db: Path, file: Path) -> None:
    """Every kind of write, then every kind of lookup: none raises, none answers."""
    state = StateCache(db)
    st = _old_file(file, KNOWN_MIN)
    state.record([("f", st, OID)], now_ns())
    state.record_blobs([(OID, st)])
    state.dir_record("ck", "fp", OID, 1, 1)
    state.complete_record(OID, "h", "s")
    state.doc_record("d", {"a": 1})
    assert state.lookup({"f": st}) == {}
    assert not state.blob_known(OID, st)
    assert state.dir_lookup("ck", "fp") is None
    assert state.complete_lookup(OID) is None
    assert state.doc_lookup("d") == (False, None)
    state.close()


@pytest.mark.parametrize("damage", ["garbage", "a folder"])
def test_a_broken_database_means_not_cached(tmp_path: Path, damage: str) -> None:
    db = tmp_path / "state.sqlite"
    if damage == "garbage":
        db.write_bytes(b"this is not a sqlite database" * 100)
    else:
        db.mkdir()
    _write_all_then_find_nothing(db, tmp_path / "f")
    if damage == "garbage":
        assert db.read_bytes() == b"this is not a sqlite database" * 100  # left as it was


def test_nothing_to_write_opens_no_database(tmp_path: Path) -> None:
    db = tmp_path / "tmp" / "state.sqlite"
    state = StateCache(db)
    state.record_blobs([(OID, os.stat(tmp_path))])  # below KNOWN_MIN: nothing to keep
    state.record([], now_ns())
    assert not db.parent.exists()


def test_sqlite_errors_inside_a_statement_mean_not_cached(tmp_path: Path) -> None:
    """A database of another shape (an older mreg's, say): every statement fails; the
    calls neither raise nor answer."""
    import sqlite3

    db = tmp_path / "state.sqlite"
    with sqlite3.connect(db) as conn:
        for table in ("state", "blobs", "dirs", "complete", "docs"):
            conn.execute(f"CREATE TABLE {table} (only_one_column TEXT)")
    conn.close()
    _write_all_then_find_nothing(db, tmp_path / "f")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM state").fetchone() == (0,)
    conn.close()
