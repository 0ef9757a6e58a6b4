"""mreg.hashing: oids, streaming sha256, copy_hashing, manifests and relative paths."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mreg import fsutil, hashing
from mreg.errors import InvalidManifest
from mreg.fsutil import WRITE_MAX
from mreg.hashing import (
    Entry,
    check_relpath,
    copy_hashing,
    hash_file,
    hash_stream,
    is_oid,
    manifest_bytes,
    oid_hex,
    oid_of_bytes,
    parse_manifest,
    short,
)
from tests.helpers import sha

SMALL_CHUNK = 16


@pytest.fixture
def small_chunk(monkeypatch: pytest.MonkeyPatch) -> int:
    """Shrink CHUNK so that multi-chunk paths run on a few bytes."""
    monkeypatch.setattr(hashing, "CHUNK", SMALL_CHUNK)
    return SMALL_CHUNK


# ---------------------------------------------------------------------------- oids


def test_oid_syntax() -> None:
    oid = oid_of_bytes(b"abc")
    assert oid == "sha256:" + hashlib.sha256(b"abc").hexdigest()
    assert is_oid(oid)
    assert oid_hex(oid) == oid[7:]
    assert short(oid) == oid[7:19]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "sha256:",
        "sha256:" + "0" * 63,
        "sha256:" + "0" * 65,
        "sha256:" + "A" * 64,
        "md5:" + "0" * 64,
        "0" * 64,
        None,
        42,
    ],
)
def test_malformed_oids_are_refused(bad: object) -> None:
    assert not is_oid(bad)
    if isinstance(bad, str):
        with pytest.raises(ValueError, match="not an oid"):
            oid_hex(bad)


# ---------------------------------------------------------------------------- streams

EDGE_LENGTHS = [0, 1, SMALL_CHUNK - 1, SMALL_CHUNK, SMALL_CHUNK + 1, 3 * SMALL_CHUNK]


@pytest.mark.parametrize("length", EDGE_LENGTHS)
def test_hash_stream_and_file_at_chunk_edges(small_chunk: int, length: int, tmp_path: Path) -> None:
    data = bytes((i * 31) % 256 for i in range(length))
    assert hash_stream(io.BytesIO(data)) == (sha(data), length)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert hash_file(path) == (sha(data), length)


@pytest.mark.parametrize("length", EDGE_LENGTHS)
@pytest.mark.parametrize("depth", [1, 2, 4])
def test_copy_hashing_at_chunk_edges(small_chunk: int, length: int, depth: int) -> None:
    data = bytes((i * 7) % 251 for i in range(length))
    dst = io.BytesIO()
    assert copy_hashing(io.BytesIO(data), dst, depth=depth) == (sha(data), length)
    assert dst.getvalue() == data


@given(data=st.binary(max_size=6 * SMALL_CHUNK), depth=st.integers(1, 4))
def test_copy_hashing_equals_hashlib(small_chunk: int, data: bytes, depth: int) -> None:
    dst = io.BytesIO()
    oid, size = copy_hashing(io.BytesIO(data), dst, depth=depth)
    assert oid == "sha256:" + hashlib.sha256(data).hexdigest()
    assert size == len(data)
    assert dst.getvalue() == data


class _Recorder(io.RawIOBase):
    """A destination that takes at most `most` bytes a write (a raw file may take
    less than offered) and records the size of every write it is offered."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.offered: list[int] = []
        self.got = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        view = memoryview(b)  # type: ignore[arg-type]
        self.offered.append(len(view))
        self.got += view[: self.most]
        return min(len(view), self.most)


@pytest.mark.parametrize("most", [hashing.CHUNK, 1000])
def test_copy_hashing_writes_at_most_write_max_at_a_time(most: int) -> None:
    """Large writes let the kernel allocate large page-cache folios, which may stall in
    compaction (fsutil.WRITE_MAX); short writes are carried on."""
    data = os.urandom(2 * hashing.CHUNK + 12345)
    dst = _Recorder(most)
    assert copy_hashing(io.BytesIO(data), dst) == (sha(data), len(data))  # type: ignore[arg-type]
    assert bytes(dst.got) == data
    assert max(dst.offered) == WRITE_MAX < hashing.CHUNK


def test_write_all_writes_at_most_write_max_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offered: list[int] = []
    real = os.write

    def write(fd: int, data: memoryview) -> int:
        offered.append(len(data))
        return real(fd, data[:1000] if len(offered) == 2 else data)  # one short write

    monkeypatch.setattr(fsutil.os, "write", write)
    data = os.urandom(3 * WRITE_MAX + 5)
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        fsutil.write_all(fd, data)
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == data
    assert max(offered) == WRITE_MAX and len(offered) == 4  # the short one carried on


class _FailingReader(io.RawIOBase):
    """Gives one chunk, then fails like a disk that went away."""

    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
        self.calls += 1
        if self.calls > 1:
            raise OSError(errno.EIO, "Input/output error")
        buf[:4] = b"abcd"
        return 4


class _FullDisk(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_copy_hashing_passes_on_a_read_error(small_chunk: int) -> None:
    with pytest.raises(OSError) as info:
        copy_hashing(_FailingReader(), io.BytesIO())  # type: ignore[arg-type]
    assert info.value.errno == errno.EIO


def test_copy_hashing_passes_on_a_write_error(small_chunk: int) -> None:
    with pytest.raises(OSError) as info:
        copy_hashing(io.BytesIO(b"x" * 100), _FullDisk())  # type: ignore[arg-type]
    assert info.value.errno == errno.ENOSPC


# ---------------------------------------------------------------------------- paths


@pytest.mark.parametrize("good", ["a", "a/b", "out/model.pkl", "ü/ñ.bin", "a b/c", ".hidden/x"])
def test_check_relpath_accepts(good: str) -> None:
    assert check_relpath(good) == good


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("", "non-empty"),
        ("/etc/passwd", "absolute"),
        ("C:/x", "absolute"),
        ("..", "'..'"),
        ("a/../../b", "'..'"),
        ("a//b", "empty"),
        ("a/", "empty"),
        ("./a", "'.'"),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL"),
    ],
)
def test_check_relpath_refuses(bad: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        check_relpath(bad)


def test_check_relpath_refuses_non_strings() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        check_relpath(None)


# Segments git takes for its own folder `.git` (it refuses them in a tree): in any letter
# case, with NTFS's trailing dots and spaces or stream name, its 8.3 short name, and with
# characters HFS+ ignores.
GIT_LOOKALIKES = [
    ".git",
    ".GIT",
    ".Git",
    ".git.",
    ".git ",
    ".git. .",
    ".git::$INDEX_ALLOCATION",
    "git~1",
    "GIT~1",
    "git~1.",
    ".g\u200cit",
    "\ufeff.git",
]
NOT_GIT = [".gitattributes", ".github", ".gitignore", "a.git", "git", "git~10", ".git.x", "x.git"]


@pytest.mark.parametrize("segment", GIT_LOOKALIKES)
@pytest.mark.parametrize("where", ["{}", "{}/config", "a/{}", "a/{}/hooks/pre-commit"])
def test_check_relpath_refuses_a_git_segment(segment: str, where: str) -> None:
    """No path mreg reads from a card or manifest may write into a `.git`, whatever the
    file system folds or drops from the name."""
    with pytest.raises(ValueError, match=r"a segment that git takes for '\.git'"):
        check_relpath(where.format(segment))


@pytest.mark.parametrize("segment", NOT_GIT)
def test_check_relpath_accepts_names_that_only_look_like_git(segment: str) -> None:
    for path in (segment, f"a/{segment}/b"):
        assert check_relpath(path) == path


_git_or_not = st.sampled_from([*GIT_LOOKALIKES, *NOT_GIT, "a", "B", "git~1x", ".gi", "it"])
_mixed_path = st.lists(_git_or_not, min_size=1, max_size=4).map("/".join)


@given(st.lists(_mixed_path, max_size=6))
def test_the_quick_path_checks_agree_with_check_relpath(paths: list[str]) -> None:
    """What the manifest reader tests on all paths at once (and first_git_path) says
    exactly what check_relpath says path by path."""
    valid = [_valid(p) for p in paths]
    assert hashing._all_relpaths_ok(paths) == all(valid)
    assert all(hashing._relpath_ok(p) == ok for p, ok in zip(paths, valid, strict=True))
    first_bad = next((p for p, ok in zip(paths, valid, strict=True) if not ok), None)
    assert hashing.first_git_path(paths) == first_bad


# ---------------------------------------------------------------------------- manifests

_segment = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/\\\x00"),
    min_size=1,
    max_size=8,
).filter(lambda s: s not in (".", ".."))
_relpath = st.lists(_segment, min_size=1, max_size=3).map("/".join)
_entry = st.builds(
    Entry,
    path=_relpath,
    oid=st.binary(max_size=8).map(oid_of_bytes),
    size=st.integers(0, 2**53),
    exec=st.booleans(),
)


def _no_file_folder_clash(entries: list[Entry]) -> bool:
    paths = {e.path for e in entries}
    return not any(p.startswith(q + "/") for p in paths for q in paths)


def _valid(path: str) -> bool:
    try:
        check_relpath(path)
    except ValueError:
        return False
    return True


@given(st.lists(_entry, max_size=8, unique_by=lambda e: e.path).filter(_no_file_folder_clash))
def test_manifest_round_trip(entries: list[Entry]) -> None:
    if not all(_valid(e.path) for e in entries):
        # What could not be read back is never written (a file named `C:` on POSIX).
        with pytest.raises(InvalidManifest):
            manifest_bytes(entries)
        return
    blob = manifest_bytes(entries)
    parsed = parse_manifest(blob)
    assert parsed == sorted(entries, key=lambda e: e.path)
    # Canonical: one encoding only, whatever order the entries came in.
    assert manifest_bytes(reversed(entries)) == blob
    assert manifest_bytes(parsed) == blob


def test_manifest_is_canonical_json() -> None:
    a = Entry("b.bin", oid_of_bytes(b"b"), 1, False)
    b = Entry("a/x.bin", oid_of_bytes(b"x"), 2, True)
    blob = manifest_bytes([a, b])
    doc = json.loads(blob)
    assert [row["path"] for row in doc["files"]] == ["a/x.bin", "b.bin"]
    assert doc["files"][0] == {"path": "a/x.bin", "oid": b.oid, "size": 2, "exec": True}
    assert doc["schema"] == 1
    assert b" " not in blob
    assert blob == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize("path", ["C:", "a\\b", "../x", "/abs"])
def test_manifest_refuses_to_write_what_it_cannot_read(path: str) -> None:
    with pytest.raises(InvalidManifest, match="manifest path"):
        manifest_bytes([Entry(path, oid_of_bytes(b""), 0)])


def test_manifest_refuses_duplicate_paths() -> None:
    e = Entry("a", oid_of_bytes(b""), 0)
    with pytest.raises(InvalidManifest, match="duplicate path"):
        manifest_bytes([e, e])


def _manifest(files: object, schema: object = 1) -> bytes:
    return json.dumps({"schema": schema, "files": files}).encode()


GOOD_ROW = {"path": "a", "oid": oid_of_bytes(b"a"), "size": 1, "exec": False}


@pytest.mark.parametrize(
    ("blob", "why"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"{not json", "not JSON"),
        (b"[]", "'files' list"),
        (json.dumps({"schema": 1}).encode(), "'files' list"),
        (_manifest([GOOD_ROW], schema=2), "schema 2 is not supported"),
        (_manifest(["a"]), "not an object"),
        (_manifest([{**GOOD_ROW, "path": "../etc/passwd"}]), "'..'"),
        (_manifest([{**GOOD_ROW, "path": "/etc/passwd"}]), "absolute"),
        (_manifest([{**GOOD_ROW, "path": 3}]), "non-empty string"),
        (_manifest([{**GOOD_ROW, "oid": "sha256:xyz"}]), "bad oid"),
        (_manifest([{**GOOD_ROW, "size": -1}]), "bad size"),
        (_manifest([{**GOOD_ROW, "size": True}]), "bad size"),
        (_manifest([{**GOOD_ROW, "exec": "yes"}]), "exec must be"),
        (_manifest([GOOD_ROW, GOOD_ROW]), "duplicate path"),
        (_manifest([GOOD_ROW, {**GOOD_ROW, "path": "a/b"}]), "as a file and a folder"),
    ],
)
def test_malformed_manifests(blob: bytes, why: str) -> None:
    with pytest.raises(InvalidManifest, match=re.escape(why)):
        parse_manifest(blob)


@pytest.mark.parametrize(
    "path", [".git/config", "sub/.git/hooks/post-checkout", ".GIT/config", "git~1/config"]
)
def test_a_manifest_never_lists_a_git_path(path: str) -> None:
    """A crafted manifest (from a remote) cannot make checkout write a nested repository
    whose config or hooks run commands; the hint covers a folder an older mreg stored
    whole."""
    with pytest.raises(InvalidManifest, match=r"takes for '\.git'") as caught:
        parse_manifest(_manifest([GOOD_ROW, {**GOOD_ROW, "path": path}]))
    assert caught.value.hint is not None and "leaves .git out" in caught.value.hint
    with pytest.raises(InvalidManifest, match=r"takes for '\.git'"):
        manifest_bytes([Entry(path, oid_of_bytes(b""), 0)])
