"""Folders of many files: the fast paths of scan_dir, has_many, manifests and status.

Each fast path is checked against the plain code it stands for (kept here as an oracle):
the same paths accepted and refused, the same manifest bytes, the same answers.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mreg import artifact, registry, store
from mreg.artifact import _read_small, hash_artifact, scan_dir
from mreg.errors import InvalidManifest, InvalidPath
from mreg.hashing import (
    Entry,
    _all_relpaths_ok,
    check_relpath,
    first_git_path,
    manifest_bytes,
    oid_of_bytes,
    parse_manifest,
)
from mreg.project import Project
from mreg.statecache import StateCache
from mreg.status import cache_state, status, worktree_state
from mreg.store import Store
from tests.helpers import (
    HELPER_POSSIBLE,
    HELPER_PREAMBLE,
    HELPER_SKIP_REASON,
    blob_path,
    run_helper_script,
    sha,
    write,
)

# ---------------------------------------------------------------------------- oracles


def _check_relpath_plain(path: object, what: str = "path") -> str:
    """check_relpath as it was before its fast path."""
    if not isinstance(path, str) or not path:
        raise ValueError(f"{what} must be a non-empty string")
    if "\\" in path or "\x00" in path:
        raise ValueError(f"{what} {path!r} holds a backslash or NUL")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise ValueError(f"{what} {path!r} is absolute")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise ValueError(f"{what} {path!r} has an empty, '.' or '..' segment")
    if first_git_path([path]) is not None:  # its own tests: tests/test_hashing.py
        raise ValueError(f"{what} {path!r} has a segment that git takes for '.git'")
    return path


def _manifest_plain(entries: list[Entry]) -> bytes:
    rows = sorted(entries, key=lambda e: e.path)
    doc = {
        "schema": 1,
        "files": [{"path": e.path, "oid": e.oid, "size": e.size, "exec": e.exec} for e in rows],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _parse_plain(data: bytes) -> list[Entry]:
    """parse_manifest as it was: every row checked one by one."""
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_unique)
    except (ValueError, RecursionError) as exc:
        raise InvalidManifest(f"manifest is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise InvalidManifest("manifest must be an object with a 'files' list")
    if doc.get("schema") != 1:
        raise InvalidManifest(f"manifest schema {doc.get('schema')!r} is not supported")
    entries, seen = [], set()
    for row in doc["files"]:
        if not isinstance(row, dict):
            raise InvalidManifest("manifest entry is not an object")
        try:
            path = _check_relpath_plain(row.get("path"), "manifest path")
        except ValueError as exc:
            raise InvalidManifest(str(exc)) from None
        oid, size, exe = row.get("oid"), row.get("size"), row.get("exec", False)
        if not (isinstance(oid, str) and re.match(r"^sha256:[0-9a-f]{64}\Z", oid)):
            raise InvalidManifest(f"manifest entry {path!r}: bad oid {oid!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidManifest(f"manifest entry {path!r}: bad size {size!r}")
        if not isinstance(exe, bool):
            raise InvalidManifest(f"manifest entry {path!r}: exec must be true or false")
        if path in seen:
            raise InvalidManifest(f"duplicate path {path!r} in manifest")
        seen.add(path)
        entries.append(Entry(path, oid, size, exe))
    return entries


def _outcome(fn: Any, *args: Any) -> tuple[str, object]:
    try:
        return "ok", fn(*args)
    except (ValueError, InvalidManifest) as exc:
        return type(exc).__name__, str(exc)


# ---------------------------------------------------------------------------- paths

# Paths made of the characters that matter to the rules, and some that do not.
_tricky = st.text(alphabet="/.\\\x00:Cc a\nü", max_size=10)
BAD_PATHS = ["", "/a", "C:/x", "c:", "..", ".", "a/..", "../a", "a/./b", "./a", "a/.", "a//b"]
BAD_PATHS += ["a/", "/", "a\\b", "a\x00b", "\x00", "a/../b"]
GOOD_PATHS = ["a", "a/b", "...", "a/.../b", ".a", "a./b", "a/..b", "1:x", "a/C:x", "é:x"]
GOOD_PATHS += ["a\nb", " ", "a b/c", "x/.hidden", ":", "C", "Cx:"]


@settings(max_examples=500)
@given(_tricky)
def test_check_relpath_agrees_with_the_plain_rules(path: str) -> None:
    assert _outcome(check_relpath, path) == _outcome(_check_relpath_plain, path)


@pytest.mark.parametrize("path", BAD_PATHS + GOOD_PATHS)
def test_check_relpath_on_the_edge_cases(path: str) -> None:
    assert _outcome(check_relpath, path) == _outcome(_check_relpath_plain, path)


@settings(max_examples=500)
@given(st.lists(_tricky, max_size=5))
def test_all_relpaths_ok_is_all_of_check_relpath(paths: list[str]) -> None:
    expected = all(_outcome(_check_relpath_plain, p)[0] == "ok" for p in paths)
    assert _all_relpaths_ok(paths) == expected


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_all_relpaths_ok_finds_one_bad_path_among_good_ones(bad: str) -> None:
    assert _all_relpaths_ok(GOOD_PATHS)
    assert not _all_relpaths_ok([*GOOD_PATHS, bad])
    assert not _all_relpaths_ok([bad, *GOOD_PATHS])


# ---------------------------------------------------------------------------- manifests

_entries = st.lists(
    st.builds(
        Entry,
        path=st.text(min_size=1, max_size=8),
        oid=st.binary(max_size=4).map(oid_of_bytes),
        size=st.integers(0, 2**64),
        exec=st.booleans(),
    ),
    max_size=6,
    unique_by=lambda e: e.path,
)


@settings(max_examples=300)
@given(_entries)
def test_manifest_bytes_are_those_of_json_dumps(entries: list[Entry]) -> None:
    if any(_outcome(_check_relpath_plain, e.path)[0] != "ok" for e in entries):
        with pytest.raises(InvalidManifest):
            manifest_bytes(entries)
        return
    try:
        expected = _manifest_plain(entries)
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 for it either way
        with pytest.raises(UnicodeEncodeError):
            manifest_bytes(entries)
        return
    assert manifest_bytes(entries) == expected
    assert manifest_bytes(entries, paths_checked=True) == expected


def test_manifest_bytes_of_odd_types_go_through_json() -> None:
    class Size(int):
        pass

    entries = [Entry("a", sha(b"a"), Size(3), False), Entry("b", sha(b"b"), 2, True)]
    assert manifest_bytes(entries) == _manifest_plain(entries)


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_manifest_bytes_still_refuses_bad_paths(bad: str) -> None:
    entries = [Entry("ok.bin", sha(b"x"), 1), Entry(bad, sha(b"y"), 1)]
    with pytest.raises(InvalidManifest, match="manifest path"):
        manifest_bytes(entries)


def test_manifest_bytes_refuses_duplicates_even_with_checked_paths() -> None:
    entries = [Entry("a", sha(b"x"), 1), Entry("a", sha(b"y"), 1)]
    with pytest.raises(InvalidManifest, match="duplicate path 'a'"):
        manifest_bytes(entries, paths_checked=True)


def _blob(rows: list[Any]) -> bytes:
    return json.dumps({"schema": 1, "files": rows}).encode()


GOOD_ROW = {"path": "a.bin", "oid": sha(b"a"), "size": 1, "exec": False}
ROWS = st.fixed_dictionaries(
    {},
    optional={
        "path": st.one_of(st.sampled_from(BAD_PATHS + GOOD_PATHS), st.integers(), st.none()),
        "oid": st.one_of(
            st.sampled_from(
                [sha(b"a"), sha(b"b"), sha(b"a").upper(), "sha256:ab", sha(b"a") + "\n"]
            ),
            st.integers(),
        ),
        "size": st.one_of(st.integers(-2, 2), st.booleans(), st.floats(0, 2), st.text(max_size=1)),
        "exec": st.one_of(st.booleans(), st.integers(0, 1), st.none()),
    },
)


@settings(max_examples=500)
@given(st.lists(st.one_of(ROWS, st.just(GOOD_ROW), st.integers(), st.lists(st.none())), max_size=5))
def test_parse_manifest_agrees_with_the_row_by_row_checks(rows: list[Any]) -> None:
    data = _blob(rows)
    got, expected = _outcome(parse_manifest, data), _outcome(_parse_plain, data)
    if expected[0] == "ok" and got[0] != "ok":
        assert "as a file and a folder" in str(got[1])  # checked after the rows, as before
    else:
        assert got == expected


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_parse_manifest_refuses_a_bad_path_among_many_good_rows(bad: str) -> None:
    rows = [{**GOOD_ROW, "path": f"f{i:05d}.bin"} for i in range(1000)]
    rows.insert(500, {**GOOD_ROW, "path": bad})
    with pytest.raises(InvalidManifest, match="manifest path"):
        parse_manifest(_blob(rows))


def test_parse_manifest_refuses_a_duplicate_among_many_rows() -> None:
    rows = [{**GOOD_ROW, "path": f"f{i:05d}.bin"} for i in range(1000)]
    rows.append(rows[10])
    with pytest.raises(InvalidManifest, match=re.escape("duplicate path 'f00010.bin'")):
        parse_manifest(_blob(rows))


def test_parse_manifest_of_many_rows_round_trips() -> None:
    entries = [Entry(f"d{i % 7}/f{i:05d}.bin", sha(b"%d" % i), i, i % 3 == 0) for i in range(3000)]
    assert parse_manifest(manifest_bytes(entries)) == sorted(entries, key=lambda e: e.path)


# ---------------------------------------------------------------------------- has_many


@pytest.fixture
def cache(tmp_path: Path) -> Store:
    return Store(tmp_path / "cache")


def _agrees_with_has(s: Store, oids: list[str]) -> set[str]:
    got = s.has_many(oids)
    assert got == {o for o in oids if s.has(o)}
    return got


def test_has_many_present_and_missing(cache: Store) -> None:
    present = [cache.put_bytes(b"%d" % i) for i in range(300)]
    missing = [sha(b"missing %d" % i) for i in range(300)]
    assert _agrees_with_has(cache, present + missing) == set(present)
    assert cache.has_many([]) == set()
    assert cache.has_many(missing) == set()
    assert cache.has_many(present[:2]) == set(present[:2])  # one by one below _LIST_FROM
    assert cache.has_many(iter(present + present)) == set(present)  # any iterable, repeats


def test_has_many_in_an_empty_or_absent_cache(tmp_path: Path) -> None:
    assert Store(tmp_path / "nowhere").has_many([sha(b"a")] * 5) == set()


@pytest.mark.parametrize("list_from", [1, 4, 10**9])
def test_has_many_counts_only_regular_files_under_the_right_name(
    cache: Store, monkeypatch: pytest.MonkeyPatch, list_from: int
) -> None:
    monkeypatch.setattr(store, "_LIST_FROM", list_from)  # listings, or a stat each
    oids = [cache.put_bytes(b"%d" % i) for i in range(40)]
    # Forty more in the same fan-out folders, in forms that are not a stored blob.
    others = [sha(b"other %d" % i) for i in range(40)]
    for i, oid in enumerate(others):
        path = Path(cache._blob_str(oid))
        path.parent.mkdir(parents=True, exist_ok=True)
        if i % 4 == 0:
            path.mkdir()  # a folder with a blob's name
        elif i % 4 == 1:
            path.symlink_to(path.parent / "nothing")  # a dangling link
        elif i % 4 == 2:
            (path.parent / (path.name + ".tmp")).write_bytes(b"x")  # a longer name
        else:
            (path.parent / path.name[:-1]).write_bytes(b"x")  # a shorter one
    linked = sha(b"linked")
    target = Path(cache._blob_str(oids[0]))
    Path(cache._blob_str(linked)).parent.mkdir(parents=True, exist_ok=True)
    Path(cache._blob_str(linked)).symlink_to(target)  # has() follows links: so does this
    got = _agrees_with_has(cache, oids + others + [linked])
    assert got == {*oids, linked}


def test_has_many_refuses_a_malformed_oid_as_has_does(cache: Store) -> None:
    for bad in ["sha256:abc", sha(b"a").upper(), "md5:" + "0" * 64, sha(b"a") + "\n"]:
        with pytest.raises(ValueError, match="not an oid"):
            cache.has(bad)
        with pytest.raises(ValueError, match="not an oid"):
            cache.has_many([sha(b"a")] * 5 + [bad])


def test_has_many_stops_listing_a_big_folder(cache: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its budget a listing stops, and the rest are asked one by one."""
    oids = [cache.put_bytes(b"%d" % i) for i in range(2000)]
    monkeypatch.setattr(store, "_LIST_FROM", 2)
    monkeypatch.setattr(store, "_LIST_PER_OID", 1)
    wanted = oids[:600] + [sha(b"missing %d" % i) for i in range(600)]
    assert _agrees_with_has(cache, wanted) == set(oids[:600])


def test_has_many_asks_one_by_one_when_a_folder_cannot_be_listed(
    cache: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    oids = [cache.put_bytes(b"%d" % i) for i in range(500)]

    def denied(path: Any) -> Any:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(store.os, "scandir", denied)
    wanted = [*oids, sha(b"missing")]
    assert cache.has_many(wanted) == set(oids)


# ---------------------------------------------------------------------------- the store


def test_blobs_are_read_only_by_every_way_in(cache: Store) -> None:
    import io

    a = cache.put_bytes(b"small")
    b, _ = cache.put_stream(io.BytesIO(b"stream"))
    out, tmp = cache._temp()  # as remote.py stores a fetched blob
    with out:
        out.write(b"fetched")
    cache._commit(tmp, sha(b"fetched"))
    for oid in (a, b, sha(b"fetched")):
        assert stat.S_IMODE(os.stat(cache._blob_str(oid)).st_mode) == 0o444
    assert cache.put_bytes(b"small") == a  # again: nothing new written
    assert list(Path(cache.partial_dir).iterdir()) == []


# ---------------------------------------------------------------------------- scan_dir


def test_scan_dir_checks_names_as_check_relpath(tmp_path: Path) -> None:
    ok = ["a", "a b", "line\nbreak", "1:x", ".hidden", "..x", "é"]
    for name in ok:
        write(tmp_path / "ck" / name, b"x")
    write(tmp_path / "ck" / "sub" / "C:x", b"x")  # a drive letter only counts at the top
    found = scan_dir(tmp_path / "ck", "ck")
    rels = sorted(f.rel for f in found)
    assert rels == sorted([*ok, "sub/C:x"])
    for f in found:
        assert check_relpath(f.rel) == f.rel
        assert f.key == f"ck/{f.rel}"
        assert isinstance(f.path, str) and os.path.samefile(f.path, tmp_path / "ck" / f.rel)
    entries = [Entry(f.rel, sha(b"x"), 1) for f in found]
    assert manifest_bytes(entries, paths_checked=True) == manifest_bytes(entries)


@pytest.mark.parametrize(("name", "why"), [("C:x", "absolute"), ("a\\b", "backslash")])
def test_scan_dir_refuses_names_a_manifest_cannot_hold(tmp_path: Path, name: str, why: str) -> None:
    write(tmp_path / "ck" / "fine.bin", b"x")
    write(tmp_path / "ck" / "deep" / name, b"x")
    if why == "absolute":  # only at the top
        scan_dir(tmp_path / "ck", "ck")
        write(tmp_path / "ck" / name, b"x")
    with pytest.raises(InvalidPath, match=re.escape(why)):
        scan_dir(tmp_path / "ck", "ck")


def test_read_small_reads_what_is_there_whatever_the_size_said(tmp_path: Path) -> None:
    f = write(tmp_path / "f", b"0123456789" * 1000)
    for said in (0, 5, 9999, 10000, 10001, 50000):
        data, st_after = _read_small(str(f), said)
        assert data == f.read_bytes()
        assert st_after.st_ino == f.stat().st_ino and st_after.st_size == 10000


def test_a_folder_of_many_files_adds_and_re_adds(tmp_path: Path) -> None:
    folder = tmp_path / "ck"
    for i in range(600):
        write(folder / f"d{i % 3}" / f"f{i:04d}.bin", os.urandom(64))
    os.chmod(folder / "d0" / "f0000.bin", 0o755)
    s = Store(tmp_path / "cache")
    state = StateCache(tmp_path / "state.sqlite")
    first = hash_artifact(folder, "ck", state, s)
    assert first.files == 600 and sum(e.exec for e in first.entries) == 1
    assert parse_manifest(s.read_bytes(first.oid)) == sorted(first.entries, key=lambda e: e.path)
    again = hash_artifact(folder, "ck", state, s)  # from the state cache this time
    assert again.oid == first.oid
    # A blob gone from the cache is stored again, though the state cache knows its oid.
    gone = first.entries[0]
    os.chmod(s._blob_str(gone.oid), 0o644)
    os.unlink(s._blob_str(gone.oid))
    assert hash_artifact(folder, "ck", state, s).oid == first.oid
    assert s.has(gone.oid)
    state.close()


# ---------------------------------------------------------------------------- status


def test_status_of_a_folder_checks_its_blobs_without_reparsing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(50):
        write(repo / "ck" / f"f{i:02d}.bin", b"%d" % i)
    with Project.open(repo) as proj:
        card = registry.add(proj, "net", Path("ck")).card

    def by_name(p: Project) -> dict[str, Any]:
        return {s.name: s for s in status(p)}

    calls: list[bytes] = []

    def counting(data: bytes, *, keep_git: bool = False) -> list[Entry]:
        calls.append(data)
        return parse_manifest(data, keep_git=keep_git)

    monkeypatch.setattr(artifact, "parse_manifest", counting)
    # Neither the folder's fingerprint nor a complete-manifest record: the slow paths.
    monkeypatch.setattr(StateCache, "dir_lookup", lambda *a: None)
    monkeypatch.setattr(StateCache, "complete_lookup", lambda *a: None)
    with Project.open(repo) as proj:
        assert (by_name(proj)["net"].worktree, by_name(proj)["net"].cache) == ("ok", "ok")
        assert calls == []  # the work tree's own entries served
        assert cache_state(proj, card) == "ok" and len(calls) == 1  # the public one parses
        assert worktree_state(proj, card) == "ok"

    blob_path(repo, sha(b"7")).chmod(0o644)
    blob_path(repo, sha(b"7")).unlink()
    with Project.open(repo) as proj:
        assert by_name(proj)["net"].cache == "partial"
    # A damaged manifest blob is still found out (its digest is checked).
    manifest = blob_path(repo, card.artifact.oid)
    manifest.chmod(0o644)
    manifest.write_bytes(manifest.read_bytes().replace(b"f00", b"g00"))
    with Project.open(repo) as proj:
        assert by_name(proj)["net"].cache == "corrupt"  # said before the missing file
    manifest.unlink()
    with Project.open(repo) as proj:
        assert by_name(proj)["net"].cache == "missing"
    # The work tree edited: the manifest is parsed as before.
    write(repo / "ck" / "f00.bin", b"edited")
    with Project.open(repo) as proj:
        st_ = by_name(proj)["net"]
        assert (st_.worktree, st_.cache) == ("modified", "missing")


# --------------------------------------------- folder fingerprints, complete manifests


def _age(*paths: Path) -> None:
    """Set mtimes an hour back: old enough that the racy-clean rules trust them."""
    old = os.stat(paths[0]).st_mtime - 3600
    for p in paths:
        os.utime(p, (old, old))


def _aged_folder_model(repo: Path) -> tuple[Path, Any]:
    for i in range(40):
        write(repo / "ck" / f"d{i % 4}" / f"f{i:02d}.bin", b"%d" % i)
    _age(*(repo / "ck").rglob("*.bin"))
    with Project.open(repo) as proj:
        card = registry.add(proj, "net", Path("ck")).card
    _age(*(repo / ".mreg" / "cache" / "sha256").rglob("*"))  # blobs and fan-out folders
    return repo / "ck", card


def test_an_unchanged_folder_is_answered_from_its_fingerprint(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, card = _aged_folder_model(repo)
    with Project.open(repo) as proj:
        assert [(s.worktree, s.cache) for s in status(proj)] == [("ok", "ok")]  # records
    calls: list[str] = []
    real_process, real_parse = artifact._process, artifact.parse_manifest

    def process(*args: Any) -> Any:
        calls.append("files")
        return real_process(*args)

    def parse(data: bytes) -> list[Entry]:
        calls.append("manifest")
        return real_parse(data)

    monkeypatch.setattr(artifact, "_process", process)
    monkeypatch.setattr(artifact, "parse_manifest", parse)
    with Project.open(repo) as proj:
        assert [(s.worktree, s.cache) for s in status(proj)] == [("ok", "ok")]
        # A re-add with the store: nothing hashed, nothing stored, nothing parsed.
        again = hash_artifact(folder, "ck", proj.state, proj.store, entries=False)
        assert (again.oid, again.size, again.files) == (
            card.artifact.oid,
            card.artifact.size,
            40,
        )
        # Callers that need the files still get them, the long way.
        assert len(hash_artifact(folder, "ck", proj.state).entries) == 40
    assert calls == ["files"]


@pytest.mark.parametrize(
    "change",
    ["edit same size", "new file", "file removed", "renamed", "made executable", "touched"],
)
def test_any_change_in_the_folder_misses_its_fingerprint(repo: Path, change: str) -> None:
    folder, card = _aged_folder_model(repo)
    with Project.open(repo) as proj:
        assert status(proj)[0].worktree == "ok"
    target = folder / "d1" / "f01.bin"
    if change == "edit same size":
        target.write_bytes(b"X")  # same size as b"1"; a new mtime
    elif change == "new file":
        write(folder / "d1" / "new.bin", b"n")
    elif change == "file removed":
        target.unlink()
    elif change == "renamed":
        target.rename(folder / "d1" / "g01.bin")
    elif change == "made executable":
        target.chmod(0o755)
    else:  # same bytes, new mtime: the fingerprint misses, the hash says unchanged
        os.utime(target)
    expected = "ok" if change == "touched" else "modified"
    with Project.open(repo) as proj:
        assert status(proj)[0].worktree == expected
        info = hash_artifact(folder, "ck", proj.state, entries=False)
        assert (info.oid == card.artifact.oid) is (change == "touched")


def test_a_blob_removed_from_the_cache_shows_despite_the_complete_record(repo: Path) -> None:
    folder, card = _aged_folder_model(repo)
    with Project.open(repo) as proj:
        assert status(proj)[0].cache == "ok"
        assert proj.state.complete_lookup(card.artifact.oid) is not None  # recorded
    gone = blob_path(repo, sha(b"7"))
    gone.chmod(0o644)
    gone.unlink()  # its fan-out folder's mtime moves to now
    with Project.open(repo) as proj:
        assert status(proj)[0].cache == "partial"
        # A re-add with the store puts it back, though the fingerprint is unchanged.
        hash_artifact(folder, "ck", proj.state, proj.store, entries=False)
        assert gone.is_file()
        assert status(proj)[0].cache == "ok"


def test_nothing_is_recorded_for_racily_clean_files_or_folders(repo: Path) -> None:
    # mtimes a little ahead of the clock, as a write in the same tick as our read leaves
    # them: racily clean however slowly this test runs.
    ahead = os.stat(repo).st_mtime + 5
    for i in range(5):
        os.utime(write(repo / "ck" / f"f{i}.bin", b"%d" % i), (ahead, ahead))
    with Project.open(repo) as proj:
        card = registry.add(proj, "net", Path("ck")).card
        for fanout in (repo / ".mreg" / "cache" / "sha256").iterdir():
            os.utime(fanout, (ahead, ahead))
        assert status(proj)[0].cache == "ok"
        fingerprint = artifact._fingerprint(scan_dir(repo / "ck", "ck"))
        assert proj.state.dir_lookup("ck", fingerprint) is None
        assert proj.state.complete_lookup(card.artifact.oid) is None


# ------------------------------------------------------------ the helper process


_HELPER_SCRIPT = (
    HELPER_PREAMBLE
    + """
import json, sys
from pathlib import Path
from mreg import artifact
from mreg.statecache import StateCache
from mreg.store import Store

folder, cache, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
real_hash = artifact._hash_checked

if mode == "sigchld ignored":  # children reaped by the kernel: waitpid finds none
    import signal
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)

def hash_checked(f, store):
    if mode == "child fails" and os.getpid() != parent:
        raise OSError("the helper's disk is gone")
    if mode == "parent fails" and os.getpid() == parent:  # while the helper runs
        raise RuntimeError("the parent fails")
    return real_hash(f, store)

artifact._hash_checked = hash_checked
state = StateCache(cache / "state.sqlite")
try:
    info = artifact.hash_artifact(folder, "ck", state, Store(cache))
    error = None
except RuntimeError as exc:
    info, error = None, str(exc)
children = leftover_children()
print(json.dumps({
    "oid": info and info.oid, "error": error, "helper": started, "children": children,
    "known": len(state.lookup({f"ck/{e.path}": os.stat(folder / e.path) for e in info.entries}))
    if info else 0,
}))
"""
)


def _add_with_helper(tmp_path: Path, mode: str, env: dict[str, str] | None = None) -> Any:

    folder = tmp_path / "ck"
    if not folder.exists():
        for i in range(40):
            write(folder / f"d{i % 3}" / f"f{i:02d}.bin", os.urandom(100))
        _age(*folder.rglob("*.bin"))  # old enough to be remembered
    cache = tmp_path / f"cache-{mode}-{len(list(tmp_path.iterdir()))}"
    result = run_helper_script(_HELPER_SCRIPT, str(folder), str(cache), mode, env=env)
    if result["oid"] is not None:
        got = Store(cache)
        blobs = [e.oid for e in parse_manifest(got.read_bytes(result["oid"]))]
        assert len(got.has_many(blobs)) == len(set(blobs)) == 40
    return result


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
def test_a_helper_process_stores_half_of_many_small_files(tmp_path: Path) -> None:
    alone = _add_with_helper(tmp_path, "ok", {"MREG_PROCESSES": "1"})
    helped = _add_with_helper(tmp_path, "ok")
    assert alone["helper"] == [] and helped["helper"] == [True]
    assert helped["oid"] == alone["oid"]
    assert helped["known"] == alone["known"] == 40  # the helper's files remembered too
    assert helped["children"] == []  # reaped


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
def test_a_failed_helper_leaves_its_share_to_the_parent(tmp_path: Path) -> None:
    reference = _add_with_helper(tmp_path, "ok", {"MREG_PROCESSES": "1"})
    result = _add_with_helper(tmp_path, "child fails")
    assert result["helper"] == [True]
    assert result["oid"] == reference["oid"] and result["known"] == 40


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
def test_a_failing_parent_stops_and_reaps_its_helper(tmp_path: Path) -> None:
    result = _add_with_helper(tmp_path, "parent fails")
    assert result["helper"] == [True]
    assert result["error"] == "the parent fails"
    assert result["children"] == []


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
def test_a_helper_reaped_by_someone_else_still_counts(tmp_path: Path) -> None:
    reference = _add_with_helper(tmp_path, "ok", {"MREG_PROCESSES": "1"})
    result = _add_with_helper(tmp_path, "sigchld ignored")
    assert result["helper"] == [True]
    assert result["oid"] == reference["oid"] and result["known"] == 40


def test_the_complete_record_is_not_trusted_for_a_copy_of_the_cache(repo: Path) -> None:
    import shutil

    import yaml

    _, card = _aged_folder_model(repo)
    with Project.open(repo) as proj:
        assert status(proj)[0].cache == "ok"
        assert proj.state.complete_lookup(card.artifact.oid) is not None
    cache = repo / ".mreg" / "cache"
    copy = repo.parent / "cache-copy"
    shutil.copytree(cache, copy, copy_function=shutil.copy2)  # cp -a: mtimes kept
    gone = copy / "sha256" / sha(b"7")[7:9] / sha(b"7")[9:]
    folder = gone.parent
    kept = os.stat(folder)
    gone.chmod(0o644)
    gone.unlink()
    os.utime(folder, ns=(kept.st_atime_ns, kept.st_mtime_ns))  # its mtime as recorded
    config = repo / ".mreg" / "config.yaml"
    doc = yaml.safe_load(config.read_text())
    doc["cache"]["dir"] = str(copy)
    config.write_text(yaml.safe_dump(doc))
    with Project.open(repo) as proj:
        assert proj.store.root == copy
        assert status(proj)[0].cache == "partial"


def test_an_edited_manifest_blob_is_not_trusted(repo: Path) -> None:
    _, card = _aged_folder_model(repo)
    with Project.open(repo) as proj:
        assert status(proj)[0].cache == "ok"
    manifest = blob_path(repo, card.artifact.oid)
    manifest.chmod(0o644)
    manifest.write_bytes(manifest.read_bytes().replace(b"f00", b"g00"))
    with Project.open(repo) as proj:
        assert status(proj)[0].cache == "corrupt"
