"""Remotes: where blobs travel to and from, through fsspec (imported here and only here).

Layer: infrastructure, beside store. A remote holds the cache's layout,
`<root>/sha256/ab/cdef...`, plus `<root>/partial/` for temp files on stores that rename.

The storage contract (restic's, in small) that every backend meets and the conformance
suite in tests/remote/ checks:

- `list_oids()` lists every blob in one listing (with sizes); a missing root is empty,
  a missing bucket is RemoteNotFound.
- `upload(oid, path)` is idempotent and atomic: a reader sees the whole object or none.
  Stores that rename (local, ssh) write `partial/<uuid>.tmp` then rename it into place;
  object stores (s3, gs, az, memory) write the final key in a single PUT (a multipart
  upload appears only when it completes). The local bytes are hashed first, so a corrupt
  cache blob is never spread (`verify=False`: the caller vouches for them).
- `download(oid, store)` streams a blob into the cache, hashing while it writes, and
  renames it to its final name only when the digest matches (BlobCorrupt otherwise).
- `delete(oids)` is idempotent.

Every call is retried a bounded number of times on transient trouble (a dropped
connection, a timeout), then fails as a RemoteError (exit 5) naming the remote and its
URL without credentials. Secret option values never appear in a message.

Config editing (`remote add/remove/default`) lives here too, beside the URL rules.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import io
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from mreg import yamlio
from mreg.config import (
    ENV_REF_RE,
    REMOTE_NAME_RE,
    RemoteSpec,
    is_secret_option,
    only_env_refs,
    url_password,
)
from mreg.errors import (
    BackendMissing,
    BlobCorrupt,
    InvalidArgument,
    InvalidConfig,
    MregError,
    RemoteAuthError,
    RemoteError,
    RemoteNotConfigured,
    RemoteNotFound,
    RemoteUnreachable,
)
from mreg.fsutil import atomic_write
from mreg.hashing import ALGO, CHUNK, hash_file, is_oid, oid_hex
from mreg.store import Store

T = TypeVar("T")
ByteProgress = Callable[[int], None]

# scheme -> (fsspec protocol, python module, pip extra); None: built into fsspec.
BACKENDS: dict[str, tuple[str, str | None, str | None]] = {
    "file": ("file", None, None),
    "memory": ("memory", None, None),
    "s3": ("s3", "s3fs", "s3"),
    "gs": ("gs", "gcsfs", "gcs"),
    "gcs": ("gs", "gcsfs", "gcs"),
    "az": ("az", "adlfs", "azure"),
    "abfs": ("abfs", "adlfs", "azure"),
    "abfss": ("abfs", "adlfs", "azure"),
    "ssh": ("ssh", "sshfs", "ssh"),
    "sftp": ("ssh", "sshfs", "ssh"),  # fsspec's own sftp:// is paramiko's: we use sshfs
}
RENAMING = ("file", "ssh")  # stores where a rename is atomic; the rest take one PUT
OBJECT_STORES = ("s3", "gs", "az", "abfs")
SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
# Environment variables whose values are secrets: scrubbed from messages too.
SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
)
DEFAULT_RETRIES = 3
# Seconds to connect, and to wait for the next bytes of an answer (S3), or to set up an
# SSH session; MREG_REMOTE_TIMEOUT changes it, a backend option of the remote wins.
DEFAULT_TIMEOUT = 15.0
MAX_MANIFEST = 64 * 1024 * 1024
# A progress callback hears of at least this many bytes at a time (or of a whole blob).
PROGRESS_STEP = 1024 * 1024


def default_jobs() -> int:
    """Parallel transfers: 4 x cores (network-bound), at most 64."""
    return max(4, min(64, 4 * (os.cpu_count() or 1)))


def scheme_of(url: str) -> str:
    """`s3` for `s3://b/p`; `file` for a plain path."""
    m = SCHEME_RE.match(url)
    return m.group(1).lower() if m else "file"


def display_url(url: str) -> str:
    """The URL without a password (`ssh://user:pw@h/p` -> `ssh://user@h/p`)."""
    from urllib.parse import urlsplit, urlunsplit

    if not SCHEME_RE.match(url):
        return url
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username}@{host}" if parts.username else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return "<unparseable url>"


def check_url(url: str) -> str:
    """Refuse an URL mreg cannot use (exit 3); return its scheme."""
    scheme = scheme_of(url)
    if scheme not in BACKENDS:
        raise InvalidArgument(
            f"unsupported remote URL scheme {scheme}://",
            hint="use a path, file://, s3://, gs://, az://, abfs://, ssh://, sftp:// or memory://",
        )
    if scheme in OBJECT_STORES and not url.split("://", 1)[1].strip("/"):
        raise InvalidArgument(f"remote URL {url} names no bucket or container")
    if scheme == "file":
        local_folder(url)
    return scheme


def local_folder(url: str, base_dir: Path | None = None) -> str:
    """The absolute folder a path or file:// URL names (a relative one: below base_dir,
    else the current folder). InvalidArgument (exit 3) when it names none, or starts
    with a ~user that cannot be expanded: blobs would land in the current folder, or
    in a folder literally named `~nouser`."""
    path = url[len("file://") :] if url[:7].lower() == "file://" else url
    if not path.strip():
        raise InvalidArgument(
            f"remote URL {url!r} names no folder",
            hint="give a folder: an absolute path, a path relative to the repository's top,"
            " or file:///abs/path",
        )
    try:
        folder = Path(path).expanduser()
    except RuntimeError:  # ~user with no such user, or no home folder
        raise InvalidArgument(
            f"remote URL {url!r}: cannot expand {path.split('/', 1)[0]!r}",
            hint="write the folder's absolute path",
        ) from None
    if not folder.is_absolute() and base_dir is not None:
        folder = base_dir / folder
    return os.path.abspath(folder).rstrip("/") or "/"


def _expand(value: Any, remote: str, what: str) -> Any:
    """Expand `${VAR}` in a string (nested in mappings/lists too); unset is exit 3."""
    if isinstance(value, dict):
        return {k: _expand(v, remote, f"{what}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, remote, what) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        var = m.group(1)
        if var not in os.environ:
            raise InvalidConfig(
                f"remote {remote}: {what} uses ${{{var}}}, which is not set",
                hint=f"export {var}=...",
            )
        return os.environ[var]

    return ENV_REF_RE.sub(sub, value)


def _secret_values(options: dict[str, Any], url: str) -> list[str]:
    found: list[str] = []
    stack: list[tuple[str, Any]] = list(options.items())
    while stack:
        key, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.items())
        elif is_secret_option(key) and isinstance(value, str) and value:
            found.append(value)
    from urllib.parse import unquote, urlsplit

    with contextlib.suppress(ValueError):
        pw = urlsplit(url).password
        if pw:
            found += [pw, unquote(pw)]
    found += [os.environ[v] for v in SECRET_ENV if os.environ.get(v)]
    # Longest first, so that a secret containing another is scrubbed whole.
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)


# ------------------------------------------------------------------------ error mapping


def _is_connection_trouble(exc: BaseException) -> bool:
    names = {type(e).__name__ for e in _chain(exc)}
    connection_names = {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ClientConnectorError",
        "ServerDisconnectedError",
        "ClientOSError",
        "ConnectionLost",
        "ChannelOpenError",
        "FSTimeoutError",
        "gaierror",
        "IncompleteRead",
        "ResponseStreamingError",
    }
    if names & connection_names:
        return True
    for e in _chain(exc):
        if isinstance(e, (ConnectionError, TimeoutError, socket.timeout, EOFError)):
            return True
        if isinstance(e, OSError) and e.errno in (
            errno.ECONNREFUSED,
            errno.ECONNRESET,
            errno.EHOSTUNREACH,
            errno.ENETUNREACH,
            errno.ETIMEDOUT,
            errno.EPIPE,
        ):
            return True
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out and len(out) < 10:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _is_timeout(exc: BaseException) -> bool:
    timeouts = {"ReadTimeoutError", "ConnectTimeoutError", "FSTimeoutError", "ServerTimeoutError"}
    return any(
        type(e).__name__ in timeouts or isinstance(e, (TimeoutError, socket.timeout))
        for e in _chain(exc)
    )


def _is_auth_trouble(exc: BaseException) -> bool:
    for e in _chain(exc):
        # A read-only file system refuses the write as permissions do; its error may
        # come with a FileNotFoundError before it (a folder it then failed to create).
        if isinstance(e, PermissionError) or getattr(e, "errno", None) == errno.EROFS:
            return True
        name = type(e).__name__
        if name in ("PermissionDenied", "NoCredentialsError", "PartialCredentialsError"):
            return True
        code = getattr(e, "response", None)
        if isinstance(code, dict):
            err = code.get("Error", {}).get("Code", "")
            if err in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"):
                return True
    return False


def _is_not_found(exc: BaseException) -> bool:
    return any(isinstance(e, FileNotFoundError) for e in _chain(exc))


# --------------------------------------------------------------------------- the remote


@dataclass
class RemoteBlob:
    """A blob as a remote lists it."""

    oid: str
    size: int


class _ByteCounter:
    """Passes byte counts on to a progress callback in steps of at least PROGRESS_STEP
    (so a large blob moves the bar per chunk, at no cost per small read); `rewind`
    takes back what an attempt reported when it is retried from the start."""

    def __init__(self, on_bytes: ByteProgress) -> None:
        self._on_bytes = on_bytes
        self._lock = threading.Lock()
        self.reported = 0
        self._pending = 0

    def add(self, n: int) -> None:
        with self._lock:
            self._pending += n
            if self._pending < PROGRESS_STEP:
                return
            n, self._pending = self._pending, 0
            self.reported += n
        self._on_bytes(n)

    def settle(self, total: int) -> None:
        """The attempt succeeded with `total` bytes: report whatever is left."""
        with self._lock:
            n = total - self.reported
            self.reported, self._pending = total, 0
        if n:
            self._on_bytes(n)

    def rewind(self) -> None:
        with self._lock:
            n, self.reported, self._pending = self.reported, 0, 0
        if n:
            self._on_bytes(-n)


def _counter(on_bytes: ByteProgress | None) -> _ByteCounter | None:
    return _ByteCounter(on_bytes) if on_bytes is not None else None


def _fsspec_callback(counter: _ByteCounter) -> Any:
    """An fsspec Callback that feeds counter (backends call it per chunk they send)."""
    from fsspec.callbacks import Callback  # type: ignore[import-untyped]

    class _Feed(Callback):
        def __init__(self) -> None:
            super().__init__()
            self._seen = 0

        def call(self, *args: Any, **kwargs: Any) -> None:
            value = int(self.value or 0)
            if value > self._seen:
                counter.add(value - self._seen)
                self._seen = value

    return _Feed()


class _ReadAdapter:
    """Give any file-like object `readinto` (copy_hashing needs it) and count bytes."""

    def __init__(self, f: Any, counter: _ByteCounter | None) -> None:
        self._f = f
        self._counter = counter

    def readinto(self, view: memoryview) -> int:
        data = self._f.read(len(view))
        n = len(data)
        view[:n] = data
        if n and self._counter is not None:
            self._counter.add(n)
        return n


class Remote:
    """One configured remote, opened. Use as a context manager (closes connections)."""

    def __init__(self, spec: RemoteSpec, base_dir: Path | None = None) -> None:
        self.name = spec.name
        self.url = spec.url
        self.display = display_url(spec.url)
        scheme = check_url(spec.url)
        self.protocol, self._module, self._extra = BACKENDS[scheme]
        options = _expand(spec.options, spec.name, "options")
        url = _expand(spec.url, spec.name, "url")
        self._secrets = _secret_values(options, url)
        self._options = self._normalise(options)
        if scheme == "sftp":
            url = "ssh://" + url.split("://", 1)[1]
        if scheme == "file":  # relative to the repository's top, file:// or not
            url = local_folder(url, base_dir)
        self._url = url
        self.retries = _retries()
        self._fs: Any = None
        self._root: str | None = None
        self._lock = threading.Lock()
        self._made_dirs: set[str] = set()
        self._folder_io: Any = None  # file:// blob I/O (mreg.folderremote), made on use

    # -- plumbing --------------------------------------------------------------------

    def _normalise(self, options: dict[str, Any]) -> dict[str, Any]:
        opts = dict(options)
        timeout = self.timeout = _timeout()
        if self.protocol == "s3":
            region = opts.pop("region", None)
            if region is not None:
                opts.setdefault("client_kwargs", {})["region_name"] = region
            config = dict(opts.get("config_kwargs") or {})
            config.setdefault("connect_timeout", timeout)
            config.setdefault("read_timeout", timeout)
            # One attempt per request: mreg retries (MREG_REMOTE_RETRIES), so that a
            # server that stops answering costs (retries + 1) x the timeout, no more.
            config.setdefault("retries", {"total_max_attempts": 1, "mode": "standard"})
            opts["config_kwargs"] = config
            self.timeout = _number(config["read_timeout"], timeout)
        if self.protocol in OBJECT_STORES:
            opts.setdefault("use_listings_cache", False)
        if self.protocol == "ssh":
            opts.setdefault("timeout", timeout)  # fsspec: the whole session setup
            opts.setdefault("connect_timeout", timeout)  # asyncssh: TCP connect + handshake
            # A server that stops answering mid-transfer is dropped after ~3 silent
            # keepalives, instead of waiting on TCP for many minutes.
            opts.setdefault("keepalive_interval", timeout)
            self.timeout = _number(opts["timeout"], timeout)
            if isinstance(opts.get("client_keys"), str):
                opts["client_keys"] = [opts["client_keys"]]
        return opts

    def scrub(self, text: str) -> str:
        """text with every secret value replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _where(self) -> str:
        return f"remote {self.name} ({self.display})"

    def error(self, exc: BaseException, doing: str) -> MregError:
        """Translate an exception from fsspec or a backend into a RemoteError."""
        if isinstance(exc, MregError):
            return exc
        detail = self.scrub(" ".join(str(exc).split()) or type(exc).__name__)
        if len(detail) > 300:
            detail = detail[:300] + "..."
        where = self._where()
        if _is_auth_trouble(exc):
            return RemoteAuthError(
                f"{where}: access denied while {doing}: {detail}",
                hint="check the folder's permissions (and that its file system is writable)"
                if self.protocol == "file"
                else "check the credentials (config.local.yaml, ${ENV} options, "
                "AWS_*/GOOGLE_*/AZURE_* variables, ssh keys)",
            )
        if _is_not_found(exc):
            return RemoteNotFound(
                f"{where}: not found while {doing}: {detail}",
                hint="check the URL: does the bucket, container or folder exist?",
            )
        if _is_connection_trouble(exc):
            if _is_timeout(exc):
                return RemoteUnreachable(
                    f"{where}: no answer within {self.timeout:g}s while {doing}: {detail}",
                    hint="check the URL, the endpoint and the network; then rerun (it resumes)."
                    " MREG_REMOTE_TIMEOUT sets the seconds to wait",
                )
            return RemoteUnreachable(
                f"{where}: cannot reach the remote while {doing}: {detail}",
                hint="check the URL, the endpoint and the network; then rerun (it resumes)",
            )
        return RemoteError(f"{where}: {doing} failed: {type(exc).__name__}: {detail}")

    def _call(
        self,
        doing: str,
        fn: Callable[[], T],
        retry_missing: bool = False,
        counter: _ByteCounter | None = None,
    ) -> T:
        """fn(), retried on transient trouble; any failure becomes a RemoteError.
        counter: the progress fn reported, taken back when an attempt fails."""
        delay = 0.2
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except MregError:
                if counter is not None:
                    counter.rewind()
                raise
            except Exception as exc:
                if counter is not None:
                    counter.rewind()
                transient = not (
                    _is_auth_trouble(exc) or (_is_not_found(exc) and not retry_missing)
                )
                if not transient or attempt >= self.retries:
                    raise self.error(exc, doing) from None
                time.sleep(delay)
                delay = min(delay * 2.5, 3.0)
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def fs(self) -> Any:
        """The fsspec filesystem (connected on first use)."""
        with self._lock:
            if self._fs is None:
                self._fs, self._root = self._call("connecting", self._connect)
            return self._fs

    @property
    def root(self) -> str:
        if self.protocol == "file":  # a local folder: no need to import fsspec (30 ms)
            return self._url
        _ = self.fs
        assert self._root is not None
        return self._root

    def _connect(self) -> tuple[Any, str]:
        if importlib.util.find_spec("fsspec") is None:
            extra = self._extra or "s3"
            raise BackendMissing(
                f"remote {self.name} ({self.display}) needs fsspec, which is not installed:"
                f" pip install fsspec (or 'mreg[{extra}]')",
                hint=f"pip install 'mreg[{extra}]'" if self._extra else "pip install fsspec",
            )
        if self._module is not None and importlib.util.find_spec(self._module) is None:
            raise BackendMissing(
                f"remote {self.name} ({self.display}) needs the {self._module} package,"
                f" which is not installed: pip install 'mreg[{self._extra}]'",
                hint=f"pip install 'mreg[{self._extra}]'",
            )
        from fsspec.core import url_to_fs  # type: ignore[import-untyped]

        _quiet_orphaned_tasks()
        opts = dict(self._options)
        opts["skip_instance_cache"] = True
        try:
            fs, path = url_to_fs(self._url, **opts)
            if self.protocol == "s3":
                # s3fs tries each request 5 times, each waiting up to read_timeout;
                # mreg retries the call instead (MREG_REMOTE_RETRIES), with backoff.
                fs.retries = 1
        except ImportError as exc:  # a backend's own dependency is missing
            raise BackendMissing(
                f"remote {self.name} ({self.display}): backend cannot load: {exc}",
                hint=f"pip install 'mreg[{self._extra or 'all'}]'",
            ) from None
        except TypeError as exc:
            raise InvalidConfig(
                f"remote {self.name}: an option is not understood by the"
                f" {self.protocol} backend: {self.scrub(str(exc))}",
                hint=f"mreg remote list; fix remotes.{self.name}.options",
            ) from None
        return fs, str(path).rstrip("/")

    def close(self) -> None:
        """Release connections (best effort: backends differ)."""
        fs, self._fs = self._fs, None
        if fs is None:
            return
        with contextlib.suppress(Exception):
            if self.protocol == "ssh":
                from fsspec.asyn import sync  # type: ignore[import-untyped]

                sync(fs.loop, fs._pool.close, timeout=2)
                sync(fs.loop, fs._stack.aclose, timeout=2)
            elif self.protocol == "s3" and getattr(fs, "_s3", None) is not None:
                from fsspec.asyn import sync

                sync(fs.loop, fs._s3.close, timeout=2)

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- layout ------------------------------------------------------------------------

    @property
    def renames(self) -> bool:
        return self.protocol in RENAMING

    @property
    def preferred_jobs(self) -> int:
        """Parallel transfers when -j is not given. A folder is bound by local syscalls,
        not latency: threads only contend (a big blob's copy already keeps two cores
        busy: one copies, one hashes), so about one per two cores, at most 4."""
        if self.protocol == "file":
            from mreg.folderremote import folder_jobs

            return folder_jobs()
        return default_jobs()

    def blob_path(self, oid: str) -> str:
        hexdigest = oid_hex(oid)
        return f"{self.root}/{ALGO}/{hexdigest[:2]}/{hexdigest[2:]}"

    @property
    def partial_path(self) -> str:
        return f"{self.root}/partial"

    def _bucket(self) -> str:
        return self.root.split("/", 1)[0]

    # -- the contract ------------------------------------------------------------------

    def check(self, reading: bool = False) -> None:
        """Raise RemoteNotFound when the bucket/container does not exist (object stores),
        or, when `reading`, when the remote's folder does not exist (folders, SSH): then
        a blob that is not there means the remote is wrong, not that nobody pushed it."""
        if reading and self.renames:

            def folder_exists() -> bool:
                if self.protocol == "file":
                    return os.path.isdir(self.root)
                try:
                    return self.fs.info(self.root).get("type") == "directory"
                except FileNotFoundError:
                    return False

            if not self._call("checking the folder", folder_exists):
                raise RemoteNotFound(
                    f"{self._where()}: folder {self.root} does not exist",
                    hint="fix the URL (mreg remote add NAME URL --force), or push to it first",
                )
        if self.protocol in OBJECT_STORES:
            bucket = self._bucket()

            def exists() -> bool:
                # not fs.exists: it answers False when the endpoint cannot be reached
                try:
                    self.fs.info(bucket)
                    return True
                except FileNotFoundError:
                    return False

            if not self._call("checking the bucket", exists):
                raise RemoteNotFound(
                    f"{self._where()}: bucket or container {bucket!r} does not exist",
                    hint="create it, or fix the URL: mreg remote add NAME URL --force",
                )

    def list_blobs(self) -> dict[str, int]:
        """oid -> size of every blob on the remote, in one recursive listing."""
        base = f"{self.root}/{ALGO}"

        def find() -> dict[str, Any]:
            if self.protocol == "file":
                from mreg.folderremote import find_files

                return find_files(base)
            try:
                return dict(self.fs.find(base, detail=True))
            except FileNotFoundError:
                return {}

        found = self._call("listing blobs", find)
        if not found:
            self.check()
        out: dict[str, int] = {}
        for path, info in found.items():
            parts = path.rstrip("/").rsplit("/", 2)
            if len(parts) < 3 or len(parts[1]) != 2 or len(parts[2]) != 62:
                continue
            oid = f"{ALGO}:{parts[1]}{parts[2]}"
            if is_oid(oid):
                out[oid] = int(info.get("size") or 0)
        return out

    def has_blobs(self, oids: Iterable[str]) -> set[str]:
        """Which of oids are on the remote: one request each, for a handful of oids
        (list_blobs answers for many with one listing)."""

        def probe() -> set[str]:
            found = set()
            for oid in oids:
                if self.protocol == "file":
                    if os.path.isfile(self.blob_path(oid)):
                        found.add(oid)
                    continue
                try:
                    self.fs.info(self.blob_path(oid))
                    found.add(oid)
                except FileNotFoundError:
                    pass
            return found

        return self._call("checking blobs", probe)

    @contextlib.contextmanager
    def _open(self, path: str, **kwargs: Any) -> Iterator[Any]:
        """Open a remote file for reading and close it, even when the connection is gone.

        A file whose close() failed (sshfs: the connection dropped) stays "open", and
        the garbage collector closes it again at interpreter exit, when fsspec's event
        loop no longer runs: the process then waits forever instead of exiting. So a
        failed close marks the file closed; the error still propagates.
        """
        f = self.fs.open(path, "rb", **kwargs)
        try:
            yield f
        finally:
            try:
                f.close()
            except BaseException:
                for attr in ("_closed", "closed"):
                    with contextlib.suppress(Exception):
                        setattr(f, attr, True)
                raise

    def _makedirs(self, path: str) -> None:
        if path in self._made_dirs:
            return
        self.fs.makedirs(path, exist_ok=True)
        self._made_dirs.add(path)

    def upload(
        self, oid: str, src: str | Path, on_bytes: ByteProgress | None = None, verify: bool = True
    ) -> int:
        """Copy the cache file src to blob `oid` on the remote, atomically; its size.

        on_bytes(n) hears of the bytes sent, per chunk of at least PROGRESS_STEP where
        the backend reports chunks (a folder, SSH, an S3 multipart upload), else once.
        verify=False: the caller vouches for src's bytes (no hashing where it costs).
        """
        if self.protocol == "file":  # plain os calls, hashing while copying
            from mreg import folderremote

            return folderremote.upload(self, oid, src, on_bytes, verify)
        if verify:
            got, size = hash_file(src)
            if got != oid:
                from mreg.folderremote import corrupt_in_cache

                raise corrupt_in_cache(oid, got)
        else:
            size = os.stat(src).st_size
        final = self.blob_path(oid)
        counter = _counter(on_bytes)
        kwargs = _put_kwargs(self.protocol, size)

        def send(dest: str) -> None:
            if self.protocol == "s3" and size >= 2 * kwargs["chunksize"]:
                _s3_multipart(self.fs, str(src), dest, size, kwargs["chunksize"], counter)
            elif counter is None:
                self.fs.put_file(str(src), dest, **kwargs)
            else:
                self.fs.put_file(str(src), dest, callback=_fsspec_callback(counter), **kwargs)

        def put() -> None:
            if not self.renames:
                send(final)
                return
            tmp = f"{self.partial_path}/{os.getpid()}-{uuid.uuid4().hex}.tmp"
            self._makedirs(self.partial_path)
            try:
                send(tmp)
                self._makedirs(final.rsplit("/", 1)[0])
                self.fs.mv(tmp, final)
            except BaseException:
                with contextlib.suppress(Exception):
                    self.fs.rm_file(tmp)
                raise

        self._call(f"uploading {oid}", put, counter=counter)
        if counter is not None:
            counter.settle(size)
        return size

    def download(
        self,
        oid: str,
        store: Store,
        on_bytes: ByteProgress | None = None,
        size: int | None = None,
    ) -> int:
        """Stream blob `oid` into the cache, digest checked before it gets its name."""
        if self.protocol == "file":  # plain os calls (size: a hint, not needed there)
            from mreg import folderremote

            return folderremote.download(self, oid, store, on_bytes)
        path = self.blob_path(oid)
        counter = _counter(on_bytes)

        def get() -> int:
            if size is not None and size <= SMALL_GET and self.protocol in OBJECT_STORES:
                # One GET, no HEAD: s3fs's cat_file looks the size up unless told not to.
                kw = {"max_concurrency": 1} if self.protocol == "s3" else {}
                data = self.fs.cat_file(path, **kw)
                if counter is not None:
                    counter.add(len(data))
                return store_verified(store, io.BytesIO(data), oid, self._where())
            if self.protocol == "s3":  # one streaming GET, not a range GET per block
                body = _S3Body(self.fs, path, counter)
                try:
                    return store_verified(store, body, oid, self._where())
                finally:
                    body.close()
            with self._open(path, block_size=CHUNK) as f:
                return store_verified(store, _ReadAdapter(f, counter), oid, self._where())

        n = self._call(f"downloading {oid}", get, counter=counter)
        if counter is not None:
            counter.settle(n)
        return n

    def download_to(self, oid: str, dest: BinaryIO, on_bytes: ByteProgress | None = None) -> str:
        """Stream blob `oid` into an open file; returns the digest of what was written."""
        if self.protocol == "file":
            from mreg import folderremote

            return folderremote.download_to(self, oid, dest, on_bytes)
        from mreg.hashing import copy_hashing

        counter = _counter(on_bytes)

        def get() -> str:
            dest.seek(0)
            dest.truncate()
            with self._open(self.blob_path(oid), block_size=CHUNK) as f:
                return copy_hashing(_ReadAdapter(f, counter), dest)[0]  # type: ignore[arg-type]

        got = self._call(f"downloading {oid}", get, counter=counter)
        if counter is not None:
            counter.settle(dest.tell())
        return got

    def read_bytes(self, oid: str, limit: int = MAX_MANIFEST) -> bytes:
        """A small blob's bytes (a manifest), unchecked: the caller checks the digest."""
        if self.protocol == "file":
            from mreg import folderremote

            return folderremote.read_bytes(self, oid, limit)

        def cat() -> bytes:
            with self._open(self.blob_path(oid)) as f:
                data = f.read(limit + 1)
            if len(data) > limit:
                raise RemoteError(f"{self._where()}: blob {oid} is larger than {limit} bytes")
            return bytes(data)

        return self._call(f"reading {oid}", cat)

    def hash_blob(self, oid: str, on_bytes: ByteProgress | None = None) -> str | None:
        """The digest of a remote blob's bytes (None when it is missing)."""
        from mreg.hashing import hash_stream

        counter = _counter(on_bytes)
        size = 0

        def rehash() -> str | None:
            nonlocal size
            try:
                with self._open(self.blob_path(oid), block_size=CHUNK) as f:
                    got, size = hash_stream(_ReadAdapter(f, counter))  # type: ignore[arg-type]
                    return got
            except FileNotFoundError:
                return None

        got = self._call(f"reading {oid}", rehash, counter=counter)
        if counter is not None:
            counter.settle(size)
        return got

    def delete(self, oids: Iterable[str]) -> None:
        """Remove blobs (missing ones are fine), in batches."""
        paths = [self.blob_path(o) for o in oids]
        for i in range(0, len(paths), 1000):
            batch = paths[i : i + 1000]

            def rm(batch: list[str] = batch) -> None:
                try:
                    self.fs.rm(batch)
                except FileNotFoundError:
                    for p in batch:
                        with contextlib.suppress(FileNotFoundError):
                            self.fs.rm_file(p)

            self._call("deleting blobs", rm)

    def stale_partials(self, older_than: float) -> list[str]:
        """Temp files under partial/ last modified more than older_than seconds ago."""
        if not self.renames:
            return []

        def ls() -> list[dict[str, Any]]:
            try:
                return list(self.fs.ls(self.partial_path, detail=True))
            except FileNotFoundError:
                return []

        now = time.time()
        out = []
        for info in self._call("listing partial/", ls):
            mtime: Any = info.get("mtime")
            if mtime is not None and hasattr(mtime, "timestamp"):
                mtime = mtime.timestamp()
            stale = isinstance(mtime, (int, float)) and now - mtime > older_than
            if info.get("type") == "file" and stale:
                out.append(str(info["name"]))
        return out

    def remove_paths(self, paths: list[str]) -> None:
        if paths:
            self._call("removing temp files", lambda: self.fs.rm(paths))


# S3 uploads: parts of PUT_PART bytes, PUT_PARTS at a time (_s3_multipart), so that a
# push's memory stays near PUT_PARTS x PUT_PART whatever the blob's size; a blob under
# 2 x PUT_PART is one PUT. S3 allows at most 10,000 parts: a huge blob gets larger parts.
PUT_PART = 16 * 1024 * 1024
PUT_PARTS = 2
MAX_PARTS = 10_000
# A blob of known size up to this is fetched in one GET into memory (no HEAD first).
SMALL_GET = CHUNK


def _put_kwargs(protocol: str, size: int) -> dict[str, Any]:
    """Extra put_file arguments that bound a backend's memory (S3's multipart upload)."""
    if protocol != "s3":
        return {}
    part = max(PUT_PART, -(-size // MAX_PARTS))
    return {"chunksize": part, "max_concurrency": PUT_PARTS}


def _s3_multipart(
    fs: Any, src: str, dest: str, size: int, part: int, counter: _ByteCounter | None
) -> None:
    """Upload src to dest as S3 parts of `part` bytes, PUT_PARTS of them in flight (so
    memory stays near PUT_PARTS x part whatever the size), the way boto3's s3transfer
    does it: CRC32 declared when the upload starts and each part's checksum passed to
    the completion, so S3 checks every part and a server computes no whole-object
    checksum of its own (moto spent 3.3 s of a 13 s 1 GiB upload on one otherwise).
    A failed upload is aborted: nothing appears under dest."""
    from fsspec.asyn import sync

    sync(fs.loop, _s3_multipart_async, fs, src, dest, size, part, counter)


async def _s3_multipart_async(
    fs: Any, src: str, dest: str, size: int, part: int, counter: _ByteCounter | None
) -> None:
    import asyncio

    bucket, key, _ = fs.split_path(dest)
    where = {"Bucket": bucket, "Key": key}
    started = await fs._call_s3("create_multipart_upload", **where, ChecksumAlgorithm="CRC32")
    where["UploadId"] = started["UploadId"]
    gate = asyncio.Semaphore(PUT_PARTS)

    async def one(number: int, offset: int) -> dict[str, Any]:
        async with gate:  # read only when a slot is free: memory stays bounded
            with open(src, "rb") as f:
                f.seek(offset)
                data = f.read(part)
            sent = await fs._call_s3(
                "upload_part", **where, PartNumber=number, Body=data, ChecksumAlgorithm="CRC32"
            )
            if counter is not None:
                counter.add(len(data))
            done = {"PartNumber": number, "ETag": sent["ETag"]}
            if "ChecksumCRC32" in sent:  # a server that keeps no checksums answers none
                done["ChecksumCRC32"] = sent["ChecksumCRC32"]
            return done

    tasks = [
        asyncio.ensure_future(one(n, offset))
        for n, offset in enumerate(range(0, size, part), start=1)
    ]
    try:
        parts = await asyncio.gather(*tasks)
        await fs._call_s3("complete_multipart_upload", **where, MultipartUpload={"Parts": parts})
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await fs._call_s3("abort_multipart_upload", **where)
        raise


class _S3Body:
    """An S3 object's bytes from one streaming GET (no HEAD, no range requests), read
    from a worker thread through s3fs's event loop; `readinto` for copy_hashing."""

    def __init__(self, fs: Any, path: str, counter: _ByteCounter | None) -> None:
        from fsspec.asyn import sync

        self._fs = fs
        self._sync = sync
        self._counter = counter
        bucket, key, version = fs.split_path(path)
        extra = {"VersionId": version} if version else {}
        resp = sync(
            fs.loop,
            fs._call_s3,
            "get_object",
            Bucket=bucket,
            Key=key,
            **extra,
            **getattr(fs, "req_kw", {}),
        )
        self._body = resp["Body"]

    async def _read(self, n: int) -> bytes:
        parts: list[bytes] = []
        got = 0
        while got < n:
            data = await self._body.read(n - got)
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def readinto(self, view: memoryview) -> int:
        data = self._sync(self._fs.loop, self._read, len(view))
        n = len(data)
        view[:n] = data
        if n and self._counter is not None:
            self._counter.add(n)
        return n

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._body.close()


def store_verified(store: Store, src: Any, oid: str, source: str) -> int:
    """Write src into the cache as blob `oid`; the name is given only if the digest matches.

    A mismatch deletes the temp file and raises BlobCorrupt (exit 4): bad bytes never
    enter the cache under any name. Every download (S3, SSH, memory, folders) ends here.
    """
    from mreg.hashing import copy_hashing

    if store.has(oid):
        return 0
    out, tmp = store._temp()
    try:
        with out:
            got, size = copy_hashing(src, out)
            read_only = store._finish(out)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if got != oid:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise corrupt_download(oid, source, got)
    store._commit(tmp, oid, absent=True, read_only=read_only)
    return size


def corrupt_download(oid: str, source: str, got: str) -> BlobCorrupt:
    """The error for downloaded bytes that do not hash to their name (exit 4)."""
    return BlobCorrupt(
        f"blob {oid} from {source} is corrupt: its bytes hash to {got}",
        hint="the copy on the remote is damaged: mreg verify -r REMOTE; mreg push --repair"
        " from a machine whose cache holds it",
    )


def _retries() -> int:
    raw = os.environ.get("MREG_REMOTE_RETRIES")
    if raw is None:
        return DEFAULT_RETRIES
    try:
        return max(0, int(raw))
    except ValueError:
        return DEFAULT_RETRIES


def _number(value: Any, default: float) -> float:
    """value as a float (an option may hold a string), else default (for messages)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _timeout() -> float:
    """MREG_REMOTE_TIMEOUT (seconds, > 0), else DEFAULT_TIMEOUT."""
    raw = os.environ.get("MREG_REMOTE_TIMEOUT")
    if raw is None or not raw.strip():
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise InvalidConfig(
            f"MREG_REMOTE_TIMEOUT={raw!r} is not a number of seconds",
            hint=f"e.g. MREG_REMOTE_TIMEOUT=30, or unset it for the default ({DEFAULT_TIMEOUT:g})",
        )
    return value


# ------------------------------------------------------------------------- config edits


def get_spec(config: Any, name: str | None) -> RemoteSpec:
    """The named remote, or the default one; RemoteNotConfigured (exit 3) otherwise."""
    remotes: dict[str, RemoteSpec] = config.remotes
    if name is None:
        name = config.default_remote
        if name is None:
            if len(remotes) == 1:
                return next(iter(remotes.values()))
            raise RemoteNotConfigured(
                "no default remote" + (" (several are configured)" if remotes else ""),
                hint="mreg remote add NAME URL -d, or mreg remote default NAME, or -r NAME",
            )
    spec = remotes.get(name)
    if spec is None:
        known = ", ".join(sorted(remotes)) or "none"
        raise RemoteNotConfigured(
            f"no remote named {name!r} (configured: {known})", hint="mreg remote list"
        )
    return spec


def _drop_orphaned_task_logs(record: Any) -> bool:
    """asyncio logs, with a traceback, the error of every task nobody awaited: when a
    connection drops mid-transfer, asyncssh's parallel writes fail after the transfer
    has already raised its error, which mreg reports in one line (and retries). Only
    those go: asyncssh's errors in tasks nobody awaited."""
    error = record.exc_info[1] if record.exc_info else None
    return not (
        str(record.msg).startswith("Task exception was never retrieved")
        and type(error).__module__.startswith("asyncssh")
    )


def _quiet_orphaned_tasks() -> None:
    import logging

    log = logging.getLogger("asyncio")
    if _drop_orphaned_task_logs not in log.filters:
        log.addFilter(_drop_orphaned_task_logs)


def open_remote(project: Any, name: str | None = None) -> Remote:
    """The project's remote `name` (default: core.remote), not yet connected."""
    remote = Remote(get_spec(project.config, name), base_dir=project.root)
    if remote.protocol == "file":  # the config may have been edited by hand
        check_folder_place(project.root, remote.root)
    return remote


def check_folder_place(top: Path, folder: str) -> None:
    """Refuse (exit 3) a folder remote whose blobs would land where no one means them to:
    the file system's root (`/`, `file:///`: sha256/ and partial/ beside /etc), or git's
    view or mreg's own state: the repository's top folder, a folder inside .git or .mreg,
    or a folder of the work tree that git does not ignore (`git add -A` would commit the
    model bytes)."""
    from mreg.fsutil import gitignore_pattern, is_within

    top_real = os.path.realpath(top)
    real = os.path.realpath(folder)
    if os.path.dirname(real) == real:  # / (or a drive's root), also through a symlink
        raise InvalidArgument(
            f"remote folder {folder} is the file system's root"
            + (f" ({real})" if real != folder else ""),
            hint="give the blobs a folder of their own, e.g. ../mreg-store or /srv/mreg-store",
        )
    if not is_within(Path(real), Path(top_real)):
        return
    rel = os.path.relpath(real, top_real)
    inside = rel.split(os.sep, 1)[0]
    hint = "use a folder outside the work tree, e.g. ../mreg-store"
    if rel == ".":
        problem = "is the repository's top folder"
    elif inside in (".git", ".mreg"):
        problem = f"is inside {inside}/, which git and mreg keep for themselves"
    else:
        from mreg.gitrepo import run_git

        if run_git(top, "check-ignore", "-q", f"{rel}/", check=False).returncode == 0:
            return
        problem = "is inside the work tree and git does not ignore it"
        import shlex

        line = gitignore_pattern(Path(rel).as_posix()) + "/"
        hint += f", or git-ignore it first: echo {shlex.quote(line)} >> .gitignore"
    raise InvalidArgument(f"remote folder {folder} {problem}", hint=hint)


class MalformedOption(InvalidArgument):
    """An option that is not KEY=VALUE: a usage error, which the CLI reports as the
    parser does -p and -m (exit 2); `detail` is the message without the option's name."""

    def __init__(self, item: str) -> None:
        self.detail = f"{item!r} is not KEY=VALUE"
        super().__init__(f"--option {self.detail}")


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """`k=v` strings to an options mapping: dotted keys nest, values are YAML scalars.

    Secret-named options stay strings whatever they look like.
    """
    out: dict[str, Any] = {}
    for item in pairs or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not sep or not key or any(not p for p in parts):
            raise MalformedOption(item)
        value: Any = raw if is_secret_option(parts[-1]) else yamlio.parse_scalar(raw)
        if isinstance(value, (dict, list)):
            value = raw
        node = out
        for p in parts[:-1]:
            child = node.setdefault(p, {})
            if not isinstance(child, dict):
                raise InvalidArgument(f"--option {key}: {p!r} is both a value and a group")
            node = child
        node[parts[-1]] = value
    return out


def _read_doc(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "", {}
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidConfig(f"{path}: cannot read: {exc}") from None
    try:
        doc = yamlio.load(text)
    except yamlio.YamlError as exc:
        raise InvalidConfig(f"{path}: invalid YAML: {exc}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise InvalidConfig(f"{path}: must be a mapping")
    return text, doc


_TOP_KEY = re.compile(r"^([A-Za-z0-9_.-]+)\s*:")


def _replace_top(text: str, key: str, value: Any) -> str:
    """text with the top-level block `key:` replaced by `{key: value}` (None: removed).

    Comments and other blocks are kept as written; only the block itself is re-dumped.
    """
    lines = text.splitlines(keepends=True)
    start = None
    for i, line in enumerate(lines):
        m = _TOP_KEY.match(line)
        if m and m.group(1) == key:
            start = i
            break
    new = [] if value is None else yamlio.dump({key: value}).splitlines(keepends=True)
    if start is None:
        if value is None:
            return text
        if text and not text.endswith("\n"):
            text += "\n"
        return text + "".join(new)
    end = start + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line[0].isspace() and not line.startswith(("#", "- ", "-\n")):
            break
        end += 1
    # Comment lines just before the next key belong to that key.
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return "".join(lines[:start] + new + lines[end:])


def _write_doc(path: Path, text: str, doc: dict[str, Any], keys: list[str]) -> None:
    """Write doc to path, keeping text's comments where the block edit is exact."""
    out = text
    for key in keys:
        out = _replace_top(out, key, doc.get(key))
    try:
        exact = (yamlio.load(out) or {}) == doc
    except yamlio.YamlError:
        exact = False
    if not exact:
        out = yamlio.dump(doc) if doc else ""
    atomic_write(path, out.encode("utf-8"))


@dataclass
class RemoteRow:
    """A remote for `remote list`: secrets masked."""

    name: str
    url: str
    default: bool
    options: dict[str, Any]
    local: bool


def mask_options(options: dict[str, Any]) -> dict[str, Any]:
    """Secret-named values shown as *** (a ${VAR} reference is shown as written)."""
    out: dict[str, Any] = {}
    for k, v in options.items():
        if isinstance(v, dict):
            out[k] = mask_options(v)
        elif is_secret_option(k) and not only_env_refs(v):
            out[k] = "***"
        else:
            out[k] = v
    return out


def list_remotes(config: Any) -> list[RemoteRow]:
    return [
        RemoteRow(
            name=s.name,
            url=display_url(s.url),
            default=s.name == config.default_remote,
            options=mask_options(s.options),
            local=s.local,
        )
        for s in config.remotes.values()
    ]


def _secret_problems(url: str, options: dict[str, Any], prefix: str = "") -> list[str]:
    bad = [
        f"{prefix}{k}"
        for k, v in options.items()
        if not isinstance(v, dict)
        and is_secret_option(k)
        and v not in (None, "")
        and not only_env_refs(v)
    ]
    for k, v in options.items():
        if isinstance(v, dict):
            bad += _secret_problems("", v, f"{prefix}{k}.")
    if url and url_password(url):
        bad.append("the URL's password")
    return bad


def add_remote(
    mreg_dir: Path,
    name: str,
    url: str,
    options: dict[str, Any],
    *,
    default: bool = False,
    local: bool = False,
    force: bool = False,
) -> Path:
    """Write remote `name` to config.yaml (or config.local.yaml); the file written."""
    if not REMOTE_NAME_RE.match(name):
        raise InvalidArgument(
            f"invalid remote name {name!r}", hint="letters, digits, '.', '_' and '-'"
        )
    if check_url(url) == "file" and not ENV_REF_RE.search(url):
        check_folder_place(mreg_dir.parent, local_folder(url, mreg_dir.parent))
    if not local:
        bad = _secret_problems(url, options)
        if bad:
            raise InvalidArgument(
                f"{', '.join(bad)} would put a secret in the committed .mreg/config.yaml",
                hint="add --local to keep this remote in config.local.yaml (git-ignored),"
                " or pass the value as ${ENV_VAR}",
            )
    path = mreg_dir / ("config.local.yaml" if local else "config.yaml")
    text, doc = _read_doc(path)
    remotes = doc.get("remotes") or {}
    if not isinstance(remotes, dict):
        raise InvalidConfig(f"{path}: remotes: must be a mapping")
    if name in remotes and not force:
        raise InvalidArgument(
            f"remote {name!r} already exists in {path.name}", hint="add --force to replace it"
        )
    entry: dict[str, Any] = {"url": url}
    if options:
        entry["options"] = options
    remotes = dict(remotes)
    remotes[name] = entry
    doc["remotes"] = remotes
    keys = ["remotes"]
    if default:
        core = dict(doc.get("core") or {})
        core["remote"] = name
        doc["core"] = core
        keys.append("core")
    _write_doc(path, text, doc, keys)
    return path


def remove_remote(mreg_dir: Path, name: str) -> list[Path]:
    """Remove remote `name` from both config files (and core.remote if it names it)."""
    changed: list[Path] = []
    for fname in ("config.yaml", "config.local.yaml"):
        path = mreg_dir / fname
        if not path.exists():
            continue
        text, doc = _read_doc(path)
        keys = []
        remotes = doc.get("remotes")
        if isinstance(remotes, dict) and name in remotes:
            remotes = {k: v for k, v in remotes.items() if k != name}
            if remotes:
                doc["remotes"] = remotes
            else:
                doc.pop("remotes")
            keys.append("remotes")
        core = doc.get("core")
        if isinstance(core, dict) and core.get("remote") == name:
            core = {k: v for k, v in core.items() if k != "remote"}
            if core:
                doc["core"] = core
            else:
                doc.pop("core")
            keys.append("core")
        if keys:
            _write_doc(path, text, doc, keys)
            changed.append(path)
    if not changed:
        raise RemoteNotConfigured(f"no remote named {name!r}", hint="mreg remote list")
    return changed


def set_default(mreg_dir: Path, config: Any, name: str, local: bool = False) -> Path:
    """Make `name` the default remote (core.remote)."""
    if name not in config.remotes:
        known = ", ".join(sorted(config.remotes)) or "none"
        raise RemoteNotConfigured(
            f"no remote named {name!r} (configured: {known})", hint="mreg remote add NAME URL"
        )
    path = mreg_dir / ("config.local.yaml" if local else "config.yaml")
    text, doc = _read_doc(path)
    core = dict(doc.get("core") or {})
    core["remote"] = name
    doc["core"] = core
    _write_doc(path, text, doc, ["core"])
    return path
