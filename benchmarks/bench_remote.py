"""Benchmark `mreg push` / `mreg pull` against DVC and the file system (issues 4 and 6).

Makes, in a temp folder under /tmp (deleted at the end unless --keep), one file of
--size-mib MiB of random bytes, one of a quarter of that size, and a folder of
--small-files files of --small-kib KiB each (10 subfolders); registers them in one
git + mreg repository (`mreg add`, link type copy) and, when peers are run, the same
bytes in one git + DVC repository (`dvc add`, cache.type copy); both are committed.

Remote kinds (--kinds): a local folder, and S3 served by moto's ThreadedMotoServer on
127.0.0.1 (a free port; fake AWS credentials in the environment; one bucket per tool).
Every run pushes to new remotes (a new folder, a new S3 prefix), so nothing is already
there by accident; moto is reset between runs. Per run and remote kind, each tool
(alternating which goes first), each command a fresh process of the installed console
script (wall time; CPU time and max RSS from os.wait4), `sync` before every timed step,
and a 1 GiB file freed before every step that writes the big file (see free()):

- push of the folder (remote empty): `mreg push data` / `dvc push folder.dvc`;
- the same push again, all present (no-op);
- push of the big file: `mreg push big` / `dvc push big.bin.dvc`; also `mreg push` of the
  quarter-size file, whose max RSS shows memory does not grow with the size;
- pull of the folder into a fresh `git clone` (empty cache, no work-tree copy):
  `mreg pull data` / `dvc pull folder.dvc`; then of the big file in that clone. Both
  tools end with the files in the work tree and the blobs in their cache; every file
  is checked (count and sha256) after the timing;
- limits, once per run: `cp -r` of the folder and `cp` of the big file to a folder on
  the same disk (the local remote's floor); for S3, the same pushes and the folder's
  pull by a plain boto3 client (`_s3_floor.py`: one request per object on 16 threads,
  `upload_file` for the big file), the server's floor: a target this misses cannot be
  met by any client of that server.

Targets: folder push and pull <= 1/3 of DVC's time (issue 4); big-file push and pull
<= 1/2 of DVC's (issue 6); big-file push to a local remote <= 1.5 x `cp`; no-op push
< 1 s; max RSS of the big push <= 1/2 of DVC's and <= 1.1 x mreg's at a quarter of the
size. Prints a markdown table, writes it with the machine to --out (a `## Notes`
section already there is kept) and the rows to rows-remote.json for run.py.

DVC (with dvc-s3) runs from its own venv, never mreg's: --peers-venv DIR, or
--install-peers to create one in the temp folder (`pip install dvc dvc-s3 gto`).
Without either, only mreg and the limits are timed.

    python benchmarks/bench_remote.py --size-mib 32 --small-files 500 --runs 1 --no-write
    python benchmarks/bench_remote.py --runs 3 --peers-venv /tmp/mreg-bench-peers
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from _results import (
    Row,
    find_mreg,
    fs_type,
    machine_lines,
    peers_venv,
    pip_versions,
    ratio,
    run_ok,
    verdict,
    write_random,
    write_results,
    write_rows,
)

HERE = Path(__file__).resolve().parent
DIR_RATIO = 1 / 3  # folder push/pull vs DVC (issue 4)
BIG_RATIO = 0.5  # every other row vs its peer (issue 6)
CP_RATIO = 1.5  # big push to a local remote vs cp
NOOP_ABS = 1.0  # seconds
RSS_SIZE_RATIO = 1.1  # max RSS at full size vs at a quarter of it
KINDS = ("local", "s3")
KIND_LABEL = {"local": "local folder remote", "s3": "S3 remote (moto)"}
BUCKETS = {"mreg": "mreg-bench", "dvc": "dvc-bench", "floor": "floor-bench"}
FLOOR = HERE / "_s3_floor.py"  # a plain boto3 client: the S3 server's floor

# Quiet, offline peers: no analytics, no update check.
PEER_ENV = {"DO_NOT_TRACK": "1", "DVC_NO_ANALYTICS": "1", "GTO_NO_ANALYTICS": "1"}
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    return run_ok("bench_remote", cmd, cwd, env)


@dataclass
class Measured:
    wall: float  # seconds
    cpu: float  # user + system seconds of the process (and children it waited for)
    rss: float  # max RSS, MiB
    out: str  # stdout


# Runs argv[2:] as its child and writes wall seconds, CPU seconds and max RSS (KiB) of
# that child to argv[1]. A fresh, small process: a child forked straight from this one
# (whose moto holds the pushed objects) would inherit its RSS high-water mark.
LAUNCHER = r"""
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(sys.argv[1], "w") as f:
    f.write(f"{wall} {ru.ru_utime + ru.ru_stime} {ru.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measured(cmd: list[str], cwd: Path, env: dict[str, str]) -> Measured:
    """Run cmd as a fresh process after a sync: wall time, CPU time, max RSS, stdout."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as stats,
    ):
        os.sync()  # write-back of earlier steps is not charged to this one
        launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, stats.name]
        res = subprocess.run(
            launcher + cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        out.seek(0)
        text = out.read().decode(errors="replace")
        if res.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-3000:]
            sys.exit(
                f"bench_remote: {' '.join(cmd)} failed ({res.returncode}) in {cwd}:\n{text}\n{tail}"
            )
        wall, cpu, rss = (float(x) for x in stats.read().split())
    return Measured(wall, cpu, rss / 1024, text)


def free(path: Path) -> None:
    """Delete a big file just before a writing step.

    On this kind of VM (firecracker, free-page reporting) memory idle for ~2 s goes
    back to the host and the first touch of each page then costs a host fault: writing
    1 GiB into fresh page cache takes 0.3 s to 2.5 s depending on that alone. Every
    step that writes the big file is therefore preceded by freeing a file of that size,
    so that all writers start alike and the times measure the software.
    """
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while block := f.read(8 * 1024 * 1024):
            h.update(block)
    return h.hexdigest()


def tree_digest(root: Path) -> tuple[int, str]:
    """(file count, digest of every relative path and its bytes) of a folder."""
    h = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for p in files:
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return len(files), h.hexdigest()


def big_files(root: Path, min_size: int) -> list[Path]:
    """Files of at least min_size bytes under root."""
    out = []
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            if p.stat().st_size >= min_size:
                out.append(p)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- peers


@dataclass
class Peers:
    dvc: str | None = None
    error: str | None = None
    versions: str = ""


def install_peers(tmp: Path, venv: Path | None) -> Peers:
    """DVC (+ dvc-s3, gto) in their own venv: --peers-venv, or a new one in tmp."""
    venv, error = peers_venv(tmp, venv, ("dvc", "dvc-s3", "gto"))
    if error is not None:
        return Peers(error=error)
    dvc = venv / "bin" / "dvc"
    if not dvc.exists():
        return Peers(error=f"no dvc in {venv}/bin")
    probe = [str(venv / "bin" / "python"), "-c", "import dvc_s3"]
    if subprocess.run(probe, capture_output=True).returncode != 0:
        return Peers(error=f"no dvc-s3 in {venv}: {venv}/bin/pip install dvc-s3")
    names = ("dvc", "dvc-s3", "dvc-data", "s3fs", "aiobotocore")
    return Peers(dvc=str(dvc), versions=pip_versions(venv, names))


# --------------------------------------------------------------------------- S3 (moto)


class S3:
    """moto on 127.0.0.1 in this process, with one bucket per tool."""

    def __init__(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.buckets()

    def buckets(self) -> None:
        import boto3  # type: ignore[import-untyped]

        client = boto3.client("s3", endpoint_url=self.url, region_name="us-east-1")
        for bucket in BUCKETS.values():
            client.create_bucket(Bucket=bucket)

    def reset(self) -> None:
        """Drop every object (moto's reset API), so runs do not pile up gigabytes."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=60).read()
        self.buckets()

    def stop(self) -> None:
        self.server.stop()


# --------------------------------------------------------------------------- the bench


class Bench:
    """Builds the repositories, runs the steps, keeps every measurement by key."""

    def __init__(
        self, args: argparse.Namespace, mreg: str, peers: Peers, tmp: Path, s3: S3 | None
    ) -> None:
        self.args = args
        self.mreg = mreg
        self.peers = peers
        self.tmp = tmp
        self.s3 = s3
        self.size = args.size_mib * 1024 * 1024
        self.quarter = self.size // 4
        self.n = args.small_files
        self.tools = ["mreg"] + (["dvc"] if peers.dvc else [])
        self.kinds = args.kinds
        self.env = {
            **os.environ,
            **PEER_ENV,
            **AWS_ENV,
            "DVC_SITE_CACHE_DIR": str(tmp / "dvc-site"),
            "DVC_GLOBAL_CONFIG_DIR": str(tmp / "dvc-global"),
        }
        self.repo = {"mreg": tmp / "mreg-repo", "dvc": tmp / "dvc-repo"}
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}
        self.rss: dict[str, list[float]] = {}
        self.spares: list[Path] = []  # big files to free before the next writing step
        self.big_sha = ""
        self.tree = (0, "")

    # -- helpers ---------------------------------------------------------------------

    def note(self, key: str, m: Measured) -> None:
        self.wall.setdefault(key, []).append(m.wall)
        self.cpu.setdefault(key, []).append(m.cpu)
        self.rss.setdefault(key, []).append(m.rss)
        print(f"  {key}: {m.wall:.3f}s (cpu {m.cpu:.3f}s, rss {m.rss:.0f} MiB)", file=sys.stderr)

    def free(self) -> None:
        if self.spares:
            free(self.spares.pop(0))
        else:
            print("  (no spare big file to free)", file=sys.stderr)

    def keep_spares(self, most: int = 3) -> None:
        while len(self.spares) > most:
            free(self.spares.pop(0))

    def tool_cmd(self, tool: str, *args: str) -> list[str]:
        exe = self.mreg if tool == "mreg" else self.peers.dvc
        assert exe is not None
        return [exe, *args]

    # -- building --------------------------------------------------------------------

    def prepare(self) -> None:
        t0 = time.perf_counter()
        src = self.tmp / "src"
        folder = src / "folder"
        folder.mkdir(parents=True)
        write_random(src / "big.bin", self.size)
        write_random(src / "quarter.bin", self.quarter)
        small = self.args.small_kib * 1024
        for i in range(self.n):
            p = folder / f"{i * 10 // self.n:02d}" / f"f{i:05d}.bin"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(os.urandom(small))
        self.big_sha = sha256_file(src / "big.bin")
        self.tree = tree_digest(folder)
        for tool in self.tools:
            self.build(tool, src)
        for k in range(4):  # the first big files to free
            spare = self.tmp / f"spare{k}.bin"
            shutil.copyfile(src / "big.bin", spare)
            self.spares.append(spare)
        print(f"built the repositories in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    def build(self, tool: str, src: Path) -> None:
        repo, env = self.repo[tool], self.env
        repo.mkdir()
        run(["git", "init", "-q", "-b", "main"], repo)
        run(["git", "config", "user.name", "Bench"], repo)
        run(["git", "config", "user.email", "bench@example.com"], repo)
        shutil.copyfile(src / "big.bin", repo / "big.bin")
        shutil.copytree(src / "folder", repo / "folder")
        if tool == "mreg":
            shutil.copyfile(src / "quarter.bin", repo / "quarter.bin")
            run([self.mreg, "init"], repo, env)
            cfg = repo / ".mreg" / "config.yaml"
            text = cfg.read_text()
            new = text.replace("link: [reflink, copy]", "link: [copy]")
            if new == text:
                sys.exit("bench_remote: could not set cache.link to [copy] in .mreg/config.yaml")
            cfg.write_text(new)
            run([self.mreg, "add", "data", "folder"], repo, env)
            run([self.mreg, "add", "big", "big.bin"], repo, env)
            run([self.mreg, "add", "quarter", "quarter.bin"], repo, env)
            run(["git", "add", ".gitignore", ".mreg"], repo)
        else:
            dvc = self.tool_cmd("dvc")
            run([*dvc, "init", "-q"], repo, env)
            run([*dvc, "config", "core.analytics", "false"], repo, env)
            run([*dvc, "config", "cache.type", "copy"], repo, env)
            run([*dvc, "add", "-q", "folder"], repo, env)
            run([*dvc, "add", "-q", "big.bin"], repo, env)
            run(["git", "add", "-A"], repo)
        run(["git", "commit", "-q", "-m", "models"], repo)
        tracked = run(["git", "ls-files"], repo).split()
        if "big.bin" in tracked or any(t.startswith("folder/") for t in tracked):
            sys.exit(f"bench_remote: the {tool} repository committed the data itself")

    def add_remote(self, tool: str, repo: Path, kind: str, name: str) -> None:
        """Remote `name` of `kind` in repo: a new folder or a new S3 prefix per run."""
        env = self.env
        if kind == "local":
            url = str(self.tmp / "remotes" / f"{tool}-{name}")
        else:
            url = f"s3://{BUCKETS[tool]}/{name}"
        if tool == "mreg":
            cmd = [self.mreg, "remote", "add", name, url, "--force"]
            if kind == "s3":
                assert self.s3 is not None
                cmd += ["-o", f"endpoint_url={self.s3.url}"]
            run(cmd, repo, env)
        else:
            run(self.tool_cmd("dvc", "remote", "add", "-f", name, url), repo, env)
            if kind == "s3":
                assert self.s3 is not None
                modify = ["remote", "modify", name, "endpointurl", self.s3.url]
                run(self.tool_cmd("dvc", *modify), repo, env)

    # -- checks ----------------------------------------------------------------------

    def check_mreg(self, m: Measured, what: str, transferred: int, present: int = 0) -> None:
        doc = json.loads(m.out)
        got = (doc.get("transferred"), doc.get("present", 0))
        if got != (transferred, present):
            sys.exit(f"bench_remote: {what}: mreg says {got}, expected {(transferred, present)}")

    def check_dvc_push(self, m: Measured, what: str, pushed: int) -> None:
        found = re.search(r"(\d+) files? pushed", m.out)
        n = int(found.group(1)) if found else 0
        if pushed == 0 and "up to date" not in m.out and n != 0:
            sys.exit(f"bench_remote: {what}: dvc pushed something: {m.out.strip()}")
        if pushed and n != pushed:
            sys.exit(f"bench_remote: {what}: dvc pushed {n}, expected {pushed}: {m.out.strip()}")

    def check_pulled(self, clone: Path, what: str, big: bool) -> None:
        if big:
            path = clone / "big.bin"
            if not path.is_file() or path.stat().st_size != self.size:
                sys.exit(f"bench_remote: {what}: big.bin missing or of the wrong size")
            if sha256_file(path) != self.big_sha:
                sys.exit(f"bench_remote: {what}: big.bin has the wrong bytes")
        elif tree_digest(clone / "folder") != self.tree:
            sys.exit(f"bench_remote: {what}: the folder's files differ from the source")

    # -- one run ---------------------------------------------------------------------

    def one_run(self, i: int) -> None:
        src = self.tmp / "src"
        limits = self.tmp / "limits"
        limits.mkdir(exist_ok=True)
        if "local" in self.kinds:
            self.free()
            dest = limits / f"cp{i}.bin"
            self.note(
                "limit.cp", measured(["cp", str(src / "big.bin"), str(dest)], limits, self.env)
            )
            self.spares.append(dest)
            cmd = ["cp", "-r", str(src / "folder"), str(limits / f"cpr{i}")]
            self.note("limit.cpr", measured(cmd, limits, self.env))
        tools = self.tools if i % 2 == 0 else self.tools[::-1]
        for kind in self.kinds:
            if kind == "s3":
                self.s3_floor(i)
            for tool in tools:
                self.push_steps(tool, kind, i)
            for tool in tools:
                self.pull_steps(tool, kind, i)
            if kind == "local":  # the remotes' big blobs: free them before later writes
                for tool in tools:
                    self.spares += big_files(self.tmp / "remotes" / f"{tool}-{kind}{i}", self.size)
            self.keep_spares()
        if self.s3 is not None:
            self.s3.reset()

    def s3_floor(self, i: int) -> None:
        """The same transfers by a plain boto3 client (_s3_floor.py): the server's floor."""
        assert self.s3 is not None
        src, bucket, prefix = self.tmp / "src", BUCKETS["floor"], f"floor{i}"
        floor = [sys.executable, str(FLOOR)]
        for key, op, where in (
            ("limit.s3putdir", "putdir", src / "folder"),
            ("limit.s3getdir", "getdir", self.tmp / "limits" / f"s3get{i}"),
            ("limit.s3putbig", "putbig", src / "big.bin"),
        ):
            self.free()
            m = measured([*floor, op, self.s3.url, bucket, prefix, str(where)], self.tmp, self.env)
            if int(m.out.split()[-1]) != (1 if op == "putbig" else self.n):
                sys.exit(f"bench_remote: the S3 floor's {op} moved {m.out.strip()} objects")
            self.note(key, m)

    def push_steps(self, tool: str, kind: str, i: int) -> None:
        name = f"{kind}{i}"
        repo = self.repo[tool]
        self.add_remote(tool, repo, kind, name)
        k = f"{kind}.{{}}.{tool}"
        if tool == "mreg":
            push = [self.mreg, "push", "-r", name, "--json"]
            m = measured([*push, "data"], repo, self.env)
            self.check_mreg(m, "push folder", self.n + 1)
            self.note(k.format("pushdir"), m)
            m = measured([*push, "data"], repo, self.env)
            self.check_mreg(m, "no-op push", 0, self.n + 1)
            self.note(k.format("noop"), m)
            self.free()
            m = measured([*push, "big"], repo, self.env)
            self.check_mreg(m, "push big", 1)
            self.note(k.format("pushbig"), m)
            m = measured([*push, "quarter"], repo, self.env)
            self.check_mreg(m, "push quarter", 1)
            self.note(k.format("pushquarter"), m)
        else:
            push = self.tool_cmd("dvc", "push", "-r", name)
            m = measured([*push, "folder.dvc"], repo, self.env)
            self.check_dvc_push(m, "push folder", self.n + 1)
            self.note(k.format("pushdir"), m)
            m = measured([*push, "folder.dvc"], repo, self.env)
            self.check_dvc_push(m, "no-op push", 0)
            self.note(k.format("noop"), m)
            self.free()
            m = measured([*push, "big.bin.dvc"], repo, self.env)
            self.check_dvc_push(m, "push big", 1)
            self.note(k.format("pushbig"), m)

    def pull_steps(self, tool: str, kind: str, i: int) -> None:
        """Into a fresh clone: no cache, no work-tree copy; the remote added untimed."""
        name = f"{kind}{i}"
        clone = self.tmp / "clones" / f"{tool}-{name}"
        clone.parent.mkdir(exist_ok=True)
        run(["git", "clone", "-q", str(self.repo[tool]), str(clone)], self.tmp)
        self.add_remote(tool, clone, kind, name)
        k = f"{kind}.{{}}.{tool}"
        if tool == "mreg":
            pull = [self.mreg, "pull", "-r", name, "--json"]
            targets = ("data", "big")
            cache = clone / ".mreg" / "cache"
        else:
            pull = self.tool_cmd("dvc", "pull", "-r", name)
            targets = ("folder.dvc", "big.bin.dvc")
            cache = clone / ".dvc" / "cache"
        if (clone / "folder").exists() or (clone / "big.bin").exists() or cache.exists():
            sys.exit(f"bench_remote: the fresh clone {clone} already holds data")
        m = measured([*pull, targets[0]], clone, self.env)
        if tool == "mreg":
            self.check_mreg(m, "pull folder", self.n + 1)
        self.note(k.format("pulldir"), m)
        self.check_pulled(clone, f"{tool} pull folder ({kind})", big=False)
        self.free()
        m = measured([*pull, targets[1]], clone, self.env)
        if tool == "mreg":
            self.check_mreg(m, "pull big", 1)
        self.note(k.format("pullbig"), m)
        self.check_pulled(clone, f"{tool} pull big ({kind})", big=True)
        self.spares += [clone / "big.bin", *big_files(cache, self.size)]


# --------------------------------------------------------------------------- report


def mreg_source() -> tuple[Path | None, dict[str, int]]:
    """mreg's package folder and the mtime of each of its .py files (to notice edits)."""
    import importlib.util

    spec = importlib.util.find_spec("mreg")
    if spec is None or spec.origin is None:
        return None, {}
    pkg = Path(spec.origin).parent
    return pkg, {str(p.relative_to(pkg)): p.stat().st_mtime_ns for p in pkg.rglob("*.py")}


def mreg_version(pkg: Path | None) -> str:
    """`commit abc1234 (+ N uncommitted files)` of the checkout mreg runs from."""
    if pkg is None:
        return "?"
    head = subprocess.run(
        ["git", "-C", str(pkg), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(pkg), "status", "--porcelain", "--", "."], capture_output=True, text=True
    ).stdout.split("\n")
    n = sum(1 for line in dirty if line.strip())
    return f"commit {head or '?'}" + (f" + {n} uncommitted file(s) under {pkg.name}/" if n else "")


def machine(tmp: Path, peers: Peers, load_start: str, version: str) -> list[str]:
    from importlib.metadata import version as dist_version

    ours = ", ".join(f"{p} {dist_version(p)}" for p in ("fsspec", "s3fs", "aiobotocore", "moto"))
    return [
        *machine_lines(load_start),
        f"- mreg: {version}; its venv: {ours}",
        f"- peers: {peers.versions or 'not run'}",
        f"- temp dir: {tmp} (file system: {fs_type(tmp)})",
    ]


def med(d: dict[str, list[float]], key: str) -> float | None:
    return statistics.median(d[key]) if key in d else None


def fmt(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    return f"{x:.0f} MiB" if unit == "MiB" else f"{x:.3f} s"


def both(*parts: bool | None) -> bool | None:
    """All clauses met; None when any clause was not measured."""
    if any(p is None for p in parts):
        return None
    return all(parts)


def make_rows(bench: Bench) -> list[tuple[Row, str, str]]:
    """(row, mreg's value in each run, CPU mreg / dvc) for each line of the table."""
    args, w, r = bench.args, bench.wall, bench.rss
    mib, n, kib = args.size_mib, args.small_files, args.small_kib
    cp, cpr = med(w, "limit.cp"), med(w, "limit.cpr")
    out: list[tuple[Row, str, str]] = []

    def add(
        key: str,
        label: str,
        peer_name: str,
        limit: float | None,
        limit_name: str,
        target: str,
        met: bool | None,
        unit: str = "s",
    ) -> None:
        d = r if unit == "MiB" else w
        vals = d.get(f"{key}.mreg", [])
        runs = ", ".join(f"{v:.0f}" if unit == "MiB" else f"{v:.2f}" for v in vals)
        cpus = ""
        if unit == "s":
            c = bench.cpu
            cpus = f"{fmt(med(c, key + '.mreg'), 's')} / {fmt(med(c, key + '.dvc'), 's')}"
        row = Row(
            operation=label,
            mreg=med(d, f"{key}.mreg") or 0.0,
            peer=med(d, f"{key}.dvc"),
            peer_name=peer_name,
            limit=limit,
            limit_name=limit_name if limit is not None else "",
            target=target,
            met=met,
            unit=unit,
        )
        out.append((row, runs, cpus))

    for kind in bench.kinds:
        where = KIND_LABEL[kind]
        local = kind == "local"

        def mp(step: str, d: dict[str, list[float]] = w, kind: str = kind) -> tuple:
            return med(d, f"{kind}.{step}.mreg"), med(d, f"{kind}.{step}.dvc")

        if local:
            push_lim, pull_lim, big_lim = cpr, cpr, cp
            dir_name, big_name = "cp -r", "cp"
        else:  # the server's floor: a plain boto3 client moving the same objects
            push_lim, pull_lim = med(w, "limit.s3putdir"), med(w, "limit.s3getdir")
            big_lim = med(w, "limit.s3putbig")
            dir_name, big_name = "boto3, 16 threads", "boto3 upload_file"
        m, p = mp("pushdir")
        add(
            f"{kind}.pushdir",
            f"push {n:,} x {kib} KiB files, {where}",
            "dvc push",
            push_lim,
            dir_name,
            "<= 0.33x peer",
            verdict(m, p, DIR_RATIO),
        )
        m, p = mp("noop")
        add(
            f"{kind}.noop",
            f"no-op push of those files (all present), {where}",
            "dvc push",
            NOOP_ABS,
            "1 s",
            "< 1 s",
            None if m is None else m < NOOP_ABS,
        )
        m, p = mp("pulldir")
        add(
            f"{kind}.pulldir",
            f"pull those files into a fresh clone, {where}",
            "dvc pull",
            pull_lim,
            dir_name,
            "<= 0.33x peer",
            verdict(m, p, DIR_RATIO),
        )
        m, p = mp("pushbig")
        if local:
            target = f"<= 0.5x peer, <= {CP_RATIO}x limit"
            met = both(verdict(m, p, BIG_RATIO), verdict(m, cp, CP_RATIO))
        else:
            target, met = "<= 0.5x peer", verdict(m, p, BIG_RATIO)
        add(
            f"{kind}.pushbig",
            f"push {mib} MiB file, {where}",
            "dvc push",
            big_lim,
            big_name,
            target,
            met,
        )
        m, p = mp("pullbig")
        add(
            f"{kind}.pullbig",
            f"pull that file into a fresh clone, {where}",
            "dvc pull",
            cp if local else None,
            "cp",
            "<= 0.5x peer",
            verdict(m, p, BIG_RATIO),
        )
        m, p = mp("pushbig", r)
        mq = med(r, f"{kind}.pushquarter.mreg")
        add(
            f"{kind}.pushbig",
            f"max RSS of push {mib} MiB file, {where}",
            "dvc push",
            mq,
            f"mreg push {mib // 4} MiB",
            f"<= 0.5x peer, <= {RSS_SIZE_RATIO}x limit",
            both(verdict(m, p, BIG_RATIO), verdict(m, mq, RSS_SIZE_RATIO)),
            "MiB",
        )
    return out


def report(
    args: argparse.Namespace, bench: Bench, peers: Peers, desc: list[str], changed: list[str]
) -> None:
    rows = make_rows(bench)
    lines = [
        "| operation | mreg | dvc | limit | mreg/dvc | mreg/limit | target | met "
        "| mreg runs | CPU mreg / dvc |",
        "|---|---:|---:|---:|---:|---:|---|---|---|---:|",
    ]
    for row, runs, cpus in rows:
        lim = fmt(row.limit, row.unit)
        if row.limit is not None:
            lim += f" ({row.limit_name})"
        met = {True: "met", False: "**NOT met**", None: "-"}[row.met]
        cells = [
            row.operation,
            fmt(row.mreg, row.unit),
            fmt(row.peer, row.unit),
            lim,
            ratio(row.mreg, row.peer),
            ratio(row.mreg, row.limit),
            row.target,
            met,
            runs,
            cpus,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    w = bench.wall
    limits = ""
    if "limit.cp" in w:
        limits = (
            f" Limits: `cp` {args.size_mib} MiB {fmt(med(w, 'limit.cp'), 's')}, `cp -r` of the "
            f"folder {fmt(med(w, 'limit.cpr'), 's')}."
        )
    if "limit.s3putdir" in w:
        limits += (
            " S3 floor (`_s3_floor.py`, a plain boto3 client on the same server, no hashing"
            f" or cache): folder push {fmt(med(w, 'limit.s3putdir'), 's')} and pull"
            f" {fmt(med(w, 'limit.s3getdir'), 's')} (one request per object, 16 threads),"
            f" big push {fmt(med(w, 'limit.s3putbig'), 's')} (`upload_file`)."
        )
    text = "\n".join(
        [
            *lines,
            "",
            f"Median of {args.runs} runs (wall; CPU = user + system of the client process, "
            "not moto's). Each command a fresh process of the installed console script, "
            "`sync` before each; new remotes every run; pulls into a fresh `git clone` "
            "(empty cache, no work-tree copy), every pulled file checked after the timing. "
            f"Folder: {args.small_files:,} files x {args.small_kib} KiB; moto runs in the "
            f"benchmark's process (ThreadedMotoServer).{limits}",
        ]
    )
    if peers.error:
        text += f"\n\nPeers not run: {peers.error}"
    if changed:
        text += (
            "\n\n**Warning: mreg's source changed during the run** (the runs measured "
            f"different code): {', '.join(changed)}."
        )
    print(text)
    if args.no_write:
        return
    write_results(
        args.out, "mreg push / pull: speed against DVC and cp", "bench_remote.py", desc, text
    )
    write_rows("remote", [row for row, _, _ in rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=1024, help="size of the big file")
    ap.add_argument("--small-files", type=int, default=10_000, help="files in the folder")
    ap.add_argument("--small-kib", type=int, default=1, help="size of each small file")
    ap.add_argument("--runs", type=int, default=3, help="runs per operation (median)")
    ap.add_argument(
        "--kinds", default=",".join(KINDS), help="remote kinds, comma-separated: local,s3"
    )
    ap.add_argument(
        "--peers-venv", type=Path, help="a venv with dvc and dvc-s3 (default: no peers)"
    )
    ap.add_argument(
        "--install-peers", action="store_true", help="install dvc, dvc-s3, gto into a temp venv"
    )
    ap.add_argument("--no-peers", action="store_true", help="no DVC (the default)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS-remote.md")
    ap.add_argument("--no-write", action="store_true", help="print only, do not write --out")
    args = ap.parse_args()
    args.kinds = [k for k in args.kinds.split(",") if k]
    if not args.kinds or any(k not in KINDS for k in args.kinds):
        ap.error(f"--kinds takes {', '.join(KINDS)}")
    if args.runs < 1 or args.size_mib < 4 or args.small_files < 10:
        ap.error("need --runs >= 1, --size-mib >= 4 and --small-files >= 10")

    mreg = find_mreg("bench_remote")
    pkg, before = mreg_source()
    version = mreg_version(pkg)
    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    tmp = Path(tempfile.mkdtemp(prefix="mreg-bench-remote-", dir="/tmp"))
    os.environ.update(AWS_ENV)  # for boto3 here (the buckets) and for moto
    empty = tmp / "aws-empty"  # no user AWS config or credentials file is read
    empty.write_text("")
    os.environ.update(AWS_CONFIG_FILE=str(empty), AWS_SHARED_CREDENTIALS_FILE=str(empty))
    os.environ.pop("AWS_PROFILE", None)
    s3 = None
    try:
        if (args.peers_venv or args.install_peers) and not args.no_peers:
            peers = install_peers(tmp, args.peers_venv)
            if peers.error:
                print(f"bench_remote: peers not run: {peers.error}", file=sys.stderr)
        else:
            peers = Peers(error="--no-peers, or no --peers-venv / --install-peers")
        if "s3" in args.kinds:
            s3 = S3()
        bench = Bench(args, mreg, peers, tmp, s3)
        bench.prepare()
        for i in range(args.runs):
            print(f"run {i + 1}/{args.runs}", file=sys.stderr)
            bench.one_run(i)
        desc = machine(tmp, peers, load_start, version)
    finally:
        if s3 is not None:
            s3.stop()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    after = mreg_source()[1]
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        print(f"bench_remote: mreg's source changed during the run: {changed}", file=sys.stderr)
    report(args, bench, peers, desc, changed)


if __name__ == "__main__":
    main()
