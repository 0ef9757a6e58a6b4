"""S3 transfers against moto: one GET per blob (no HEAD, no range GET per block), bad
bytes refused without a temp file left, bounded multipart uploads, and no second read of
a cache blob the hash-state cache vouches for."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import Cli, git
from tests.remote.servers import RemoteKind, make_remote

import mreg.remote
from mreg.config import RemoteSpec
from mreg.errors import BlobCorrupt, MregError
from mreg.remote import PUT_PART, PUT_PARTS, Remote, _put_kwargs, parse_options
from mreg.store import Store

MIB = 1024 * 1024


@pytest.fixture
def s3(request: pytest.FixtureRequest, tmp_path: Path) -> RemoteKind:
    return make_remote("s3", tmp_path, request)


@pytest.fixture
def opened(s3: RemoteKind, tmp_path: Path) -> Iterator[Remote]:
    with Remote(RemoteSpec("origin", s3.url, parse_options(s3.options)), tmp_path) as r:
        yield r


def count_requests(remote: Remote) -> Counter[str]:
    """Count the S3 API calls the remote's s3fs makes (a spy on _call_s3)."""
    fs = remote.fs
    seen: Counter[str] = Counter()
    real = fs._call_s3

    async def spy(method: str, *args: Any, **kwargs: Any) -> Any:
        seen[method] += 1
        return await real(method, *args, **kwargs)

    fs._call_s3 = spy
    return seen


def partials(store: Store) -> list[str]:
    return os.listdir(store.partial_dir) if store.partial_dir.exists() else []


def test_large_blob_comes_in_one_streaming_get(opened: Remote, tmp_path: Path) -> None:
    src = Store(tmp_path / "src")
    data = os.urandom(20 * MIB + 17)
    oid = src.put_bytes(data)
    opened.upload(oid, src.blob_path(oid))
    seen = count_requests(opened)
    dest = Store(tmp_path / "dest")
    steps: list[int] = []
    assert opened.download(oid, dest, steps.append) == len(data)
    assert dest.read_bytes(oid) == data
    assert seen == {"get_object": 1}, seen  # no HEAD, no range GET per block
    assert sum(steps) == len(data) and len(steps) >= 2  # progress per chunk


def test_small_blobs_of_known_size_take_one_get_each(opened: Remote, tmp_path: Path) -> None:
    src = Store(tmp_path / "src")
    blobs = {src.put_bytes(os.urandom(1024 + i)): 1024 + i for i in range(5)}
    for oid in blobs:
        opened.upload(oid, src.blob_path(oid))
    seen = count_requests(opened)
    dest = Store(tmp_path / "dest")
    for oid, size in blobs.items():
        assert opened.download(oid, dest, size=size) == size
        assert dest.verify(oid)
    assert seen == {"get_object": len(blobs)}, seen


@pytest.mark.parametrize("size", [2000, 20 * MIB])
def test_tampered_blob_is_refused_and_leaves_no_temp(
    s3: RemoteKind, opened: Remote, tmp_path: Path, size: int
) -> None:
    src = Store(tmp_path / "src")
    oid = src.put_bytes(os.urandom(size))
    s3.write(oid, os.urandom(size))  # same size, other bytes
    dest = Store(tmp_path / "dest")
    with pytest.raises(BlobCorrupt):
        opened.download(oid, dest, size=size)
    assert not dest.has(oid)
    assert partials(dest) == []


def test_upload_parts_are_bounded_and_checksummed(
    opened: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = Store(tmp_path / "src")
    data = os.urandom(5 * PUT_PART + 5)  # over 2 parts: a multipart upload
    oid = src.put_bytes(data)
    fs = opened.fs
    calls: list[tuple[str, dict[str, Any]]] = []
    flying = [0, 0]  # parts in flight now, most at once
    real = fs._call_s3

    async def spy(method: str, *args: Any, **kwargs: Any) -> Any:
        calls.append((method, kwargs))
        if method == "upload_part":
            flying[0] += 1
            flying[1] = max(flying)
        try:
            return await real(method, *args, **kwargs)
        finally:
            if method == "upload_part":
                flying[0] -= 1

    monkeypatch.setattr(fs, "_call_s3", spy)
    assert opened.upload(oid, src.blob_path(oid)) == len(data)
    methods = [m for m, _ in calls]
    assert methods[0] == "create_multipart_upload" and methods[-1] == "complete_multipart_upload"
    assert calls[0][1]["ChecksumAlgorithm"] == "CRC32"
    parts = [kw for m, kw in calls if m == "upload_part"]
    assert sorted(len(kw["Body"]) for kw in parts) == [5] + [PUT_PART] * 5
    assert all(kw["ChecksumAlgorithm"] == "CRC32" for kw in parts)
    assert 1 <= flying[1] <= PUT_PARTS  # memory bounded by the parts in flight
    done = calls[-1][1]["MultipartUpload"]["Parts"]
    assert [p["PartNumber"] for p in done] == list(range(1, 7))
    assert all(p.get("ChecksumCRC32") for p in done)  # S3 checks every part
    dest = Store(tmp_path / "dest")
    opened.download(oid, dest)
    assert dest.read_bytes(oid) == data
    # S3 allows 10,000 parts: a 5 TiB blob gets larger parts; other backends no kwargs.
    assert _put_kwargs("s3", 5 * 1024**4)["chunksize"] * 10_000 >= 5 * 1024**4
    assert _put_kwargs("ssh", 5 * 1024**4) == {}


def test_a_failed_multipart_upload_is_aborted(
    opened: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = Store(tmp_path / "src")
    oid = src.put_bytes(os.urandom(3 * PUT_PART))
    fs = opened.fs
    real = fs._call_s3
    aborted: list[str] = []

    async def failing(method: str, *args: Any, **kwargs: Any) -> Any:
        if method == "upload_part" and kwargs["PartNumber"] == 2:
            raise PermissionError("access denied to this part")  # not retried
        if method == "abort_multipart_upload":
            aborted.append(kwargs["UploadId"])
        return await real(method, *args, **kwargs)

    monkeypatch.setattr(fs, "_call_s3", failing)
    with pytest.raises(MregError):
        opened.upload(oid, src.blob_path(oid))
    monkeypatch.setattr(fs, "_call_s3", real)
    assert len(aborted) == 1
    bucket, key, _ = fs.split_path(opened.blob_path(oid))
    assert not fs.exists(opened.blob_path(oid))
    pending = fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=key)
    assert pending.get("Uploads", []) == []


def test_upload_without_verify_does_not_hash(
    opened: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = Store(tmp_path / "src")
    oid = src.put_bytes(os.urandom(3 * MIB))

    def no_hash(path: Any) -> Any:
        raise AssertionError("hashed")

    monkeypatch.setattr(mreg.remote, "hash_file", no_hash)
    assert opened.upload(oid, src.blob_path(oid), verify=False) == 3 * MIB
    with pytest.raises(AssertionError, match="hashed"):
        opened.upload(oid, src.blob_path(oid))


def test_push_skips_the_hash_of_known_good_blobs(
    repo: Path, cli: Cli, s3: RemoteKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "big.bin").write_bytes(os.urandom(2 * MIB))  # >= KNOWN_MIN: recorded by add
    (repo / "small.bin").write_bytes(os.urandom(1000))
    assert cli("add", "big", "big.bin").exit_code == 0
    assert cli("add", "small", "small.bin").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "models")
    assert cli(*s3.add_args()).exit_code == 0
    hashed: list[Path] = []
    real = mreg.remote.hash_file

    def spy(path: Path) -> Any:
        hashed.append(Path(path))
        return real(path)

    monkeypatch.setattr(mreg.remote, "hash_file", spy)
    res = cli("push")
    assert res.exit_code == 0, res.stderr
    sizes = {p.stat().st_size for p in hashed}
    assert 2 * MIB not in sizes  # vouched for by the hash-state cache: read once only
    assert 1000 in sizes  # a small blob is still hashed before it is sent
    assert len(s3.oids()) == 2
