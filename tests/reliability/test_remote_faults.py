"""Campaign 5: remote faults against real S3 (moto) and SFTP (sshd) servers.

The servers are the remote suite's (tests/remote/servers.py). Two kinds of fault:

- SIGKILL of `push` and `pull` at seeded random moments (as campaign 1, over a network);
- a relay between mreg and the server that cuts every connection after a seeded random
  number of bytes (a flaky network, a proxy timing out, a server restarting), in both
  directions, so uploads and downloads stop mid-blob.

After each faulty run: the exit code is 0 or 5 (remote trouble), never a traceback;
every object on the remote under a blob name holds exactly those bytes (checked with
direct access, not through the relay); the cache holds no bad blob; the work tree holds
the old or the new artifact. Then the same command, with the network healed, completes
and `mreg verify -r` finds nothing wrong.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import git, sha
from tests.reliability.support import (
    MIB,
    STATS,
    TRIALS,
    CacheChecker,
    Payload,
    card_texts,
    full_only,
    leftovers,
    oid_of_file,
    rng,
    run,
    run_and_kill,
    start,
    write_bytes,
)
from tests.remote.servers import BUCKET, Sshd

# --------------------------------------------------------------------------- the relay


@dataclass
class CuttingRelay:
    """A TCP relay on 127.0.0.1 to an upstream port. While `faulty`, each connection is
    cut (RST) after a random number of bytes in either direction, drawn from `budget`."""

    upstream: int
    seed: object
    budget: tuple[int, int] = (1, 8 * MIB)
    faulty: bool = True
    cuts: int = 0
    _sock: socket.socket = field(init=False, repr=False)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _open: list[socket.socket] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._rng = rng("relay", self.seed)
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            client.close()
            return
        with self._lock:
            left = [self._rng.randint(*self.budget) if self.faulty else -1]
            self._open += [client, upstream]

        def cut() -> None:
            with self._lock:
                self.cuts += 1
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                # shutdown wakes the other pump out of its recv (close alone would not).
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    with self._lock:
                        if left[0] >= 0:
                            left[0] -= len(data)
                            over = left[0] < 0
                        else:
                            over = False
                    if over:
                        cut()
                        return
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        back.start()
        pump(client, upstream)
        back.join()  # each pump shuts both sockets down when it ends: the other wakes
        # Closed now, not at the end of the test: kept open until then, the sockets of a
        # 40-trial campaign used up the test process's file descriptors (ulimit 20,000).
        with self._lock:
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.close()
                with contextlib.suppress(ValueError):
                    self._open.remove(s)

    def close(self) -> None:
        self._sock.close()
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.close()


# ------------------------------------------------------------------------ the remotes


@dataclass
class Target:
    """A remote reached through a relay, plus direct access to its blobs."""

    kind: str
    relay: CuttingRelay
    add_args: list[str]
    env: dict[str, str]
    fs: Any
    root: str

    def oids(self) -> set[str]:
        with contextlib.suppress(Exception):
            self.fs.invalidate_cache()
        try:
            paths = self.fs.find(f"{self.root}/sha256")
        except FileNotFoundError:
            return set()
        return {"sha256:" + "".join(p.rsplit("/", 2)[-2:]) for p in paths}

    def check(self) -> set[str]:
        """Every object under a blob name holds the bytes of that name."""
        oids = self.oids()
        for oid in oids:
            h = oid.split(":")[1]
            data = bytes(self.fs.cat_file(f"{self.root}/sha256/{h[:2]}/{h[2:]}"))
            assert sha(data) == oid, f"remote object {oid} holds other bytes"
        return oids


@pytest.fixture(params=["s3", pytest.param("sftp", marks=full_only)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "s3":
        import s3fs  # type: ignore[import-untyped]

        endpoint = request.getfixturevalue("moto_server")
        port = int(endpoint.rsplit(":", 1)[1])
        relay = CuttingRelay(port, f"s3:{request.node.name}")
        prefix = f"{BUCKET}/rel-{os.getpid()}-{time.monotonic_ns()}"
        fs = s3fs.S3FileSystem(endpoint_url=endpoint, key="testing", secret="testing")
        args = [f"s3://{prefix}", "-o", f"endpoint_url=http://127.0.0.1:{relay.port}"]
        tgt = Target("s3", relay, args, {}, fs, prefix)
    else:
        from fsspec.implementations.local import LocalFileSystem  # type: ignore[import-untyped]

        server: Sshd = request.getfixturevalue("sshd")
        relay = CuttingRelay(server.port, f"sftp:{request.node.name}", budget=(1, 16 * MIB))
        key_type, key = server.known_hosts.read_text().split()[1:3]
        known = tmp_path / "known_hosts"
        known.write_text(f"[127.0.0.1]:{relay.port} {key_type} {key}\n")
        store = tmp_path / "sftp-store"
        args = [
            f"ssh://root@127.0.0.1:{relay.port}{store}",
            "-o",
            f"client_keys={server.client_key}",
            "-o",
            f"known_hosts={known}",
        ]
        tgt = Target("sftp", relay, args, {}, LocalFileSystem(), str(store))
    try:
        yield tgt
    finally:
        tgt.relay.close()


def _repo_with_models(root: Path, target: Target, payload: Payload, n: int) -> dict[str, str]:
    """`churn` (a file) and `net` (a folder of four) at version n; returns path -> oid."""
    write_bytes(root / "out" / "model.bin", payload.variant(n))
    for i in range(4):
        write_bytes(root / "out" / "net" / f"part{i}.bin", payload.variant(100 * n + i)[:MIB])
    run(root, "add", "churn", "out/model.bin")
    run(root, "add", "net", "out/net")
    git(root, "add", "-A", ".mreg", ".gitignore")
    git(root, "commit", "-q", "-m", f"v{n}")
    return {
        "out/model.bin": oid_of_file(root / "out" / "model.bin"),
        **{
            f"out/net/part{i}.bin": oid_of_file(root / "out" / "net" / f"part{i}.bin")
            for i in range(4)
        },
    }


def _setup(tmp_path: Path, target: Target) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    run(root, "init")
    run(root, "remote", "add", "origin", *target.add_args, "-d", "--local")
    return root


WATCHED = {"PYTHONFAULTHANDLER": "1"}  # SIGABRT makes a hung process print its stacks
HANG = 600.0  # far beyond any retry schedule: a process still running then is stuck


def _finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    """Wait for a faulty run; one still running after HANG seconds is stuck (before the
    fix: an sshfs file closed at interpreter exit waited forever on fsspec's loop)."""
    try:
        _out, err = proc.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGABRT)
        _out, err = proc.communicate()
        pytest.fail(f"mreg hung (its stacks follow):\n{err.decode()[-4000:]}")
    return proc.returncode, err.decode()


def _faulty_outcome(res_code: int, stderr: str) -> str:
    assert res_code in (0, 5), (res_code, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    return "ok" if res_code == 0 else "exit 5"


def _forget(root: Path, oids: Any) -> None:
    """Drop blobs from the cache, as if this clone never had them."""
    for oid in oids:
        h = oid.split(":")[1]
        with contextlib.suppress(FileNotFoundError):
            (root / ".mreg" / "cache" / "sha256" / h[:2] / h[2:]).unlink()


def _work_tree(root: Path, files: dict[str, str]) -> dict[str, str]:
    return {p: oid_of_file(root / p) for p in files if (root / p).exists()}


# ----------------------------------------------------------------------- cut connections


def test_push_and_pull_over_connections_that_break(tmp_path: Path, target: Target) -> None:
    root = _setup(tmp_path, target)
    payload = Payload(4 * MIB, f"cut-{target.kind}")
    cache = CacheChecker(root / ".mreg" / "cache")
    target.relay.faulty = False
    versions = {0: _repo_with_models(root, target, payload, 0)}
    run(root, "push")
    for n in range(1, TRIALS + 1):
        versions[n] = _repo_with_models(root, target, payload, n)
        # push at version n over a breaking network
        target.relay.faulty = True
        outcome = _faulty_outcome(*_finish(start(root, "push", env=WATCHED)))
        target.check()
        STATS[f"remote cut: push ({target.kind})"][outcome] += 1
        target.relay.faulty = False
        run(root, "push")
        assert set(versions[n].values()) <= target.check()

        # pull the previous version (card v{n}) into a work tree at this one (v{n+1}),
        # its blobs gone from the cache as in a fresh clone
        _forget(root, versions[n - 1].values())
        before = card_texts(root)
        args = ["pull", f"churn@v{n}", f"net@v{n}"]
        target.relay.faulty = True
        outcome = _faulty_outcome(*_finish(start(root, *args, env=WATCHED)))
        cache.check()
        assert card_texts(root) == before, "pull changed a card"
        now = _work_tree(root, versions[n])
        assert all(now[p] in (versions[n][p], versions[n - 1][p]) for p in now), "a mix"
        STATS[f"remote cut: pull ({target.kind})"][outcome] += 1
        target.relay.faulty = False
        run(root, *args)
        assert _work_tree(root, versions[n]) == versions[n - 1]
        run(root, "verify", "-r", "origin")
        assert leftovers(root) == []
        run(root, "checkout", "churn", "net")
    STATS[f"remote cut: ({target.kind})"]["connections cut"] += target.relay.cuts


# ------------------------------------------------------------------- random SIGKILLs


@full_only
def test_random_kills_of_push_and_pull(tmp_path: Path, target: Target) -> None:
    target.relay.faulty = False
    root = _setup(tmp_path, target)
    payload = Payload(4 * MIB, f"kill-{target.kind}")
    cache = CacheChecker(root / ".mreg" / "cache")
    versions = {0: _repo_with_models(root, target, payload, 0)}
    started = time.perf_counter()
    run(root, "push")
    window = time.perf_counter() - started
    r = rng("remote-kill", target.kind)
    for n in range(1, TRIALS + 1):
        versions[n] = _repo_with_models(root, target, payload, n)
        rc = run_and_kill(root, ["push"], r.uniform(0, window * 1.2))
        target.check()
        STATS[f"remote kill: push ({target.kind})"]["killed" if rc is None else "finished"] += 1
        run(root, "push")
        assert set(versions[n].values()) <= target.check()

        _forget(root, versions[n - 1].values())
        args = ["pull", f"churn@v{n}", f"net@v{n}"]
        rc = run_and_kill(root, args, r.uniform(0, window * 1.2))
        cache.check()
        now = _work_tree(root, versions[n])
        assert all(now[p] in (versions[n][p], versions[n - 1][p]) for p in now), "a mix"
        STATS[f"remote kill: pull ({target.kind})"]["killed" if rc is None else "finished"] += 1
        run(root, *args)
        run(root, "verify", "-r", "origin")
        run(root, "checkout", "churn", "net")
        assert leftovers(root) == []


# ------------------------------------------------------- a file whose close() fails


class _DroppedFile:
    """Like sshfs's SSHFile when the connection is gone: read and close raise, and a
    failed close leaves it open (so the garbage collector would close it again)."""

    def __init__(self) -> None:
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def read(self, n: int = -1) -> bytes:
        raise ConnectionResetError("connection lost")

    def close(self) -> None:
        if not self._closed:
            raise ConnectionResetError("connection lost")


def test_a_file_whose_close_fails_is_not_left_open(tmp_path: Path) -> None:
    from mreg.config import RemoteSpec
    from mreg.errors import MregError
    from mreg.remote import Remote

    files: list[_DroppedFile] = []

    class DroppedFs:
        def open(self, path: str, mode: str = "rb", **kw: Any) -> _DroppedFile:
            files.append(_DroppedFile())
            return files[-1]

    # Not a folder URL: folder remotes read with plain os calls, not through fs.open.
    remote = Remote(RemoteSpec(name="origin", url="memory://r"))
    remote._fs, remote._root = DroppedFs(), "/r"
    with pytest.raises(MregError):
        remote.read_bytes("sha256:" + "ab" * 32)
    assert files and all(f.closed for f in files), "left open: closed again at exit, hangs"
