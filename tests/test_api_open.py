"""mreg.open(ref, file=None, repo=None): a read-only binary file of a model's bytes from the
local cache, for any ref, a file of a folder model by its path inside the folder; the work
tree is neither read nor touched. DESIGN lists it among the API functions; there was none."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mreg
from mreg import api
from mreg.errors import BlobCorrupt, BlobMissing, InvalidArgument, ModelNotFound
from tests.helpers import blob_path, git, sha, snapshot, write


def _read(ref: str, file: str | os.PathLike[str] | None = None, **kw: Any) -> bytes:
    with mreg.open(ref, file, **kw) as f:
        return f.read()


def test_open_is_public() -> None:
    assert "open" in mreg.__all__
    assert mreg.open is api.open


def test_a_file_model_from_the_cache_not_the_work_tree(repo: Path) -> None:
    write(repo / "out" / "model.pkl", b"v1 bytes")
    mreg.add("churn", "out/model.pkl")
    (repo / "out" / "model.pkl").unlink()
    before = snapshot(repo)
    with mreg.open("churn") as f:
        assert f.read(2) == b"v1"
        f.seek(0)
        assert f.read() == b"v1 bytes"
        assert f.mode == "rb" and f.readable() and not f.writable()
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"x")
    assert snapshot(repo) == before  # nothing put back, nothing written
    write(repo / "out" / "model.pkl", b"edited in the work tree")
    assert _read("churn") == b"v1 bytes"


def test_versions_and_revisions(repo: Path) -> None:
    write(repo / "m.bin", b"one")
    mreg.add("churn", "m.bin", commit=True)
    write(repo / "m.bin", b"two")
    mreg.add("churn", "m.bin", commit=True)
    git(repo, "tag", "-a", "churn#production#1", "-m", "p", "HEAD~1")
    assert _read("churn") == b"two"
    assert _read("churn@v1") == b"one"
    assert _read("churn@HEAD~1") == b"one"
    assert _read("churn#production") == b"one"
    assert _read("churn", repo=repo, verify=True) == b"two"


def test_a_file_of_a_folder_model(repo: Path) -> None:
    write(repo / "vision" / "config.json", b"{}")
    write(repo / "vision" / "weights" / "part-1.bin", b"w1")
    mreg.add("vision/resnet", "vision")
    assert _read("vision/resnet", "config.json") == b"{}"
    assert _read("vision/resnet", "weights/part-1.bin") == b"w1"
    assert _read("vision/resnet", Path("weights") / "part-1.bin") == b"w1"
    assert _read("vision/resnet", "./weights//part-1.bin") == b"w1"


@pytest.mark.parametrize(
    ("file", "match"),
    [
        (None, r"vision/resnet is a folder \(vision/\): give file="),
        ("nope.bin", r"file 'nope.bin' is not a file of vision/resnet \(vision/\)"),
        ("vision/config.json", "file 'vision/config.json' is not a file of"),
        ("weights", r"file 'weights' is a folder in vision/resnet"),
        ("../m.bin", "file '../m.bin' is not a file of"),
        ("", "file '' is not a file of"),
    ],
)
def test_a_folder_model_needs_one_of_its_files(repo: Path, file: str | None, match: str) -> None:
    write(repo / "vision" / "config.json", b"{}")
    write(repo / "vision" / "weights" / "part-1.bin", b"w1")
    mreg.add("vision/resnet", "vision")
    with pytest.raises(InvalidArgument, match=f"^{match}") as info:
        mreg.open("vision/resnet", file)
    assert info.value.hint == "its files: config.json, weights/part-1.bin"


def test_a_file_model_takes_no_file(repo: Path) -> None:
    write(repo / "m.bin", b"x")
    mreg.add("churn", "m.bin")
    with pytest.raises(InvalidArgument, match=r"^churn is a file \(m.bin\), not a folder") as e:
        mreg.open("churn", "m.bin")
    assert e.value.hint == "mreg.open('churn')"


def test_bytes_not_in_the_cache_say_fetch(repo: Path) -> None:
    write(repo / "m.bin", b"x")
    mreg.add("churn", "m.bin")
    blob_path(repo, sha(b"x")).unlink()
    with pytest.raises(BlobMissing, match=r"^churn \(m.bin\) is not in the cache") as info:
        mreg.open("churn")
    assert info.value.hint == "mreg fetch churn"
    assert info.value.exit_code == 4

    write(repo / "d" / "a.bin", b"a")
    mreg.add("dir", "d", commit=True)
    blob_path(repo, sha(b"a")).unlink()
    with pytest.raises(BlobMissing, match=r"^a.bin of dir@v1 \(d/\) is not in the cache") as info:
        mreg.open("dir@v1", "a.bin")
    assert info.value.hint == "mreg fetch dir@v1"
    manifest = mreg.load_card("dir").artifact.oid
    blob_path(repo, manifest).unlink()
    with pytest.raises(BlobMissing, match=r"the file list \(manifest .*\) of dir") as info:
        mreg.open("dir", "a.bin")
    assert info.value.hint == "mreg fetch dir"


def test_verify_hashes_the_bytes_first(repo: Path) -> None:
    write(repo / "m.bin", b"good")
    mreg.add("churn", "m.bin")
    blob = blob_path(repo, sha(b"good"))
    blob.chmod(0o644)
    blob.write_bytes(b"evil")
    # Not hashed as they are read (documented: mreg verify checks the cache) ...
    assert _read("churn") == b"evil"
    # ... unless asked.
    with pytest.raises(BlobCorrupt, match="is corrupt") as info:
        mreg.open("churn", verify=True)
    assert info.value.hint == "mreg fetch --repair churn"


WRONG_TYPES: list[tuple[Callable[[], Any], str]] = [
    (lambda: mreg.open(5), "ref must be a str, not int"),  # type: ignore[arg-type]
    (lambda: mreg.open("churn", 5), "file must be a str, a Path or None, not int"),  # type: ignore[arg-type]
    (lambda: mreg.open("churn", verify="yes"), "verify must be True or False"),  # type: ignore[arg-type]
    (lambda: mreg.open("churn", repo=5), "repo must be a str, a Path or None"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "match"), WRONG_TYPES)
def test_wrong_types(repo: Path, call: Callable[[], Any], match: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{match}") as info:
        call()
    assert info.value.hint


def test_no_such_model(repo: Path) -> None:
    with pytest.raises(ModelNotFound, match="no model named 'nope'"):
        mreg.open("nope")
