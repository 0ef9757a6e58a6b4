"""Real servers for the remote suite, all on 127.0.0.1, all started and stopped here.

- S3: moto's ThreadedMotoServer (in-process thread), used through s3fs; each test gets
  its own prefix in one bucket. `moto_auth_url` is a second moto, in a subprocess, that
  enforces credentials (every key is unknown to it): for the wrong-credentials test.
- SFTP: Debian's /usr/sbin/sshd on a random port, with a throwaway host key and an
  authorised client key made by ssh-keygen, run with `-D -e -f cfg` (scripts/
  ensure-sshd.sh installs it). Used through sshfs.
- local: a folder; memory: fsspec's memory filesystem, emptied before each test.

`remote` is parametrised over the four kinds: the conformance suite runs against each.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import Cli, git, write

SSHD = "/usr/sbin/sshd"
BUCKET = "mreg-test"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture(scope="session", autouse=True)
def remote_env(isolated_env: Path) -> Iterator[None]:
    """AWS variables pointing nowhere real; fast retries, so fault tests stay quick."""
    with pytest.MonkeyPatch.context() as mp:
        for k, v in AWS_ENV.items():
            mp.setenv(k, v)
        mp.setenv("MREG_REMOTE_RETRIES", "1")
        yield


# ----------------------------------------------------------------------------------- S3


@pytest.fixture(scope="session")
def moto_server(remote_env: None) -> Iterator[str]:
    """An S3 endpoint URL (moto in a thread) with the test bucket created."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    import boto3  # type: ignore[import-untyped]

    boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


def start_moto_process(
    env_extra: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[Any], str]:
    """moto as a separate process (so that it can be killed, or made to check keys)."""
    port = free_port()
    env = dict(os.environ, **(env_extra or {}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, proc=proc)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def moto_auth_url(remote_env: None) -> Iterator[str]:
    """An S3 endpoint that checks credentials: it knows no keys, so every one is wrong."""
    proc, url = start_moto_process({"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    yield url
    proc.terminate()
    proc.wait(10)


# ---------------------------------------------------------------------------------- SSH


@dataclass
class Sshd:
    """A running sshd: its port, the client key it accepts, a known_hosts file for it."""

    port: int
    client_key: Path
    known_hosts: Path
    proc: subprocess.Popen[Any]
    config: Path
    folder: Path

    def stop(self) -> None:
        """Stop the listener and every session it forked (a server going away)."""
        children = _children(self.proc.pid)
        self.proc.send_signal(signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)


def _children(pid: int) -> list[int]:
    """Every descendant of pid (sshd forks one process per connection)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent:
                out.append(int(entry))
                todo.append(int(entry))
    return out


def start_sshd(folder: Path) -> Sshd:
    """sshd on a random loopback port, keys and config in folder, as the current user."""
    if not os.path.exists(SSHD):
        pytest.fail(f"{SSHD} is missing: run scripts/ensure-sshd.sh (CI must test sftp)")
    folder.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation folder sshd insists on
    host_key = folder / "host_ed25519"
    client_key = folder / "client_ed25519"
    for key in (host_key, client_key):
        if not key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True
            )
    authorized = folder / "authorized_keys"
    shutil.copy(f"{client_key}.pub", authorized)
    os.chmod(authorized, 0o600)
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\n"
        f"Port {port}\n"
        f"HostKey {host_key}\n"
        f"AuthorizedKeysFile {authorized}\n"
        f"PidFile {folder / 'sshd.pid'}\n"
        "StrictModes no\n"
        "UsePAM no\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\n"
        "MaxStartups 100\n"
        "MaxSessions 100\n"
        "Subsystem sftp internal-sftp\n"
        "LogLevel ERROR\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, proc=proc)
    known_hosts = folder / "known_hosts"
    host_pub = Path(f"{host_key}.pub").read_text().split()
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    return Sshd(port, client_key, known_hosts, proc, config, folder)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.proc.terminate()
    server.proc.wait(10)


# ------------------------------------------------------------------------------ remotes


@dataclass
class RemoteKind:
    """One remote for a test: how to add it, and raw access to its blobs."""

    kind: str
    url: str
    options: list[str] = field(default_factory=list)  # `-o K=V` for `mreg remote add`
    fs: Any = None  # an fsspec filesystem for raw access (tests only)
    root: str = ""  # the remote's root path on fs
    env: dict[str, str] = field(default_factory=dict)

    def add_args(self, name: str = "origin") -> list[str]:
        args = ["remote", "add", name, self.url, "-d"]
        for opt in self.options:
            args += ["-o", opt]
        return args

    def blob(self, oid: str) -> str:
        h = oid.split(":", 1)[1]
        return f"{self.root}/sha256/{h[:2]}/{h[2:]}"

    def oids(self) -> set[str]:
        try:
            paths = self.fs.find(f"{self.root}/sha256")
        except FileNotFoundError:
            return set()
        out = set()
        for p in paths:
            head, tail = p.rsplit("/", 2)[-2:]
            out.add(f"sha256:{head}{tail}")
        return out

    def read(self, oid: str) -> bytes:
        return bytes(self.fs.cat_file(self.blob(oid)))

    def write(self, oid: str, data: bytes) -> None:
        path = self.blob(oid)
        with contextlib.suppress(Exception):
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)
        self.fs.pipe_file(path, data)

    def delete(self, oid: str) -> None:
        self.fs.rm_file(self.blob(oid))


def make_remote(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> RemoteKind:
    if kind == "local":
        from fsspec.implementations.local import LocalFileSystem  # type: ignore[import-untyped]

        root = tmp_path / "remote-store"
        return RemoteKind(kind, str(root), fs=LocalFileSystem(), root=str(root))
    if kind == "memory":
        from fsspec.implementations.memory import MemoryFileSystem  # type: ignore[import-untyped]

        MemoryFileSystem.store.clear()
        MemoryFileSystem.pseudo_dirs.clear()
        MemoryFileSystem.pseudo_dirs.append("")
        name = f"store-{uuid.uuid4().hex[:8]}"
        return RemoteKind(kind, f"memory://{name}", fs=MemoryFileSystem(), root=f"/{name}")
    if kind == "s3":
        import s3fs  # type: ignore[import-untyped]

        endpoint = request.getfixturevalue("moto_server")
        prefix = f"{BUCKET}/{uuid.uuid4().hex[:12]}"
        fs = s3fs.S3FileSystem(
            endpoint_url=endpoint, key="testing", secret="testing", skip_instance_cache=True
        )
        fs.invalidate_cache()
        return RemoteKind(
            kind, f"s3://{prefix}", [f"endpoint_url={endpoint}"], fs=_NoCache(fs), root=prefix
        )
    if kind == "sftp":
        from fsspec.implementations.local import LocalFileSystem

        server: Sshd = request.getfixturevalue("sshd")
        root = tmp_path / "sftp-store"
        return RemoteKind(
            kind,
            f"ssh://root@127.0.0.1:{server.port}{root}",
            ["client_keys=${MREG_TEST_SSH_KEY}", f"known_hosts={server.known_hosts}"],
            fs=LocalFileSystem(),  # sshd serves this machine's disk: raw access is local
            root=str(root),
            env={"MREG_TEST_SSH_KEY": str(server.client_key)},
        )
    raise AssertionError(kind)


class _NoCache:
    """An s3fs filesystem that forgets its listings before each call (tests see truth)."""

    def __init__(self, fs: Any) -> None:
        self._fs = fs

    def __getattr__(self, name: str) -> Any:
        self._fs.invalidate_cache()
        return getattr(self._fs, name)


KINDS = ["local", "memory", "s3", "sftp"]


@pytest.fixture(params=KINDS)
def remote(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RemoteKind:
    """Each remote kind in turn (the conformance suite runs on all four)."""
    r = make_remote(request.param, tmp_path, request)
    for k, v in r.env.items():
        monkeypatch.setenv(k, v)
    return r


# -------------------------------------------------------------------------- repositories

MODEL_BYTES = os.urandom(300_000)


def make_models(root: Path) -> None:
    """A file model (churn) and a directory model (enc: nested, one executable file)."""
    write(root / "out" / "model.pkl", MODEL_BYTES)
    write(root / "enc" / "config.json", b'{"dim": 8}')
    write(root / "enc" / "weights" / "w0.bin", os.urandom(50_000))
    write(root / "enc" / "weights" / "w1.bin", os.urandom(70_000))
    run = write(root / "enc" / "run.sh", b"#!/bin/sh\necho hi\n")
    run.chmod(0o755)


@pytest.fixture
def models_repo(repo: Path, cli: Cli, remote: RemoteKind) -> Path:
    """`repo` with two committed models and `remote` added as the default remote."""
    make_models(repo)
    assert cli("add", "churn", "out/model.pkl", "-m", "auc=0.9").exit_code == 0
    assert cli("add", "enc", "enc").exit_code == 0
    res = cli(*remote.add_args())
    assert res.exit_code == 0, res.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "models")
    return repo


@pytest.fixture
def clone(models_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh clone of models_repo (no cache, no artifacts); call after pushing."""
    dest = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(models_repo), str(dest))
    return dest
