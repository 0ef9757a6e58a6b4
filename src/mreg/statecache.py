"""The hash-state cache: remembers the oid of a file for its (inode, size, mtime_ns).

Layer: bottom (stdlib only). A sqlite database under `.mreg/tmp/` lets `status`, a
re-`add` and `checkout` skip re-hashing files that did not change. It is only an
optimisation: any sqlite trouble (locked, corrupt, read-only) degrades to "not cached".
Two processes may use it at once (WAL, busy timeout). A file whose mtime is too close to
the moment it was hashed is not recorded, since a write in the same clock tick would
leave the same mtime (git's "racy clean" problem).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

# Writes after our stat get an mtime at least this far past one taken before it
# (the kernel's coarse clock lags by at most a tick). Whole-second mtimes need more.
RACY_NS = 100_000_000
RACY_COARSE_NS = 2_000_000_000
# Known-good blobs are tracked from this size up.
KNOWN_MIN = 1 << 20
# Parsed cards kept (a few KiB each): every version of a few hundred models.
DOCS_MAX = 20_000


def _key(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def is_racy(st: os.stat_result, started_ns: int) -> bool:
    """True when a write after `started_ns` could have left this same mtime."""
    return is_racy_ns(st.st_mtime_ns, started_ns)


def is_racy_ns(mtime_ns: int, started_ns: int) -> bool:
    """is_racy of an mtime_ns (a file's, or a folder's: its entries changed)."""
    margin = RACY_COARSE_NS if mtime_ns % 1_000_000_000 == 0 else RACY_NS
    return mtime_ns > started_ns - margin


class StateCache:
    """Path -> (inode, size, mtime_ns, oid), in sqlite. Never raises for sqlite trouble."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._conn: Any = None
        self._broken = False

    def _connect(self) -> Any:
        if self._conn is None and not self._broken:
            import sqlite3

            try:
                self.db_path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.db_path), timeout=5.0, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS state (path TEXT PRIMARY KEY, ino INTEGER,"
                    " size INTEGER, mtime_ns INTEGER, oid TEXT)"
                )
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS blobs (oid TEXT PRIMARY KEY, dev INTEGER,"
                    " ino INTEGER, size INTEGER, mtime_ns INTEGER)"
                )
                conn.execute("CREATE TABLE IF NOT EXISTS docs (digest TEXT PRIMARY KEY, doc TEXT)")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS dirs (path TEXT PRIMARY KEY, fingerprint TEXT,"
                    " oid TEXT, size INTEGER, files INTEGER)"
                )
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS complete (oid TEXT PRIMARY KEY, heads TEXT,"
                    " stamp TEXT)"
                )
                self._conn = conn
            except (sqlite3.Error, OSError):
                self._broken = True
        return self._conn

    def lookup(self, paths: dict[str, os.stat_result]) -> dict[str, str]:
        """For each path whose stat still matches its record, the recorded oid."""
        conn = self._connect()
        if conn is None or not paths:
            return {}
        import sqlite3

        found: dict[str, str] = {}
        names = list(paths)
        try:
            for i in range(0, len(names), 500):
                batch = names[i : i + 500]
                marks = ",".join("?" * len(batch))
                rows = conn.execute(
                    f"SELECT path, ino, size, mtime_ns, oid FROM state WHERE path IN ({marks})",
                    batch,
                ).fetchall()
                for path, ino, size, mtime_ns, oid in rows:
                    if (ino, size, mtime_ns) == _key(paths[path]):
                        found[path] = oid
        except sqlite3.Error:
            return {}
        return found

    def record(self, rows: list[tuple[str, os.stat_result, str]], started_ns: int) -> None:
        """Remember (path, stat, oid) rows, skipping racily-clean ones."""
        keep = [(path, *_key(st), oid) for path, st, oid in rows if not is_racy(st, started_ns)]
        self._write("INSERT OR REPLACE INTO state VALUES (?, ?, ?, ?, ?)", keep)

    # Known-good blobs. A cache blob whose bytes mreg hashed (while writing it, or when a
    # checkout checked it) is remembered with its (dev, inode, size, mtime_ns); a later
    # checkout of an unchanged blob skips re-hashing it. No racy-clean margin here: blobs
    # are read-only files only mreg writes. Bit rot leaves the stat as it was: that is
    # what `mreg verify` re-hashes for. Only blobs of KNOWN_MIN bytes or more: hashing a
    # smaller one costs less than the lookup.

    def blob_known(self, oid: str, st: os.stat_result) -> bool:
        """True when blob oid (of KNOWN_MIN bytes or more) was hashed by mreg and its stat
        has not changed since."""
        if st.st_size < KNOWN_MIN:
            return False
        row = self._one("SELECT dev, ino, size, mtime_ns FROM blobs WHERE oid = ?", oid)
        return row is not None and tuple(row) == (st.st_dev, *_key(st))

    def record_blobs(self, rows: list[tuple[str, os.stat_result]]) -> None:
        """Remember (oid, stat) of blobs whose bytes were just hashed (the small ones are
        not worth a row)."""
        keep = [(oid, st.st_dev, *_key(st)) for oid, st in rows if st.st_size >= KNOWN_MIN]
        self._write("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?, ?)", keep)

    # Folders. A folder artifact whose files all still have the stats they were hashed
    # with (one fingerprint of every file's path, inode, size, mtime_ns and exec bit) has
    # the manifest oid it had then: one row instead of a lookup per file and a manifest
    # rebuilt. Recorded only when no file was racily clean. And manifests known to be
    # complete in the cache: every blob was there while the fan-out folders they live in
    # had these mtimes (`stamp`); adding or removing a blob in one of them changes it.

    def dir_lookup(self, path: str, fingerprint: str) -> tuple[str, int, int] | None:
        """(oid, size, files) of the folder at path when its fingerprint is unchanged."""
        row = self._one("SELECT fingerprint, oid, size, files FROM dirs WHERE path = ?", path)
        return None if row is None or row[0] != fingerprint else (row[1], row[2], row[3])

    def dir_record(self, path: str, fingerprint: str, oid: str, size: int, files: int) -> None:
        self._write(
            "INSERT OR REPLACE INTO dirs VALUES (?, ?, ?, ?, ?)",
            [(path, fingerprint, oid, size, files)],
        )

    def complete_lookup(self, oid: str) -> tuple[str, str] | None:
        """(heads, stamp) recorded for manifest oid by complete_record."""
        row = self._one("SELECT heads, stamp FROM complete WHERE oid = ?", oid)
        return None if row is None else (row[0], row[1])

    def complete_record(self, oid: str, heads: str, stamp: str) -> None:
        self._write("INSERT OR REPLACE INTO complete VALUES (?, ?, ?)", [(oid, heads, stamp)])

    def _one(self, sql: str, key: str) -> Any:
        """The first row `sql` selects for key; None for none, or for sqlite trouble."""
        conn = self._connect()
        if conn is None:
            return None
        import sqlite3

        try:
            return conn.execute(sql, (key,)).fetchone()
        except sqlite3.Error:
            return None

    def _write(
        self, sql: str, rows: list[tuple[Any, ...]], then: tuple[str, tuple[Any, ...]] | None = None
    ) -> None:
        """`sql` for each row, then the statement `then`, in one transaction; sqlite
        trouble leaves the database as it was. No rows: not even a connection."""
        if not rows:
            return
        conn = self._connect()
        if conn is None:
            return
        import sqlite3

        try:
            with conn:
                conn.execute("BEGIN")
                conn.executemany(sql, rows)
                if then is not None:
                    conn.execute(*then)
        except sqlite3.Error:
            pass

    # Parsed YAML documents (cards), keyed by the sha256 of their bytes and kept as JSON:
    # a cached card loads several times faster than PyYAML parses it, and a command whose
    # cards are all cached never imports yaml. Keyed by content, not stat, so there is no
    # racy-clean case; the caller still validates what comes back.

    def doc_lookup(self, digest: str) -> tuple[bool, Any]:
        """(True, document) when the YAML whose sha256 is digest was parsed before."""
        row = self._one("SELECT doc FROM docs WHERE digest = ?", digest)
        if row is None:
            return False, None
        import json

        try:
            return True, json.loads(row[0])
        except ValueError:
            return False, None

    def doc_record(self, digest: str, doc: Any) -> None:
        """Remember a parsed document, when JSON holds it exactly (string keys, plain
        values); the table keeps the newest DOCS_MAX rows."""
        if not _json_exact(doc, 0):
            return
        import json

        try:
            text = json.dumps(doc)
        except ValueError:
            return
        self._write(
            "INSERT OR REPLACE INTO docs VALUES (?, ?)",
            [(digest, text)],
            then=("DELETE FROM docs WHERE rowid <= (SELECT MAX(rowid) FROM docs) - ?", (DOCS_MAX,)),
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _json_exact(doc: Any, depth: int) -> bool:
    """True when json.loads(json.dumps(doc)) == doc, types included."""
    if depth > 100:
        return False
    if doc is None or isinstance(doc, (str, bool, int, float)):
        return True
    if isinstance(doc, list):
        return all(_json_exact(v, depth + 1) for v in doc)
    if isinstance(doc, dict):
        return all(isinstance(k, str) and _json_exact(v, depth + 1) for k, v in doc.items())
    return False


def now_ns() -> int:
    return time.time_ns()
