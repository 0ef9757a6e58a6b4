"""Streaming sha256: of bytes, of files, and while copying; tree manifests; oid syntax.

Layer: bottom (stdlib only). The copy pipeline hashes each chunk in a thread of its own
while the caller's thread reads and writes (hashlib and raw file I/O release the GIL), so
storing a file costs one read pass and one write, at about the speed of hashing alone.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import queue
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring  # what dumps(ensure_ascii=False) uses
from operator import attrgetter
from typing import Any, BinaryIO

from mreg.errors import UPGRADE_HINT, InvalidManifest
from mreg.fsutil import WRITE_MAX

ALGO = "sha256"
CHUNK = 4 * 1024 * 1024
FIRST_READ = 64 * 1024  # the first read of a stream: small files never need a whole CHUNK
OID_RE = re.compile(r"^sha256:[0-9a-f]{64}\Z")  # \Z: `$` lets a final newline in
MANIFEST_SCHEMA = 1


def is_oid(value: object) -> bool:
    """True when value is a full `sha256:<64 hex>` string."""
    return isinstance(value, str) and OID_RE.match(value) is not None


def oid_hex(oid: str) -> str:
    """The 64 hex digits of an oid (raises ValueError on a malformed one)."""
    if not is_oid(oid):
        raise ValueError(f"not an oid: {oid!r}")
    return oid[len(ALGO) + 1 :]


def short(oid: str) -> str:
    """The first 12 hex digits, for screens (never for JSON)."""
    return oid.split(":", 1)[-1][:12]


def oid_of_bytes(data: bytes) -> str:
    return f"{ALGO}:{hashlib.sha256(data).hexdigest()}"


def hash_stream(stream: BinaryIO) -> tuple[str, int]:
    """Digest and size of everything left in a binary stream."""
    h = hashlib.sha256()
    size = 0
    buf = bytearray(min(CHUNK, FIRST_READ))  # a whole CHUNK only once the stream is big
    view = memoryview(buf)
    while True:
        n = stream.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        h.update(view[:n])
        size += n
        if n == len(buf) < CHUNK:
            buf = bytearray(CHUNK)
            view = memoryview(buf)
    return f"{ALGO}:{h.hexdigest()}", size


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Digest and size of a file, read once in large unbuffered chunks."""
    with open(path, "rb", buffering=0) as f:
        return hash_stream(f)


def _write_all(dst: BinaryIO, view: memoryview) -> None:
    """Write all of view, WRITE_MAX at a time (see fsutil): a raw file's write may take
    only part of it."""
    while view:
        n = dst.write(view[:WRITE_MAX])
        if n is None:  # a non-blocking raw stream that would block
            raise BlockingIOError("copy_hashing: destination would block")
        view = view[n:]


def copy_hashing(src: BinaryIO, dst: BinaryIO, depth: int = 4) -> tuple[str, int]:
    """Copy src to dst and return (oid, size) of exactly the bytes written.

    This thread reads each chunk into a buffer, hands it to a hasher thread and writes it
    out while it is hashed: both only read the buffer, which comes back for reuse once
    hashed. The digest is of the buffer that was written, never of a second read.
    SHA-256 (~1.8 GB/s a core) is the slowest stage, so it gets a thread of its own and
    reading + writing share the other: a 1 GiB copy costs about the hashing alone.
    Memory is bounded by `depth` x CHUNK whatever the file's size.
    """
    h = hashlib.sha256()
    size = 0
    # Small sources are copied inline through one small buffer: a thread and depth x
    # CHUNK of fresh memory cost more than a small file (~1 ms for 4 MiB of zeroed pages,
    # paid per file by a checkout of thousands). A read that fills it starts the pipeline.
    first = bytearray(min(CHUNK, FIRST_READ))
    view = memoryview(first)
    while True:
        n = src.readinto(view)  # type: ignore[attr-defined]
        if not n:
            return f"{ALGO}:{h.hexdigest()}", size
        h.update(view[:n])
        _write_all(dst, view[:n])
        size += n
        if n == len(first):
            break

    free: queue.Queue[bytearray | None] = queue.Queue()
    full: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
    failed: list[BaseException] = []
    for _ in range(max(depth, 1)):
        free.put(bytearray(CHUNK))

    def hasher() -> None:
        try:
            while (item := full.get()) is not None:
                buf, n = item
                h.update(memoryview(buf)[:n])
                free.put(buf)
        except BaseException as exc:  # handed to the copying thread, which re-raises it
            failed.append(exc)
            free.put(None)

    thread = threading.Thread(target=hasher, name="mreg-hasher", daemon=True)
    thread.start()
    try:
        while (buf := free.get()) is not None:  # None: the hasher failed
            n = src.readinto(memoryview(buf))  # type: ignore[attr-defined]
            if not n:
                break
            full.put((buf, n))
            _write_all(dst, memoryview(buf)[:n])
            size += n
    finally:
        full.put(None)
        thread.join()
    if failed:
        raise failed[0]
    return f"{ALGO}:{h.hexdigest()}", size


@dataclass(frozen=True)
class Entry:
    """One file of a directory artifact, as listed in its manifest."""

    path: str
    oid: str
    size: int
    exec: bool = False


_DRIVE_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

# A path segment that git takes for its own folder `.git`, in paths framed by '/' or NUL:
# `.git` in any letter case (a case-insensitive file system folds `.GIT` onto it), and what
# git's core.protectNTFS refuses too: trailing dots or spaces, an NTFS stream
# (`.git::$INDEX_ALLOCATION`) and the 8.3 short name `git~1`. git refuses these in a tree;
# mreg in a manifest or a card, so that nothing it writes can land in a `.git`.
_GIT_SEGMENT = re.compile(
    r"[/\x00](?:\.git|git~1)[. ]*(?::[^/\x00]*)?(?=[/\x00])", re.IGNORECASE | re.ASCII
)
# What HFS+ leaves out of a name when it compares two (git's core.protectHFS): `.g\u200cit`
# is `.git` there.
_HFS_IGNORED = re.compile("[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]")


def _has_git_segment(framed: str) -> bool:
    """True when a segment of framed (paths each between '/' or NUL) is one git takes for
    `.git` (_GIT_SEGMENT), on any file system."""
    if not framed.isascii():
        return _GIT_SEGMENT.search(_HFS_IGNORED.sub("", framed)) is not None
    # Only where "git" occurs (a manifest of 10,000 paths: 0.4 ms, a search of it all 2.5).
    low = framed.lower()  # ASCII: as long as framed, so its indexes are framed's
    at = low.find("git")
    while at != -1:
        if _GIT_SEGMENT.match(framed, at - 2) or _GIT_SEGMENT.match(framed, at - 1):
            return True
        at = low.find("git", at + 3)
    return False


# A manifest listing a `.git` path: a crafted one, or a folder an older mreg stored whole.
GIT_MANIFEST_HINT = (
    "mreg never writes into a .git folder; a folder registered with its .git by an older"
    " mreg: register it again (mreg add NAME PATH leaves .git out)"
)


class GitSegment(ValueError):
    """check_relpath's error for a path with a segment git takes for `.git`."""


def first_git_path(paths: list[str]) -> str | None:
    """The first of paths with a segment git takes for `.git` (None when there is none),
    looked for in all of them at once."""
    if not _has_git_segment("\x00" + "\x00".join(paths) + "\x00"):
        return None
    return next(p for p in paths if _has_git_segment(f"/{p}/"))


def _relpath_ok(path: str) -> bool:
    """What check_relpath accepts, by substring tests alone (no regex, no split)."""
    return (
        path != ""
        and "\\" not in path
        and "\x00" not in path
        and "//" not in path
        and not path.startswith(("/", "./", "../"))
        and not path.endswith(("/", "/.", "/.."))
        and "/./" not in path
        and "/../" not in path
        and path not in (".", "..")
        and not (path[1:2] == ":" and path[0] in _DRIVE_LETTERS)
        and not _has_git_segment(f"/{path}/")
    )


def check_relpath(path: object, what: str = "path") -> str:
    """Return a safe relative POSIX path or raise ValueError (untrusted input)."""
    if isinstance(path, str) and _relpath_ok(path):
        return path  # the common case; below, the same rules, to say which one failed
    if not isinstance(path, str) or not path:
        raise ValueError(f"{what} must be a non-empty string")
    if "\\" in path or "\x00" in path:
        raise ValueError(f"{what} {path!r} holds a backslash or NUL")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise ValueError(f"{what} {path!r} is absolute")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"{what} {path!r} has an empty, '.' or '..' segment")
    if _has_git_segment(f"/{path}/"):
        raise GitSegment(f"{what} {path!r} has a segment that git takes for '.git'")
    return path


# In paths joined and framed by NUL: a segment '.' or '..', a drive letter at a path's start.
_DOT_SEGMENT = re.compile(r"[/\x00]\.\.?[/\x00]")
_DRIVE = re.compile(r"\x00[A-Za-z]:")


def _all_relpaths_ok(paths: list[str]) -> bool:
    """True when check_relpath accepts every one of paths (all str), tested on all of them
    at once: a few scans of one string instead of a dozen tests a path.

    False says only that some path may be refused: call check_relpath on each for why.
    """
    if not paths:
        return True
    framed = "\x00" + "\x00".join(paths) + "\x00"  # each path between two NULs
    return (
        framed.count("\x00") == len(paths) + 1  # no path holds a NUL of its own
        and "\x00\x00" not in framed  # an empty path
        and "\\" not in framed
        and "//" not in framed
        and "\x00/" not in framed  # absolute
        and "/\x00" not in framed  # an empty last segment
        and _DOT_SEGMENT.search(framed) is None
        and (":" not in framed or _DRIVE.search(framed) is None)
        and not _has_git_segment(framed)
    )


def _manifest_json(rows: list[Entry]) -> bytes:
    """The canonical manifest bytes of rows (sorted, paths checked): the bytes of
    json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False), written
    out row by row for the plain types every caller passes; anything else goes through
    json.dumps itself."""
    if all(
        type(e.path) is str and type(e.oid) is str and type(e.size) is int and type(e.exec) is bool
        for e in rows
    ):
        files = ",".join(
            f'{{"exec":{"true" if e.exec else "false"},"oid":{encode_basestring(e.oid)},'
            f'"path":{encode_basestring(e.path)},"size":{e.size}}}'
            for e in rows
        )
        return f'{{"files":[{files}],"schema":{MANIFEST_SCHEMA}}}'.encode()
    doc = {
        "schema": MANIFEST_SCHEMA,
        "files": [{"path": e.path, "oid": e.oid, "size": e.size, "exec": e.exec} for e in rows],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manifest_bytes(entries: Iterable[Entry], *, paths_checked: bool = False) -> bytes:
    """Canonical JSON of a manifest: sorted by path, fixed key order, no spaces, UTF-8.

    `paths_checked`: every path already passed check_relpath (scan_dir's output), so it
    is not checked again. Duplicates are refused either way.
    """
    rows = sorted(entries, key=attrgetter("path"))
    if not paths_checked:  # write only what parse_manifest reads back
        paths = [e.path for e in rows]
        if not (all(type(p) is str for p in paths) and _all_relpaths_ok(paths)):
            for e in rows:
                try:
                    check_relpath(e.path, "manifest path")
                except ValueError as exc:
                    raise InvalidManifest(str(exc), hint="rename that file") from None
    for a, b in itertools.pairwise(rows):
        if a.path == b.path:
            raise InvalidManifest(f"duplicate path {a.path!r} in manifest")
    return _manifest_json(rows)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def load_json(data: bytes) -> object:
    """Parse untrusted JSON: ValueError for malformed text, non-UTF-8 bytes, a duplicate
    key, or nesting too deep for the parser (which would raise RecursionError)."""
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def parse_manifest(data: bytes, *, keep_git: bool = False) -> list[Entry]:
    """Parse and validate a manifest blob; raises InvalidManifest on anything off.

    `keep_git`: also accept paths with a `.git` segment, which an older mreg stored with
    a folder, for readers that only list or move blobs (push, fetch, gc, verify, status):
    anything that writes the files out (checkout, get) parses strictly and refuses them.
    """
    try:
        doc = load_json(data)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidManifest(f"manifest is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise InvalidManifest("manifest must be an object with a 'files' list")
    if doc.get("schema") != MANIFEST_SCHEMA:
        raise InvalidManifest(
            f"manifest schema {doc.get('schema')!r} is not supported",
            hint=UPGRADE_HINT,
        )
    rows: list[Any] = doc["files"]
    entries = _entries_if_valid(rows)
    if entries is None:  # something is off: find what, row by row, and say it
        entries = _entries_checked(rows, keep_git)
    # A file and a folder of the same name cannot both exist.
    seen = {e.path for e in entries}
    for p in seen:
        parent = p.rpartition("/")[0]
        while parent:
            if parent in seen:
                raise InvalidManifest(f"manifest lists {parent!r} as a file and a folder")
            parent = parent.rpartition("/")[0]
    return entries


def _entries_if_valid(rows: list[Any]) -> list[Entry] | None:
    """The entries of a manifest whose rows all pass _entries_checked, checked a column at
    a time (a few C-level passes instead of a dozen Python steps a row); None otherwise."""
    if not all(type(row) is dict for row in rows):
        return None
    cols = [
        (row.get("path"), row.get("oid"), row.get("size"), row.get("exec", False)) for row in rows
    ]
    paths = [c[0] for c in cols]
    oids = [c[1] for c in cols]
    if not (
        all(type(p) is str for p in paths)
        and _all_relpaths_ok(paths)
        and all(type(o) is str for o in oids)
        and all(map(OID_RE.match, oids))
        and all(type(c[2]) is int and c[2] >= 0 for c in cols)
        and all(type(c[3]) is bool for c in cols)
        and len(set(paths)) == len(paths)
    ):
        return None
    return [Entry(*c) for c in cols]


def _entries_checked(rows: list[Any], keep_git: bool = False) -> list[Entry]:
    """Check the rows one by one; raise InvalidManifest for the first that is off."""
    entries = []
    seen: set[str] = set()
    for row in rows:
        if not isinstance(row, dict):
            raise InvalidManifest("manifest entry is not an object")
        try:
            path = check_relpath(row.get("path"), "manifest path")
        except GitSegment as exc:
            if not keep_git:
                raise InvalidManifest(str(exc), hint=GIT_MANIFEST_HINT) from None
            path = row["path"]  # check_relpath tests for .git last: the rest held
        except ValueError as exc:
            raise InvalidManifest(str(exc)) from None
        oid, size, exe = row.get("oid"), row.get("size"), row.get("exec", False)
        if not is_oid(oid):
            raise InvalidManifest(f"manifest entry {path!r}: bad oid {oid!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidManifest(f"manifest entry {path!r}: bad size {size!r}")
        if not isinstance(exe, bool):
            raise InvalidManifest(f"manifest entry {path!r}: exec must be true or false")
        if path in seen:
            raise InvalidManifest(f"duplicate path {path!r} in manifest")
        seen.add(path)
        entries.append(Entry(path, str(oid), size, exe))
    return entries
