"""The Remote object itself, on each remote kind: progress per chunk (and taken back on a
retry), and the timeouts it gives each backend."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from tests.remote.servers import RemoteKind

from mreg.config import RemoteSpec
from mreg.errors import InvalidConfig
from mreg.remote import DEFAULT_TIMEOUT, PROGRESS_STEP, Remote, parse_options
from mreg.store import Store

BIG = 9 * 1024 * 1024 + 123  # several chunks, and a tail


def open_remote(remote: RemoteKind, base: Path) -> Remote:
    return Remote(RemoteSpec("origin", remote.url, parse_options(remote.options)), base)


def big_blob(tmp_path: Path) -> tuple[Store, str]:
    store = Store(tmp_path / "cache")
    return store, store.put_bytes(os.urandom(BIG))


def assert_per_chunk(calls: list[int]) -> None:
    assert sum(calls) == BIG
    assert len(calls) >= 2, calls  # something before the end: the bar moves mid-blob
    assert all(n >= PROGRESS_STEP for n in calls[:-1]), calls  # never tiny steps


def test_upload_and_download_report_progress_per_chunk(remote: RemoteKind, tmp_path: Path) -> None:
    store, oid = big_blob(tmp_path)
    with open_remote(remote, tmp_path) as r:
        up: list[int] = []
        assert r.upload(oid, store.blob_path(oid), up.append) == BIG
        if remote.kind == "s3":
            # s3fs sends a blob under 100 MiB in one PUT and reports it once.
            assert up == [BIG]
        else:
            assert_per_chunk(up)
        down: list[int] = []
        other = Store(tmp_path / "cache2")
        assert r.download(oid, other, down.append) == BIG
        assert_per_chunk(down)
        assert other.verify(oid)
        rehash: list[int] = []
        assert r.hash_blob(oid, rehash.append) == oid
        assert_per_chunk(rehash)
    assert remote.read(oid) == store.read_bytes(oid)


def test_progress_is_taken_back_when_an_attempt_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mreg.folderremote import FolderIO

    store, oid = big_blob(tmp_path)
    real = FolderIO.upload
    failures = [1]

    def flaky(self: FolderIO, oid: str, fin: int, add: Any, verify: bool = True) -> int:
        if failures:
            failures.pop()
            add(PROGRESS_STEP * 2)  # half-way through, the connection drops
            raise ConnectionResetError("dropped")
        return real(self, oid, fin, add, verify)

    monkeypatch.setattr(FolderIO, "upload", flaky)
    monkeypatch.setenv("MREG_REMOTE_RETRIES", "1")
    calls: list[int] = []
    with Remote(RemoteSpec("origin", str(tmp_path / "store")), tmp_path) as r:
        assert r.upload(oid, store.blob_path(oid), calls.append) == BIG
    assert calls[:2] == [PROGRESS_STEP * 2, -PROGRESS_STEP * 2]
    assert sum(calls) == BIG


def test_no_callback_no_counting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped output has no bar: the upload then takes fsspec's plain put_file."""
    import mreg.remote

    def boom(*_a: Any) -> None:
        raise AssertionError("counted copy without a progress callback")

    monkeypatch.setattr(mreg.remote._ByteCounter, "add", boom)
    store, oid = big_blob(tmp_path)
    with Remote(RemoteSpec("origin", str(tmp_path / "store")), tmp_path) as r:
        assert r.upload(oid, store.blob_path(oid)) == BIG


# ----------------------------------------------------------------------------- timeouts


def options(url: str, opts: dict[str, Any] | None = None) -> dict[str, Any]:
    return Remote(RemoteSpec("o", url, opts or {}))._options


def test_timeouts_default_env_and_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MREG_REMOTE_TIMEOUT", raising=False)
    s3 = options("s3://b/m")["config_kwargs"]
    assert s3["connect_timeout"] == s3["read_timeout"] == DEFAULT_TIMEOUT
    assert s3["retries"] == {"total_max_attempts": 1, "mode": "standard"}
    ssh = options("ssh://me@host/srv/m")
    assert ssh["timeout"] == ssh["connect_timeout"] == ssh["keepalive_interval"] == DEFAULT_TIMEOUT

    monkeypatch.setenv("MREG_REMOTE_TIMEOUT", "2.5")
    s3 = options("s3://b/m")["config_kwargs"]
    assert s3["connect_timeout"] == s3["read_timeout"] == 2.5
    assert options("sftp://me@host/srv/m")["timeout"] == 2.5
    # A backend option of the remote wins over both.
    s3 = options("s3://b/m", {"config_kwargs": {"read_timeout": 300}})["config_kwargs"]
    assert (s3["connect_timeout"], s3["read_timeout"]) == (2.5, 300)
    assert options("ssh://me@host/srv/m", {"timeout": 60})["timeout"] == 60

    for bad in ("soon", "0", "-1", "inf"):
        monkeypatch.setenv("MREG_REMOTE_TIMEOUT", bad)
        with pytest.raises(InvalidConfig, match="MREG_REMOTE_TIMEOUT"):
            options("s3://b/m")


def test_a_read_only_file_system_is_a_refusal_not_a_missing_folder(tmp_path: Path) -> None:
    """EROFS from a folder remote (after a FileNotFoundError, as when a missing `partial/`
    could not be made) is remote-auth, with the folder hint, not remote-not-found's "does
    the folder exist?"."""
    from mreg.errors import RemoteAuthError

    r = Remote(RemoteSpec("nas", str(tmp_path / "store")), tmp_path)
    try:
        try:
            raise FileNotFoundError(2, "No such file or directory", "store/partial")
        except FileNotFoundError:
            raise OSError(30, "Read-only file system", "store/partial")  # noqa: B904
    except OSError as exc:
        err = r.error(exc, "uploading sha256:ab")
    assert isinstance(err, RemoteAuthError), err
    assert "access denied while uploading sha256:ab" in err.message
    assert "Read-only file system" in err.message
    assert err.hint is not None and "file system is writable" in err.hint
