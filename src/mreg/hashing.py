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
from typing import BinaryIO

from mreg.errors import InvalidManifest

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
    """Write all of view: a raw file's write may take only part of it."""
    while view:
        n = dst.write(view)
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


def check_relpath(path: object, what: str = "path") -> str:
    """Return a safe relative POSIX path or raise ValueError (untrusted input)."""
    if not isinstance(path, str) or not path:
        raise ValueError(f"{what} must be a non-empty string")
    if "\\" in path or "\x00" in path:
        raise ValueError(f"{what} {path!r} holds a backslash or NUL")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise ValueError(f"{what} {path!r} is absolute")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"{what} {path!r} has an empty, '.' or '..' segment")
    return path


def manifest_bytes(entries: Iterable[Entry]) -> bytes:
    """Canonical JSON of a manifest: sorted by path, fixed key order, no spaces, UTF-8."""
    rows = sorted(entries, key=lambda e: e.path)
    for e in rows:  # write only what parse_manifest reads back
        try:
            check_relpath(e.path, "manifest path")
        except ValueError as exc:
            raise InvalidManifest(str(exc), hint="rename that file") from None
    for a, b in itertools.pairwise(rows):
        if a.path == b.path:
            raise InvalidManifest(f"duplicate path {a.path!r} in manifest")
    doc = {
        "schema": MANIFEST_SCHEMA,
        "files": [{"path": e.path, "oid": e.oid, "size": e.size, "exec": e.exec} for e in rows],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


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


def parse_manifest(data: bytes) -> list[Entry]:
    """Parse and validate a manifest blob; raises InvalidManifest on anything off."""
    try:
        doc = load_json(data)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidManifest(f"manifest is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise InvalidManifest("manifest must be an object with a 'files' list")
    if doc.get("schema") != MANIFEST_SCHEMA:
        raise InvalidManifest(
            f"manifest schema {doc.get('schema')!r} is not supported",
            hint="upgrade mreg: pip install -U mreg",
        )
    entries = []
    seen: set[str] = set()
    for row in doc["files"]:
        if not isinstance(row, dict):
            raise InvalidManifest("manifest entry is not an object")
        try:
            path = check_relpath(row.get("path"), "manifest path")
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
    # A file and a folder of the same name cannot both exist.
    for p in seen:
        parent = p.rpartition("/")[0]
        while parent:
            if parent in seen:
                raise InvalidManifest(f"manifest lists {parent!r} as a file and a folder")
            parent = parent.rpartition("/")[0]
    return entries
